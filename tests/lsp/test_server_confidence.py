"""End to end: the `confidence` and `tests` settings decide what the editor shows; hover gives a
finding's confidence and its evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_harness import ProbeClient, initialize, lsp_fixture
from lsprotocol import types

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")
client = lsp_fixture()

# `rows` is a parameter (evidence of scale: high); `allowed` holds the arguments of one call (low).
CODE = """\
def total(rows):
    out = []
    for r in rows:
        if r not in out:
            out.append(r)
    return out


def named(xs, *names):
    allowed = list(names)
    return [x for x in xs if x in allowed]
"""


def _lines(diagnostics: list[types.Diagnostic]) -> list[tuple[int, types.DiagnosticSeverity | None]]:
    return sorted((d.range.start.line + 1, d.severity) for d in diagnostics if d.code == "ALG002")


async def test_confidence_setting_hover_and_test_files(client: ProbeClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.perfsquad]\nselect = ["ALG002"]\n', encoding="utf-8")
    await initialize(client, tmp_path, options={"debounceMs": 0})
    uri = (tmp_path / "mod.py").as_uri()
    client.open(uri, CODE)
    warning = types.DiagnosticSeverity.Warning
    assert _lines(await client.diagnostics_for(uri, version=1)) == [(4, warning)]

    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line=3, character=13))
    )
    assert hover is not None
    text = hover.contents.value if isinstance(hover.contents, types.MarkupContent) else str(hover.contents)
    assert "**Confidence** high" in text and "parameter `rows`" in text

    mark = client.mark()
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"perfsquad": {"confidence": "low", "debounceMs": 0}})
    )
    assert _lines(await client.diagnostics_for(uri, since=mark)) == [(4, warning), (11, warning)]

    # A test file: hints, one level lower (so the literal loop's low finding needs `low` to show).
    test_uri = (tmp_path / "tests" / "test_mod.py").as_uri()
    client.open(test_uri, CODE)
    hint = types.DiagnosticSeverity.Hint
    assert _lines(await client.diagnostics_for(test_uri, version=1)) == [(4, hint), (11, hint)]
    mark = client.mark()
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"perfsquad": {"tests": "off", "debounceMs": 0}})
    )
    assert _lines(await client.diagnostics_for(test_uri, since=mark)) == []
