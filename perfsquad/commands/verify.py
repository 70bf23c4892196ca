"""``perfsquad verify FINDING... --run COMMAND [--rounds K] [--apply]``: measure named findings' fixes.

A FINDING is ``PATH:LINE`` or ``PATH:LINE:CODE`` (as ``check`` prints them, columns allowed). The
project is profiled with the run command (so each finding's predicted saving has a measured
share), then each named finding's fix is applied alone in a scratch copy, the tests run there and
the run command is timed before/after, interleaved (:mod:`perfsquad.audit.verify`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "verify",
        help="apply named findings' fixes in a scratch copy, run the tests, time before/after: predicted vs measured",
        description="Each FINDING (PATH:LINE or PATH:LINE:CODE) is fixed alone in a scratch copy of the project; "
        "the project's tests run there ([tool.perfsquad] test-command, default pytest) and the run command is "
        "timed before and after, interleaved. Your files change only with --apply, and only for fixes measured "
        "faster with passing tests.",
    )
    p.add_argument("findings", nargs="+", metavar="FINDING", help="PATH:LINE[:CODE]")
    p.add_argument("--run", metavar="COMMAND", default=None,
                   help="the workload to time (default: [tool.perfsquad] profile-command)")  # fmt: skip
    p.add_argument("--rounds", type=int, default=5, help="timed runs before and after (default 5)")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before one run is killed")
    p.add_argument("--python", default=None, metavar="INTERPRETER", help="the interpreter for a script run command")
    p.add_argument("--apply", action="store_true", help="write the verified fixes to your files")
    p.set_defaults(handler=run)


def _parse(spec: str) -> tuple[Path, int, str | None] | None:
    parts = spec.split(":")
    code = parts[-1] if parts and parts[-1][:1].isalpha() and parts[-1][1:].isalnum() and len(parts) >= 3 else None
    numbers = [p for p in (parts[1:-1] if code else parts[1:]) if p.isdigit()]
    if not numbers:
        return None
    return Path(parts[0]), int(numbers[0]), code


def run(args: argparse.Namespace) -> int:
    from perfsquad.audit.pipeline import configured_command, run_audit
    from perfsquad.audit.verify import VerifyError, verify_items
    from perfsquad.commands.audit import apply_verified, cache_dir_for, print_checks
    from perfsquad.profiling.run import ProfileCancelled

    wanted = []
    for spec in args.findings:
        parsed = _parse(spec)
        if parsed is None or not parsed[0].is_file():
            print(f"perfsquad verify: error: {spec}: expected PATH:LINE[:CODE] of an existing file", file=sys.stderr)
            return 2
        wanted.append(parsed)

    def progress(message: str) -> None:
        print(f"perfsquad verify: {message}", file=sys.stderr, flush=True)

    paths = list(dict.fromkeys(p for p, _, _ in wanted))
    # A finding that is not there is said before anything runs. The static pass is the audit's own
    # first phase (same configuration, fixes and metrics, so the same cache entry): it reads it back.
    from perfsquad.api import analyze_paths
    from perfsquad.config import load_config

    config, _pyproject = load_config(paths[0])
    reports = analyze_paths(paths, config, want_fixes=True, metrics=True, cache_dir=cache_dir_for(paths[0]))
    found = {(Path(r.path).resolve(), f.span.start.line, f.code) for r in reports for f in r.findings}
    for path, line, code in wanted:
        if not any(p == path.resolve() and ln == line and code in (None, c) for p, ln, c in found):
            print(f"perfsquad verify: error: no finding at {path}:{line}" + (f" ({code})" if code else ""),
                  file=sys.stderr)  # fmt: skip
            return 2
    try:
        result = run_audit(paths, run=args.run, timeout=args.timeout, progress=progress,
                           cache_dir=cache_dir_for(paths[0]), run_cwd=Path.cwd(), python=args.python)  # fmt: skip
    except (ProfileCancelled, KeyboardInterrupt) as exc:
        print(f"perfsquad verify: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    if not result.run_command or result.profile is None:
        why = result.profile_error or "no run command (give --run COMMAND or set [tool.perfsquad] profile-command)"
        print(f"perfsquad verify: error: nothing to measure: {why}", file=sys.stderr)
        return 2
    items = []
    for path, line, code in wanted:
        target = path.resolve()
        match = [
            i for i in result.roadmap
            if Path(i.path).resolve() == target and i.line == line and (code is None or i.finding.code == code)
        ]  # fmt: skip
        if not match:
            print(f"perfsquad verify: error: no finding at {path}:{line}" + (f" ({code})" if code else ""),
                  file=sys.stderr)  # fmt: skip
            return 2
        items.extend(match)
    try:
        checks = verify_items(items, root=Path(result.root), run=result.run_command, run_cwd=Path.cwd(),
                              tests=configured_command(paths[0], "test-command"), rounds=max(args.rounds, 2),
                              timeout=args.timeout, progress=progress)  # fmt: skip
    except VerifyError as exc:
        print(f"perfsquad verify: error: {exc}", file=sys.stderr)
        return 2
    print_checks(checks, max(args.rounds, 2))
    if args.apply:
        return apply_verified(checks, items)
    return 0
