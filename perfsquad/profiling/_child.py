"""The wrapper every profiled Python command runs under (stdlib only: it runs in the user's interpreter).

Usage: ``python _child.py [--cprofile OUT] [--memory] [--gc] [--ready-fd FD --go-fd FD] --result FILE (script PATH | module NAME) ARGS...``

It writes a byte to ``--ready-fd`` once the interpreter is up and waits for a byte on ``--go-fd`` (so
a sampler can attach before the user's code starts), runs the
target like ``python PATH`` or ``python -m NAME`` would, and writes run facts as JSON to ``--result``:
wall and CPU seconds of the target alone, exit code, and with ``--memory`` the peak traced memory
and the bytes allocated by each line that were alive at the peak (tracemalloc), a census of the
objects alive at the start and at the peak, and the objects freed only by the cycle collector by
type and allocating line; with ``--gc`` the collector's cost (:mod:`perfsquad.profiling._memprobe`).
"""

from __future__ import annotations

import json
import os
import resource
import runpy
import signal
import sys
import threading
import time
import traceback
from typing import Any

_POLL_SECONDS = 0.02
_CENSUS_SECONDS = 10.0
"""Total CPU time the peak watcher may spend on censuses; then only the end's is taken."""
CENSUS_SIGNAL = signal.SIGUSR2
"""Raised in the main thread (never sent) to take a census there, unless the program handles it."""
CENSUS_BUDGET = 5.0
"""CPU seconds one census may take (it says when it stopped short)."""


