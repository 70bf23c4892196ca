"""A probe extension using every extension point of the server."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from lsprotocol import types

from perfsquad.model import Finding, Position, Severity, Span


def register(server: Any) -> None:
    def hover(doc: Any, pos: Position) -> str | None:
        return f"probe hover at {pos.line}:{pos.column}"

    def crashing_hover(doc: Any, pos: Position) -> str | None:
        if "CRASH_PROVIDER" in doc.line(pos.line):
            raise RuntimeError("probe hover provider crashed on purpose")
        return None

    def lenses(doc: Any) -> Iterable[types.CodeLens]:
        for fn in doc.report.functions:
            yield types.CodeLens(
                range=doc.range(fn.name_span), command=types.Command(title=f"probe lens {fn.qualname}", command="")
            )

    def inlays(doc: Any, visible: Span) -> Iterable[types.InlayHint]:
        for fn in doc.report.functions:
            if visible.start.line <= fn.name_span.end.line <= visible.end.line:
                yield types.InlayHint(position=doc.position(fn.name_span.end), label=f" probe:{fn.name}")

    def weigher(doc: Any, findings: Sequence[Finding]) -> Sequence[Finding]:
        return [
            dataclasses.replace(f, severity=Severity.ERROR, notes=(*f.notes, "probe weigher escalated this"))
            if f.code == "IDM001"
            else f
            for f in findings
        ]

    server.hover_providers.extend([hover, crashing_hover])
    server.lens_providers.append(lenses)
    server.inlay_providers.append(inlays)
    server.finding_weighers.append(weigher)

    @server.command("probe.overlay")
    def overlay(ls: Any, uri: str, message: str) -> bool:
        """Set extra diagnostics, then refresh from another thread (as a finished profile run would)."""
        line = Span(Position(1, 0), Position(1, 3))
        raw = types.Diagnostic(
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=1)),
            message=f"raw {message}",
            source="probe",
        )
        server.extra_diagnostics[uri] = [Finding("HOT001", message, line, Severity.INFO), raw]
        worker = threading.Thread(target=server.refresh_overlays)
        worker.start()
        worker.join()
        return True

    @server.command("probe.clearOverlay")
    def clear_overlay(ls: Any, uri: str) -> bool:
        server.extra_diagnostics.pop(uri, None)
        server.refresh_overlays()
        return True

    @server.command("probe.documentState")
    def document_state(ls: Any) -> dict[str, Any]:
        """What the server still holds per document (tests of close releasing a document's state):
        open documents, editor texts kept by workspace indexes, shared line tables."""
        from perfsquad import source, workspace

        with workspace._INDEXES_LOCK:
            indexes = list(workspace._INDEXES.values())
        texts = {path: len(text) for ix in indexes for path, text in list(ix._pending.values()) if text}
        with source._RECENT_LOCK:
            tables = [len(t.text) for t in source._RECENT.values()]
        return {"open": server.documents.uris(), "index_texts": texts, "line_tables": tables}

    @server.command("probe.extensions")
    def extensions(ls: Any) -> list[str]:
        return list(server.extensions)
