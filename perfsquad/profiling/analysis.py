"""What a profile says: where the time goes in *your* code, the 80/20 set, and the bottleneck kind.

*User code* is what lives under the project root and outside installed packages and the standard
library. Time spent in library code is charged to the innermost user frame that led to it (for
sampled stacks exactly; for cProfile through the caller edges), so "80% of the time is in
``similarity.py:14``" means that line and everything it called.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from perfsquad.profiling.formats import aggregate
from perfsquad.profiling.model import FrameRef, FunctionStat, LineStat, Profile
from perfsquad.profiling.waits import waiting_call

IO_IDLE_SHARE = 0.5
"""A run (or function) is I/O-bound when at least this share of its time is spent waiting."""
IO_CPU_RATIO = 0.5
"""...or when its CPU time is below this share of its wall time (no idle samples needed)."""
MEMORY_ALLOC_RATE = 256 * 1024 * 1024
"""Bytes per second of peak traced memory growth above which allocation dominates..."""
MEMORY_HOT_ALLOC_SHARE = 0.3
"""...when at least this share of the time is in lines that hold >= 10% of the peak."""


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get("stdlib", ""), paths.get("platstdlib", ""), paths.get("purelib", ""), paths.get("platlib", "")}
    roots.add(os.path.dirname(os.__file__))
    roots.add(sys.base_prefix)
    return tuple(sorted(r for r in roots if r))


_LIB_ROOTS = _library_roots()
_LIB_PARTS = ("site-packages", "dist-packages", ".venv", "venv", ".tox", ".nox")


def is_user_file(file: str, root: Path | None = None) -> bool:
    """A file of the user's project: a real path, not the stdlib, not an installed package."""
    if not file or file.startswith("<") or file == "<builtin>":
        return False
    parts = Path(file).parts
    if any(p in _LIB_PARTS for p in parts):
        return False
    if root is not None:
        try:
            Path(file).resolve().relative_to(root.resolve())
        except (ValueError, OSError):
            return False
        return True
    return not any(file.startswith(r + os.sep) for r in _LIB_ROOTS)


@dataclass(frozen=True)
class UserView:
    """The profile re-attributed to user code."""

    functions: tuple[FunctionStat, ...]
    lines: tuple[LineStat, ...]
    total_seconds: float


def _any_real_file(file: str) -> bool:
    return bool(file) and not file.startswith("<")


def user_view(profile: Profile, root: Path | None = None) -> UserView:
    """The profile charged to user code; when none of it ran under ``root`` (profiling a tool
    installed elsewhere), every real source file counts as user code instead."""
    keep: Callable[[str], bool] = lambda file: is_user_file(file, root)  # noqa: E731
    files = {f.file for f in profile.frames} | {f.file for f in profile.functions}
    if not any(keep(f) for f in files):
        keep = _any_real_file
    return _view(profile, keep)


def _view(profile: Profile, keep: Callable[[str], bool]) -> UserView:
    total = profile.total_seconds
    if profile.stacks:
        frames = list(profile.frames)
        stacks = []
        for stack, wall, idle in profile.stacks:
            cut = len(stack)
            while cut > 0 and not keep(frames[stack[cut - 1]].file):
                cut -= 1
            if cut:
                stacks.append((tuple(i for i in stack[:cut] if keep(frames[i].file)), wall, idle))
        functions, lines = aggregate(frames, stacks)
        return UserView(functions, _with_allocations(lines, profile, keep), total)
    # cProfile: charge library functions' self time to their user callers, edge by edge.
    by_key = {(f.name, f.file, f.line): f for f in profile.functions}
    extra: dict[tuple[str, str, int], float] = defaultdict(float)
    extra_idle: dict[tuple[str, str, int], float] = defaultdict(float)
    for f in profile.functions:
        if keep(f.file) or not f.callers:
            continue
        users = [c for c in f.callers if keep(c.file)]
        for caller in users:
            extra[(caller.name, caller.file, caller.line)] += f.self_seconds / len(users)
            extra_idle[(caller.name, caller.file, caller.line)] += f.idle_seconds / len(users)
    user_functions: list[FunctionStat] = []
    for key, f in by_key.items():
        if not keep(f.file):
            continue
        user_functions.append(
            FunctionStat(f.name, f.file, f.line, f.self_seconds + extra.get(key, 0.0), f.total_seconds,
                         f.idle_seconds + extra_idle.get(key, 0.0), f.calls, f.callers)
        )  # fmt: skip
    user_functions.sort(key=lambda f: (-f.self_seconds, -f.total_seconds))
    fn_by_line = {(f.file, f.line): f for f in user_functions}
    user_lines: list[LineStat] = []
    for ln in profile.lines:
        if not keep(ln.file):
            continue
        fn = fn_by_line.get((ln.file, ln.line))
        user_lines.append(
            LineStat(ln.file, ln.line, ln.function, fn.self_seconds if fn else ln.self_seconds, ln.total_seconds,
                     fn.idle_seconds if fn else ln.idle_seconds, ln.alloc_bytes, ln.callers)
        )  # fmt: skip
    user_lines.sort(key=lambda ln: (-ln.self_seconds, -ln.total_seconds))
    return UserView(tuple(user_functions), tuple(user_lines), total)


