"""``perfsquad diagnose FILE:FUNCTION``: findings, complexity, radon metrics and a short profile of one function."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "diagnose",
        help="quick diagnosis of one function: findings, complexity, radon metrics, a short profile",
        description="TARGET is FILE:FUNCTION (a name or Class.method) or FILE:LINE. When a test under tests/ "
        "names the function (or [tool.perfsquad] profile-command is set), it is profiled briefly.",
    )
    p.add_argument("target", metavar="FILE:FUNCTION")
    p.add_argument("--no-profile", action="store_true", help="static facts only; run nothing")
    p.add_argument("--run", metavar="COMMAND", default=None, help="profile this instead of a test that names it")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds before the profiled run is killed (default 20)")
    p.add_argument("--sampler", choices=("auto", "py-spy", "cprofile"), default="auto")
    p.add_argument("--profile", type=Path, default=None, metavar="FILE",
                   help="use a saved profile (`perfsquad profile --out FILE`) instead of running anything")
    p.add_argument("--python", default=None, metavar="INTERPRETER",
                   help="the interpreter for the test or command (default: the `python` setting, the active "
                        "virtual environment, else python3 on PATH)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfsquad.audit.diagnose import DiagnoseError, diagnose
    from perfsquad.profiling.run import ProfileCancelled

    file_part, sep, what = str(args.target).rpartition(":")
    if not sep or not file_part or not what:
        print("perfsquad diagnose: error: expected FILE:FUNCTION or FILE:LINE", file=sys.stderr)
        return 2
    path = Path(file_part)
    if not path.is_file():
        print(f"perfsquad diagnose: error: {path}: no such file", file=sys.stderr)
        return 2
    function, line = (None, int(what)) if what.isdigit() else (what, None)

    def progress(message: str) -> None:
        print(f"perfsquad diagnose: {message}", file=sys.stderr, flush=True)

    saved = None
    if args.profile is not None:
        from perfsquad.profiling.formats import load_profile
        from perfsquad.profiling.model import ProfileFormatError

        try:
            saved = load_profile(args.profile)
        except (OSError, ValueError, ProfileFormatError) as exc:
            print(f"perfsquad diagnose: error: cannot read the profile {args.profile}: {exc}", file=sys.stderr)
            return 2
    try:
        result = diagnose(path, function=function, line=line, profile=not args.no_profile, run=args.run,
                          sampler=args.sampler, timeout=args.timeout, progress=progress, run_cwd=Path.cwd(),
                          given_profile=saved, python=args.python)  # fmt: skip
    except DiagnoseError as exc:
        print(f"perfsquad diagnose: error: {exc}", file=sys.stderr)
        return 2
    except (ProfileCancelled, KeyboardInterrupt) as exc:
        print(f"perfsquad diagnose: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    print(json.dumps(result.to_json(), indent=1) if args.format == "json" else result.format())
    return 0
