"""``perfsquad compare BEFORE AFTER``: Welch's t-test between two benchmark records."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "compare",
        help="compare two benchmark records (names under .perfsquad/bench or files): significant or not?",
        description="Mean ± std of both records, Welch's t-test, a minimum-effect threshold and a verdict; "
        "per-function deltas when both records hold a profile, and a warning when the bottleneck merely moved.",
    )
    p.add_argument("before", help="record name or JSON file")
    p.add_argument("after", help="record name or JSON file")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--min-effect", type=float, default=0.02,
                   help="smallest relative change that counts (default 0.02 = 2%%)")  # fmt: skip
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--dir", type=Path, default=None, help="where records live (default: WORKSPACE/.perfsquad/bench)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfsquad.audit.bench import BenchError, bench_dir, load_record, resolve_record, workspace_root
    from perfsquad.audit.compare import compare, format_comparison

    store = args.dir or bench_dir(workspace_root())
    try:
        before = load_record(resolve_record(args.before, store))
        after = load_record(resolve_record(args.after, store))
    except BenchError as exc:
        print(f"perfsquad compare: error: {exc}", file=sys.stderr)
        return 2
    if not 0 < args.alpha < 1 or args.min_effect < 0:
        print("perfsquad compare: error: --alpha must be in (0, 1) and --min-effect >= 0", file=sys.stderr)
        return 2
    result = compare(before, after, alpha=args.alpha, min_effect=args.min_effect)
    if args.format == "json":
        print(json.dumps(result.to_json(), indent=1))
    else:
        print(format_comparison(result))
    return 0