def _with_allocations(
    lines: tuple[LineStat, ...], profile: Profile, keep: Callable[[str], bool]
) -> tuple[LineStat, ...]:
    """Sampled lines carry no memory data: merge the memory pass's bytes (and allocation-only lines)."""
    allocs = {(ln.file, ln.line): ln for ln in profile.lines if ln.alloc_bytes and keep(ln.file)}
    if not allocs:
        return lines
    merged = [replace(ln, alloc_bytes=allocs.pop((ln.file, ln.line)).alloc_bytes) if (ln.file, ln.line) in allocs
              else ln for ln in lines]  # fmt: skip
    merged.extend(allocs.values())
    return tuple(merged)


@dataclass(frozen=True)
class Pareto:
    """The smallest set of functions (and of lines) whose self time covers ``target`` of the total."""

    target: float
    functions: tuple[FunctionStat, ...]
    function_share: float
    lines: tuple[LineStat, ...]
    line_share: float


def _cover(items: Sequence[FunctionStat | LineStat], total: float, target: float) -> tuple[int, float]:
    acc = 0.0
    for count, item in enumerate(items, 1):
        acc += item.self_seconds
        if total > 0 and acc / total >= target - 1e-9:
            return count, acc / total
    return len(items), (acc / total if total > 0 else 0.0)


def pareto(profile: Profile, share: float = 0.8, root: Path | None = None) -> Pareto:
    view = user_view(profile, root)
    total = sum(f.self_seconds for f in view.functions) or view.total_seconds
    fns = tuple(sorted(view.functions, key=lambda f: -f.self_seconds))
    lns = tuple(sorted((ln for ln in view.lines if ln.self_seconds > 0), key=lambda ln: -ln.self_seconds))
    n_fn, fn_share = _cover(fns, total, share)
    n_ln, ln_share = _cover(lns, total, share)
    return Pareto(share, fns[:n_fn], fn_share, lns[:n_ln], ln_share)


@dataclass(frozen=True)
class Bottleneck:
    kind: str
    """``cpu``, ``io`` or ``memory``."""
    evidence: tuple[str, ...]
    headline: str
    idle_share: float | None
    cpu_ratio: float | None


KIND_LABEL = {"cpu": "CPU-bound", "io": "I/O-bound", "memory": "memory-bound"}


def function_kind(stat: FunctionStat | LineStat) -> str:
    """``io`` when most of this function's (or line's) own time was spent waiting — or, for a
    line, when it calls something that waits (a commit, a query, a sleep: ``profiling.waits``)
    even if the sampler saw it running — else ``cpu``."""
    if stat.self_seconds > 0 and stat.idle_seconds / stat.self_seconds >= IO_IDLE_SHARE:
        return "io"
    if isinstance(stat, LineStat) and waiting_call(stat.file, stat.line) is not None:
        return "io"
    return "cpu"


def kind_with_lines(fn: FunctionStat, lines: Sequence[LineStat]) -> str:
    """A function's kind counting its lines that call something waiting (``profiling.waits``) as
    waiting time, with its idle samples: ``io`` when that is most of its own time."""
    if fn.self_seconds <= 0:
        return "cpu"
    waits = sum(
        max(ln.self_seconds - ln.idle_seconds, 0.0)
        for ln in lines
        if ln.file == fn.file and ln.function == fn.name and waiting_call(ln.file, ln.line)
    )
    return "io" if (fn.idle_seconds + waits) / fn.self_seconds >= IO_IDLE_SHARE else "cpu"


def _where(stat: FunctionStat | LineStat) -> str:
    name = stat.name if isinstance(stat, FunctionStat) else (stat.function or "?")
    return f"{name} ({place(stat.file, stat.line, os.path.basename)})"


def place(file: str, line: int, show: Callable[[str], str] = str) -> str:
    """``file:line`` (``show`` shortens the file); a notebook's line (of the module its code cells
    make, as a notebook's profile records it: ``perfsquad.profiling.run``) as ``file:cell N:line``."""
    if file.endswith(".ipynb"):
        located = _notebook_line(file, line)
        if located is not None:
            return f"{show(file)}:cell {located[0]}:{located[1]}"
    return f"{show(file)}:{line}"


def _notebook_line(file: str, line: int) -> tuple[int, int] | None:
    """(1-based cell number, line within the cell), read from the notebook as it is now."""
    from perfsquad import notebook
    from perfsquad.model import Position

    try:
        stamp = os.stat(file).st_mtime_ns
    except OSError:
        return None
    cells = _notebook_cells(file, stamp)
    located = notebook.in_cell(cells, Position(line, 0))
    return (located[0].index + 1, located[1].line) if located is not None else None


