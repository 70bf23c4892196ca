"""The leak check's child process: runs the workload N times under ``tracemalloc`` and writes what
each iteration left behind (stdlib only: it runs in the user's interpreter, which need not have
perfsquad installed; :mod:`perfsquad.profiling.leak` is the parent side and explains the method).

Usage: ``python _leak_child.py RESULT ITERATIONS WARMUP TOP FRAMES (callable|script|module) TARGET ARGS...``

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
from collections.abc import Callable
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


def main(argv: list[str]) -> int:
    import array
    import runpy
    import tracemalloc

    result_path, iterations, warmup, top = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    frames, mode, target, args = int(argv[4]), argv[5], argv[6], argv[7:]
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
    tracemalloc.start(frames)
    retained = array.array("q", bytes(8 * iterations))
    in_cycles = array.array("q", bytes(8 * iterations))
    cycles = probe.Cycles()
    warm: Any = None
    enabled = gc.isenabled()
    try:
        for i in range(iterations):
            if i == warmup:
                gc.collect()
                cycles = probe.Cycles()  # by line: the measured iterations only
                warm = tracemalloc.take_snapshot()
            gc.disable()
            try:
                step()
            finally:
                if enabled:
                    gc.enable()
            in_cycles[i] = cycles.collect_now()
            retained[i] = tracemalloc.get_traced_memory()[0]
        end = tracemalloc.take_snapshot()
    except BaseException as exc:  # the workload failed: say how, like python would
        import traceback

        traceback.print_exc()
        facts["error"] = f"the workload raised {type(exc).__name__}: {exc}"
        tracemalloc.stop()
        with open(result_path, "w", encoding="utf-8") as fh:
            json.dump(facts, fh)
        return 1
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
    facts.update(retained=list(retained), top=rows, peak=peak, exit_codes=exit_codes,
                 cycles_per_iteration=list(in_cycles), cycles=cycles.facts())  # fmt: skip
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(facts, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
