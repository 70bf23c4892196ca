"""End to end through the language server: the editor's configured interpreter (the `python`
setting) picks the speedup table that diagnostics and hovers quote, naming it; readability rules
(measured slower there) appear only when selected, at information severity, and Fix All leaves
them alone unless selected."""

from __future__ import annotations

from pathlib import Path

from lsp_harness import ProbeClient, apply_text_edits, by_code, initialize, lsp_fixture, workspace_edits
from lsprotocol import types

from perfsquad.calibration import choose

client = lsp_fixture()

SOURCE = (
    "def has_admin(users):\n"
    "    for user in users:\n"
    "        if user.is_admin:\n"
    "            return True\n"
    "    return False\n"
    "\n"
    "def known(d: dict[str, int], k: str) -> bool:\n"
    "    return k in d.keys()\n"
)


def _venv(root: Path, version: str) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion = {version}\n", encoding="utf-8")
    python = root / "bin" / "python"
    python.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    return python


async def _hover(client: ProbeClient, uri: str, diagnostic: types.Diagnostic) -> str:
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=diagnostic.range.start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return hover.contents.value


async def _fix_all(client: ProbeClient, uri: str) -> str:
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll]),
        )
    )
    assert actions is not None and len(actions) == 1
    action = actions[0]
    assert isinstance(action, types.CodeAction)
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    return apply_text_edits(SOURCE, workspace_edits(action.edit, uri))


async def test_configured_interpreter_table_in_diagnostics_and_hover(client: ProbeClient, tmp_path: Path) -> None:
    python = _venv(tmp_path / "env", "3.12.1")
    await initialize(client, tmp_path, options={"python": str(python), "extendSelect": ["IDM008"], "debounceMs": 0})
    twelve = choose(str(python))  # (checked after initialize: a failure before it hangs the fixture's shutdown)
    assert twelve.table is not None and twelve.table.version == (3, 12)
    assert twelve.group("IDM008") == "readability" and twelve.group("IDM006") == "performance"
    uri = (tmp_path / "configured.py").as_uri()
    client.open(uri, SOURCE)
    diagnostics = await client.diagnostics_for(uri, version=1)
    slow, fast = by_code(diagnostics, "IDM008"), by_code(diagnostics, "IDM006")
    assert slow.severity == types.DiagnosticSeverity.Information  # selected, but never a warning
    assert fast.severity == types.DiagnosticSeverity.Warning

    text = await _hover(client, uri, fast)
    assert f"on Python {twelve.table.python}" in text
    assert f"the configured interpreter {python} is Python 3.12 (its pyvenv.cfg)" in text
    figures = twelve.speedup("IDM006")
    assert figures is not None and figures.describe() in text

    # Selected, so Fix All applies it (the next test: not selected, left alone).
    assert "return any(user.is_admin for user in users)" in await _fix_all(client, uri)


async def test_unselected_readability_rules_are_absent_and_fix_all_leaves_them(
    client: ProbeClient, tmp_path: Path
) -> None:
    await initialize(client, tmp_path, options={"python": "3.99", "debounceMs": 0})
    later = choose("3.99")
    assert later.table is not None
    uri = (tmp_path / "default.py").as_uri()
    client.open(uri, SOURCE)
    diagnostics = await client.diagnostics_for(uri, version=1)
    assert {d.code for d in diagnostics} == {"IDM006"}
    text = await _hover(client, uri, by_code(diagnostics, "IDM006"))
    nearest = f"{later.table.version[0]}.{later.table.version[1]}"
    assert f"the nearest table: {nearest} for Python 3.99" in text

    fixed = await _fix_all(client, uri)
    assert "return k in d\n" in fixed and "for user in users:" in fixed and "any(" not in fixed
