"""End to end: configuration from the workspace pyproject, initializationOptions and
workspace/didChangeConfiguration; bad settings give one clear warning and defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_harness import SAMPLE, ProbeClient, apply_text_edits, initialize, lsp_fixture, workspace_edits
from lsprotocol import types

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")
client = lsp_fixture()


def _codes(diagnostics: list[types.Diagnostic]) -> set[str]:
    return {str(d.code) for d in diagnostics}


async def test_pyproject_then_init_options_then_did_change_configuration(client: ProbeClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.perfsquad]\nignore = ["IDM001"]\n', encoding="utf-8")
    await initialize(client, tmp_path, options={"debounceMs": 0})
    uri = (tmp_path / "configured.py").as_uri()
    client.open(uri, SAMPLE)
    assert _codes(await client.diagnostics_for(uri, version=1)) == {"IDM010"}

    # Editor settings win over the pyproject, key by key (camelCase or kebab-case alike).
    mark = client.mark()
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"perfsquad": {"ignore": ["IDM010"], "debounceMs": 0}})
    )
    assert _codes(await client.diagnostics_for(uri, since=mark)) == {"IDM001"}

    # A client that only says "changed" (settings null) is asked with workspace/configuration.
    client.set_configuration({"select": ["IDM001", "IDM010"], "ignore": []}, section="perfsquad")
    mark = client.mark()
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    assert _codes(await client.diagnostics_for(uri, since=mark)) == {"IDM001", "IDM010"}
    assert not client.seen("show")


async def test_initialization_options_apply_from_the_start(client: ProbeClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.perfsquad]\nignore = ["IDM001"]\n', encoding="utf-8")
    await initialize(client, tmp_path, options={"select": ["IDM001"], "ignore": []})
    uri = (tmp_path / "selected.py").as_uri()
    client.open(uri, SAMPLE)
    assert _codes(await client.diagnostics_for(uri, version=1)) == {"IDM001"}


async def test_bad_settings_warn_once_and_fall_back_to_defaults(client: ProbeClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.perfsquad]\nselect = "IDM001"\nignore = 7\n', encoding="utf-8")
    await initialize(client, tmp_path, options={"debounceMs": "soon", "severity": {"IDM001": "loud"}})
    first = (tmp_path / "a.py").as_uri()
    second = (tmp_path / "sub" / "b.py").as_uri()
    client.open(first, SAMPLE)
    client.open(second, SAMPLE)
    for uri in (first, second):
        assert {"IDM001"} <= _codes(await client.diagnostics_for(uri, version=1))
    client.replace_all(first, 2, SAMPLE + "\n")
    await client.diagnostics_for(first, version=2)

    shown = client.seen("show")
    assert len(shown) == 1, [m.message for m in shown]
    message = shown[0]
    assert message.type == types.MessageType.Warning
    for key in ("ignore", "debounceMs", "IDM001"):
        assert key in message.message
    # What was valid still applies (`select = "IDM001"` is read as one code); the rest is default.
    assert _codes(await client.diagnostics_for(first, version=2)) == {"IDM001"}


async def test_unreadable_pyproject_warns_and_uses_defaults(client: ProbeClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.perfsquad\nignore = [", encoding="utf-8")
    await initialize(client, tmp_path)
    uri = (tmp_path / "defaults.py").as_uri()
    client.open(uri, SAMPLE)
    assert {"IDM001", "IDM010"} <= _codes(await client.diagnostics_for(uri, version=1))
    shown = client.seen("show")
    assert len(shown) == 1 and "cannot read" in shown[0].message and "using defaults" in shown[0].message


async def test_client_without_resolve_gets_edits_inline(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path, resolve=False)
    uri = (tmp_path / "inline.py").as_uri()
    client.open(uri, SAMPLE)
    diagnostics = await client.diagnostics_for(uri, version=1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    assert actions
    for action in actions:
        assert isinstance(action, types.CodeAction) and action.edit is not None, action.title
    fix = next(a for a in actions if isinstance(a, types.CodeAction) and a.title.startswith("Fix IDM001"))
    fixed = apply_text_edits(SAMPLE, workspace_edits(fix.edit, uri))
    assert "out = [k for k in d]" in fixed


async def test_stale_versions_are_dropped(client: ProbeClient, tmp_path: Path) -> None:
    # A long debounce: the burst of edits below arrives well inside it.
    await initialize(client, tmp_path, options={"debounceMs": 500})
    uri = (tmp_path / "burst.py").as_uri()
    client.open(uri, SAMPLE)
    await client.diagnostics_for(uri, version=1)
    mark = client.mark()
    for version in range(2, 7):
        client.replace_all(uri, version, SAMPLE + f"\nX{version} = {version}\n")
    await client.diagnostics_for(uri, version=6, since=mark)
    versions = [p.version for p in client.seen("diagnostics", mark) if p.uri == uri]
    assert versions == [6]
