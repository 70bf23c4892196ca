"""Profile-weighted findings: the 80/20 rule applied to static analysis.

A finding whose code ran for a measurable share of the profiled runtime is escalated (severity and
sort order) and says how much of the runtime it sits in; a finding in code the profile never saw
running is demoted to a hint. Sampled profiles weigh the finding's own lines (inclusive of what
they call); cProfile profiles, which have no line numbers, weigh the enclosing function.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from perfsquad.calibration import measured_slower
from perfsquad.model import FileReport, Finding, Severity
from perfsquad.profiling.formats import _function_starts, load_profile
from perfsquad.profiling.model import Profile

HOT_SHARE = 0.02
"""At least this share of the runtime: the finding is escalated to a warning."""
CRITICAL_SHARE = 0.20
"""At least this share: escalated to an error (it sits in the bottleneck)."""


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


def weigh_finding(finding: Finding, path: str, index: ProfileIndex) -> Finding:
    m = index.measure(path, finding.span.start.line, finding.span.end.line)
    severity = finding.severity
    if m.seconds <= 0:
        severity = Severity.HINT
    elif m.share >= CRITICAL_SHARE:
        severity = Severity.ERROR
    elif m.share >= HOT_SHARE and severity in (Severity.INFO, Severity.HINT):
        severity = Severity.WARNING
    if severity in (Severity.ERROR, Severity.WARNING) and measured_slower(finding.speedup):
        severity = Severity.INFO  # hot code, but the rewrite is measured slower: it saves nothing
    return replace(finding, severity=severity, notes=(*finding.notes, m.describe()), measured_share=m.share)


def weigh_reports(reports: list[FileReport], profile: Profile) -> list[FileReport]:
    """Every finding weighed; within each file, hottest first (then by position)."""
    index = ProfileIndex(profile)
    result = []
    for report in reports:
        weighed = [weigh_finding(f, report.path, index) for f in report.findings]
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
