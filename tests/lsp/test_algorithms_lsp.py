"""End to end over LSP: the Big-O estimate in the hover of a function name and in its code lens."""

from __future__ import annotations

import pytest
from lsp_harness import ProbeClient, lsp_fixture
from lsprotocol import types

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
