"""Profile-weighted findings: the 80/20 rule applied to static analysis.

A profile *adds* information and never hides any. A finding whose code ran for a measurable share of
the profiled runtime has its severity follow the estimated saving, Amdahl's ``share * (1 - 1/ratio)``
with the rule's calibrated ratio for measured code (:func:`perfsquad.calibration.rule_speedup`, the
audit's ROI uses the same): a saving of 10% of the run or more is an error, 1% or more at least a
warning; a rewrite measured no faster there is never raised (it drops to info). A finding in code the
profile never saw running keeps its severity and says "not reached in the measured run"; only with
``focus`` (the editor's opt-in ``profileFocus`` setting) is it dimmed to a hint.

A line's share is one definition everywhere (:meth:`ProfileIndex.line_share`: the samples whose stack
holds the line, once per sample, over the run's total); sampled profiles weigh the finding's own lines
(inclusive of what they call); cProfile profiles, which have no line numbers, weigh the enclosing
function.
"""

from __future__ import annotations

import ast
import functools
import os
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from perfsquad.calibration import rule_speedup, saved_share, times
from perfsquad.model import FileReport, Finding, Severity
from perfsquad.profiling.formats import _function_starts, load_profile
from perfsquad.profiling.model import Profile
from perfsquad.syntax import walk

HOT_SAVING = 0.01
"""An estimated saving of at least this share of the run: the finding is at least a warning."""
CRITICAL_SAVING = 0.10
"""At least this share of the run saved: an error (fixing it moves the bottleneck)."""
HOT_SHARE = 0.02
CRITICAL_SHARE = 0.20
"""For a rule with no calibrated ratio (no saving to estimate): the share of the run it sits in."""
COLD_TAG = "not reached in the measured run"
"""What a finding in code the profile never saw running says (its message ends with it)."""
_RANK = {Severity.HINT: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.ERROR: 3}


_MAX_PARSE_BYTES = 4 * 1024 * 1024


@functools.lru_cache(maxsize=256)
def _statements(path: str, mtime_ns: int) -> tuple[tuple[int, int], ...]:
    """(first line, last line) of every statement in a file, innermost-friendly order."""
    try:
        data = Path(path).read_bytes()
        if len(data) > _MAX_PARSE_BYTES:
            return ()
        tree = ast.parse(data)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    spans = [
        (node.lineno, node.end_lineno or node.lineno)
        for node in walk(tree)
        if isinstance(node, ast.stmt)
    ]
    return tuple(spans)


def statement_lines(path: str, line: int, end_line: int) -> tuple[int, int]:
    """The lines of the innermost statement that contains lines ``line..end_line`` of ``path``
    (a Python file on disk; a notebook's positions are its virtual module's: kept as they are)."""
    if not path.endswith((".py", ".pyw")):
        return line, end_line
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return line, end_line
    best: tuple[int, int] | None = None
    for start, end in _statements(path, mtime):
        if start <= line and end_line <= end and (best is None or end - start < best[1] - best[0]):
            best = (start, end)
    return best if best is not None else (line, end_line)


def _norm(path: str) -> str:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


@dataclass(frozen=True)
class Measured:
    seconds: float
    total: float
    granularity: str
    """``line`` (sampled) or ``function`` (cProfile)."""

    @property
    def share(self) -> float:
        return self.seconds / self.total if self.total > 0 else 0.0

    def describe(self) -> str:
        where = "this code" if self.granularity == "line" else "the enclosing function"
        if self.seconds <= 0:
            return "cold: the profiled run spent no measurable time here"
        pct = f"{self.share:.0%}" if self.share >= 0.1 else f"{self.share:.1%}"
        return f"hot: {where} is {pct} of the profiled runtime ({self.seconds:.2f} s of {self.total:.2f} s)"


