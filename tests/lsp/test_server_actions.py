"""End to end: code actions (quick fix, ignore, fix all, resolve), hover and code lens.

One server per capability profile for the module (each test opens its own file).
"""

from __future__ import annotations

import ast

import pytest
from lsp_harness import SAMPLE, ProbeClient, apply_text_edits, by_code, lsp_fixture, workspace_edits
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from perfsquad.analyzers import rule_by_code
from perfsquad.api import analyze_source
from perfsquad.fixes.apply import apply_edits

pytestmark = [
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
    pytest.mark.asyncio(loop_scope="module"),
]
client = lsp_fixture(shared=True)


async def _open(client: ProbeClient, name: str, text: str = SAMPLE) -> tuple[str, list[types.Diagnostic]]:
    uri = (client.root / name).as_uri()
    client.open(uri, text)
    return uri, await client.diagnostics_for(uri, version=1)


async def _actions(
    client: ProbeClient, uri: str, diagnostics: list[types.Diagnostic], only: list[str] | None = None
) -> list[types.CodeAction]:
    rng = diagnostics[0].range if diagnostics else types.Range(start=types.Position(0, 0), end=types.Position(0, 0))
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(diagnostics=diagnostics, only=only),
        )
    )
    assert result is not None
    return [a for a in result if isinstance(a, types.CodeAction)]


async def _edits(client: ProbeClient, uri: str, action: types.CodeAction) -> list[types.TextEdit]:
    """The action's edits, resolving it first (both profiles support codeAction/resolve for edits)."""
    assert action.edit is None, "a resolve-capable client gets actions without edits"
    resolved = await client.code_action_resolve_async(action)
    return workspace_edits(resolved.edit, uri)


def _parses(text: str) -> bool:
    ast.parse(text)
    return True


async def test_quick_fixes_say_when_unsafe_and_resolve_to_the_engine_fix(client: ProbeClient) -> None:
    uri, diagnostics = await _open(client, "quickfix.py")
    titles = {a.title: a for a in await _actions(client, uri, diagnostics)}
    safe = titles["Fix IDM001: Replace the loop with a list comprehension"]
    assert safe.kind == types.CodeActionKind.QuickFix and safe.is_preferred
    unsafe = next(a for t, a in titles.items() if t.startswith("Fix IDM010:"))
    assert unsafe.title.endswith("(unsafe)") and not unsafe.is_preferred
    assert "Ignore IDM001 on this line" in titles and "Ignore IDM010 on this line" in titles
    assert titles["Fix all safe perfsquad findings"].kind == "source.fixAll.perfsquad"

    fixed = apply_text_edits(SAMPLE, await _edits(client, uri, safe))
    engine = next(f for f in analyze_source(SAMPLE, "quickfix.py").findings if f.code == "IDM001")
    assert engine.fix is not None
    assert fixed == apply_edits(SAMPLE, engine.fix.edits)
    assert "out = [k for k in d]" in fixed and _parses(fixed)
    assert [f.code for f in analyze_source(fixed, "quickfix.py").findings] == ["IDM010"]

    unsafe_fixed = apply_text_edits(SAMPLE, await _edits(client, uri, unsafe))
    assert "Counter(xs)" in unsafe_fixed and "counts.get(x, 0)" not in unsafe_fixed and _parses(unsafe_fixed)


async def test_ignore_action_writes_and_merges_the_suppression_comment(client: ProbeClient) -> None:
    uri, diagnostics = await _open(client, "ignore.py")
    idm001 = by_code(diagnostics, "IDM001")
    actions = await _actions(client, uri, [idm001])
    ignore = next(a for a in actions if a.title == "Ignore IDM001 on this line")
    text = apply_text_edits(SAMPLE, await _edits(client, uri, ignore))
    assert text.splitlines()[9] == "    for k in d:  # perfsquad: ignore[IDM001]"

    client.replace_all(uri, 2, text)
    assert "IDM001" not in {d.code for d in await client.diagnostics_for(uri, version=2)}

    # A line that already has an ignore comment: the code is added to it.
    commented = SAMPLE.replace("    for k in d:\n", "    for k in d:  # perfsquad: ignore[IDM006]\n")
    uri2, diagnostics2 = await _open(client, "ignore_merge.py", commented)
    actions = await _actions(client, uri2, [by_code(diagnostics2, "IDM001")])
    ignore = next(a for a in actions if a.title == "Ignore IDM001 on this line")
    merged = apply_text_edits(commented, await _edits(client, uri2, ignore))
    assert merged.splitlines()[9] == "    for k in d:  # perfsquad: ignore[IDM006, IDM001]"
    client.replace_all(uri2, 2, merged)
    assert "IDM001" not in {d.code for d in await client.diagnostics_for(uri2, version=2)}


