"""The leak check's child process: runs the workload N times under ``tracemalloc`` and writes what
each iteration left behind (stdlib only: it runs in the user's interpreter, which need not have
perfsquad installed; :mod:`perfsquad.profiling.leak` is the parent side and explains the method).

Usage: ``python _leak_child.py RESULT ITERATIONS WARMUP TOP FRAMES BUDGET (auto|traced) (callable|script|module) TARGET ARGS...``

Two methods; ``auto`` chooses after the first warm-up iteration (run untraced and timed):

* **traced** (when ``tracemalloc`` would fit the iterations in ``BUDGET`` seconds): the child writes
  ``{"restart": "traced"}`` and the parent runs a fresh one with ``traced``, traced from its start
  (so that every object has its allocation site); the readings are traced bytes, the lines come
  from snapshots;
* **untraced** (a slow workload: ``tracemalloc`` makes it 4-12x slower): one warm-up, then as many
  measured iterations as fit in the budget (at least 3, at most the ones asked for), with the
  collector's generations frozen after the warm-up (``gc.freeze``) so that what the collector
  tracks afterwards is exactly what the measured iterations created and kept. The readings are
  the allocator's live blocks (``sys.getallocatedblocks``, one per small object) times the mean
  size of what was kept; the rows are the *holders*: the old containers (a module's dict, a cache)
  that keep the new objects alive, named by where they are reachable from (``memoria.cache._EMBED_CACHE``).

It writes JSON to ``RESULT``: ``retained`` (traced bytes alive after each iteration, after
``gc.collect()``), ``cycles_per_iteration`` and ``cycles`` (the objects each iteration left to the
cycle collector, by type and allocating line: the collector is off while an iteration runs and
``gc.DEBUG_SAVEALL`` hands what the collection after it finds to us to count, see
:mod:`perfsquad.profiling._memprobe`), ``top`` (the lines that allocated what the measured iterations kept, with the
call chain of the biggest allocation at each), ``peak``, ``exit_codes`` (non-zero ``SystemExit``
codes of a script or module) and ``error`` (the workload raised; its traceback is on stderr).
Frames of this file and of :mod:`runpy` are the harness and are left out of the chains.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any


def _load_callable(spec: str, args: list[str]) -> Callable[[], object]:
    import importlib
    import importlib.util

    where, _, name = spec.rpartition(":")
    if where.endswith(".py") or os.sep in where:
        path = os.path.abspath(where)
        sys.path.insert(0, os.path.dirname(path))
        module_name = os.path.splitext(os.path.basename(path))[0]
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        loader_spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    obj: Any = module
    for part in name.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    func = obj
    return lambda: func(*args)


def _load_probe() -> Any:
    """:mod:`perfsquad.profiling._memprobe`, our sibling, by path (perfsquad need not be importable)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_perfsquad_memprobe", os.path.join(os.path.dirname(__file__), "_memprobe.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TRACE_FACTOR = (4.0, 2.5)
"""How much slower ``tracemalloc`` makes a workload: 4x with one frame, plus 2.5x per further
frame (measured on the demo: 4x with 1 frame, 12x with 4)."""
MIN_MEASURED = 3
HOLDER_DEPTH = 3
"""How deep the search for a holder's name goes from a module (module -> class -> method -> its cache)."""


def _traced_estimate(seconds: float, frames: int, iterations: int) -> float:
    return seconds * (TRACE_FACTOR[0] + TRACE_FACTOR[1] * (frames - 1)) * iterations


def _members(obj: Any, module_dicts: set[int]) -> list[tuple[str, Any]]:
    """(name, value) one step below ``obj``: its attributes, and the containers a C object holds
    without a name (an ``lru_cache``'s dict), never a function's globals."""
    attrs = getattr(obj, "__dict__", None)
    out: list[tuple[str, Any]] = []
    if isinstance(attrs, dict | types.MappingProxyType):
        out = [(str(k), v) for k, v in list(attrs.items())]
    if not isinstance(obj, dict | list | set | tuple | type):
        out.extend(
            ("", v) for v in gc.get_referents(obj)
            if isinstance(v, dict | list | set) and v is not attrs and id(v) not in module_dicts
        )  # fmt: skip
    return out


