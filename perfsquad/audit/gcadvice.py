"""Collector tuning, measured: the user's own command timed as is and with each tuning.

When a memory pass finds the cyclic collector above
:data:`perfsquad.profiling.memory.GC_SHARE_ADVICE` of the run, the advice (``gc.freeze()`` after
start-up, a higher generation-0 threshold) is measured rather than promised: the command runs
``runs`` times as is and ``runs`` times under each variant, interleaved (baseline, freeze,
threshold, baseline, ...) so drifting machine load hits every side alike, each run through
:func:`perfsquad.audit.bench.time_once` (its own process group, timeout, cancellable). A variant is
applied by a ``sitecustomize`` put first on ``PYTHONPATH`` (``perfsquad/profiling/_gctune``: the
program itself is not edited; the interpreter's own ``sitecustomize`` still runs after it).

The runs are kept as ``perfsquad.bench/1`` records (``gc-baseline``, ``gc-freeze``,
``gc-threshold`` under ``.perfsquad/bench``) and compared with :func:`perfsquad.audit.compare.compare`
(Welch's t-test and a minimum effect), so ``perfsquad compare gc-baseline gc-freeze`` shows the same
verdict again.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfsquad.audit.bench import BenchRecord, time_once
from perfsquad.audit.compare import Comparison, compare
from perfsquad.files import WriteError
from perfsquad.profiling.target import Target

TUNE_DIR = Path(__file__).resolve().parent.parent / "profiling" / "_gctune"
VARIANTS: tuple[tuple[str, str, str], ...] = (
    ("freeze", "freeze", "`gc.freeze()` once start-up is done (after loading long-lived data)"),
    ("threshold", "threshold:100000", "`gc.set_threshold(100_000)` at start-up"),
)
"""(name, PERFSQUAD_GCTUNE value, the advice in words)."""
DEFAULT_RUNS = 5

Progress = Callable[[str], None]


@dataclass(frozen=True)
class VariantResult:
    name: str
    advice: str
    comparison: Comparison

    def to_json(self) -> dict[str, Any]:
        c = self.comparison
        return {
            "name": self.name,
            "advice": self.advice,
            "ratio": c.ratio,
            "significant": c.significant,
            "verdict": c.verdict,
            "p_value": c.test.p_value if c.test else None,
            "before_mean": c.mean_before,
            "after_mean": c.mean_after,
            "runs": len(c.after.runs),
        }


@dataclass(frozen=True)
class GcAdvice:
    variants: tuple[VariantResult, ...]
    records: str | None
    """Where the records were written (None when they could not be)."""

    @property
    def best(self) -> VariantResult | None:
        wins = [v for v in self.variants if v.comparison.significant and v.comparison.ratio > 1]
        return max(wins, key=lambda v: v.comparison.ratio, default=None)

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {
            "variants": [v.to_json() for v in self.variants],
            "best": best.name if best else None,
            "records": self.records,
        }


def argv_of(target: Target) -> list[str] | None:
    """The command line that runs ``target`` directly (None for targets we cannot re-run as is)."""
    if target.python is None or target.mode not in ("script", "module"):
        return None
    head = ["-m", target.target] if target.mode == "module" else [target.target]
    return [target.python, *head, *target.args]


def _env(setting: str) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {
        **os.environ,
        "PYTHONPATH": str(TUNE_DIR) + (os.pathsep + path if path else ""),
        "PERFSQUAD_GCTUNE": setting,
    }


def measure(
    target: Target,
    *,
    cwd: Path | None = None,
    runs: int = DEFAULT_RUNS,
    timeout: float = 300.0,
    cancel: threading.Event | None = None,
    on_progress: Progress | None = None,
    store: Path | None = None,
) -> GcAdvice:
    """Time ``target`` as is and under each of :data:`VARIANTS`, interleaved; raises
    :class:`perfsquad.audit.bench.BenchError` (``BenchCancelled``) like ``bench`` does."""
    from perfsquad.audit.bench import BenchError

    argv = argv_of(target)
    if argv is None:
        raise BenchError(f"{target.display} is not a script or module: its collector tuning cannot be measured")
    progress = on_progress or (lambda _msg: None)
    sides: list[tuple[str, dict[str, str] | None]] = [("baseline", None)]
    sides += [(name, _env(setting)) for name, setting, _ in VARIANTS]
    times: dict[str, list[float]] = {name: [] for name, _ in sides}
    for _name, env in sides:  # warm-up (file cache, __pycache__), not recorded
        time_once(argv, cwd=cwd, timeout=timeout, cancel=cancel, env=env)
    for i in range(runs):
        for name, env in sides:
            times[name].append(time_once(argv, cwd=cwd, timeout=timeout, cancel=cancel, env=env))
        progress(f"collector tuning: round {i + 1}/{runs}: " + ", ".join(f"{n} {t[-1]:.3f} s" for n, t in times.items()))
    where = str((cwd or Path.cwd()).resolve())
    records = {
        name: BenchRecord(name=f"gc-{name}", command=tuple(argv), cwd=where, runs=tuple(times[name]), warmup=1,
                          timeout=timeout)
        for name, _ in sides
    }  # fmt: skip
    written: str | None = None
    if store is not None:
        try:
            for rec in records.values():
                rec.dump(store / f"{rec.name}.json")
            written = str(store)
        except (WriteError, OSError):
            written = None
    results = tuple(
        VariantResult(name, advice, compare(records["baseline"], records[name])) for name, _setting, advice in VARIANTS
    )
    return GcAdvice(results, written)
