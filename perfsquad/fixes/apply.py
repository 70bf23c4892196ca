"""Applying fixes to a whole file: non-overlapping edits per pass, re-analysis until convergence."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from dataclasses import dataclass

from perfsquad.config import Config
from perfsquad.model import Edit, FileReport, Finding, Fix, FixSafety
from perfsquad.rule import Rule
from perfsquad.source import SourceText

MAX_PASSES = 12


@dataclass(frozen=True)
class FixResult:
    text: str
    applied: int
    report: FileReport
    """The report of the final text (what is left)."""
    converged: bool


def allowed(fix: Fix | None, unsafe: bool) -> bool:
    if fix is None:
        return False
    return fix.safety is FixSafety.SAFE or (unsafe and fix.safety is FixSafety.UNSAFE)


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply edits given in positions of ``text``; they must not overlap."""
    source = SourceText.from_text(text)
    spans = sorted(((source.offset(e.span.start), source.offset(e.span.end), e.content) for e in edits),
                   reverse=True)  # fmt: skip
    result = text
    previous_start = len(text) + 1
    for start, end, content in spans:
        if end > previous_start:
            raise ValueError("overlapping edits")
        result = result[:start] + content + result[end:]
        previous_start = start
    return result


def _parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def select_fixes(text: str, findings: Iterable[Finding], unsafe: bool) -> list[Fix]:
    """A maximal prefix (in source order) of allowed fixes whose edits do not overlap."""
    source = SourceText.from_text(text)
    taken: list[tuple[int, int]] = []
    chosen: list[Fix] = []
    for finding in findings:
        fix = finding.fix
        if fix is None or not allowed(fix, unsafe):
            continue
        ranges = [(source.offset(e.span.start), source.offset(e.span.end)) for e in fix.edits]
        if any((a < tb and ta < b) or (a == b == ta == tb) for a, b in ranges for ta, tb in taken):
            continue
        taken.extend(ranges)
        chosen.append(fix)
    return chosen


def fix_text(
    text: str,
    path: str,
    config: Config | None = None,
    *,
    unsafe: bool = False,
    rules: tuple[type[Rule], ...] | None = None,
) -> FixResult:
    """Apply every allowed fix, re-analyzing after each pass, until nothing is left to fix."""
    from perfsquad.engine import analyze_text

    if rules is None:  # the engine takes its rules from its caller: here, the whole registry
        from perfsquad.analyzers import RULES

        rules = RULES
    applied = 0
    report = analyze_text(text, path, config, rules=rules)
    for _ in range(MAX_PASSES):
        fixes = select_fixes(text, report.findings, unsafe)
        if not fixes:
            return FixResult(text, applied, report, converged=True)
        candidate = apply_edits(text, [e for f in fixes for e in f.edits])
        if not _parses(candidate):
            # Should not happen (each fix was verified alone); fall back to one fix at a time.
            candidate = apply_edits(text, fixes[0].edits)
            if not _parses(candidate):
                return FixResult(text, applied, report, converged=False)
            fixes = fixes[:1]
        text = candidate
        applied += len(fixes)
        report = analyze_text(text, path, config, rules=rules)
    return FixResult(text, applied, report, converged=False)
