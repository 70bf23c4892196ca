"""FileReport -> LSP diagnostics, each saying in ``Diagnostic.data`` whether its finding is fixable.

``{"version": V, "code": C, "fix": {"title", "safety"} | null}``: the fix's title and safety, no
edits. The server analyzes edits without building fixes (the rule's ``fix_title``/``fix_safety``
describe the fix it offers); a code action builds the fixes it shows (see :mod:`actions`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from perfsquad.analyzers import rule_by_code
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
    """The fix a diagnostic says its finding has (built when a code action asks for it)."""

    title: str
    safety: FixSafety
    version: int | None


def offered_fix(finding: Finding) -> tuple[str, FixSafety] | None:
    """The title and safety of a finding's fix: its own when built, else its rule's (the rule's
    safety is the best a fix of it can have; the built one may say less), or None: no fix."""
    if finding.fix is not None:
        return finding.fix.title, finding.fix.safety
    return _rule_fix(finding.code) if finding.fixable else None


@functools.lru_cache(maxsize=256)
def _rule_fix(code: str) -> tuple[str, FixSafety] | None:
    """A rule's fix title and safety (looked up once per code: every publish asks, per finding)."""
    rule = rule_by_code(code)
    if rule is None or rule.fix_title is None or rule.fix_safety is None:
        return None
    return rule.fix_title, rule.fix_safety


def finding_message(finding: Finding) -> str:
    """The message alone, short like ruff's: the speedup and its provenance are in the hover."""
    return finding.message


def range_json(rng: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }


def fix_edits(fix: Fix, index: LineIndex) -> list[types.TextEdit]:
    """A built fix's edits in the client's ranges."""
    return [types.TextEdit(range=index.range(e.span), new_text=e.content) for e in fix.edits]


def range_key(code: str, r: types.Range) -> tuple[object, ...]:
    """Identity of a finding of rule ``code`` at ``r`` on the wire: a diagnostic's, a built fix's
    and a code action's ``data`` all name their finding this way."""
    return (code, r.start.line, r.start.character, r.end.line, r.end.character)


def finding_key(finding: Finding, index: LineIndex) -> tuple[object, ...]:
    """What :func:`diagnostic_key` gives for the diagnostic of ``finding``."""
    return range_key(finding.code, index.range(finding.span))


def finding_diagnostic(finding: Finding, index: LineIndex, version: int | None) -> types.Diagnostic:
    offered = offered_fix(finding)
    fix = {"title": offered[0], "safety": offered[1].value} if offered is not None else None
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


def parse_range(value: Any) -> types.Range | None:
    if not isinstance(value, dict):
        return None
    start, end = _position(value.get("start")), _position(value.get("end"))
    return types.Range(start=start, end=end) if start and end else None


def parse_fix_data(data: Any) -> FixData | None:
    """The fix a diagnostic says it has, or None when it has none or ``data`` is not ours/malformed."""
    if not isinstance(data, dict) or not isinstance(data.get("fix"), dict):
        return None
    fix = data["fix"]
    try:
        safety = FixSafety(fix.get("safety"))
    except ValueError:
        return None
    version = data.get("version")
    title = fix.get("title")
    if not isinstance(title, str):
        return None
    return FixData(title, safety, version if isinstance(version, int) else None)


def diagnostic_key(diagnostic: types.Diagnostic) -> tuple[object, ...]:
    """Identity of a diagnostic across the wire (used when a client drops ``data``)."""
    return range_key(str(diagnostic.code), diagnostic.range)
