"""Measure every rule's before/after speedup on this machine and write perfsquad/data/speedups.json.

Each rule declares a ``Bench`` (setup using ``n``, the code it flags, and its rewrite). For each
size we check both versions compute the same ``result``, time them with ``timeit`` (best of 5
repeats, auto-ranged loop counts), and record old/new. Hover texts, ``perfsquad explain`` and the
roadmap read the file; nothing in perfsquad guesses a speedup.

Usage: python bench/calibrate.py [--rule CODE ...] [--sizes 10,1000,100000] [--out PATH]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from perfsquad.analyzers import RULES  # noqa: E402
from perfsquad.rule import Bench, Rule  # noqa: E402

DEFAULT_OUT = ROOT / "perfsquad" / "data" / "speedups.json"


def _time(stmt: str, setup: str, budget: float) -> float:
    timer = timeit.Timer(stmt, setup)
    number, elapsed = timer.autorange()
    repeats = max(3, min(7, int(budget / max(elapsed, 1e-9))))
    return min(timer.repeat(repeat=repeats, number=number)) / number


def measure(bench: Bench, n: int, budget: float = 0.4) -> tuple[float, float, float]:
    setup = f"n = {n}\n{bench.setup}"
    before_ns: dict[str, Any] = {}
    after_ns: dict[str, Any] = {}
    exec(setup + "\n" + bench.before, before_ns)
    exec(setup + "\n" + bench.after, after_ns)
    if before_ns.get("result") != after_ns.get("result"):
        raise AssertionError(f"before and after disagree at n={n}")
    old = _time(bench.before, setup, budget)
    new = _time(bench.after, setup, budget)
    return old, new, old / new


def calibrate(rules: list[type[Rule]], sizes: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rule in rules:
        if rule.bench is None:
            continue
        entry: dict[str, Any] = {"scales_with": rule.bench.scales_with, "sizes": {}, "seconds": {}}
        for n in sizes:
            old, new, ratio = measure(rule.bench, n)
            entry["sizes"][str(n)] = round(ratio, 2)
            entry["seconds"][str(n)] = [old, new]
        out[rule.code] = entry
    return out


def write_results(out: Path, results: dict[str, Any], sizes: list[int]) -> None:
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
        "rules": dict(sorted(merged.items())),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", action="append", default=[], help="only these codes (repeatable)")
    parser.add_argument("--sizes", default="10,1000,100000")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    named = {c.upper() for c in args.rule}
    # The vectorization rules are calibrated by bench/vectorize.py (single-threaded BLAS, lists vs
    # arrays, break-even sizes); a blanket run here would replace those richer entries.
    chosen = [r for r in RULES if r.code in named or (not named and not r.code.startswith("VEC"))]
    if not named:
        print("VEC rules: calibrated by bench/vectorize.py (run it for them)")
    results = calibrate(chosen, sizes)
    write_results(args.out, results, sizes)
    width = max((len(r.code) for r in chosen), default=6)
    print(f"{'rule':<{width}}  " + "  ".join(f"n={n:>7}" for n in sizes))
    for code, entry in results.items():
        print(f"{code:<{width}}  " + "  ".join(f"{entry['sizes'][str(n)]:>8.2f}x" for n in sizes))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