def _reachable() -> Iterator[tuple[str, str, int, Any]]:
    """(qualified name, file, line, value) of what the modules' globals reach in at most
    :data:`HOLDER_DEPTH` steps (descending only into what a module defines itself), each value
    once. Line 0: the parent finds the name's assignment in the file."""
    modules = [(n, m) for n, m in list(sys.modules.items()) if getattr(m, "__dict__", None) is not None]
    module_dicts = {id(m.__dict__) for _, m in modules}
    seen: set[int] = set()
    for name, module in modules:
        file = getattr(module, "__file__", None) or ""
        file = os.path.abspath(file) if isinstance(file, str) and file else ""
        frontier: list[tuple[str, Any, int]] = [(f"{name}.{k}", v, 0) for k, v in list(module.__dict__.items())]
        for depth in range(HOLDER_DEPTH):
            following: list[tuple[str, Any, int]] = []
            for qual, value, line in frontier:
                if id(value) in seen or isinstance(value, type(sys)):
                    continue
                seen.add(id(value))
                code = getattr(getattr(value, "__wrapped__", value), "__code__", None)
                here_line = line or (code.co_firstlineno if isinstance(code, types.CodeType) else 0)
                yield qual, file, here_line, value
                if depth + 1 < HOLDER_DEPTH and getattr(value, "__module__", name) == name:
                    following.extend(
                        (f"{qual}.{k}" if k else qual, v, here_line) for k, v in _members(value, module_dicts)
                    )
            frontier = following


def _name_holders(holders: dict[int, Any], roots_of: dict[int, list[Any]]) -> dict[int, list[Any]]:
    """id(holder) -> [qualified name, file, line] for the holders :func:`_reachable` finds; a
    module's dict holding a new object is named by the global's name."""
    named: dict[int, list[Any]] = {}
    for name, module in list(sys.modules.items()):
        mdict = getattr(module, "__dict__", None)
        if mdict is None or id(mdict) not in holders:
            continue
        file = getattr(module, "__file__", None) or ""
        for key, value in list(mdict.items()):
            if any(value is r for r in roots_of[id(mdict)]):
                named[id(mdict)] = [f"{name}.{key}", os.path.abspath(file) if isinstance(file, str) and file else "", 0]
                break
    for qual, file, line, value in _reachable():
        if id(value) in holders and id(value) not in named:
            named[id(value)] = [qual, file, line]
            if len(named) == len(holders):
                break
    return named


def _containers() -> list[tuple[str, str, int, Any, int]]:
    """The lists, dicts, sets and deques the modules reach, with their lengths now."""
    import collections

    kinds = (list, dict, set, collections.deque)
    return [(q, f, n, v, len(v)) for q, f, n, v in _reachable() if isinstance(v, kinds) and type(v).__module__ != __name__]


def _grown(before: list[tuple[str, str, int, Any, int]], measured: int) -> list[dict[str, Any]]:
    """Rows for the containers that gained at least one entry per measured iteration (their new
    entries may be strings or numbers, which the collector does not track)."""
    rows = []
    for qual, file, line, value, length in before:
        gained = len(value) - length
        if gained < measured:
            continue
        items: list[Any] = []
        if isinstance(value, dict):
            for k, v in list(value.items())[-gained:]:
                items.extend((k, v))
        elif isinstance(value, set):
            items = list(value)[:gained]
        else:
            items = list(value)[-gained:]
        size = sum(sys.getsizeof(o, 0) for o in items)
        kinds: dict[str, int] = {}
        for o in items:
            kinds[type(o).__name__] = kinds.get(type(o).__name__, 0) + 1
        rows.append({"holder": qual, "file": file, "line": line, "size_diff": size, "count_diff": gained,
                     "types": sorted(kinds.items(), key=lambda kv: -kv[1])[:3], "traceback": []})  # fmt: skip
    return rows


