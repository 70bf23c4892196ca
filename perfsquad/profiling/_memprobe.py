"""Memory probes that run inside the user's interpreter (stdlib only; loaded by path by
:mod:`perfsquad.profiling._child` and :mod:`perfsquad.profiling._leak_child`).

* :class:`GcWatch` — ``gc.callbacks``: collections per generation, pause lengths (start to stop),
  objects examined (the generations' sizes when a collection starts, counted before its clock
  starts), objects freed and uncollectable.
* :func:`census` — what fills memory now: objects by type (count, shallow bytes) over everything
  the collector tracks plus the untracked objects they refer to directly (floats, strings, ints),
  the largest containers by deep size with their allocation site (tracemalloc), bounded in time.
* :class:`Cycles` — objects freed *only* by the cycle collector, by type and by allocating line:
  ``gc.DEBUG_SAVEALL`` makes each collection hand its garbage to ``gc.garbage``, where it is
  counted and then released (:meth:`Cycles.release`, a plain collection of those objects).

Nothing here changes what the user's program computes; :class:`Cycles` delays freeing cyclic
garbage until it is counted (a release every :data:`RELEASE_SECONDS`, run in the program's thread
by :mod:`perfsquad.profiling._child`, so it is paused meanwhile).
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import Any

RELEASE_SECONDS = 0.25
RELEASE_OBJECTS = 100_000
"""Counted cycle garbage is freed (a full collection) at most every 0.25 s, or sooner past this many objects."""
_SKIP_DEEP = (type, type(sys), type(len))
"""Shared, not owned by a container: classes, modules, builtins."""


def _type_name(t: type) -> str:
    module = getattr(t, "__module__", "builtins")
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


def _site(obj: Any, here: str) -> list[Any] | None:
    import tracemalloc

    if not tracemalloc.is_tracing():
        return None
    tb = tracemalloc.get_object_traceback(obj)
    if tb is None and sys.version_info[:2] == (3, 11) and hasattr(type(obj), "__dict__"):
        # 3.11 misses instances whose dict is managed by the interpreter (the block starts before
        # the object): the first attribute value allocated by traced code stands in, usually a line
        # of its __init__.
        for ref in gc.get_referents(obj):
            if not isinstance(ref, _SKIP_DEEP):
                tb = tracemalloc.get_object_traceback(ref)
                if tb is not None:
                    break
    if tb is None:
        return None
    for frame in reversed(list(tb)):  # most recent call last: the allocating line first
        name = frame.filename if frame.filename.startswith("<") else os.path.abspath(frame.filename)
        if name != here:
            return [name, frame.lineno]
    return None


class GcWatch:
    """Counts every collection through ``gc.callbacks`` (install with :meth:`start`)."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.pause = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self.examined = [0, 0, 0]
        self.collected = [0, 0, 0]
        self.uncollectable = 0
        self._t0: float | None = None
        self.ignore = False

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if self.ignore:
            return
        gen = min(int(info.get("generation", 0)), 2)
        if phase == "start":
            self.examined[gen] += sum(len(gc.get_objects(generation=g)) for g in range(gen + 1))
            self._t0 = time.perf_counter()
            return
        if self._t0 is None:
            return
        took = time.perf_counter() - self._t0
        self._t0 = None
        self.collections[gen] += 1
        self.pause[gen] += took
        self.longest[gen] = max(self.longest[gen], took)
        self.collected[gen] += int(info.get("collected", 0))
        self.uncollectable += int(info.get("uncollectable", 0))

    def start(self) -> None:
        gc.callbacks.append(self)

    def stop(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)

    def facts(self, wall_seconds: float) -> dict[str, Any]:
        total = sum(self.pause)
        return {
            "collections": list(self.collections),
            "pause_seconds": list(self.pause),
            "longest_pause_seconds": list(self.longest),
            "examined": list(self.examined),
            "collected": list(self.collected),
            "uncollectable": self.uncollectable,
            "total_pause_seconds": total,
            "wall_seconds": wall_seconds,
            "share": total / wall_seconds if wall_seconds > 0 else 0.0,
            "thresholds": list(gc.get_threshold()),
            "frozen": gc.get_freeze_count(),
        }


