"""End to end over LSP: a VEC finding's hover shows the speedup measured at the nearest calibrated size."""

from __future__ import annotations

import pytest
from lsp_harness import ProbeClient, lsp_fixture
from lsprotocol import types

from perfsquad.analyzers import rule_by_code

pytestmark = [
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
    pytest.mark.asyncio(loop_scope="module"),
]
client = lsp_fixture(shared=True)

SOURCE = """\
import math
import numpy as np


def roots():
    samples = np.linspace(0.0, 1.0, 50000)
    return [math.sqrt(x) for x in np.zeros(80000)]
"""


async def test_hover_on_a_vec_finding_shows_the_nearest_size(client: ProbeClient) -> None:
    uri = (client.root / "vec.py").as_uri()
    client.open(uri, SOURCE)
    diagnostics = await client.diagnostics_for(uri, version=1)
    vec = [d for d in diagnostics if d.code == "VEC005"]
    assert len(vec) == 1, diagnostics
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=vec[0].range.start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    rule = rule_by_code("VEC005")
    assert rule is not None
    speedup = rule.speedup()
    assert speedup is not None
    ratio = dict(speedup.sizes)[100000]
    assert f"Measured speedup at n = 100,000 (nearest calibrated size to n = 80,000): {ratio:.1f}x" in text, text