def _holders(new: list[Any], harness: set[int], top: int, measured: int) -> tuple[list[dict[str, Any]], int, int]:
    """The old containers that keep the objects the measured iterations created (``new``: what the
    collector tracks beyond the frozen generation) alive, biggest first (those holding at least one
    new object per measured iteration); and the bytes and objects kept."""
    new_ids = {id(o) for o in new}
    referenced: set[int] = set()
    size = 0
    counted: set[int] = set()
    for obj in new:
        for ref in gc.get_referents(obj):
            referenced.add(id(ref))
            if not gc.is_tracked(ref) and id(ref) not in counted and not isinstance(ref, type):
                counted.add(id(ref))  # floats, strings, ints the new objects hold: new too, mostly
                size += sys.getsizeof(ref, 0)
        size += sys.getsizeof(obj, 0)
    objects = len(new) + len(counted)
    roots = [o for o in new if id(o) not in referenced]
    del referenced
    holders: dict[int, Any] = {}
    roots_of: dict[int, list[Any]] = {}
    by_root: dict[int, int] = {}
    sample = roots[:: max(1, len(roots) // 2000)]  # (evenly: the first ones may all share a holder)
    ignore = {id(new), id(roots), id(sample), *harness}
    for holder in gc.get_referrers(*sample):
        if id(holder) in ignore or id(holder) in new_ids or isinstance(holder, type(sys._getframe())):
            continue
        held = [r for r in gc.get_referents(holder) if id(r) in new_ids]
        if not held:
            continue
        holders[id(holder)] = holder
        roots_of[id(holder)] = held
        for r in held:
            by_root.setdefault(id(r), id(holder))
    del sample
    names = _name_holders(holders, roots_of)

    def weight(obj: Any) -> int:
        total = sys.getsizeof(obj, 0)
        for ref in gc.get_referents(obj):
            if not gc.is_tracked(ref) or id(ref) in new_ids:
                total += sys.getsizeof(ref, 0)
        return total

    rows: dict[str, dict[str, Any]] = {}
    for key, holder in holders.items():
        qual, file, line = names.get(key, [f"<{type(holder).__name__} held by no module>", "", 0])
        row = rows.setdefault(qual, {"holder": qual, "file": file, "line": line, "size_diff": 0, "count_diff": 0,
                                     "types": {}, "traceback": []})  # fmt: skip
        for r in roots_of[key]:
            if by_root.get(id(r)) != key:
                continue
            row["size_diff"] += weight(r)
            row["count_diff"] += 1
            kind = type(r).__name__
            row["types"][kind] = row["types"].get(kind, 0) + 1
    ordered = sorted((r for r in rows.values() if r["count_diff"] >= measured), key=lambda r: -r["size_diff"])[:top]
    for row in ordered:
        row["types"] = sorted(row["types"].items(), key=lambda kv: -kv[1])[:3]
    return ordered, size, objects


def main(argv: list[str]) -> int:
    import array
    import runpy
    import time
    import tracemalloc

    result_path, iterations, warmup, top = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    frames, budget, method, mode, target, args = int(argv[4]), float(argv[5]), argv[6], argv[7], argv[8], argv[9:]
    facts: dict[str, Any] = {"error": None, "exit_codes": []}
    exit_codes: list[int] = []
    sys.path[0] = os.path.dirname(os.path.abspath(target)) if mode == "script" else os.getcwd()
    here = os.path.abspath(__file__)

    def record_exit(exc: SystemExit) -> None:
        code = exc.code
        value = code if isinstance(code, int) else (0 if code is None else 1)
        if value:
            exit_codes.append(value)

    step: Callable[[], object]
    if mode == "script":
        path = os.path.abspath(target)

        def step() -> object:
            sys.argv = [path, *args]
            try:
                runpy.run_path(path, run_name="__main__")
            except SystemExit as exc:
                record_exit(exc)
            return None

    elif mode == "module":

        def step() -> object:
            sys.argv = [target, *args]
            try:
                runpy.run_module(target, run_name="__main__", alter_sys=True)
            except SystemExit as exc:
                record_exit(exc)
            return None

    else:
        step = _load_callable(target, args)

    probe = _load_probe()
    retained = array.array("q", bytes(8 * iterations))
    blocks = array.array("q", bytes(8 * (iterations + 1)))
    in_cycles = array.array("q", bytes(8 * iterations))
    cycles = probe.Cycles()
    warm: Any = None
    end: Any = None
    before: list[tuple[str, str, int, Any, int]] = []
    enabled = gc.isenabled()
    measured_goal = iterations - warmup
    started = time.perf_counter()
    if method == "traced" or warmup == 0:
        method = "traced"
        tracemalloc.start(frames)
    try:
        i = 0
        while i < iterations:
            if i == 1 and method == "auto":  # the first warm-up ran untraced: which method fits the budget?
                first = time.perf_counter() - started
                if _traced_estimate(first, frames, iterations) <= budget:
                    # Traced, in a fresh process traced from its start (what the untraced iteration
                    # allocated and frees later would return memory without an allocation site).
                    with open(result_path, "w", encoding="utf-8") as fh:
                        json.dump({"restart": "traced", "seconds": first}, fh)
                    return 0
                else:
                    method, warmup = "untraced", 1
                    fits = int((budget - first) / max(first, 1e-9))
                    iterations = warmup + max(MIN_MEASURED, min(measured_goal, fits))
                    retained = array.array("q", bytes(8 * iterations))
                    in_cycles = array.array("q", bytes(8 * iterations))
            if i == warmup:
                gc.collect()
                cycles = probe.Cycles()  # by line: the measured iterations only
                if method == "traced":
                    warm = tracemalloc.take_snapshot()
                else:
                    before = _containers()
                    gc.freeze()  # from here on, what the collector tracks is what the iterations made
                    blocks[0] = sys.getallocatedblocks()
            gc.disable()
            try:
                step()
            finally:
                if enabled:
                    gc.enable()
            in_cycles[i] = cycles.collect_now()
            if method == "traced":
                retained[i] = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
            elif i >= warmup:
                blocks[i - warmup + 1] = sys.getallocatedblocks()
            i += 1
        end = tracemalloc.take_snapshot() if method == "traced" else None
    except BaseException as exc:  # the workload failed: say how, like python would
        import traceback

        traceback.print_exc()
        facts["error"] = f"the workload raised {type(exc).__name__}: {exc}"
        tracemalloc.stop()
        gc.unfreeze()
        with open(result_path, "w", encoding="utf-8") as fh:
            json.dump(facts, fh)
        return 1
    measured = iterations - warmup
    if method == "untraced":
        new = gc.get_objects()
        gc.unfreeze()  # (before looking for referrers: the frozen generation is not searched)
        harness = {id(cycles), id(cycles.__dict__), *(id(x) for x in cycles.own()), id(facts), id(exit_codes)}
        try:
            rows, kept_bytes, kept_objects = _holders(new, harness, top, measured)
            named = {r["holder"] for r in rows}
            rows.extend(r for r in _grown(before, measured) if r["holder"] not in named)
            rows = sorted(rows, key=lambda r: -r["size_diff"])[:top]
        except Exception as exc:  # (a holder we could not read: the verdict stands without the rows)
            rows, kept_bytes, kept_objects = [], 0, 0
            facts["warning"] = f"the objects kept could not be attributed: {type(exc).__name__}: {exc}"
        del new
        grown = blocks[measured] - blocks[0]
        per_block = kept_bytes / kept_objects if kept_objects else 64.0
        retained = array.array("q", [0] * warmup + [round((b - blocks[0]) * per_block) for b in blocks[1 : measured + 1]])
        facts.update(retained=list(retained), top=rows, peak=0, exit_codes=exit_codes, method=method,
                     iterations=iterations, warmup=warmup, blocks=list(blocks[: measured + 1]),
                     bytes_per_block=per_block, kept_bytes=kept_bytes, kept_objects=kept_objects, grown_blocks=grown,
                     seconds_per_iteration=(time.perf_counter() - started) / iterations,
                     cycles_per_iteration=list(in_cycles), cycles=cycles.facts())  # fmt: skip
        with open(result_path, "w", encoding="utf-8") as fh:
            json.dump(facts, fh)
        return 0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    filters = (
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, here),
        tracemalloc.Filter(False, probe.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
        tracemalloc.Filter(False, "<unknown>"),
    )
    end = end.filter_traces(filters)
    warm = warm.filter_traces(filters)
    by_line = [s for s in end.compare_to(warm, "lineno") if s.size_diff > 0][:top]
    chains: dict[tuple[str, int], tuple[int, list[list[Any]]]] = {}
    for stat in end.compare_to(warm, "traceback"):
        if stat.size_diff <= 0:
            continue
        stack = list(stat.traceback)
        stack.reverse()  # most recent call first
        key = (stack[0].filename, stack[0].lineno)
        if key not in chains or stat.size_diff > chains[key][0]:
            chain: list[list[Any]] = []
            for f in stack:
                entry = [os.path.abspath(f.filename), f.lineno]
                if entry[0] == here or entry[0] == runpy.__file__ or (chain and chain[-1] == entry):
                    continue  # our harness, and comprehension frames repeating their line
                chain.append(entry)
            chains[key] = (stat.size_diff, chain)
    rows = []
    for stat in by_line:
        frame = stat.traceback[0]
        chain = chains.get((frame.filename, frame.lineno), (0, []))[1]
        rows.append({
            "file": os.path.abspath(frame.filename), "line": frame.lineno, "size_diff": stat.size_diff,
            "count_diff": stat.count_diff, "traceback": chain,
        })  # fmt: skip
    facts.update(retained=list(retained), top=rows, peak=peak, exit_codes=exit_codes, method=method,
                 iterations=iterations, warmup=warmup,
                 cycles_per_iteration=list(in_cycles), cycles=cycles.facts())  # fmt: skip
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(facts, fh)
    return 0




if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
