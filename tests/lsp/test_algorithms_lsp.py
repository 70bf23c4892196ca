"""End to end over LSP: the Big-O estimate in the hover of a function name and in its code lens."""

from __future__ import annotations

import pytest
from lsp_harness import ProbeClient, lsp_fixture
from lsprotocol import types
from support import SIMILARITY

pytestmark = [
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
    pytest.mark.asyncio(loop_scope="module"),
]
client = lsp_fixture(shared=True)

SOURCE = """\
def dedupe(items):
    seen = []
    for x in items:
        if x not in seen:
            seen.append(x)
    return seen


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
"""


async def test_hover_and_lens_show_the_estimate_and_its_reason(client: ProbeClient) -> None:
    uri = (client.root / "bigo.py").as_uri()
    client.open(uri, SOURCE)
    await client.diagnostics_for(uri, version=1)

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 5))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert "Estimated complexity: O(n^2)" in text, text
    assert "line 4: `x not in seen` (list) inside loop over `items`" in text, text

    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    titles = {lens.range.start.line: lens.command.title for lens in lenses or [] if lens.command}
    assert "O(n^2)" in titles[0], titles
    assert "O(2^n)" in titles[8], titles


async def test_lenses_only_where_they_say_something_and_clicking_shows_the_facts(client: ProbeClient) -> None:
    """The demo's similarity module: a lens on the O(n²) and worse functions only, labelled with the
    estimate and "cyclomatic"; the callee's letters are the caller's (`group_similar` is O(n^2·d))."""
    text = SIMILARITY.read_text(encoding="utf-8")
    uri = (client.root / "similarity.py").as_uri()
    client.open(uri, text)
    await client.diagnostics_for(uri, version=1)
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    lines = text.splitlines()
    by_function = {lines[lens.range.start.line].split("def ")[1].split("(")[0]: lens for lens in lenses or []}
    assert set(by_function) == {"make_vectors", "group_similar", "similarity_matrix", "consolidate", "consolidate_memories"}
    assert "norm" not in by_function and "cosine" not in by_function  # linear: no lens
    group = by_function["group_similar"]
    assert group.command is not None and group.command.title.startswith("estimated O(n^2·d) · cyclomatic ")
    assert "complexity" not in group.command.title
    mark = client.mark()
    shown = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=group.command.command, arguments=group.command.arguments)
    )
    assert isinstance(shown, str) and shown.startswith("group_similar: estimated O(n^2·d)")
    assert "d = the length of an element of `vectors`" in shown
    assert any(m.message == shown for m in client.seen("show", since=mark))
