"""End to end (issue #19): closing documents releases everything the server kept for them.

The probe server (tests/lsp/lsp_probe) reports what it still holds per document: open documents,
editor texts in the workspace index, shared line tables. More documents are opened than the server
keeps warm (``WARM_DOCUMENTS``): a cold document's analyzer is replaced by a fresh one, and before
the fix closing it left its last editor text in the workspace index for the server's lifetime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lsp_harness import PROBE_SERVER, ProbeClient, initialize, lsp_fixture
from lsprotocol import types

from perfsquad.server.documents import WARM_DOCUMENTS

pytestmark = pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning")
probe = lsp_fixture(PROBE_SERVER)

DOCS = WARM_DOCUMENTS + 6


def _module(i: int) -> str:
    """A module large enough for a shared line table (> 32,768 characters), with a finding."""
    body = "".join(f"def f{i}_{n}(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out\n\n\n" for n in range(500))
    return f"import os\n\n\n{body}"


async def _state(client: ProbeClient) -> Any:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="probe.documentState"))


async def test_closing_many_documents_releases_their_state(probe: ProbeClient, tmp_path: Path) -> None:
    client = probe
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n", encoding="utf-8")
    await initialize(client, tmp_path, options={"debounceMs": 10})
    uris = []
    for i in range(DOCS):
        path = tmp_path / f"mod{i}.py"
        text = _module(i)
        path.write_text(text, encoding="utf-8")
        uri = path.as_uri()
        client.open(uri, text)
        assert any(d.code == "IDM001" for d in await client.diagnostics_for(uri, version=1))
        uris.append(uri)
    held = await _state(client)
    assert len(held["open"]) == DOCS
    assert len(held["index_texts"]) == DOCS  # every open document's editor text is in the index
    for uri in uris:
        mark = client.mark()
        client.close(uri)
        assert await client.diagnostics_for(uri, since=mark) == []
    held = await _state(client)
    assert held["open"] == []
    assert held["index_texts"] == {}, "closed documents' editor texts are still in the workspace index"
    assert held["line_tables"] == []