def load_probe() -> Any:
    """Our sibling :mod:`perfsquad.profiling._memprobe`, loaded by path (perfsquad need not be
    importable in the user's interpreter)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_memprobe.py")
    spec = importlib.util.spec_from_file_location("_perfsquad_memprobe", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe: Any = load_probe()


class _PeakWatcher(threading.Thread):
    """Snapshots tracemalloc whenever traced memory grows past the last snapshot's peak by 10%,
    and frees the cycle garbage counted meanwhile (:meth:`_memprobe.Cycles.release`).

    The census is taken in the program's own thread while it is paused (a census beside it would
    compete with it and see a moving heap): when traced memory has grown by a quarter since the
    last one, the watcher raises :data:`CENSUS_SIGNAL` in the main thread (``_thread.interrupt_main``:
    no signal is sent, Python runs the handler between two bytecodes), whose handler takes it. So the
    last census before the peak is within a quarter of it; the end of the run gets one if higher.
    If the program installed its own handler for that signal, the census is taken by the watcher.
    """

    def __init__(self, cycles: Any) -> None:
        super().__init__(daemon=True, name="perfsquad-peak-watcher")
        self.stop = threading.Event()
        self.snapshot: Any = None
        self.snapshot_size = 0
        self.census: Any = None
        self.census_size = 0
        self.census_seconds = 0.0
        self.peak = 0
        """The highest traced memory of the program itself (a census's own lists are not counted)."""
        self.cycles = cycles
        self.want_census = self.want_release = False
        self.lock = threading.Lock()
        """Held while a snapshot or a census is taken (a census must not count a snapshot's objects)."""

    def run(self) -> None:
        import _thread
        import signal
        import tracemalloc

        while not self.stop.wait(_POLL_SECONDS):
            with self.lock:
                current, _peak = tracemalloc.get_traced_memory()
                if current > self.snapshot_size * 1.1 + 65536:
                    self.snapshot = tracemalloc.take_snapshot()
                    self.snapshot_size = current
            census = self.census_seconds < _CENSUS_SECONDS and current > self.census_size * 1.25 + 262144
            release = self.cycles.due()
            if not (census or release):
                continue
            if signal.getsignal(CENSUS_SIGNAL) == self.on_signal:
                if census:
                    self.census_size = current  # (asked once)
                self.want_census, self.want_release = census, release
                _thread.interrupt_main(CENSUS_SIGNAL)
            else:  # beside the program: a census sees a moving heap, a release may miss a few objects' lines
                if release:
                    self.cycles.release()
                if census:
                    self.take_census(current)

    def on_signal(self, signum: int, frame: Any) -> None:
        """In the program's thread, paused: free the counted cycle garbage, take the census asked for."""
        import tracemalloc

        if self.want_release:
            self.cycles.release()
        if self.want_census and self.census_seconds < _CENSUS_SECONDS:
            self.take_census(tracemalloc.get_traced_memory()[0])
        self.want_census = self.want_release = False

    def take_census(self, current: int) -> None:
        import tracemalloc

        with self.lock:
            self.snapshot = None
            self.peak = max(self.peak, tracemalloc.get_traced_memory()[1])
            self.census = probe.census(budget_seconds=CENSUS_BUDGET, exclude=self.cycles.own())
            self.census_size = current
            self.census_seconds += self.census["seconds"]
            if threading.current_thread() is self:  # the program ran meanwhile: its peak may be now
                self.peak = max(self.peak, tracemalloc.get_traced_memory()[1])
            tracemalloc.reset_peak()
            self.snapshot = tracemalloc.take_snapshot()
            self.snapshot_size = current


def _cpu_seconds() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _memory_lines(snapshot: Any) -> list[list[Any]]:
    import tracemalloc

    here = os.path.abspath(__file__)
    snapshot = snapshot.filter_traces(
        (
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, here),
            tracemalloc.Filter(False, probe.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
        )
    )
    rows = []
    for stat in snapshot.statistics("lineno")[:500]:
        frame = stat.traceback[0]
        name = frame.filename if frame.filename.startswith("<") else os.path.abspath(frame.filename)
        rows.append([name, frame.lineno, stat.size])
    return rows



def _print_program_traceback(exc: BaseException) -> None:
    """``exc``'s traceback as ``python program.py`` prints it: from the program's first frame,
    without this runner's and ``runpy``'s (which a failed profile would otherwise show the user
    above their own)."""
    tb = exc.__traceback__
    while tb is not None and _runner_frame(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    traceback.print_exception(type(exc), exc, tb if tb is not None else exc.__traceback__)


def _runner_frame(filename: str) -> bool:
    return filename == __file__ or filename == "<frozen runpy>" or filename.endswith(f"{os.sep}runpy.py")

def main(argv: list[str]) -> int:
    opts: dict[str, str | bool] = {}
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        flag = argv[i][2:]
        if flag in ("memory", "gc"):
            opts[flag] = True
            i += 1
        else:
            opts[flag] = argv[i + 1]
            i += 2
    mode, target, args = argv[i], argv[i + 1], argv[i + 2 :]
    result_path = str(opts["result"])
    ready_fd, go_fd = opts.get("ready-fd"), opts.get("go-fd")
    if isinstance(ready_fd, str):
        os.write(int(ready_fd), b"r")
        os.close(int(ready_fd))
    if isinstance(go_fd, str):
        os.read(int(go_fd), 1)
        os.close(int(go_fd))

    if mode == "script":
        sys.argv = [target, *args]
        sys.path[0] = os.path.dirname(os.path.abspath(target))
    else:
        sys.argv = [target, *args]
        sys.path[0] = os.getcwd()

    profiler: Any = None
    watcher: _PeakWatcher | None = None
    gc_watch: Any = None
    start_census: Any = None
    if opts.get("memory"):
        import tracemalloc

        tracemalloc.start(1)
        start_census = probe.census(budget_seconds=0.5)
        tracemalloc.reset_peak()
        watcher = _PeakWatcher(probe.Cycles())
        watcher.cycles.install()
        if signal.getsignal(CENSUS_SIGNAL) == signal.SIG_DFL:
            signal.signal(CENSUS_SIGNAL, watcher.on_signal)
        watcher.start()
    if opts.get("gc"):
        gc_watch = probe.GcWatch()
        gc_watch.start()
    if isinstance(opts.get("cprofile"), str):
        import cProfile

        profiler = cProfile.Profile()

    exit_code = 0
    error: str | None = None
    kept: dict[str, Any] = {}
    """The program's module globals: alive until the end's census (as they are until exit)."""
    cpu0, wall0 = _cpu_seconds(), time.perf_counter()
    try:
        if profiler is not None:
            profiler.enable()
        if mode == "script":
            kept = runpy.run_path(target, run_name="__main__")
        else:
            kept = runpy.run_module(target, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        exit_code = code if isinstance(code, int) else (0 if code is None else 1)
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)
    except BaseException as exc:  # the user's program failed: report it like python would
        exit_code = 1
        error = f"{type(exc).__name__}: {exc}"
        _print_program_traceback(exc)
    finally:
        if profiler is not None:
            profiler.disable()
        if gc_watch is not None:
            gc_watch.stop()
    wall = time.perf_counter() - wall0
    cpu = _cpu_seconds() - cpu0

    facts: dict[str, Any] = {"wall_seconds": wall, "cpu_seconds": cpu, "exit_code": exit_code, "error": error}
    if profiler is not None:
        profiler.dump_stats(str(opts["cprofile"]))
    if gc_watch is not None:
        facts["gc"] = gc_watch.facts(wall)
    if watcher is not None:
        import tracemalloc

        watcher.stop.set()
        watcher.join()
        if signal.getsignal(CENSUS_SIGNAL) == watcher.on_signal:
            signal.signal(CENSUS_SIGNAL, signal.SIG_DFL)
        watcher.cycles.uninstall()
        current, peak = tracemalloc.get_traced_memory()
        snapshot, census = watcher.snapshot, watcher.census
        if snapshot is None or current >= watcher.snapshot_size:  # the end is the highest point seen
            snapshot = tracemalloc.take_snapshot()
        facts["memory_lines"] = _memory_lines(snapshot)
        del snapshot
        watcher.snapshot = None
        # The end's census too (the program's module globals still alive): the fuller one is the peak's.
        end = probe.census(budget_seconds=CENSUS_BUDGET, exclude=watcher.cycles.own())
        if census is None or end["bytes"] >= census["bytes"]:
            census = end
        tracemalloc.stop()
        facts["peak_memory_bytes"] = max(peak, watcher.peak)
        facts["census"] = {"start": start_census, "peak": census}
        facts["cycles"] = watcher.cycles.facts()
    del kept
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(facts, fh)
    sys.stdout.flush()
    sys.stderr.flush()
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
