#!/usr/bin/env python3
"""Throughput benchmark: perfsquad against the ast.parse floor and peer linters.

Stdlib only. Run from anywhere:

    python3 bench/throughput.py [--perfsquad CMD] [--corpus django] [--skip-peers]
                                [--skip-perfsquad] [--quick]

CPU time is the child's user+system time from ``getrusage(RUSAGE_CHILDREN)``
deltas, so it includes worker processes the child waited for.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from corpus import CORPORA, CORPUS_ROOT, SetupError, corpus_stats, prepare_corpus, setup_run

BENCH = Path(__file__).resolve().parent
PEERS = BENCH / ".venv-peers"
PEER_BIN = PEERS / "bin"
RESULTS = BENCH / "results" / "throughput.json"
PEER_PACKAGES = ("ruff", "pylint", "perflint", "refurb")
REPEATS = 3
PERFLINT_CODES = "W8101,W8102,W8201,W8202,R8203,W8204,W8205,W8401,W8402,W8403"
FLOOR_CODE = """\
import ast, pathlib, sys
n = 0
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
    for _ in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        n += 1
print(n)
"""
PERFLINT_BUG = "'Starred' object has no attribute 'name'"


@dataclass
class Result:
    tool: str
    runs: int = 0
    wall_s: float | None = None
    cpu_s: float | None = None
    error: str | None = None
    note: str | None = None
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)


def prepare_peers() -> dict[str, str]:
    python = PEER_BIN / "python"
    if not python.exists():
        print(f"creating {PEERS} ...", file=sys.stderr)
        setup_run([sys.executable, "-m", "venv", str(PEERS)], "venv creation")
    if not all((PEER_BIN / exe).exists() for exe in PEER_PACKAGES):
        print("installing " + " ".join(PEER_PACKAGES) + " ...", file=sys.stderr)
        setup_run([str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES], "pip install")
    code = "import importlib.metadata as m, sys; print(*map(m.version, sys.argv[1:]))"
    proc = subprocess.run([str(python), "-c", code, *PEER_PACKAGES], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SetupError(f"peer venv is broken: {proc.stderr.strip()}")
    return dict(zip(PEER_PACKAGES, proc.stdout.split(), strict=True))


Check = Callable[[int, str, Path], tuple[str | None, str | None]]
"""(exit code, captured stdout, scratch dir) -> (error, note)."""


def exit_check(max_ok: int) -> Check:
    def check(code: int, _out: str, _scratch: Path) -> tuple[str | None, str | None]:
        return (None if 0 <= code <= max_ok else f"exit {code}"), None  # 1 means "findings"

    return check


def check_perfsquad(code: int, out: str, _scratch: Path) -> tuple[str | None, str | None]:
    if not 0 <= code <= 1:
        return f"exit {code}", None
    try:  # `python -m perfsquad` also exits 1 when the module is missing
        json.loads(out)
    except ValueError:
        return f"exit {code} and stdout is not JSON", None
    return None, None


def check_pylint(code: int, out: str, scratch: Path) -> tuple[str | None, str | None]:
    # The exit code is a bit field: 1 fatal, 32 usage error; the rest are findings.
    if code < 0 or code & 32:
        return f"exit {code}", None
    if not code & 1:
        return None, None
    fatals = re.findall(r": (F\d{4}): ", out)
    crashes = [p.read_text(errors="replace") for p in scratch.glob("pylint-crash-*.txt")]
    if set(fatals) == {"F0002"} and crashes and all(PERFLINT_BUG in c for c in crashes):
        return None, f"{len(fatals)} files cut short by the perflint 0.8.1 crash on starred for-targets (F0002)"
    return f"exit {code}, fatal messages {sorted(set(fatals))}", None


def check_refurb(code: int, out: str, _scratch: Path) -> tuple[str | None, str | None]:
    if not 0 <= code <= 1:
        return f"exit {code}", None
    if code == 1 and "[FURB" not in out:  # refurb reports its own failures with exit 1 too
        return "exit 1 without findings: " + " | ".join(out.strip().splitlines()[:3]), None
    return None, None


def run_once(
    cmd: list[str], cwd: Path, check: Check, capture: bool, extra_env: dict[str, str] | None
) -> tuple[float, float, str | None, str | None]:
    """Run ``cmd`` once: (wall s, child CPU s, error, note)."""
    with tempfile.TemporaryDirectory(prefix="throughput-") as scratch:
        # Keep pylint's stats/crash reports and refurb's mypy cache out of $HOME, and cold.
        env = {**os.environ, "PYLINTHOME": scratch, "MYPY_CACHE_DIR": f"{scratch}/mypy"}
        env.update(extra_env or {})
        stdout = subprocess.PIPE if capture else subprocess.DEVNULL
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE
            )
        except OSError as exc:
            return 0.0, 0.0, f"cannot start: {exc}", None
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        out = (proc.stdout or b"").decode(errors="replace")
        error, note = check(proc.returncode, out, Path(scratch))
    if error is not None:
        tail = (proc.stderr.decode(errors="replace") or out).strip().splitlines()[-3:]
        error = " | ".join([error, *tail])
    return wall, cpu, error, note


def measure(
    tool: str,
    cmd: list[str],
    cwd: Path,
    *,
    check: Check,
    repeats: int = 1,
    capture: bool = True,
    extra_env: dict[str, str] | None = None,
) -> Result:
    """Run ``cmd`` ``repeats`` times; keep the median wall and CPU time, or the first failure."""
    result = Result(tool)
    print(f"running {tool}: (cd {cwd} && {shlex.join(cmd)})", file=sys.stderr)
    for _ in range(repeats):
        wall, cpu, result.error, result.note = run_once(cmd, cwd, check, capture, extra_env)
        if result.error is not None:
            print(f"!!! {tool} FAILED: {result.error}", file=sys.stderr)
            return result
        result.walls.append(wall)
        result.cpus.append(cpu)
    result.runs = repeats
    result.wall_s = statistics.median(result.walls)
    result.cpu_s = statistics.median(result.cpus)
    return result


def combine(runs: list[Result]) -> Result:
    """Single runs of one tool as one result (medians), or the first failure."""
    failed = next((r for r in runs if r.error is not None), None)
    if failed is not None:
        return failed
    result = Result(runs[0].tool, runs=len(runs))
    result.walls = [w for r in runs for w in r.walls]
    result.cpus = [c for r in runs for c in r.cpus]
    result.wall_s = statistics.median(result.walls)
    result.cpu_s = statistics.median(result.cpus)
    return result


def print_table(results: list[Result], lines: int) -> None:
    cold = next((r.cpu_s for r in results if r.tool == "perfsquad cold"), None)
    header = ("tool", "runs", "wall s", "CPU s", "lines/CPU-s", "lines/wall-s", "CPU-s vs perfsquad cold")
    rows: list[tuple[str, ...]] = [header]
    for r in results:
        if r.wall_s is not None and r.cpu_s is not None:
            rates = (f"{lines / r.cpu_s:,.0f}", f"{lines / r.wall_s:,.0f}")
            vs_cold = f"{r.cpu_s / cold:.2f}x" if cold else "-"
            rows.append((r.tool, str(r.runs), f"{r.wall_s:.2f}", f"{r.cpu_s:.2f}", *rates, vs_cold))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join([row[0].ljust(widths[0]), *cells]))
    for r in results:
        if r.error is not None:
            print(f"{r.tool}: FAILED ({r.error})")
        if r.note is not None:
            print(f"note: {r.tool}: {r.note}")


def check_targets(results: list[Result], lines: int) -> list[dict[str, object]]:
    """PASS/FAIL each target; FAIL too if a tool it needs failed, N/A if one was not run."""
    ok = {r.tool: r for r in results if r.error is None}
    failed = {r.tool for r in results if r.error is not None}

    def div(num: float | None, den: float | None) -> float | None:
        return num / den if num is not None and den else None

    def cpu(tool: str) -> float | None:
        return ok[tool].cpu_s if tool in ok else None

    def wall(tool: str) -> float | None:
        return ok[tool].wall_s if tool in ok else None

    cold, warm = "perfsquad cold", "perfsquad warm"
    targets: list[tuple[str, float | None, str, float, set[str]]] = [
        ("perfsquad cold lines/CPU-s", div(lines, cpu(cold)), ">=", 40_000, {cold}),
        ("perflint CPU / perfsquad cold CPU", div(cpu("perflint"), cpu(cold)), ">=", 15, {cold, "perflint"}),
        ("refurb CPU / perfsquad cold CPU", div(cpu("refurb"), cpu(cold)), ">=", 7, {cold, "refurb"}),
        ("perfsquad warm wall / ruff wall", div(wall(warm), wall("ruff")), "<=", 1, {cold, warm, "ruff"}),
    ]
    print("\ntargets:")
    verdicts: list[dict[str, object]] = []
    for name, value, op, goal, tools in targets:
        if value is None:
            verdict = "FAIL" if tools & failed else "N/A"
        else:
            verdict = "PASS" if (value >= goal if op == ">=" else value <= goal) else "FAIL"
        shown = "-" if value is None else f"{value:,.0f}" if value >= 1000 else f"{value:.2f}"
        print(f"  {verdict:4}  {name:34} {shown:>8}  (target {op} {goal:,})")
        verdicts.append({"target": name, "value": value, "op": op, "goal": goal, "verdict": verdict})
    return verdicts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--perfsquad", help="perfsquad command (default: python -m perfsquad)")
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="django")
    parser.add_argument("--skip-peers", action="store_true", help="measure no peer linter")
    parser.add_argument("--skip-perfsquad", action="store_true", help="measure no perfsquad")
    parser.add_argument("--quick", action="store_true", help="skip the slow perflint and refurb")
    args = parser.parse_args(argv)
    perfsquad = shlex.split(args.perfsquad) if args.perfsquad else [sys.executable, "-m", "perfsquad"]
    if not args.perfsquad:
        # Byte-compile the checkout, as a wheel install does: under PYTHONDONTWRITEBYTECODE=1 a
        # module edited since the last compile would be compiled again on every run.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(BENCH.parent / "perfsquad")], check=False)
    # `python -m perfsquad` must find this checkout's package though it runs from the corpus dir.
    pythonpath = os.pathsep.join(filter(None, [str(BENCH.parent), os.environ.get("PYTHONPATH")]))
    ps_env = None if args.perfsquad else {"PYTHONPATH": pythonpath}
    try:
        CORPUS_ROOT.mkdir(parents=True, exist_ok=True)
        corpus = prepare_corpus(args.corpus)
        stats = corpus_stats(corpus)
        versions = {} if args.skip_peers else prepare_peers()
    except (SetupError, OSError, zipfile.BadZipFile) as exc:
        print(f"throughput: setup failed: {exc}", file=sys.stderr)
        return 2
    print(f"corpus: {corpus} ({stats['files']:,} files, {stats['lines']:,} lines)", file=sys.stderr)

    # Run every tool from the unpacked wheel (no config file there) on the relative package
    # path: mypy, hence refurb, skips paths with a dot-directory such as bench/.corpus.
    cwd, target = corpus.parent, corpus.name
    floor = [sys.executable, "-c", FLOOR_CODE, target]
    results = [measure("ast.parse floor", floor, cwd, repeats=REPEATS, check=exit_check(0), capture=False)]
    if not args.skip_perfsquad:
        with tempfile.TemporaryDirectory(prefix="perfsquad-cache-") as caches:

            def check_cmd(cache: str) -> list[str]:
                return [*perfsquad, "check", target, "--format", "json", "--cache-dir", f"{caches}/{cache}"]

            # Every cold run starts from an empty cache of its own; the warm runs re-check with
            # the last one's.
            colds = [
                measure("perfsquad cold", check_cmd(f"cold{i}"), cwd, check=check_perfsquad, extra_env=ps_env)
                for i in range(REPEATS)
            ]
            results.append(combine(colds))
            # Informational: the fixed cost with no rule selected (reading, parsing, the traversal,
            # the workspace effect index and the process pool), i.e. what the rules run on top of.
            bare = [*perfsquad, "check", target, "--format", "json", "--no-cache", "--select", "NONE"]
            results.append(
                measure("perfsquad, no rules", bare, cwd, repeats=REPEATS, check=check_perfsquad, extra_env=ps_env)
            )
            if results[-2].error is None:
                warm_cmd = check_cmd(f"cold{REPEATS - 1}")
                warm = measure("perfsquad warm", warm_cmd, cwd, repeats=REPEATS, check=check_perfsquad, extra_env=ps_env)
                results.append(warm)
    if not args.skip_peers:
        # --isolated: ignore the perfsquad repo's own [tool.ruff] found above the corpus.
        ruff = [str(PEER_BIN / "ruff"), *shlex.split("check --isolated --no-cache --exit-zero")]
        ruff += ["--select", "PERF,FURB,C4,SIM,UP", target]
        results.append(measure("ruff", ruff, cwd, repeats=REPEATS, check=exit_check(1), capture=False))
        if not args.quick:
            # perflint 0.8.1 crashes on `for a, *b in ...`: under -j 2 that kills the run,
            # under -j 1 pylint reports F0002 for the file and goes on (see check_pylint).
            pylint = [str(PEER_BIN / "pylint"), "--load-plugins=perflint", "--disable=all"]
            perflint = [*pylint, f"--enable={PERFLINT_CODES}", "-j", "1", target]
            refurb = [str(PEER_BIN / "refurb"), target]
            # Three runs each, like the others: a single run of a 30-second tool on this machine
            # drifts by 10% or more.
            results.append(measure("perflint", perflint, cwd, repeats=REPEATS, check=check_pylint))
            results.append(measure("refurb", refurb, cwd, repeats=REPEATS, check=check_refurb))

    print()
    print_table(results, stats["lines"])
    targets = check_targets(results, stats["lines"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "processor": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "corpus": {
            "name": args.corpus,
            "version": CORPORA[args.corpus][1],
            "path": str(corpus.relative_to(BENCH.parent)),
            **stats,
        },
        "perfsquad_cmd": perfsquad,
        "peer_versions": versions,
        "results": [asdict(r) for r in results],
        "targets": targets,
    }
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