class ProfileIndex:
    """Fast lookups of measured time by file and line range."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.total = profile.total_seconds
        self.line_level = bool(profile.stacks)
        self._lines: dict[str, dict[int, float]] = defaultdict(dict)
        self._functions: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
        if self.line_level:
            frames = profile.frames
            for stack, wall, _idle in profile.stacks:
                seen: set[tuple[str, int]] = set()
                for i in stack:
                    key = (frames[i].file, frames[i].line)
                    if key in seen:
                        continue
                    seen.add(key)
                    per_file = self._lines[_norm(key[0])]
                    per_file[key[1]] = per_file.get(key[1], 0.0) + wall
        else:
            for fn in profile.functions:
                if fn.file.startswith("<"):
                    continue
                ranges = _function_starts(fn.file).get(fn.name, [])
                end = next((e for s, e in ranges if s == fn.line), fn.line)
                self._functions[_norm(fn.file)].append((fn.line, end, fn.total_seconds))
        self._files = set(self._lines) | set(self._functions)

    def line_share(self, path: str, line: int) -> Measured:
        """The one measure of a line (inlay hint, hover, HOT diagnostics, code lens): the samples
        whose stack holds it (once per sample, so callees count in), over the run's total."""
        return self.measure(path, line, line)

    def covers(self, path: str) -> bool:
        return _norm(path) in self._files

    def measure(self, path: str, start: int, end: int) -> Measured:
        file = _norm(path)
        if self.line_level:
            lines = self._lines.get(file, {})
            seconds = sum(t for line, t in lines.items() if start <= line <= end)
            return Measured(seconds, self.total, "line")
        best: tuple[int, float] | None = None
        for first, last, seconds in self._functions.get(file, ()):
            if first <= start and end <= last and (best is None or first > best[0]):
                best = (first, seconds)  # the innermost enclosing function
        return Measured(best[1] if best else 0.0, self.total, "function")


def _raised(severity: Severity, floor: Severity) -> Severity:
    return floor if _RANK[floor] > _RANK[severity] else severity


def weigh_finding(finding: Finding, path: str, index: ProfileIndex, *, focus: bool = False) -> Finding:
    """``finding`` with the profile's evidence: its share, the estimated saving, a severity that
    follows the saving (see the module docstring); a cold finding tagged, dimmed only with ``focus``."""
    # (a rule that flags a loop's header line means the whole loop: the audit's shares widen the same way)
    m = index.measure(path, *statement_lines(path, finding.span.start.line, finding.span.end.line))
    severity, notes, message = finding.severity, [*finding.notes, m.describe()], finding.message
    if m.seconds <= 0:
        message = f"{message} ({COLD_TAG})"
        if focus:
            severity = Severity.HINT
        return replace(finding, severity=severity, message=message, notes=tuple(notes), measured_share=0.0)
    point = rule_speedup(finding.code, measured=True, fallback=finding.speedup)
    if point is None:  # no calibrated ratio: no saving to estimate, the share alone
        if m.share >= CRITICAL_SHARE:
            severity = Severity.ERROR
        elif m.share >= HOT_SHARE:
            severity = _raised(severity, Severity.WARNING)
    elif point.ratio <= 1.0:  # hot code, but the rewrite is measured no faster: it saves nothing
        if _RANK[severity] > _RANK[Severity.INFO]:
            severity = Severity.INFO
        notes.append(f"estimated saving: none, the rewrite is measured {times(point.ratio)} for inputs this size")
    else:
        saved = saved_share(m.share, point.ratio)
        if saved >= CRITICAL_SAVING:
            severity = Severity.ERROR
        elif saved >= HOT_SAVING:
            severity = _raised(severity, Severity.WARNING)
        notes.append(f"estimated saving: {saved:.1%} of the run = {m.share:.1%} \u00d7 (1 \u2212 1/{times(point.ratio)})")
    return replace(finding, severity=severity, notes=tuple(notes), measured_share=m.share)


def weigh_reports(reports: list[FileReport], profile: Profile, *, focus: bool = False) -> list[FileReport]:
    """Every finding weighed; within each file, hottest first (then by position)."""
    index = ProfileIndex(profile)
    result = []
    for report in reports:
        weighed = [weigh_finding(f, report.path, index, focus=focus) for f in report.findings]
        weighed.sort(key=lambda f: (-(f.measured_share or 0.0), f.span.start))
        result.append(replace(report, findings=tuple(weighed)))
    return result


def hottest_first(reports: list[FileReport]) -> list[tuple[FileReport, Finding]]:
    """All findings across files, ordered by measured share (the 80/20 order)."""
    pairs = [(r, f) for r in reports for f in r.findings]
    pairs.sort(key=lambda rf: (-(rf[1].measured_share or 0.0), rf[0].path, rf[1].span.start))
    return pairs


def load_for(path: Path) -> ProfileIndex:
    return ProfileIndex(load_profile(path))
