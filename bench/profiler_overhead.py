"""How much does profiling slow the profiled program down? Side by side, in one run.

For a loop-heavy and a call-heavy workload, the program's own wall time (measured inside the
profiled process by perfsquad's wrapper, from the first line of user code to the last) is compared
between an unprofiled run and runs under each runner: py-spy (perfsquad's default: two non-blocking
samplers, wall + active) and cProfile. Runs alternate between modes to spread machine noise evenly;
the median of ``--repeat`` runs is reported.

Target: the sampling runner's overhead <= 1.1x on both workloads.

Usage: python bench/profiler_overhead.py [--repeat 7] [--json bench/results/profiler_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perfsquad.profiling.run import CHILD, profile_command
from perfsquad.profiling.target import Target

WORKLOADS = {
    "loop-heavy": """\
def main():
    total = 0
    for i in range(12_000_000):
        total += i % 7
    return total

main()
""",
    "call-heavy": """\
def leaf(x):
    return x + 1

def middle(x):
    return leaf(x) * 2

def main():
    acc = 0
    for i in range(6_000_000):
        acc += middle(i)
    return acc

main()
""",
}
TARGET = 1.1


def unprofiled(script: Path, work: Path) -> float:
    result = work / "plain.json"
    subprocess.run([sys.executable, str(CHILD), "--result", str(result), "script", str(script)], check=True)
    return float(json.loads(result.read_text())["wall_seconds"])


def profiled(script: Path, sampler: str) -> float:
    profile = profile_command(Target(sys.executable, "script", str(script)), sampler=sampler, timeout=600)
    return profile.wall_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "profiler_overhead.json")
    args = parser.parse_args()
    modes = ("none", "py-spy", "cprofile")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, source in WORKLOADS.items():
            script = work / f"{name}.py"
            script.write_text(source, encoding="utf-8")
            times: dict[str, list[float]] = {m: [] for m in modes}
            for _ in range(args.repeat):
                for mode in modes:
                    times[mode].append(unprofiled(script, work) if mode == "none" else profiled(script, mode))
            base = statistics.median(times["none"])
            for mode in modes:
                med = statistics.median(times[mode])
                rows.append({"workload": name, "runner": mode, "median_s": med, "ratio": med / base,
                             "runs": times[mode]})  # fmt: skip
    print(f"Profiler overhead (median of {args.repeat}; Python {platform.python_version()}, "
          f"{platform.machine()}; ratio = profiled / unprofiled wall time of the program itself)")  # fmt: skip
    print(f"{'workload':<12} {'runner':<9} {'median s':>9} {'ratio':>7}  target")
    ok = True
    for r in rows:
        verdict = ""
        if r["runner"] == "py-spy":
            passed = r["ratio"] <= TARGET
            ok &= passed
            verdict = f"<= {TARGET}x {'PASS' if passed else 'FAIL'}"
        print(f"{r['workload']:<12} {r['runner']:<9} {r['median_s']:>9.3f} {r['ratio']:>6.2f}x  {verdict}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"python": platform.python_version(), "repeat": args.repeat, "rows": rows},
                                    indent=1) + "\n", encoding="utf-8")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