def deep_size(obj: Any, budget: int = 1_000_000, seconds: float = 0.5) -> tuple[int, int, bool]:
    """(bytes, objects, complete) of ``obj`` and everything it reaches, each object once; stops
    after ``budget`` objects or ``seconds`` of our CPU time (``complete`` False). Classes, modules
    and builtins are not counted."""
    seen = {id(obj)}
    stack = [obj]
    size = 0
    count = 0
    deadline = time.thread_time() + seconds
    while stack:
        o = stack.pop()
        size += sys.getsizeof(o, 0)
        count += 1
        if count >= budget or (count % 8192 == 0 and time.thread_time() > deadline):
            return size, count, False
        for r in gc.get_referents(o):
            if id(r) not in seen and not isinstance(r, _SKIP_DEEP):
                seen.add(id(r))
                stack.append(r)
    return size, count, True


def census(
    budget_seconds: float = 2.0, top: int = 15, largest: int = 8, exclude: tuple[Any, ...] = ()
) -> dict[str, Any]:
    """Objects alive now, by type, and the largest containers (see the module docstring); the
    objects of ``exclude`` (the probe's own containers) are left out."""
    here = os.path.abspath(__file__)
    start = time.thread_time()  # the budget is our own CPU time (the program may run beside us)
    objects = gc.get_objects()
    seen: set[int] = set()  # untracked objects (floats, str, int) reached from several containers
    by_type: dict[type, list[int]] = {}
    complete = True
    candidates: list[tuple[int, Any]] = []
    getsizeof, referents, tracked, refcount = sys.getsizeof, gc.get_referents, gc.is_tracked, sys.getrefcount

    def count(item: Any) -> int:
        size = getsizeof(item, 0)
        row = by_type.get(type(item))
        if row is None:
            by_type[type(item)] = [1, size]
        else:
            row[0] += 1
            row[1] += size
        return size

    for i, o in enumerate(objects):
        if i % 4096 == 0 and time.thread_time() - start > budget_seconds:
            complete = False
            break
        if o is objects or o is seen or any(o is x for x in exclude):
            continue
        size = count(o)
        if size > 1024 and isinstance(o, (list, dict, set, frozenset, tuple, bytearray)):
            candidates.append((size, o))
        stack = referents(o)
        while stack:  # untracked objects, and what untracked dicts and tuples hold (atoms only)
            r = stack.pop()
            if tracked(r):
                continue
            if refcount(r) <= 3:  # held by this container only (and the list and the call): seen once
                count(r)
            elif id(r) not in seen:
                seen.add(id(r))
                count(r)
            else:
                continue
            if type(r) in (dict, tuple):
                stack.extend(referents(r))
    candidates.sort(key=lambda c: -c[0])
    biggest: list[dict[str, Any]] = []
    deep_start = time.thread_time()
    for shallow, o in candidates[: largest * 3]:
        left = budget_seconds - (time.thread_time() - deep_start)
        if left <= 0:
            complete = False
            break
        deep, reached, whole = deep_size(o, seconds=min(left, budget_seconds * 0.75))
        biggest.append({
            "type": _type_name(type(o)), "length": len(o), "shallow_bytes": shallow, "deep_bytes": deep,
            "objects": reached, "deep_complete": whole, "site": _site(o, here),
        })  # fmt: skip
    del objects, candidates
    biggest.sort(key=lambda b: -int(b["deep_bytes"]))
    rows = sorted(by_type.items(), key=lambda kv: -kv[1][1])
    return {
        "types": [{"type": _type_name(t), "count": c, "bytes": b} for t, (c, b) in rows[: max(top, 40)]],
        "objects": sum(c for c, _ in by_type.values()),
        "bytes": sum(b for _, b in by_type.values()),
        "largest": biggest[:largest],
        "complete": complete,
        "seconds": time.thread_time() - start,
    }


def _by_count(kv: tuple[str, int]) -> int:
    return -kv[1]


