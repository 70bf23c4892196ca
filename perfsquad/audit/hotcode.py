"""Hot code with no static finding: a roadmap item of its own.

The profile's 80/20 set is where the time goes, whether or not a rule fired there. A hot function
that no finding explains (no finding with a measured share lies in it) becomes a ``HOT001`` (on
CPU) or ``HOT002`` (waiting: I/O, a commit's disk sync, a sleep) roadmap item that says what it
does: its hottest lines with their share of the run, whether the time there was spent waiting (the
sampler's idle samples) or in a call that waits even when the sampler sees the thread running in C
(``commit``, ``execute``, ``sleep``, a socket read...), its Big-O estimate, and the advice for that
kind of cost. Its stake is the time it holds: the most any change there can save.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfsquad.audit.shares import ShareIndex, real
from perfsquad.model import FileReport, Finding, FunctionMetrics, Position, Severity, Span
from perfsquad.profiling.analysis import function_kind, is_user_file, user_view
from perfsquad.profiling.model import LineStat, Profile
from perfsquad.profiling.waits import WAIT_CALLS, calls_on_line, source_lines

ADVICE = {
    "io": (
        "the time is spent waiting: batch the calls (one query for many rows, `executemany`), reuse one "
        "connection or client instead of opening one per call, commit once per batch (SQLite: WAL with "
        "`synchronous=NORMAL`), or run independent waits concurrently"
    ),
    "cpu": (
        "the time is computation in Python: look for work repeated per element (a scan, a sort or a "
        "lookup inside a loop: index it once), element-by-element numeric loops (one NumPy expression), "
        "or results recomputed per call (cache them)"
    ),
}
_MAX_LINES = 3


@dataclass(frozen=True)
class HotLine:
    line: int
    share: float
    kind: str
    """``io`` (waiting, or a waiting call) or ``cpu``."""
    calls: tuple[str, ...]
    text: str


def hot_lines(view_lines: Iterable[LineStat], path: str, fn: FunctionMetrics, total: float) -> list[HotLine]:
    """The hottest lines of ``fn`` (self time, libraries charged to them), most first."""
    key = real(path)
    rows = [
        ln for ln in view_lines
        if real(ln.file) == key and fn.span.start.line <= ln.line <= fn.span.end.line and ln.self_seconds > 0
    ]  # fmt: skip
    rows.sort(key=lambda ln: -ln.self_seconds)
    out = []
    source = source_lines(path)
    for ln in rows[:_MAX_LINES]:
        calls = calls_on_line(path, ln.line)
        waits = any(c in WAIT_CALLS for c in calls)
        kind = "io" if waits or function_kind(ln) == "io" else "cpu"
        text = source[ln.line - 1].strip() if 0 < ln.line <= len(source) else ""
        out.append(HotLine(ln.line, ln.self_seconds / total if total > 0 else 0.0, kind, calls, text))
    return out


def _function_of(report: FileReport, name: str, line: int) -> FunctionMetrics | None:
    """The function of ``report`` the profile calls ``name`` (defined at ``line``)."""
    short = name.split(".<locals>")[-1].split(".")[-1]
    best = None
    for fn in report.functions:
        inside = fn.name == short and fn.span.start.line <= line <= fn.span.end.line
        if inside and (best is None or fn.span.start.line >= best.span.start.line):
            best = fn
    return best


def unexplained_hot_code(
    reports: Sequence[FileReport],
    profile: Profile,
    hotspot: Sequence[tuple[str, str, int, float]],
    explained: Iterable[tuple[str, int]],
    root: Path | None = None,
) -> list[tuple[FileReport, FunctionMetrics, Finding, float]]:
    """A HOT finding for every hotspot function (name, file, line, share) with no explaining
    finding (``explained``: (path, line) of findings with a measured share), with its share."""
    by_path = {real(r.path): r for r in reports}
    done = [(real(p), line) for p, line in explained]
    view = user_view(profile, root)
    total = sum(f.self_seconds for f in view.functions) or profile.total_seconds
    index = ShareIndex(profile)
    out = []
    for name, file, line, share in hotspot:
        report = by_path.get(real(file))
        if report is None:
            continue
        fn = _function_of(report, name, line)
        if fn is None:
            continue
        if any(p == real(report.path) and fn.span.start.line <= ln <= fn.span.end.line for p, ln in done):
            continue
        lines = hot_lines(view.lines, report.path, fn, total)
        entry = entry_point(profile, report.path, fn, root)
        wall, idle = index.wall_and_idle(report.path, fn.span.start.line, fn.span.end.line)
        waiting = sum(h.share for h in lines if h.kind == "io")
        kind = "io" if (wall > 0 and idle / wall >= 0.5) or waiting >= 0.5 * sum(h.share for h in lines) > 0 else "cpu"
        out.append((report, fn, _finding(fn, share, kind, lines, entry, root), share))
    return out


def entry_point(
    profile: Profile, path: str, fn: FunctionMetrics, root: Path | None = None
) -> tuple[str, int, float] | None:
    """Where the time of ``fn`` comes from, outside its own file: the call site (file, line) in
    another module of the project (libraries skipped) through which most of its sampled time
    passed, with that share of its time.
    Hot library-like code is usually fixed at its caller (one transaction around a loop of
    inserts rather than a faster commit), so the item names it."""
    if not profile.stacks:
        return None
    key = real(path)
    frames = profile.frames
    inside = {i for i, f in enumerate(frames) if real(f.file) == key and fn.span.start.line <= f.line <= fn.span.end.line}
    if not inside:
        return None
    by_site: dict[tuple[str, int], float] = {}
    held = 0.0
    for stack, wall, _ in profile.stacks:
        first = next((n for n, i in enumerate(stack) if i in inside), None)
        if first is None:
            continue
        held += wall
        for i in reversed(stack[:first]):
            if real(frames[i].file) != key and is_user_file(frames[i].file, root):
                site = (frames[i].file, frames[i].line)
                by_site[site] = by_site.get(site, 0.0) + wall
                break
    if not by_site or held <= 0:
        return None
    (file, line), wall = max(by_site.items(), key=lambda kv: kv[1])
    return (file, line, wall / held) if wall / held >= 0.5 else None


def _finding(
    fn: FunctionMetrics,
    share: float,
    kind: str,
    lines: list[HotLine],
    entry: tuple[str, int, float] | None = None,
    root: Path | None = None,
) -> Finding:
    what = "waiting (I/O)" if kind == "io" else "on the CPU"
    message = f"Hot code with no static finding: `{fn.qualname}` holds {share:.0%} of the run, mostly {what}"
    parts = []
    for h in lines:
        waits = [c for c in h.calls if c in WAIT_CALLS]
        tag = f"waits in `{waits[0]}()`" if waits else ("waiting" if h.kind == "io" else "CPU")
        parts.append(f"line {h.line} `{h.text[:60]}` {h.share:.0%} ({tag})")
    notes = []
    if parts:
        notes.append("hottest lines: " + "; ".join(parts))
    if entry is not None:
        file, line, part = entry
        src = source_lines(file)
        text = src[line - 1].strip() if 0 < line <= len(src) else ""
        where = os.path.relpath(file, root) if root is not None and os.path.isabs(file) else file
        notes.append(
            f"reached from {where}:{line} `{text[:60]}` ({part:.0%} of its time): the change may belong there "
            "(one call for many items, one transaction around the loop)"
        )
    if fn.complexity:
        reason = f" ({fn.complexity_reason})" if fn.complexity_reason else ""
        notes.append(f"estimated complexity {fn.complexity}{reason}")
    notes.append("advice: " + ADVICE[kind])
    start = fn.name_span.start if fn.name_span else fn.span.start
    span = Span(start, Position(start.line, start.column + len(fn.name)))
    return Finding(
        "HOT002" if kind == "io" else "HOT001",
        message,
        span,
        severity=Severity.WARNING,
        notes=tuple(notes),
        measured_share=share,
        evidence=notes[0] if notes else None,
    )
