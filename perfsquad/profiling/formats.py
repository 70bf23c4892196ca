"""Building Profiles from samples, pstats and speedscope files; exporting to speedscope; loading
any saved profile (:func:`load_profile`: ours, speedscope or pstats, told apart by content)."""

from __future__ import annotations

import ast
import functools
import json
import math
import pstats
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from perfsquad.profiling.model import (
    SCHEMA,
    FrameRef,
    FunctionStat,
    LineStat,
    Profile,
    ProfileFormatError,
    profile_from_json,
)
from perfsquad.syntax import walk

Stack = tuple[int, ...]
_RAW_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
_MAX_CALLERS = 5


@functools.lru_cache(maxsize=512)
def _function_starts(file: str) -> dict[str, list[tuple[int, int]]]:
    """name -> [(first line, last line)] of the functions defined in a file (for def lines)."""
    try:
        tree = ast.parse(Path(file).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    result: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for node in walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            result[node.name].append((node.lineno, node.end_lineno or node.lineno))
    return dict(result)


def def_line(name: str, file: str, some_line: int) -> int:
    """The first line of the function ``name`` in ``file`` that contains ``some_line``."""
    if name == "<module>":
        return 1
    for start, end in _function_starts(file).get(name, ()):
        if start <= some_line <= end:
            return start
    return some_line


def aggregate(
    frames: list[FrameRef], stacks: Iterable[tuple[Stack, float, float]]
) -> tuple[tuple[FunctionStat, ...], tuple[LineStat, ...]]:
    """Per-function and per-line self/total/idle seconds and top callers, from weighted stacks."""
    fn_self: dict[tuple[str, str], float] = defaultdict(float)
    fn_total: dict[tuple[str, str], float] = defaultdict(float)
    fn_idle: dict[tuple[str, str], float] = defaultdict(float)
    fn_lines: dict[tuple[str, str], int] = {}
    fn_callers: dict[tuple[str, str], dict[FrameRef, float]] = defaultdict(lambda: defaultdict(float))
    ln_self: dict[tuple[str, int], float] = defaultdict(float)
    ln_total: dict[tuple[str, int], float] = defaultdict(float)
    ln_idle: dict[tuple[str, int], float] = defaultdict(float)
    ln_func: dict[tuple[str, int], str] = {}
    for stack, wall, idle in stacks:
        if not stack:
            continue
        seen_fn: set[tuple[str, str]] = set()
        seen_ln: set[tuple[str, int]] = set()
        for depth, index in enumerate(stack):
            fr = frames[index]
            fkey = (fr.name, fr.file)
            lkey = (fr.file, fr.line)
            fn_lines[fkey] = min(fn_lines.get(fkey, fr.line), fr.line)
            ln_func.setdefault(lkey, fr.name)
            if fkey not in seen_fn:
                seen_fn.add(fkey)
                fn_total[fkey] += wall
                if depth > 0:
                    caller = frames[stack[depth - 1]]
                    fn_callers[fkey][caller] += wall
            if lkey not in seen_ln:
                seen_ln.add(lkey)
                ln_total[lkey] += wall
                ln_idle[lkey] += idle
        leaf = frames[stack[-1]]
        fn_self[(leaf.name, leaf.file)] += wall
        fn_idle[(leaf.name, leaf.file)] += idle
        ln_self[(leaf.file, leaf.line)] += wall

    def top_callers(key: tuple[str, str]) -> tuple[FrameRef, ...]:
        ranked = sorted(fn_callers.get(key, {}).items(), key=lambda kv: -kv[1])
        return tuple(ref for ref, _ in ranked[:_MAX_CALLERS])

    functions = tuple(
        sorted(
            (
                FunctionStat(
                    name=name,
                    file=file,
                    line=def_line(name, file, fn_lines[(name, file)]),
                    self_seconds=fn_self.get((name, file), 0.0),
                    total_seconds=fn_total[(name, file)],
                    idle_seconds=fn_idle.get((name, file), 0.0),
                    callers=top_callers((name, file)),
                )
                for name, file in fn_total
            ),
            key=lambda f: (-f.self_seconds, -f.total_seconds, f.file, f.line),
        )
    )
    lines = tuple(
        sorted(
            (
                LineStat(
                    file=file,
                    line=line,
                    function=ln_func[(file, line)],
                    self_seconds=ln_self.get((file, line), 0.0),
                    total_seconds=ln_total[(file, line)],
                    idle_seconds=ln_idle.get((file, line), 0.0),
                    callers=top_callers((ln_func[(file, line)], file)),
                )
                for file, line in ln_total
            ),
            key=lambda ln: (-ln.self_seconds, -ln.total_seconds, ln.file, ln.line),
        )
    )
    return functions, lines


def parse_raw(text: str, frames: list[FrameRef], index: dict[FrameRef, int]) -> dict[Stack, int]:
    """py-spy's ``--format raw`` (collapsed stacks: ``f (file:line);g (file:line) count``)."""
    counts: dict[Stack, int] = defaultdict(int)
    for row in text.splitlines():
        row = row.strip()
        if not row:
            continue
        stack_text, _, count_text = row.rpartition(" ")
        if not count_text.isdigit():
            continue
        stack: list[int] = []
        for part in stack_text.split(";"):
            m = _RAW_FRAME.match(part.strip())
            if m is None:
                continue
            ref = FrameRef(m.group("name"), m.group("file"), int(m.group("line") or 0))
            if ref not in index:
                index[ref] = len(frames)
                frames.append(ref)
            stack.append(index[ref])
        if stack:
            counts[tuple(stack)] += int(count_text)
    return counts


def from_samples(
    command: Iterable[str],
    wall_raw: str,
    active_raw: str | None,
    rate: int,
    wall_seconds: float,
    cpu_seconds: float | None,
    exit_code: int | None,
    sampler: str = "py-spy",
    drop_root: Callable[[FrameRef], bool] | None = None,
) -> Profile:
    """A Profile from py-spy raw output: ``wall_raw`` sampled with ``--idle``, ``active_raw`` without.

    Per stack, wall samples beyond the active ones were taken while the thread was idle (waiting).
    ``drop_root`` strips leading (root-side) frames such as the profiling wrapper's; stacks made only
    of such frames (the wrapper waiting to start) are dropped.
    """
    frames: list[FrameRef] = []
    index: dict[FrameRef, int] = {}
    wall = parse_raw(wall_raw, frames, index)
    active = parse_raw(active_raw, frames, index) if active_raw is not None else None
    if drop_root is not None:
        wall = _strip_roots(wall, frames, drop_root)
        active = _strip_roots(active, frames, drop_root) if active is not None else None
    interval = 1.0 / rate
    idle_fraction = _idle_fractions(wall, active, frames) if active is not None else {}
    stacks: list[tuple[Stack, float, float]] = []
    for stack, count in wall.items():
        idle = count * idle_fraction.get(frames[stack[-1]], 0.0)
        stacks.append((stack, count * interval, idle * interval))
    idle_samples = max(0, sum(wall.values()) - sum(active.values())) if active is not None else 0
    functions, lines = aggregate(frames, stacks)
    return Profile(
        command=tuple(command),
        sampler=sampler,
        wall_seconds=wall_seconds,
        cpu_seconds=cpu_seconds,
        functions=functions,
        lines=lines,
        samples=sum(wall.values()),
        idle_samples=idle_samples if active is not None else None,
        exit_code=exit_code,
        frames=tuple(frames),
        stacks=tuple(stacks),
    )


IDLE_SIGMAS = 2.5
"""A leaf's wall samples must exceed its active samples by this many standard deviations to count as idle."""


def _idle_fractions(wall: dict[Stack, int], active: dict[Stack, int], frames: list[FrameRef]) -> dict[FrameRef, float]:
    """Share of each leaf frame's (function + line) samples taken while the thread was waiting.

    The two samplers are independent, so their counts for one leaf differ by sampling noise even on
    pure CPU code; only a difference beyond ``IDLE_SIGMAS`` standard deviations of the difference of
    two Poisson counts is taken as waiting. Leaves, not whole stacks, are compared: their counts are
    larger, so the test has more power.
    """
    w: dict[FrameRef, int] = defaultdict(int)
    a: dict[FrameRef, int] = defaultdict(int)
    for stack, count in wall.items():
        w[frames[stack[-1]]] += count
    for stack, count in active.items():
        a[frames[stack[-1]]] += count
    result: dict[FrameRef, float] = {}
    for leaf, count in w.items():
        diff = count - a.get(leaf, 0)
        if diff > 0 and diff > IDLE_SIGMAS * math.sqrt(count + a.get(leaf, 0)):
            result[leaf] = min(1.0, diff / count)
    return result


def _strip_roots(
    counts: dict[Stack, int], frames: list[FrameRef], drop: Callable[[FrameRef], bool]
) -> dict[Stack, int]:
    result: dict[Stack, int] = defaultdict(int)
    for stack, count in counts.items():
        start = 0
        while start < len(stack) and drop(frames[stack[start]]):
            start += 1
        if start < len(stack):
            result[stack[start:]] += count
    return result


# Builtins that block without using the CPU: their time is idle (I/O, sleep, locks, child processes).
_BLOCKING = re.compile(
    r"time\.sleep|select\.|\.poll\b|'poll'|recv|send|connect|accept|'read' of '_io|readinto|readline|"
    r"'write' of '_io|sqlite3\.|'execute' of|'fetch|_thread\.lock|'acquire'|waitpid|urlopen|getaddrinfo|"
    r"'wait' of|builtins\.input"
)


def _is_blocking(func: tuple[str, int, str]) -> bool:
    file, _, name = func
    return file == "~" and _BLOCKING.search(name) is not None


def from_pstats(
    path: Path | str,
    command: Iterable[str] = (),
    wall_seconds: float | None = None,
    cpu_seconds: float | None = None,
    exit_code: int | None = None,
    drop: Callable[[str, str], bool] | None = None,
) -> Profile:
    """A cProfile/pstats file: exact call counts; no line-level data; blocking builtins are idle.

    ``drop(name, file)`` removes functions such as the profiling wrapper's own.
    """
    stats: dict[Any, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    functions: list[FunctionStat] = []
    idle_by_caller: dict[tuple[str, int, str], float] = defaultdict(float)
    for func, (_cc, _nc, tt, _ct, callers) in stats.items():
        if _is_blocking(func):
            for caller, (_c1, _n1, ctt, _cct) in callers.items():
                idle_by_caller[caller] += ctt if ctt else tt / max(len(callers), 1)
    for func, (_cc, nc, tt, ct, callers) in stats.items():
        file, line, name = func
        if file == "~":
            name = name.strip("<>")
            file = "<builtin>"
        if drop is not None and drop(name, file):
            continue
        ranked = sorted(callers.items(), key=lambda kv: -kv[1][3])[:_MAX_CALLERS]
        functions.append(
            FunctionStat(
                name=name,
                file=file,
                line=line,
                self_seconds=tt,
                total_seconds=ct,
                idle_seconds=tt if _is_blocking(func) else 0.0,
                calls=nc,
                callers=tuple(FrameRef(c[2], c[0], c[1]) for c, _ in ranked),
            )
        )
    functions.sort(key=lambda f: (-f.self_seconds, -f.total_seconds, f.file, f.line))
    total = sum(f.self_seconds for f in functions)
    # A function's def line stands in for its lines: cProfile records no line numbers.
    lines = tuple(
        LineStat(f.file, f.line, f.name, f.self_seconds, f.total_seconds, idle_by_caller.get((f.file, f.line, f.name), 0.0))
        for f in functions
        if f.file != "<builtin>"
    )
    return Profile(
        command=tuple(command),
        sampler="cprofile",
        wall_seconds=wall_seconds if wall_seconds is not None else total,
        cpu_seconds=cpu_seconds,
        functions=tuple(functions),
        lines=lines,
        exit_code=exit_code,
    )


def from_speedscope(data: dict[str, Any]) -> Profile:
    shared = data.get("shared", {}).get("frames", [])
    frames = [FrameRef(f.get("name", "?"), f.get("file") or "", int(f.get("line") or 0)) for f in shared]
    stacks: list[tuple[Stack, float, float]] = []
    wall = 0.0
    for prof in data.get("profiles", []):
        unit = {"seconds": 1.0, "milliseconds": 1e-3, "microseconds": 1e-6, "nanoseconds": 1e-9}.get(
            prof.get("unit", "seconds"), 1.0
        )
        if prof.get("type") == "sampled":
            for sample, weight in zip(prof.get("samples", []), prof.get("weights", []), strict=False):
                stacks.append((tuple(sample), weight * unit, 0.0))
            wall = max(wall, (prof.get("endValue", 0) - prof.get("startValue", 0)) * unit)
    functions, lines = aggregate(frames, stacks)
    return Profile(
        command=(),
        sampler="speedscope",
        wall_seconds=wall or sum(w for _, w, _ in stacks),
        cpu_seconds=None,
        functions=functions,
        lines=lines,
        samples=len(stacks),
        frames=tuple(frames),
        stacks=tuple(stacks),
    )


def to_speedscope(profile: Profile) -> dict[str, Any]:
    """A speedscope document (open it at speedscope.app or in any speedscope viewer)."""
    if profile.stacks:
        frames = [{"name": f.name, "file": f.file, "line": f.line} for f in profile.frames]
        samples = [list(s) for s, _, _ in profile.stacks]
        weights = [w for _, w, _ in profile.stacks]
    else:  # cProfile: one frame per function, self time as a one-frame sample
        frames = [{"name": f.name, "file": f.file, "line": f.line} for f in profile.functions]
        samples = [[i] for i in range(len(frames))]
        weights = [f.self_seconds for f in profile.functions]
    end = sum(weights)
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": " ".join(profile.command) or "perfsquad profile",
                "unit": "seconds",
                "startValue": 0,
                "endValue": end,
                "samples": samples,
                "weights": weights,
            }
        ],
        "name": "perfsquad",
        "exporter": "perfsquad",
        "activeProfileIndex": 0,
    }


def load_profile(path: Path) -> Profile:
    """Load a perfsquad profile, a speedscope JSON file or a pstats file (by content)."""
    raw = path.read_bytes()
    if raw[:1] in (b"{", b"["):
        data = json.loads(raw)
        if isinstance(data, dict) and data.get("schema") == SCHEMA:
            return profile_from_json(data)
        if isinstance(data, dict) and "speedscope" in str(data.get("$schema", "")):
            return from_speedscope(data)
        raise ProfileFormatError(f"{path}: neither a perfsquad profile nor a speedscope file")
    return from_pstats(path)