class Cycles:
    """Objects the cycle collector frees, by type and allocating line (see the module docstring).

    Two ways to use it: :meth:`install` (automatic collections keep running; each one's garbage is
    counted in its ``stop`` callback and freed by the next :meth:`release`, called by a watcher
    thread), or :meth:`collect_now` with the collector disabled (one iteration of the leak check).
    """

    def __init__(self) -> None:
        self.here = os.path.abspath(__file__)
        self.objects = 0
        self.bytes = 0
        self.collections = 0
        self.by_type: dict[str, list[int]] = {}
        self.by_line: dict[tuple[str, int], list[Any]] = {}
        self.pending: list[Any] = []
        self.released = 0.0
        self.unattributed = 0
        """Objects freed by our releasing collection that no saving one saw (no type, no line)."""
        self.releasing = False
        self.ran = False
        """A collection asked for by :meth:`release` did run (see there)."""

    def own(self) -> tuple[Any, ...]:
        """Our containers (left out of a census)."""
        return self.pending, self.by_type, self.by_line

    def account(self, garbage: list[Any]) -> int:
        """Count ``garbage`` (a copy of ``gc.garbage``); returns how many objects it held."""
        for obj in garbage:
            size = sys.getsizeof(obj, 0)
            name = _type_name(type(obj))
            row = self.by_type.setdefault(name, [0, 0])
            row[0] += 1
            row[1] += size
            site = _site(obj, self.here)
            if site is not None:
                entry = self.by_line.setdefault((site[0], site[1]), [0, 0, {}])
                entry[0] += 1
                entry[1] += size
                entry[2][name] = entry[2].get(name, 0) + 1
        self.objects += len(garbage)
        self.bytes += sum(sys.getsizeof(o, 0) for o in garbage)
        self.collections += 1 if garbage else 0
        return len(garbage)

    # -- with automatic collections ----------------------------------------------------------
    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if self.releasing:
            self.ran = self.ran or phase == "start"
            return
        if phase != "stop" or not gc.garbage:
            return
        garbage = list(gc.garbage)
        gc.garbage.clear()
        self.account(garbage)
        self.pending.extend(garbage)

    def install(self) -> None:
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.callbacks.append(self._callback)

    def due(self) -> bool:
        """Whether :meth:`release` would free something now."""
        waited = time.perf_counter() - self.released
        return bool(self.pending) and (waited >= RELEASE_SECONDS or len(self.pending) >= RELEASE_OBJECTS)

    def release(self, force: bool = False) -> None:
        """Free what was counted: drop our references and collect everything without saving (a
        full collection: by now they may sit in any generation, and one left behind would be
        counted again). At most every :data:`RELEASE_SECONDS` unless many are held, or ``force``."""
        if not (force and self.pending) and not self.due():
            return
        now = time.perf_counter()
        # No automatic collection may start meanwhile (disabled), and none may be running: asked
        # for during one of the program's (whose callbacks let our thread in), ours would not run
        # and what we let go would be saved and counted again by the next. A first, saving, full
        # collection that does run (our callback sees it start) proves none is running and counts
        # the garbage made since the last one, so that the second, freeing, one frees what was
        # counted; garbage the program made in between (its thread may run) is counted without a
        # type or line, from what the second one reports.
        enabled = gc.isenabled()
        gc.disable()
        try:
            self.releasing, self.ran = True, False
            gc.collect()
            if not self.ran:
                return
            garbage = list(gc.garbage)
            gc.garbage.clear()
            self.account(garbage)
            self.pending.extend(garbage)
            del garbage
            gc.set_debug(0)
            held = sum(1 for o in self.pending if gc.is_tracked(o))
            self.pending.clear()
            unseen = gc.collect() - held
            if unseen > 0:
                self.objects += unseen
                self.unattributed += unseen
            self.released = now
        finally:
            self.releasing = False
            gc.set_debug(gc.DEBUG_SAVEALL)
            if enabled:
                gc.enable()

    def uninstall(self) -> None:
        """Count what is still waiting for a collection, free it, and stop."""
        self.pending.append(None)  # (a release even when nothing is held)
        self.release(force=True)
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)
        gc.set_debug(0)

    # -- on demand ---------------------------------------------------------------------------
    def collect_now(self) -> int:
        """One full collection whose garbage is counted, then freed. Returns the objects counted."""
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            garbage = list(gc.garbage)
            gc.garbage.clear()
        finally:
            gc.set_debug(0)
        found = self.account(garbage)
        del garbage
        gc.collect()
        return found

    def facts(self, top: int = 10) -> dict[str, Any]:
        lines = sorted(self.by_line.items(), key=lambda kv: -kv[1][0])[:top]
        return {
            "objects": self.objects,
            "bytes": self.bytes,
            "collections": self.collections,
            "unattributed": self.unattributed,
            "by_type": [[t, c, b] for t, (c, b) in sorted(self.by_type.items(), key=lambda kv: -kv[1][0])[:top]],
            "by_line": [
                {"file": f, "line": n, "objects": c, "bytes": b, "types": sorted(types.items(), key=_by_count)[:3]}
                for (f, n), (c, b, types) in lines
            ],
        }
