"""``perfsquad bench [--runs N] [--warmup K] [--name NAME] -- COMMAND``: record repeated timed runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "bench",
        help="time a command repeatedly and keep the record under .perfsquad/bench/NAME.json",
        description="Runs COMMAND K warm-up times (discarded) and N measured times, each in a subprocess with "
        "a timeout, and stores the wall times (and optionally a profile) for `perfsquad compare`.",
    )
    p.add_argument("--runs", "-n", type=int, default=5, help="measured runs (default 5)")
    p.add_argument("--warmup", "-w", type=int, default=1, help="warm-up runs, not recorded (default 1)")
    p.add_argument("--name", default=None, help="record name (default: run-DATE-TIME)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before one run is killed")
    p.add_argument("--profile", action="store_true", help="also store one profiled run (per-function deltas)")
    p.add_argument("--sampler", choices=("auto", "py-spy", "cprofile"), default="auto")
    p.add_argument("--append", action="store_true",
                   help="add the runs to an existing record of the same name and command (interleave two "
                        "records' runs to cancel out drifting machine load)")  # fmt: skip
    p.add_argument("--dir", type=Path, default=None, help="where records live (default: WORKSPACE/.perfsquad/bench)")
    p.add_argument("--format", choices=("perfsquad", "pyperf"), default="perfsquad",
                   help="the record's format: perfsquad's (default) or pyperf JSON, which `python -m pyperf "
                        "compare_to`/`stats` read (no profile); `perfsquad compare` reads both")  # fmt: skip
    p.add_argument("--out", "-o", type=Path, default=None, help="write the record to this file instead of DIR/NAME.json")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command to time")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfsquad.audit.bench import (
        BenchCancelled,
        BenchError,
        bench_dir,
        default_name,
        run_bench,
        valid_name,
        workspace_root,
    )
    from perfsquad.audit.stats import mean, stdev

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("perfsquad bench: error: give the command after `--`", file=sys.stderr)
        return 2
    name = args.name or default_name()
    if not valid_name(name):
        print(f"perfsquad bench: error: bad record name {name!r} (letters, digits, . _ -)", file=sys.stderr)
        return 2
    store = args.dir or bench_dir(workspace_root())
    if args.format == "pyperf" and args.profile:
        print("perfsquad bench: error: --profile needs the perfsquad format (pyperf files hold no profile)",
              file=sys.stderr)  # fmt: skip
        return 2

    def progress(message: str) -> None:
        print(f"perfsquad bench: {message}", file=sys.stderr, flush=True)

    try:
        record = run_bench(argv, name=name, runs=args.runs, warmup=args.warmup, timeout=args.timeout,
                           profile=args.profile, sampler=args.sampler, on_progress=progress)  # fmt: skip
    except BenchCancelled as exc:
        print(f"perfsquad bench: {exc}", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"perfsquad bench: error: {exc}", file=sys.stderr)
        return 2
    path = args.out or store / f"{name}.json"
    if args.append and path.exists():
        from dataclasses import replace

        from perfsquad.audit.bench import load_record

        try:
            old = load_record(path)
        except BenchError as exc:
            print(f"perfsquad bench: error: {exc}", file=sys.stderr)
            return 2
        if old.command != record.command:
            print(f"perfsquad bench: error: {name} records another command ({' '.join(old.command)}); "
                  "use another name", file=sys.stderr)  # fmt: skip
            return 2
        record = replace(old, runs=old.runs + record.runs, profile=record.profile or old.profile)
    try:
        record.dump(path, args.format)
    except BenchError as exc:
        print(f"perfsquad bench: error: {exc}", file=sys.stderr)
        return 2
    print(f"{name}: {len(record.runs)} runs, mean {mean(record.runs):.4f} s ± {stdev(record.runs):.4f} s "
          f"(min {min(record.runs):.4f} s)")  # fmt: skip
    print(f"wrote {path}" + (" (pyperf format)" if args.format == "pyperf" else ""))
    return 0
