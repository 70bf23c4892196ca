"""Leak check: run a workload N times in a subprocess and measure what each iteration leaves behind.

The workload is a callable (``pkg.module:func`` or ``path/to/file.py:func``, called with the
extra arguments as strings), a script (its top level re-run as ``__main__``), or a module
(``-m name``). Every iteration runs in the same interpreter, so whatever state the code keeps
in imported modules (caches, registries, histories) accumulates exactly as it would in a
long-running process.

Method (in the child, under ``tracemalloc``):

1. run ``warmup`` iterations (first-call caches, imports, lazily built tables settle);
2. take a snapshot, then run the remaining iterations, each followed by ``gc.collect()`` and a
   reading of *traced memory currently alive* (``tracemalloc.get_traced_memory()[0]``);
3. take a final snapshot; the difference of the two, grouped by allocating line (with the call
   chain that led there), is what the measured iterations allocated and did not free.

The growth per iteration is the growth that persists through the whole run: the smaller of the
Theil-Sen slopes (the median of the slopes between every pair of readings) of the first and the
second half of the measured iterations (:func:`steady_growth`). A steady leak, or one that leaks
every few iterations, grows in both halves; a one-off step (a table built lazily on first use
after warm-up, a dict resizing once) lies in one half only and does not count. The workload is **flat**
when that slope is below ``threshold`` bytes per iteration (:data:`DEFAULT_THRESHOLD`, 64 B). Flat
workloads measured here (JSON round trips, regular expressions, ``Decimal`` arithmetic, objects in
reference cycles, the demo with its cache bounded) show exactly 0 B per iteration after warm-up,
because readings are taken after ``gc.collect()``; 64 B leaves room for rare interpreter-internal
growth while still catching a leak of one small object per iteration (a 160-character string
kept per call is 209 B).

**Slow workloads.** Under ``tracemalloc`` a workload runs 4x (1 frame) to 12x (4 frames) slower:
20 traced iterations of the demo's ``run.py`` (4 s each) would take 17 minutes. The first warm-up
iteration therefore runs untraced and is timed (a timing probe: when the traced plan fits, a fresh
child runs the traced method from its start, so every object keeps its allocation site, and the
workload's first iteration has run twice); when the traced plan does not fit the time budget
(:data:`DEFAULT_BUDGET`, at most half the timeout) the check switches to the **untraced** method
of :mod:`perfsquad.profiling._leak_child`: one warm-up, then the measured iterations that fit (at
least 3), the collector's generations frozen after the warm-up so that what it tracks afterwards is
exactly what the measured iterations kept; readings are the allocator's live blocks, the rows are the
*holders* (the containers keeping the new objects alive, e.g. ``memoria.cache._EMBED_CACHE`` at its
``file:line``) instead of allocating lines. Same verdict rule (the growth in both halves against
``threshold``); the result says which method ran. The demo takes about 18 s instead of timing out.

The child runs in its own session (process group); a timeout, cancellation or Ctrl-C kills the
whole group. Its stdout/stderr are captured (they never reach the language server's channel).

The child side (what runs in the workload's interpreter) is :mod:`perfsquad.profiling._leak_child`,
run by path: it is stdlib only, like the profiler's :mod:`perfsquad.profiling._child`.

:func:`allocation_facts` summarizes a memory profile (``Profile.lines[].alloc_bytes``,
``peak_memory_bytes``) for the bottleneck classifier.
"""

from __future__ import annotations

import contextlib
import json
import linecache
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from perfsquad.profiling import procs
from perfsquad.profiling.memory import size_text as _size
from perfsquad.profiling.model import Profile
from perfsquad.profiling.target import user_interpreter
from perfsquad.syntax import walk

