"""Applying fixes to a text: which fixes of a pass go together (non-overlapping, allowed), the
edits applied, the result checked to parse. Pure text operations: the loop that re-analyzes until
nothing is left to fix (with the workspace index) is ``perfsquad.autofix``, above the engine."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable

from perfsquad.model import Edit, Finding, Fix, FixSafety
from perfsquad.source import SourceText


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


def parses(text: str) -> bool:
    """Whether ``text`` is valid Python (the check after applying a pass's fixes together)."""
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
