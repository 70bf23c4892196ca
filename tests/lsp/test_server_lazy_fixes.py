"""Fixes are built when a code action asks for them, never at each edit.

End to end (pytest-lsp, both client profiles, with and without ``codeAction/resolve`` support): a
diagnostic published after an edit says its finding is fixable but carries no edits; the quick
fix asked for afterwards applies and gives the engine's fix; stale requests behave as before.
Then, in-process, a rule whose fix factory counts its calls shows that the analysis of an edit
calls none, and a code action builds only the fixes of the rule it is about.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from lsp_harness import SAMPLE, ProbeClient, apply_text_edits, by_code, initialize, lsp_fixture, workspace_edits
from lsprotocol import types
from pygls.exceptions import JsonRpcException

import perfsquad.analyzers
import perfsquad.incremental
from perfsquad.api import DocumentAnalyzer, analyze_source
from perfsquad.context import Context
from perfsquad.fixes.apply import apply_edits
from perfsquad.model import Edit, Fix, FixSafety, Span
from perfsquad.rule import Rule
from perfsquad.server import actions
from perfsquad.server.conversions import Encoding
from perfsquad.server.diagnostics import _rule_fix, report_diagnostics
from perfsquad.server.documents import Documents, DocumentState, analyze_snapshot

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")
client = lsp_fixture()  # one server per test: each chooses whether its client resolves code actions

# Two lines inserted at the top of the first function: the IDM001 finding of the second one is
# kept from the previous analysis, two lines lower.
INSERT = types.TextDocumentContentChangePartial(
    range=types.Range(start=types.Position(line=1, character=0), end=types.Position(line=1, character=0)),
    text="    y = 1\n    z = 2\n",
)
_LINES = SAMPLE.splitlines(keepends=True)
EDITED = _LINES[0] + "    y = 1\n    z = 2\n" + "".join(_LINES[1:])
IDM001_FIX = "Fix IDM001: Replace the loop with a list comprehension"
RESOLVE = pytest.mark.parametrize("resolve", [True, False], ids=["resolve", "no-resolve"])


async def _actions(client: ProbeClient, uri: str, diagnostics: list[types.Diagnostic]) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostics[0].range,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


async def _edited(client: ProbeClient, tmp_path: Path, resolve: bool, name: str) -> tuple[str, types.Diagnostic]:
    """A document opened, then edited once (version 2): its IDM001 diagnostic."""
    await initialize(client, tmp_path, resolve=resolve)
    uri = (tmp_path / name).as_uri()
    client.open(uri, SAMPLE)
    await client.diagnostics_for(uri, version=1)
    client.change(uri, 2, INSERT)
    return uri, by_code(await client.diagnostics_for(uri, version=2), "IDM001")


@RESOLVE
async def test_a_quick_fix_after_an_edit_is_built_when_asked_for(
    client: ProbeClient, tmp_path: Path, resolve: bool
) -> None:
    uri, idm001 = await _edited(client, tmp_path, resolve, "lazy.py")
    assert idm001.range.start.line == 11
    # Fixable, says the diagnostic, with no edits built.
    assert idm001.data == {
        "version": 2,
        "code": "IDM001",
        "fix": {"title": "Replace the loop with a list comprehension", "safety": "safe"},
    }

    action = next(a for a in await _actions(client, uri, [idm001]) if a.title == IDM001_FIX)
    assert action.is_preferred
    if resolve:
        assert action.edit is None, "a resolve-capable client gets the edit from codeAction/resolve"
        action = await client.code_action_resolve_async(action)
    else:
        assert action.edit is not None, "a client without resolve gets the edit in the response"
    fixed = apply_text_edits(EDITED, workspace_edits(action.edit, uri))

    engine = next(f for f in analyze_source(EDITED, "lazy.py").findings if f.code == "IDM001")
    assert engine.fix is not None
    assert fixed == apply_edits(EDITED, engine.fix.edits)
    assert "    out = [k for k in d]\n" in fixed and ast.parse(fixed)


@RESOLVE
async def test_stale_requests_get_no_fix(client: ProbeClient, tmp_path: Path, resolve: bool) -> None:
    uri, idm001 = await _edited(client, tmp_path, resolve, "stale_lazy.py")
    offered = next(a for a in await _actions(client, uri, [idm001]) if a.title == IDM001_FIX)
    client.replace_all(uri, 3, EDITED + "\n")

    # Asked with the version-2 diagnostic about version 3: no quick fix (its finding may have
    # moved), the ignore action still.
    titles = [a.title for a in await _actions(client, uri, [idm001])]
    assert IDM001_FIX not in titles and "Ignore IDM001 on this line" in titles
    if resolve:
        # Resolving an action offered for version 2: the document changed, ask again.
        with pytest.raises(JsonRpcException) as info:
            await client.code_action_resolve_async(offered)
        assert info.value.code == types.LSPErrorCodes.ContentModified
    await client.diagnostics_for(uri, version=3)


# --- in-process: which fix factories run, and when ----------------------------------------------


def _counting_rule(calls: list[int]) -> type[Rule]:
    class CountedFix(Rule):
        """Flags every ``for`` loop; its fix factory records each call (impossible for ``for k``)."""

        code = "IDM901"
        name = "counted-fix"
        message = "a for loop"
        fix_title = "Mark the loop"
        fix_safety = FixSafety.SAFE
        node_types = (ast.For,)

        def check(self, node: Any, ctx: Context) -> None:
            def build() -> Fix | None:
                calls.append(node.lineno)
                if isinstance(node.target, ast.Name) and node.target.id == "k":
                    return None
                start = ctx.span(node).start
                return Fix("Mark this loop", FixSafety.SAFE, (Edit(Span(start, start), "pass; "),))

            ctx.report(self, node, fix=build)

    return CountedFix


def test_an_edit_builds_no_fix_and_a_code_action_builds_its_rule_s(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    rule = _counting_rule(calls)
    for module in (perfsquad.analyzers, perfsquad.incremental):
        monkeypatch.setattr(module, "RULES", (rule,))
    _rule_fix.cache_clear()  # rule codes are looked up once: forget any IDM901 seen without the rule
    analyzer = DocumentAnalyzer("counted.py", project=False)
    state = DocumentState("file:///counted.py", "counted.py", analyzer)

    analyze_snapshot(state, analyzer, SAMPLE, 1, 1, Encoding.UTF16)
    edited = analyze_snapshot(state, analyzer, EDITED, 2, 2, Encoding.UTF16)  # the didChange path
    assert analyzer.last_was_incremental
    assert [(f.code, f.fixable, f.fix) for f in edited.report.findings] == [("IDM901", True, None)] * 2
    assert calls == [], "analyzing an edit called a fix factory"

    # A code action about IDM901 builds its fixes, once per text.
    built = Documents.fixes_for(state, EDITED, {"IDM901"})
    assert sorted(calls) == [5, 12]
    assert [f.fix is not None for f in built] == [True, False]
    Documents.fixes_for(state, EDITED, {"IDM901"})
    assert sorted(calls) == [5, 12], "the same text's fixes were built again"

    # The loop whose fix is impossible gets no quick fix (never a broken one), only "Ignore".
    snap = actions.Snapshot(state.uri, state.path, EDITED, 2, Encoding.UTF16)
    diagnostics = report_diagnostics(edited.report, edited.index, 2)
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=state.uri),
        range=diagnostics[0].range,
        context=types.CodeActionContext(diagnostics=diagnostics),
    )
    codes = actions.fix_codes(snap, params, None)
    assert codes == {"IDM901"}
    fixes = actions.built_fixes(snap, codes, lambda c: Documents.fixes_for(state, EDITED, c))
    found = actions.code_actions(snap, params, None, fixes)
    assert [(a.title, a.diagnostics[0].range.start.line if a.diagnostics else None) for a in found] == [
        ("Fix IDM901: Mark this loop", 4),
        ("Ignore IDM901 on this line", 4),
        ("Ignore IDM901 on this line", 11),
    ]
    assert sorted(calls) == [5, 12]
