"""Measure every rule's before/after speedup on the running Python and write its table.

One table per Python version: ``perfsquad/data/speedups/<major>.<minor>.json`` (read by
:mod:`perfsquad.calibration`, which picks the table of the interpreter that runs the user's code).
Run this script with each Python the tables should cover, e.g.::

    python3 bench/calibrate.py                                              # 3.11
    PYENV_VERSION=3.12.1 PYTHONPATH=$PWD pyenv exec python bench/calibrate.py  # 3.12

Each rule declares a ``Bench`` (setup using ``n``, the code it flags, and its rewrite). For each
size we check both versions compute the same ``result``, then time them in several *interleaved
rounds*: every round times every (rule, size) pair once, before and after back to back (their
order alternating between rounds), so a burst of load on a shared machine lands on one round of
many pairs rather than on every round of one pair. A pair's ratio is the median of its rounds'
ratios (each round: best of 3 repeats of a loop count fixed once per pair); the table keeps the
rounds' lowest and highest ratio as ``spread``, so a ratio whose rounds straddle 1.0 shows it.

Hover texts, ``perfsquad explain``, ``perfsquad rules``, the roadmap and the ``readability``
group (rules measured slower at n=1,000) read the tables; nothing in perfsquad guesses a speedup.

Usage: python bench/calibrate.py [--rule CODE ...] [--sizes 10,1000,100000] [--rounds 7] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import timeit
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfsquad.analyzers import RULES  # noqa: E402
from perfsquad.rule import Bench, Rule  # noqa: E402

TABLES = ROOT / "perfsquad" / "data" / "speedups"
DEFAULT_OUT = TABLES / f"{sys.version_info.major}.{sys.version_info.minor}.json"
ROUNDS = 7
REPEAT_SECONDS = 0.05
"""Target duration of one timed repeat (the loop count is chosen once per pair from it)."""

# Sizes a rule's bench cannot afford: IO002 awaits n calls of 1 ms each, one after the other; IO001
# makes n queries.
RULE_SIZES: dict[str, list[int]] = {"IO002": [10, 100, 1000], "IO001": [10, 1000, 10000]}


def _time(stmt: str, setup: str, budget: float) -> float:
    timer = timeit.Timer(stmt, setup)
    number, elapsed = timer.autorange()
    repeats = max(3, min(7, int(budget / max(elapsed, 1e-9))))
    return min(timer.repeat(repeat=repeats, number=number)) / number


def check_equal(bench: Bench, n: int) -> str:
    """The bench's setup for size ``n``, after checking before and after compute the same result."""
    setup = f"n = {n}\n{bench.setup}"
    before_ns: dict[str, Any] = {}
    after_ns: dict[str, Any] = {}
    exec(setup + "\n" + bench.before, before_ns)
    exec(setup + "\n" + bench.after, after_ns)
    if before_ns.get("result") != after_ns.get("result"):
        raise AssertionError(f"before and after disagree at n={n}")
    return setup


def measure(bench: Bench, n: int, budget: float = 0.4) -> tuple[float, float, float]:
    """One before/after timing at size ``n`` (best of a few repeats): old, new, old/new."""
    setup = check_equal(bench, n)
    old = _time(bench.before, setup, budget)
    new = _time(bench.after, setup, budget)
    return old, new, old / new


@dataclass
class Pair:
    """The before and after timers of one (bench, size), timed once per round."""

    bench: Bench
    n: int
    before: timeit.Timer = field(init=False)
    after: timeit.Timer = field(init=False)
    numbers: tuple[int, int] = (1, 1)
    olds: list[float] = field(default_factory=list)
    news: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        setup = check_equal(self.bench, self.n)
        self.before = timeit.Timer(self.bench.before, setup)
        self.after = timeit.Timer(self.bench.after, setup)
        self.numbers = (_loop_count(self.before), _loop_count(self.after))

    def run(self, after_first: bool) -> None:
        timers = [(self.before, self.numbers[0], self.olds), (self.after, self.numbers[1], self.news)]
        for timer, number, out in reversed(timers) if after_first else timers:
            out.append(min(timer.repeat(repeat=3, number=number)) / number)

    def stats(self) -> tuple[float, list[float], list[float]]:
        """Median ratio, [lowest, highest] round ratio, median [old, new] seconds."""
        ratios = [old / new for old, new in zip(self.olds, self.news, strict=True)]
        spread = [round(min(ratios), 2), round(max(ratios), 2)]
        return statistics.median(ratios), spread, [statistics.median(self.olds), statistics.median(self.news)]


def _loop_count(timer: timeit.Timer) -> int:
    number, elapsed = timer.autorange()
    return max(1, round(number * REPEAT_SECONDS / max(elapsed, 1e-9)))


def interleaved(pairs: dict[Any, Pair], rounds: int = ROUNDS) -> None:
    """Time every pair once per round, round after round (see the module docstring)."""
    for i in range(rounds):
        for pair in pairs.values():
            pair.run(after_first=i % 2 == 1)


def calibrate(rules: list[type[Rule]], sizes: list[int], rounds: int = ROUNDS) -> dict[str, Any]:
    pairs: dict[tuple[str, int], Pair] = {}
    scales: dict[str, str] = {}
    for rule in rules:
        if rule.bench is None:
            continue
        scales[rule.code] = rule.bench.scales_with
        for n in RULE_SIZES.get(rule.code, sizes):
            pairs[rule.code, n] = Pair(rule.bench, n)
    interleaved(pairs, rounds)
    out: dict[str, Any] = {}
    for (code, n), pair in pairs.items():
        entry = out.setdefault(
            code, {"scales_with": scales[code], "rounds": rounds, "sizes": {}, "spread": {}, "seconds": {}}
        )
        ratio, spread, seconds = pair.stats()
        entry["sizes"][str(n)] = round(ratio, 2)
        entry["spread"][str(n)] = spread
        entry["seconds"][str(n)] = seconds
    return out


def write_results(out: Path, results: dict[str, Any], sizes: list[int], rounds: int = ROUNDS) -> None:
    """Merge ``results`` (rule code -> entry) into ``out``, keeping every other rule's entry."""
    existing: dict[str, Any] = {}
    if out.exists():
        existing = json.loads(out.read_text(encoding="utf-8")).get("rules", {})
    merged = {**existing, **results}
    data = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "date": datetime.date.today().isoformat(),
        "sizes": sizes,
        "method": "median of interleaved rounds (each entry's `rounds`, 7 by default), each the best of 3 repeats",
        "rules": dict(sorted(merged.items())),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", action="append", default=[], help="only these codes (repeatable)")
    parser.add_argument("--sizes", default="10,1000,100000")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    named = {c.upper() for c in args.rule}
    # The vectorization rules are calibrated by bench/vectorize.py (single-threaded BLAS, lists vs
    # arrays, break-even sizes); a blanket run here would replace those richer entries.
    chosen = [r for r in RULES if r.code in named or (not named and not r.code.startswith("VEC"))]
    if not named:
        print("VEC rules: calibrated by bench/vectorize.py (run it for them)")
    results = calibrate(chosen, sizes, args.rounds)
    write_results(args.out, results, sizes, args.rounds)
    width = max((len(r.code) for r in chosen), default=6)
    print(f"Python {platform.python_version()}, median of {args.rounds} rounds [lowest-highest round]")
    for code, entry in results.items():
        cells = [f"n={n}: {r:.2f}x [{entry['spread'][n][0]:.2f}-{entry['spread'][n][1]:.2f}]" for n, r in entry["sizes"].items()]
        print(f"{code:<{width}}  " + "  ".join(cells))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
