"""``perfsquad compare BEFORE AFTER``: Welch's t-test between two benchmark records (perfsquad's,
pyperf JSON or pytest-benchmark JSON, told apart by their content: perfsquad.audit.interop)."""

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
        "per-function deltas when both records hold a profile, and a warning when the bottleneck merely moved. "
        "A record is perfsquad's (perfsquad bench), a pyperf JSON file (.json or .json.gz) or a pytest-benchmark "
        "JSON file (--benchmark-json, .benchmarks/ saves); files with several benchmarks are compared name by name.",
    )
    p.add_argument("before", help="record name or JSON file (perfsquad, pyperf, pytest-benchmark)")
    p.add_argument("after", help="record name or JSON file (perfsquad, pyperf, pytest-benchmark)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--min-effect", type=float, default=0.02,
                   help="smallest relative change that counts (default 0.02 = 2%%)")  # fmt: skip
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--dir", type=Path, default=None, help="where records live (default: WORKSPACE/.perfsquad/bench)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfsquad.audit.bench import BenchError, bench_dir, load_records, resolve_record, workspace_root
    from perfsquad.audit.compare import compare, format_comparison, pair_up

    store = args.dir or bench_dir(workspace_root())
    if not 0 < args.alpha < 1 or args.min_effect < 0:
        print("perfsquad compare: error: --alpha must be in (0, 1) and --min-effect >= 0", file=sys.stderr)
        return 2
    try:
        before = load_records(resolve_record(args.before, store))
        after = load_records(resolve_record(args.after, store))
        pairs, alone = pair_up(before, after)
        if not pairs:
            raise BenchError(f"no benchmark of the same name in {args.before} and {args.after}")
        results = [compare(b, a, alpha=args.alpha, min_effect=args.min_effect) for b, a in pairs]
    except BenchError as exc:
        print(f"perfsquad compare: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        payload = [r.to_json() for r in results]
        print(json.dumps(payload[0] if len(payload) == 1 and not alone else payload, indent=1))
    else:
        blocks = [format_comparison(r) if len(results) == 1 else f"== {r.before.name}\n" + format_comparison(r)
                  for r in results]  # fmt: skip
        print("\n\n".join(blocks))
    for name in alone:
        print(f"perfsquad compare: warning: {name} is in only one of the files; not compared", file=sys.stderr)
    return 0
