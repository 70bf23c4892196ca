"""FileReport -> LSP diagnostics, with each finding's fix carried in ``Diagnostic.data``.

The fix travels already converted to the client's ranges, so code actions never re-analyze:
``{"version": V, "code": C, "fix": {"title", "safety", "edits": [{"range", "newText"}]} | null}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from perfsquad.docs import rule_doc_url
from perfsquad.model import FileReport, Finding, Fix, FixSafety, Position, Severity
from perfsquad.server.conversions import LineIndex

SOURCE = "perfsquad"
PARSE_ERROR_CODE = "parse-error"

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


@dataclass(frozen=True)
class FixData:
    """A fix as carried by a diagnostic: client ranges, ready to become a WorkspaceEdit."""

    title: str
    safety: FixSafety
    edits: tuple[types.TextEdit, ...]
    version: int | None


def finding_message(finding: Finding) -> str:
    if finding.speedup is None:
        return finding.message
    return f"{finding.message} ({finding.speedup.describe()})"


def _range_json(rng: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }


def fix_json(fix: Fix, index: LineIndex) -> dict[str, Any]:
    edits = [{"range": _range_json(index.range(e.span)), "newText": e.content} for e in fix.edits]
    return {"title": fix.title, "safety": fix.safety.value, "edits": edits}


def finding_diagnostic(finding: Finding, index: LineIndex, version: int | None) -> types.Diagnostic:
    fix = fix_json(finding.fix, index) if finding.fix is not None else None
    return types.Diagnostic(
        range=index.range(finding.span),
        message=finding_message(finding),
        severity=_SEVERITY.get(finding.severity, types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=rule_doc_url(finding.code)),
        source=SOURCE,
        data={"version": version, "code": finding.code, "fix": fix},
    )


def error_diagnostic(report: FileReport, index: LineIndex) -> types.Diagnostic | None:
    if report.error is None:
        return None
    if report.error_span is not None:
        rng = index.range(report.error_span)
    else:  # file-level problem without a place: the first line
        rng = types.Range(types.Position(0, 0), index.position(Position(1, len(index.line(0)))))
    return types.Diagnostic(
        range=rng,
        message=report.error,
        severity=types.DiagnosticSeverity.Error,
        code=PARSE_ERROR_CODE,
        source=SOURCE,
    )


def report_diagnostics(
    report: FileReport, index: LineIndex, version: int | None, findings: Sequence[Finding] | None = None
) -> list[types.Diagnostic]:
    """All diagnostics for one analyzed text: the file-level error first, then the findings
    (``findings`` when given: the report's after weighing)."""
    diagnostics = [finding_diagnostic(f, index, version) for f in (report.findings if findings is None else findings)]
    error = error_diagnostic(report, index)
    return [error, *diagnostics] if error is not None else diagnostics


def _position(value: Any) -> types.Position | None:
    if not isinstance(value, dict):
        return None
    line, character = value.get("line"), value.get("character")
    if not isinstance(line, int) or not isinstance(character, int) or line < 0 or character < 0:
        return None
    return types.Position(line=line, character=character)


def _range(value: Any) -> types.Range | None:
    if not isinstance(value, dict):
        return None
    start, end = _position(value.get("start")), _position(value.get("end"))
    return types.Range(start=start, end=end) if start and end else None


def parse_fix_data(data: Any) -> FixData | None:
    """The fix a diagnostic carries, or None when it has none or ``data`` is not ours/malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("fix"), dict):
        return None
    fix = data["fix"]
    try:
        safety = FixSafety(fix.get("safety"))
    except ValueError:
        return None
    edits: list[types.TextEdit] = []
    for raw in fix.get("edits") or ():
        rng = _range(raw.get("range")) if isinstance(raw, dict) else None
        new_text = raw.get("newText") if isinstance(raw, dict) else None
        if rng is None or not isinstance(new_text, str):
            return None
        edits.append(types.TextEdit(range=rng, new_text=new_text))
    version = data.get("version")
    title = fix.get("title")
    if not edits or not isinstance(title, str):
        return None
    return FixData(title, safety, tuple(edits), version if isinstance(version, int) else None)


def diagnostic_key(diagnostic: types.Diagnostic) -> tuple[object, ...]:
    """Identity of a diagnostic across the wire (used when a client drops ``data``)."""
    r = diagnostic.range
    return (str(diagnostic.code), r.start.line, r.start.character, r.end.line, r.end.character)