@functools.lru_cache(maxsize=16)
def _notebook_cells(file: str, stamp: int) -> tuple[Any, ...]:
    from perfsquad import notebook

    try:
        return notebook.virtual_module(notebook.read_cells(Path(file).read_bytes())).cells
    except (OSError, notebook.NotebookError):
        return ()


def classify(profile: Profile, root: Path | None = None) -> Bottleneck:
    view = user_view(profile, root)
    total = profile.total_seconds
    evidence: list[str] = []
    idle_share: float | None = None
    if profile.samples:
        if profile.idle_samples is not None:
            idle_share = profile.idle_samples / profile.samples
            evidence.append(
                f"{profile.idle_samples} of {profile.samples} samples ({idle_share:.0%}) caught the program waiting"
            )
    elif total > 0:
        idle = sum(f.idle_seconds for f in profile.functions if f.file == "<builtin>")
        idle_share = idle / total
        evidence.append(f"{idle:.2f} s of {total:.2f} s ({idle_share:.0%}) in blocking calls (sleep, socket, file, DB)")
    cpu_ratio: float | None = None
    if profile.cpu_seconds is not None and profile.wall_seconds > 0:
        cpu_ratio = profile.cpu_seconds / profile.wall_seconds
        evidence.append(
            f"wall {profile.wall_seconds:.2f} s, CPU {profile.cpu_seconds:.2f} s ({cpu_ratio:.0%} of the time on a CPU)"
        )
    waiting = sorted((f for f in view.functions if f.idle_seconds > 0), key=lambda f: -f.idle_seconds)[:3]
    if waiting:
        evidence.append("waiting in: " + ", ".join(f"{_where(f)} {f.idle_seconds:.2f} s" for f in waiting))
    busy = sorted(view.functions, key=lambda f: -(f.self_seconds - f.idle_seconds))[:3]
    if busy and total > 0:
        evidence.append(
            "on CPU in: " + ", ".join(f"{_where(f)} {(f.self_seconds - f.idle_seconds) / total:.0%}" for f in busy)
        )

    # Time on lines that call something waiting (a commit, a query, a sleep) counts as waiting even
    # when the sampler saw it running: SQLite's COMMIT syncs the disk without releasing the GIL.
    in_wait_calls = sum(ln.self_seconds - ln.idle_seconds for ln in view.lines if waiting_call(ln.file, ln.line))
    wait_call_share = in_wait_calls / total if total > 0 else 0.0
    if wait_call_share >= 0.05:
        evidence.append(f"{wait_call_share:.0%} of the time sampled as running is in calls that wait (commit, query, sleep...)")
    kind = "cpu"
    # Idle samples, and time in calls that wait, are direct evidence of waiting; a low CPU/wall
    # ratio alone is not (a busy machine lowers it too, and a disk sync counts as system CPU time),
    # so it decides only when there is no idle measure.
    if idle_share is not None:
        all_waiting = idle_share + wait_call_share
        if all_waiting >= IO_IDLE_SHARE:
            kind = "io"
            idle_share = max(idle_share, all_waiting)
        elif cpu_ratio is not None and cpu_ratio < IO_CPU_RATIO:
            evidence.append(
                "little waiting was sampled although CPU time is low: the machine was probably busy "
                "(other processes competing for the CPU), so timings are inflated"
            )
    elif cpu_ratio is not None and cpu_ratio < IO_CPU_RATIO:
        kind = "io"
    if kind != "io" and profile.peak_memory_bytes and profile.wall_seconds > 0:
        rate = profile.peak_memory_bytes / profile.wall_seconds
        heavy = [ln for ln in view.lines if (ln.alloc_bytes or 0) >= 0.1 * profile.peak_memory_bytes]
        hot = sum(ln.self_seconds for ln in heavy) / total if total > 0 else 0.0
        evidence.append(
            f"peak traced memory {profile.peak_memory_bytes / 2**20:.1f} MiB ({rate / 2**20:.0f} MiB/s of run time); "
            f"{hot:.0%} of the time in lines holding >= 10% of the peak"
        )
        if rate >= MEMORY_ALLOC_RATE and hot >= MEMORY_HOT_ALLOC_SHARE:
            kind = "memory"
    top = pareto(profile, 0.8, root)
    headline = KIND_LABEL[kind]
    if top.functions:
        n = len(top.functions)
        headline += f" · {top.function_share:.0%} in {n} function{'s' if n != 1 else ''}"
    if idle_share is not None:
        # The time spent waiting (idle samples, and calls that wait while sampled as running),
        # named on its own whatever the class: a CPU-bound run can still lose a measurable share
        # to I/O, which the I/O advice is about.
        waited = min(1.0, max(idle_share, idle_share + wait_call_share if kind != "io" else idle_share))
        headline += f" · I/O wait {waited:.0%}"
        if profile.wall_seconds > 0:
            headline += f" ({waited * profile.wall_seconds:.2g} s)"
    return Bottleneck(kind, tuple(evidence), headline, idle_share, cpu_ratio)


def frame_label(ref: FrameRef) -> str:
    return f"{ref.name} ({place(ref.file, ref.line, os.path.basename)})"