async def test_fix_all_applies_only_safe_fixes(client: ProbeClient) -> None:
    uri, _ = await _open(client, "fixall.py")
    actions = await _actions(client, uri, [], only=[types.CodeActionKind.SourceFixAll])
    assert [a.kind for a in actions] == ["source.fixAll.perfsquad"]
    fixed = apply_text_edits(SAMPLE, await _edits(client, uri, actions[0]))
    assert "out = [k for k in d]" in fixed  # safe: applied
    assert "counts[x] = counts.get(x, 0) + 1" in fixed  # unsafe: left alone
    assert _parses(fixed)

    # The same through the command: the server asks the client to apply the edit.
    mark = client.mark()
    applied = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="perfsquad.fixAll", arguments=[uri])
    )
    assert applied is True
    request = await client.wait_for("apply-edit", since=mark)
    assert apply_text_edits(SAMPLE, workspace_edits(request.edit, uri)) == fixed

    # Quick-fix-only requests get no fix-all action.
    only_quick = await _actions(client, uri, [], only=[types.CodeActionKind.QuickFix])
    assert all(a.kind == types.CodeActionKind.QuickFix for a in only_quick)


async def test_resolving_after_an_edit_is_refused_as_content_modified(client: ProbeClient) -> None:
    uri, diagnostics = await _open(client, "stale.py")
    action = next(a for a in await _actions(client, uri, diagnostics) if a.title.startswith("Fix IDM001"))
    client.replace_all(uri, 2, SAMPLE + "\n")
    await client.diagnostics_for(uri, version=2)
    with pytest.raises(JsonRpcException) as info:
        await client.code_action_resolve_async(action)
    assert info.value.code == types.LSPErrorCodes.ContentModified


async def test_hover_on_a_finding_explains_and_quotes_the_measured_speedup(client: ProbeClient) -> None:
    uri, diagnostics = await _open(client, "hover_finding.py")
    start = by_code(diagnostics, "IDM001").range.start
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.kind == types.MarkupKind.Markdown
    text = hover.contents.value
    rule = rule_by_code("IDM001")
    assert rule is not None
    why = rule.doc_sections()["Why is this bad?"].strip()
    assert "**Why is this bad?**" in text and why in text
    speedup = rule.speedup()
    assert speedup is not None and speedup.describe() in text and "measured by" in text
    assert hover.range == by_code(diagnostics, "IDM001").range


async def test_hover_on_a_function_name_and_code_lens_show_its_metrics(client: ProbeClient) -> None:
    uri, _ = await _open(client, "metrics.py")
    functions = {f.name: f for f in analyze_source(SAMPLE, "metrics.py", metrics=True).functions}
    total = functions["total"]
    assert (total.cyclomatic, total.loop_depth) == (2, 1)

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 6))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert "Cyclomatic complexity: 2" in text and "Loop nesting depth: 1" in text
    if total.complexity is not None:  # filled by the complexity analyzer when it has an estimate
        assert f"Estimated complexity: {total.complexity}" in text
        assert total.complexity_reason is None or total.complexity_reason in text

    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    # SAMPLE's functions are linear: a lens would say nothing, so there is none
    assert all(fn.complexity in (None, "O(n)", "O(1)") for fn in functions.values())
    assert not [lens for lens in lenses or [] if lens.command and lens.command.title.startswith("estimated")]

    nothing = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(5, 0))
    )
    assert nothing is None