SCHEMA = "perfsquad.leakcheck/1"
DEFAULT_ITERATIONS = 20
DEFAULT_WARMUP = 5
DEFAULT_THRESHOLD = 64
"""Bytes per iteration below which the workload counts as flat."""
DEFAULT_TIMEOUT = 120.0
UNTRACED_NOISE_BLOCKS = 8
"""Untraced method: a growth under this many allocator blocks per iteration that nothing reachable
holds is the interpreter's own (Python 3.12 and 3.13 keep 3 blocks per re-run of a flat script)."""
DEFAULT_BUDGET = 15.0
"""Seconds the iterations should take: a workload too slow to trace in this time is checked untraced."""
DEFAULT_TOP = 10
DEFAULT_FRAMES = 4
"""Frames tracemalloc keeps per allocation: enough for the allocating line and a short call chain.
Each frame costs (measured on the demo workload: 2.5x slower than untraced with 1 frame, 4.9x
with 4, 8.2x with 8)."""
CHILD = Path(__file__).with_name("_leak_child.py")
"""The child's entry point (run by path in the workload's interpreter)."""


class LeakCheckError(RuntimeError):
    """The check could not run; the message says why."""


class LeakCheckCancelled(LeakCheckError):
    pass


@dataclass(frozen=True)
class Frame:
    file: str
    line: int


@dataclass(frozen=True)
class RetainedLine:
    """Memory allocated at one line during the measured iterations and still alive at the end."""

    file: str
    line: int
    size_diff: int
    count_diff: int
    bytes_per_iteration: float
    code: str = ""
    function: str = ""
    traceback: tuple[Frame, ...] = ()
    """The call chain of the biggest retained allocation at this line, innermost first."""
    holder: str = ""
    """Untraced method: the container keeping the new objects alive (``memoria.cache._EMBED_CACHE``),
    and ``line`` is where it is defined; empty for an allocating line."""
    types: tuple[tuple[str, int], ...] = ()
    """Untraced method: the kinds of objects it keeps, most first."""


@dataclass(frozen=True)
class LeakResult:
    target: str
    iterations: int
    warmup: int
    threshold: float
    retained: tuple[int, ...]
    """Traced bytes alive after each iteration (after ``gc.collect()``)."""
    growth_per_iteration: float
    flat: bool
    top: tuple[RetainedLine, ...]
    peak_bytes: int
    wall_seconds: float
    schema: str = SCHEMA
    warnings: tuple[str, ...] = field(default=())
    cycles_per_iteration: tuple[int, ...] = ()
    """Objects only the cycle collector freed after each iteration (warm-up included)."""
    cycles: dict[str, Any] | None = None
    """Those of the measured iterations by type and allocating line (:mod:`perfsquad.profiling.memory`)."""
    method: str = "traced"
    """``traced`` (tracemalloc: allocating lines) or ``untraced`` (a slow workload: holders)."""

    @property
    def cycles_each(self) -> float:
        """Median objects per measured iteration that only the cycle collector freed."""
        import statistics

        measured = self.cycles_per_iteration[self.warmup :]
        return float(statistics.median(measured)) if measured else 0.0

    @property
    def verdict(self) -> str:
        return "flat" if self.flat else "grows"

    @property
    def measured(self) -> tuple[int, ...]:
        return self.retained[self.warmup :]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        data["growth_total"] = (self.measured[-1] - self.measured[0]) if len(self.measured) > 1 else 0
        data["cycles_each"] = self.cycles_each
        return data


# -- statistics ------------------------------------------------------------------------------


def theil_sen_slope(values: Sequence[float]) -> float:
    """The median of the slopes between every pair of points (x = index): robust to steps."""
    n = len(values)
    if n < 2:
        return 0.0
    slopes = sorted((values[j] - values[i]) / (j - i) for i in range(n) for j in range(i + 1, n))
    mid = len(slopes) // 2
    return slopes[mid] if len(slopes) % 2 else (slopes[mid - 1] + slopes[mid]) / 2


def steady_growth(values: Sequence[float]) -> float:
    """Growth per step present in both halves of ``values`` (see the module docstring)."""
    n = len(values)
    if n < 6:
        return theil_sen_slope(values)
    middle = n // 2
    return min(theil_sen_slope(values[: middle + 1]), theil_sen_slope(values[middle:]))


