"""The perfsquad server with the probe extensions registered and faults injectable by markers.

Markers (in a document's text or URI) make a piece of the server fail, to prove isolation:

- ``CRASH_HOVER`` on the hovered line: the hover handler raises;
- ``CRASH_ANALYSIS`` in a document: the analyzer raises;
- ``crash-notify`` in a document's URI: opening it raises inside the didOpen handler.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lsprotocol import types

from perfsquad.api import DocumentAnalyzer
from perfsquad.server import hover
from perfsquad.server.app import create_server
from perfsquad.server.documents import Documents
from perfsquad.server.extensions import discover_extensions


def inject_faults() -> None:
    hover_sections, update, open_document = hover.hover_sections, DocumentAnalyzer.update, Documents.open

    def crashing_hover_sections(analysis: Any, pos: Any) -> Any:
        if "CRASH_HOVER" in analysis.index.line(pos.line - 1):
            raise RuntimeError("hover crashed on purpose")
        return hover_sections(analysis, pos)

    def crashing_update(self: DocumentAnalyzer, text: str, **kwargs: Any) -> Any:
        if "CRASH_ANALYSIS" in text:
            raise RuntimeError("analysis crashed on purpose")
        return update(self, text, **kwargs)

    def crashing_open(self: Documents, uri: str, path: str) -> None:
        if "crash-notify" in uri:
            raise RuntimeError("didOpen crashed on purpose")
        open_document(self, uri, path)

    hover.hover_sections = crashing_hover_sections  # type: ignore[assignment]
    DocumentAnalyzer.update = crashing_update  # type: ignore[method-assign]
    Documents.open = crashing_open  # type: ignore[method-assign]


def main() -> None:
    inject_faults()
    server = create_server()
    for problem in discover_extensions(server, "lsp_probe"):
        server.log(types.MessageType.Error, problem)
    server.start_io()


if __name__ == "__main__":
    main()
