"""``perfsquad leakcheck [--iterations N] [--callable MODULE:FUNC | --script FILE] -- ARGS...``

Runs a workload N times in a subprocess and reports the memory each iteration leaves behind,
with the lines that allocated it (see :mod:`perfsquad.profiling.leak`). Exit codes: 0 flat,
1 grows, 2 error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from perfsquad.profiling.leak import (
    DEFAULT_BUDGET,
    DEFAULT_FRAMES,
    DEFAULT_ITERATIONS,
    DEFAULT_THRESHOLD,
    DEFAULT_TIMEOUT,
    DEFAULT_TOP,
    DEFAULT_WARMUP,
)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "leakcheck",
        help="run a workload N times; report memory retained per iteration and the lines holding it",
        description="Run a callable (--callable pkg.mod:func or file.py:func, called with the ARGS as strings), "
        "a script (--script FILE, or FILE after --; its top level re-run as __main__ each iteration) or a module "
        "(-- -m NAME ...) N times in one subprocess, collect garbage after each iteration, and report the "
        "memory still alive: growth per iteration (Theil-Sen slope after the warm-up) and the allocating lines "
        "(tracemalloc snapshot difference). Exit 0 when flat, 1 when it grows, 2 on error.",
    )
    what = p.add_mutually_exclusive_group()
    what.add_argument("--callable", dest="func", metavar="MODULE:FUNC", help="a function to call each iteration")
    what.add_argument("--script", metavar="FILE", help="a script whose top level is one iteration")
    p.add_argument("--iterations", "-n", type=int, default=DEFAULT_ITERATIONS,
                   help=f"iterations in all, warm-up included ({DEFAULT_ITERATIONS})")  # fmt: skip
    p.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                   help=f"iterations run before measuring ({DEFAULT_WARMUP})")  # fmt: skip
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"bytes per iteration below which memory counts as flat ({DEFAULT_THRESHOLD})")  # fmt: skip
    p.add_argument("--top", type=int, default=DEFAULT_TOP, help=f"allocating lines to report ({DEFAULT_TOP})")
    p.add_argument("--frames", type=int, default=DEFAULT_FRAMES,
                   help=f"call frames recorded per allocation; more is slower ({DEFAULT_FRAMES})")  # fmt: skip
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds before the workload is killed ({DEFAULT_TIMEOUT:g})")  # fmt: skip
    p.add_argument("--budget", type=float, default=DEFAULT_BUDGET,
                   help=f"seconds the iterations should take; a workload too slow to trace in them is checked "
                        f"untraced, with fewer iterations (at least 3 measured; {DEFAULT_BUDGET:g}, at most half the timeout)")  # fmt: skip
    p.add_argument("--cwd", type=Path, default=None, help="directory to run in (default: the current one)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="-- ARGS",
                   help="arguments (for --callable/--script), or the script / -m module to run")  # fmt: skip
    p.set_defaults(handler=run)


def target_of(args: argparse.Namespace) -> tuple[str, str, list[str]]:
    """(kind, target, its arguments) from the parsed words: the server's ``perfsquad.leakcheck``
    accepts the same words (:func:`perfsquad.server.ext_memory.leak_options`)."""
    rest = list(args.args)
    if rest and rest[0] == "--":
        rest = rest[1:]
    if args.func:
        return "callable", args.func, rest
    if args.script:
        return "script", args.script, rest
    if not rest:
        raise ValueError("nothing to run: give --callable MODULE:FUNC, --script FILE, or `-- FILE.py` / `-- -m MODULE`")
    if rest[0] == "-m":
        if len(rest) < 2:
            raise ValueError("`-m` needs a module name")
        return "module", rest[1], rest[2:]
    if rest[0] in ("python", "python3") or rest[0].endswith(("/python", "/python3")):
        raise ValueError("give the script or `-m module` without the interpreter")
    return "script", rest[0], rest[1:]


def run(args: argparse.Namespace) -> int:
    from perfsquad.profiling.leak import LeakCheckError, format_text, run_leakcheck

    try:
        mode, target, extra = target_of(args)
        result = run_leakcheck(
            mode,
            target,
            extra,
            iterations=args.iterations,
            warmup=args.warmup,
            threshold=args.threshold,
            top=args.top,
            frames=args.frames,
            cwd=args.cwd,
            timeout=args.timeout,
            budget=args.budget,
            on_progress=lambda msg: print(msg, file=sys.stderr) if args.format == "text" else None,
        )
    except (LeakCheckError, ValueError) as exc:
        print(f"perfsquad leakcheck: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(format_text(result, (args.cwd or Path.cwd())))
    return 0 if result.flat else 1