# -- the parent side -------------------------------------------------------------------------


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _function_at(file: str, line: int) -> str:
    """The innermost ``def`` around a line of a Python file ('' if unknown)."""
    import ast

    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return ""
    best = ""
    best_start = 0
    for node in walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            end = node.end_lineno or node.lineno
            if node.lineno <= line <= end and node.lineno >= best_start:
                best, best_start = node.name, node.lineno
    return best


def describe_target(mode: str, target: str, args: Sequence[str]) -> str:
    import shlex

    head = {"callable": ["--callable", target], "script": [target], "module": ["-m", target]}[mode]
    return shlex.join([*head, *args])


def run_leakcheck(
    mode: str,
    target: str,
    args: Sequence[str] = (),
    *,
    iterations: int = DEFAULT_ITERATIONS,
    warmup: int = DEFAULT_WARMUP,
    threshold: float = DEFAULT_THRESHOLD,
    top: int = DEFAULT_TOP,
    frames: int = DEFAULT_FRAMES,
    cwd: Path | str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    budget: float = DEFAULT_BUDGET,
    python: str | None = None,
    cancel: threading.Event | None = None,
    on_progress: Callable[[str], None] | None = None,
    timeout_hint: str = "raise --timeout",
) -> LeakResult:
    """Run the leak check in a subprocess (``mode``: ``callable``, ``script`` or ``module``).

    Raises :class:`LeakCheckError` with a readable message (bad target, the workload raised,
    timeout: ``timeout_hint`` says how to give it more time) or :class:`LeakCheckCancelled`.
    """
    if mode not in ("callable", "script", "module"):
        raise LeakCheckError(f"unknown target kind {mode!r}")
    if iterations < 3:
        raise LeakCheckError("the iterations must be at least 3")
    if not 1 <= frames <= 100:
        raise LeakCheckError("the frames must be between 1 and 100")
    if not timeout > 0 or not budget > 0:
        raise LeakCheckError("the timeout and the budget must be positive numbers of seconds")
    if warmup < 0 or warmup > iterations - 2:
        raise LeakCheckError(f"the warmup must be between 0 and the iterations - 2 ({iterations - 2})")
    progress = on_progress or (lambda _msg: None)
    workdir = Path(cwd).resolve() if cwd is not None else Path.cwd()
    if mode == "script" and not (workdir / target).is_file():
        raise LeakCheckError(f"no such script: {target}")
    if mode == "callable" and ":" not in target:
        raise LeakCheckError(f"the callable must be MODULE:FUNCTION or FILE.py:FUNCTION, not {target!r}")
    display = describe_target(mode, target, args)
    with procs.temp_dir("perfsquad-leak-") as work:
        result_path, out_path, err_path = work / "result.json", work / "stdout.txt", work / "stderr.txt"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        progress(f"leakcheck: {display}: {iterations} iterations ({warmup} warm-up)")
        start = time.monotonic()
        method = "auto"
        while True:  # at most twice: `auto`, then `traced` when the workload is quick enough to trace
            argv = [
                user_interpreter(python)[0], str(CHILD.resolve()), str(result_path), str(iterations), str(warmup),
                str(top), str(frames), repr(min(budget, timeout / 2)), method, mode, target, *args,
            ]  # fmt: skip
            code = _run_child(argv, workdir, env, out_path, err_path, start + timeout, cancel, display, timeout, timeout_hint)
            try:
                facts = json.loads(result_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                detail = _tail(err_path)
                raise LeakCheckError(
                    f"{display} exited with code {code} before it could be measured" + (f":\n{detail}" if detail else "")
                ) from None
            if facts.get("restart") == "traced" and method == "auto":
                method = "traced"
                result_path.unlink()
                continue
            break
        wall = time.monotonic() - start
    if facts.get("error"):
        raise LeakCheckError(f"{display}: {facts['error']}")
    iterations, warmup = int(facts.get("iterations", iterations)), int(facts.get("warmup", warmup))
    return _result_from_facts(facts, display, iterations, warmup, threshold, wall, workdir)


def _run_child(
    argv: list[str], workdir: Path, env: dict[str, str], out_path: Path, err_path: Path, deadline: float,
    cancel: threading.Event | None, display: str, timeout: float, timeout_hint: str,
) -> int:  # fmt: skip
    """Run one child to its end (its process group killed after, whatever happens); its exit code."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = procs.spawn(argv, cwd=workdir, env=env, stdout=out, stderr=err)
        except OSError as exc:
            raise LeakCheckError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
    try:
        return procs.wait(proc, deadline=deadline, cancel=cancel)
    except procs.Cancelled:
        raise LeakCheckCancelled(f"cancelled: {display} was stopped") from None
    except procs.TimedOut:
        raise LeakCheckError(
            f"timed out after {timeout:g} s: {display} was stopped ({timeout_hint} to give it longer)"
        ) from None
    except KeyboardInterrupt:
        raise LeakCheckCancelled(f"interrupted: {display} was stopped") from None
    finally:
        procs.kill_group(proc)  # the workload's own children, if it left any


def _result_from_facts(
    facts: dict[str, Any], display: str, iterations: int, warmup: int, threshold: float, wall: float, root: Path
) -> LeakResult:
    retained = tuple(int(x) for x in facts["retained"])
    measured = iterations - warmup
    slope = steady_growth(retained[warmup:])
    lines: list[RetainedLine] = []
    for row in facts["top"]:
        file = str(row["file"])
        frames = tuple(Frame(str(f), int(n)) for f, n in row.get("traceback", ()))
        holder = str(row.get("holder", ""))
        line = int(row["line"]) or (_definition_line(file, holder) if holder and file else 0)
        lines.append(
            RetainedLine(
                file=file,
                line=line,
                size_diff=int(row["size_diff"]),
                count_diff=int(row["count_diff"]),
                bytes_per_iteration=int(row["size_diff"]) / max(measured, 1),
                code=linecache.getline(file, line).strip() if file and line else "",
                function="" if holder else _function_at(file, line),
                traceback=frames,
                holder=holder,
                types=tuple((str(k), int(n)) for k, n in row.get("types", ())),
            )
        )
    warnings = []
    if facts.get("warning"):
        warnings.append(str(facts["warning"]))
    flat = slope < threshold
    blocks = [float(b) for b in facts.get("blocks", ())][1:]
    if not flat and facts.get("method") == "untraced" and not lines and blocks:
        per_iteration = steady_growth(blocks)
        if per_iteration < UNTRACED_NOISE_BLOCKS:
            flat = True
            warnings.append(
                f"{per_iteration:.0f} allocator blocks per iteration that nothing reachable holds:"
                " counted as the interpreter's own growth"
            )
    if facts.get("exit_codes"):
        warnings.append(f"the workload exited with non-zero codes {sorted(set(facts['exit_codes']))}")
    return LeakResult(
        target=display,
        iterations=iterations,
        warmup=warmup,
        threshold=threshold,
        retained=retained,
        growth_per_iteration=slope,
        flat=flat,
        top=tuple(lines),
        peak_bytes=int(facts.get("peak", 0)),
        wall_seconds=wall,
        warnings=tuple(warnings),
        cycles_per_iteration=tuple(int(x) for x in facts.get("cycles_per_iteration", ())),
        cycles=facts.get("cycles"),
        method=str(facts.get("method", "traced")),
    )


def _definition_line(file: str, holder: str) -> int:
    """The line defining a holder's name (``pkg.mod.NAME`` or ``pkg.mod.Class.attr``) in ``file``:
    its module-level (or class-body) assignment, or the class; 0 if not found."""
    import ast

    try:
        tree = ast.parse(Path(file).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError, MemoryError):
        return 0
    parts = holder.split(".")
    body: list[ast.stmt] = tree.body
    found = 0
    for depth in range(1, len(parts) + 1):  # the longest suffix that names something here
        name = parts[-depth]
        for node in body:
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AnnAssign | ast.AugAssign):
                targets = [node.target]
            elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                if depth == 1:
                    return node.lineno
                found = node.lineno
                break
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return node.lineno
        if found:
            inner = next(n for n in body if getattr(n, "lineno", 0) == found)
            if isinstance(inner, ast.ClassDef):
                attr = parts[-depth + 1]
                for node in inner.body:
                    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == attr:
                        return node.decorator_list[0].lineno if node.decorator_list else node.lineno
                    names = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                    if any(isinstance(t, ast.Name) and t.id == attr for t in names):
                        return node.lineno
            return found
    return 0


def format_text(result: LeakResult, root: Path | None = None) -> str:
    def where(file: str, line: int) -> str:
        path = file
        if root is not None:
            with contextlib.suppress(ValueError):
                path = str(Path(file).resolve().relative_to(root.resolve()))
        return f"{path}:{line}"

    functions: dict[tuple[str, int], str] = {}

    def function_of(frame: Frame) -> str:
        key = (frame.file, frame.line)
        if key not in functions:
            functions[key] = _function_at(frame.file, frame.line)
        return f" in {functions[key]}" if functions[key] else ""

    measured = result.measured
    verdict = (
        "FLAT: no growth per iteration"
        if result.flat
        else f"GROWS: {_size(result.growth_per_iteration)} retained per iteration"
    )
    method = (
        "untraced: the workload is too slow to trace in the budget; rows are what holds the memory"
        if result.method == "untraced"
        else "tracemalloc"
    )
    out = [
        f"leakcheck {result.target}",
        f"  {result.iterations} iterations ({result.warmup} warm-up), {result.wall_seconds:.1f} s ({method})",
        f"  retained after gc: {_size(measured[0])} -> {_size(measured[-1])}"
        f" over {len(measured) - 1} measured iterations",
        f"  growth: {result.growth_per_iteration:,.0f} B/iteration (Theil-Sen slope, present in both halves;"
        f" flat below {result.threshold:,.0f} B/iteration)",
        f"  {verdict}",
    ]
    shown = [t for t in result.top if t.size_diff > 0]
    if shown and not result.flat and result.method == "untraced":
        out.append("  kept alive by (holder, what it gained over the measured iterations):")
        for t in shown:
            kinds = ", ".join(f"{n} {k}" for k, n in t.types)
            place = f"{where(t.file, t.line)} " if t.file and t.line else ""
            out.append(
                f"    {place}{t.holder}: +{_size(t.size_diff)} ({_size(t.bytes_per_iteration)}/iteration,"
                f" {kinds})  {t.code}".rstrip()
            )
    elif shown and not result.flat:
        out.append("  retained by (allocating line, end vs warm-up):")
        for t in shown:
            fn = f" in {t.function}" if t.function else ""
            out.append(
                f"    {where(t.file, t.line)}{fn}: +{_size(t.size_diff)} ({_size(t.bytes_per_iteration)}/iteration,"
                f" {t.count_diff:+d} blocks)  {t.code}"
            )
            out.extend(
                f"        called from {where(frame.file, frame.line)}{function_of(frame)}" for frame in t.traceback[1:4]
            )
    if result.cycles is not None:
        from perfsquad.profiling.memory import cycles_lines

        measured_n = max(len(result.measured), 1)
        out.append(f"  reference cycles: {result.cycles_each:,.0f} objects per iteration freed only by the cycle collector")
        if result.cycles.get("objects"):
            out.extend(
                f"    {line}"
                for line in cycles_lines(result.cycles, where, per=f" over {measured_n} measured iterations")
            )
    out.extend(f"  warning: {w}" for w in result.warnings)
    return "\n".join(out)


def summary(result: LeakResult, root: Path | None = None, *, sites: int = 3) -> str:
    """One readable paragraph for an editor's message: the verdict, the growth per iteration, and
    the top places (allocating lines, or holders) as ``file:line``."""

    def where(file: str, line: int) -> str:
        path = file
        if root is not None:
            with contextlib.suppress(ValueError):
                path = str(Path(file).resolve().relative_to(root.resolve()))
        return f"{path}:{line}" if line else path

    measured = len(result.measured)
    target = result.target
    if root is not None:  # (a script named by its absolute path, as the editor does)
        target = target.replace(f"{root.resolve()}{os.sep}", "").replace(f"{root}{os.sep}", "")
    how = f"{measured} measured iteration{'s' if measured != 1 else ''}, {result.wall_seconds:.0f} s"
    if result.method == "untraced":
        how += ", untraced (slow workload)"
    if result.flat:
        return (
            f"leak check of {target}: no leak (flat: {result.growth_per_iteration:,.0f} B/iteration,"
            f" threshold {result.threshold:,.0f} B); {how}."
        )
    places = []  # (the most important first: a notification may show only its first line)
    for t in [t for t in result.top if t.size_diff > 0 and t.file][:sites]:
        name = f" {t.holder}" if t.holder else (f" in {t.function}" if t.function else "")
        places.append(f"{where(t.file, t.line)}{name} ({_size(t.bytes_per_iteration)}/iteration)")
    head = f"leak check of {target}: LEAKS {_size(result.growth_per_iteration)} per iteration"
    if places:
        head += (", kept by " if result.method == "untraced" else ", allocated at ") + places[0]
    if places[1:]:
        head += "; also " + "; ".join(places[1:])
    return f"{head}; {how}."


# -- classification input --------------------------------------------------------------------


@dataclass(frozen=True)
class AllocationFacts:
    """What a memory profile says about allocation, for the bottleneck classifier."""

    peak_bytes: int
    alloc_bytes: int
    """Sum of the bytes attributed to lines (alive at the peak)."""
    alloc_rate: float
    """Peak traced bytes per second of wall time."""
    heavy_lines: tuple[tuple[str, int, int], ...]
    """(file, line, bytes) of lines holding at least ``heavy_share`` of the peak, biggest first."""
    heavy_time_share: float
    """Share of the profile's time spent in those lines."""
    top_line_share: float
    """Share of the peak held by the single biggest allocating line."""
    memory_bound: bool
    evidence: tuple[str, ...]


def allocation_facts(
    profile: Profile,
    *,
    rate_threshold: float = 256 * 1024 * 1024,
    time_share_threshold: float = 0.3,
    heavy_share: float = 0.1,
) -> AllocationFacts | None:
    """Allocation dominance facts from a memory profile; None when it has no memory data.

    ``memory_bound`` is true when the program allocates fast (peak traced bytes per second of
    wall time at least ``rate_threshold``) *and* at least ``time_share_threshold`` of its time is
    spent on the lines that hold at least ``heavy_share`` of the peak: allocation is where the
    time goes, not a side effect of it.
    """
    peak = profile.peak_memory_bytes
    lines = [ln for ln in profile.lines if ln.alloc_bytes]
    if not peak or not lines:
        return None
    total_alloc = sum(ln.alloc_bytes or 0 for ln in lines)
    rate = peak / profile.wall_seconds if profile.wall_seconds > 0 else 0.0
    heavy = sorted(
        ((ln.file, ln.line, ln.alloc_bytes or 0) for ln in lines if (ln.alloc_bytes or 0) >= heavy_share * peak),
        key=lambda t: -t[2],
    )
    times = {(ln.file, ln.line): ln.self_seconds for ln in profile.lines}
    total_time = profile.total_seconds
    heavy_time = sum(times.get((f, n), 0.0) for f, n, _ in heavy)
    share = heavy_time / total_time if total_time > 0 else 0.0
    biggest = max(ln.alloc_bytes or 0 for ln in lines)
    evidence = [
        f"peak traced memory {_size(peak)}, {_size(rate)}/s of run time",
        f"{share:.0%} of the time in {len(heavy)} line(s) holding >= {heavy_share:.0%} of the peak",
    ]
    if heavy:
        f, n, size = heavy[0]
        evidence.append(f"biggest: {os.path.basename(f)}:{n} holds {_size(size)} ({size / peak:.0%} of the peak)")
    return AllocationFacts(
        peak_bytes=peak,
        alloc_bytes=total_alloc,
        alloc_rate=rate,
        heavy_lines=tuple(heavy),
        heavy_time_share=share,
        top_line_share=biggest / peak,
        memory_bound=rate >= rate_threshold and share >= time_share_threshold,
        evidence=tuple(evidence),
    )
