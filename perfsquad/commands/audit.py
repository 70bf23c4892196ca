"""``perfsquad audit PATH [--run COMMAND | --profile FILE] [--out DIR] [--format html,md,json]``: the three-phase audit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _formats(value: str) -> tuple[str, ...]:
    from perfsquad.audit.report import FORMATS

    chosen = tuple(dict.fromkeys(f.strip().lower() for f in value.split(",") if f.strip()))
    bad = [f for f in chosen if f not in FORMATS]
    if bad or not chosen:
        raise argparse.ArgumentTypeError(f"formats are a comma-separated subset of {','.join(FORMATS)}")
    return chosen


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "audit",
        help="three-phase performance audit (idioms, profile, hotspot) with an ROI roadmap and reports",
        description="Phase 1: static idiom findings. Phase 2: profile the run command and find the bottleneck. "
        "Phase 3: algorithm/vectorization/I/O/memory findings inside the hotspot. Writes an HTML, Markdown and "
        "JSON report whose roadmap ranks every finding by ROI.",
    )
    p.add_argument("path", type=Path, help="file or directory to audit")
    p.add_argument("--run", metavar="COMMAND", default=None,
                   help="what to profile: script, `-m module`, pytest node id or `python ...` "
                        "(default: [tool.perfsquad] profile-command; the output names it and its file)")  # fmt: skip
    p.add_argument("--profile", type=Path, default=None, metavar="FILE",
                   help="rank with a profile measured earlier (`perfsquad profile --out FILE`, speedscope or pstats) "
                        "instead of running anything: the roadmap the editor shows with that profile loaded")  # fmt: skip
    p.add_argument("--no-run", action="store_true",
                   help="run nothing: the static phases only (a configured profile-command is not run)")
    p.add_argument("--out", type=Path, default=None, help="report directory (default: .perfsquad/audit)")
    p.add_argument("--format", type=_formats, default=("html", "md", "json"), help="html,md,json (default: all)")
    p.add_argument("--sampler", choices=("auto", "py-spy", "cprofile"), default="auto")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before the profiled run is killed")
    p.add_argument("--memory", action="store_true",
                   help="add a memory pass: memory per line, the collector's share, objects at the peak, reference cycles")
    p.add_argument("--gc-runs", type=int, default=3,
                   help="with --memory, when the collector takes over 3%% of the run: timed runs of the command as is "
                        "and under each collector tuning (3; 0: do not measure)")  # fmt: skip
    p.add_argument("--top", type=int, default=10, help="roadmap items to print (default 10)")
    p.add_argument("--python", default=None, metavar="INTERPRETER",
                   help="the interpreter for a script or `-m` run command (default: the `python` setting, the active "
                        "virtual environment, else python3 on PATH)")
    p.add_argument("--verify", type=int, default=0, metavar="N",
                   help="apply each of the top N items' fixes in a scratch copy, run the tests and time the run "
                        "command before/after (interleaved): predicted versus measured savings")  # fmt: skip
    p.add_argument("--verify-rounds", type=int, default=5, metavar="K", help="timed runs before and after (default 5)")
    p.add_argument("--apply", action="store_true",
                   help="with --verify: write the verified fixes (significantly faster, tests passing) to your files")
    p.set_defaults(handler=run)


def cache_dir_for(path: Path) -> Path:
    from perfsquad.config import find_pyproject

    pyproject = find_pyproject(path)
    base = pyproject.parent if pyproject else (path if path.is_dir() else path.parent)
    return base / ".perfsquad" / "cache"


def run(args: argparse.Namespace) -> int:
    from perfsquad.audit.pipeline import run_audit
    from perfsquad.audit.report import write_reports
    from perfsquad.audit.roadmap import roadmap_lines
    from perfsquad.profiling.run import ProfileCancelled

    if not args.path.exists():
        print(f"perfsquad audit: error: {args.path}: no such file or directory", file=sys.stderr)
        return 2

    def progress(message: str) -> None:
        print(f"perfsquad audit: {message}", file=sys.stderr, flush=True)

    if args.no_run and (args.run or args.verify):
        print("perfsquad audit: error: --no-run runs nothing: it cannot go with --run or --verify", file=sys.stderr)
        return 2
    if args.profile is not None and (args.run or args.verify or args.memory):
        print("perfsquad audit: error: --profile uses a profile measured earlier: it cannot go with --run, --verify "
              "or --memory", file=sys.stderr)  # fmt: skip
        return 2
    loaded = None
    if args.profile is not None:
        from perfsquad.profiling.formats import load_profile

        try:
            loaded = load_profile(args.profile)
        except (OSError, ValueError, EOFError, TypeError, KeyError) as exc:  # (not a profile: pstats reads with marshal)
            print(f"perfsquad audit: error: --profile {args.profile}: {exc}", file=sys.stderr)
            return 2
    try:
        result = run_audit([args.path], run=args.run, sampler=args.sampler, timeout=args.timeout,
                           memory=args.memory, gc_runs=args.gc_runs, progress=progress, cache_dir=cache_dir_for(args.path),
                           run_cwd=Path.cwd(), python=args.python, configured=not args.no_run,
                           profile=loaded)  # fmt: skip
    except (ProfileCancelled, KeyboardInterrupt) as exc:
        print(f"perfsquad audit: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    out = args.out or Path(result.root) / ".perfsquad" / "audit"
    try:
        written = write_reports(result, out, args.format)
    except OSError as exc:  # (an unwritable --out, a symlinked .perfsquad/: files.WriteError says which)
        print(f"perfsquad audit: error: reports not written to {out}: {exc}", file=sys.stderr)
        return 2
    print(f"Audit of {args.path}: {result.findings_count} findings in {len(result.reports)} files")
    if result.profile is not None:
        print(f"Bottleneck: {result.bottleneck_headline} (wall {result.profile.wall_seconds:.2f} s)")
    if result.profile_error:
        print(f"Profiling failed: {result.profile_error}")
    for note in result.notes:
        print(f"note: {note}")
    if result.roadmap:
        print("Roadmap (apply in this order):")
        for line in roadmap_lines(result.roadmap, args.top):
            print(line)
    code = 2 if result.profile_error else 0
    if args.verify > 0:
        code = max(code, _verify(args, result, list(result.roadmap[: args.verify]), progress))
    for path in written:
        print(f"wrote {path}")
    return code


def _verify(args: argparse.Namespace, result: Any, items: list[Any], progress: Any) -> int:
    """``--verify N``: measure the top items' fixes in a scratch copy; ``--apply`` the verified ones."""
    import json

    from perfsquad.audit.pipeline import configured_command
    from perfsquad.audit.verify import VerifyError, verify_items

    if not result.run_command or result.profile is None:
        print("Verify: skipped: nothing was measured (give --run COMMAND), so there is no saving to check")
        return 0
    root = Path(result.root)
    try:
        checks = verify_items(items, root=root, run=result.run_command, run_cwd=Path.cwd(),
                              tests=configured_command(args.path, "test-command"), rounds=max(args.verify_rounds, 2),
                              timeout=args.timeout, progress=progress)  # fmt: skip
    except VerifyError as exc:
        print(f"perfsquad audit: error: verify: {exc}", file=sys.stderr)
        return 2
    print_checks(checks, max(args.verify_rounds, 2))
    out = args.out or root / ".perfsquad" / "audit"
    from perfsquad.files import write_output

    try:
        write_output(out / "verify.json", (json.dumps([c.to_json() for c in checks], indent=2) + "\n").encode())
        print(f"wrote {out / 'verify.json'}")
    except OSError as exc:
        print(f"perfsquad audit: error: {exc}", file=sys.stderr)
        return 2
    if args.apply:
        return apply_verified(checks, items)
    return 0


def print_checks(checks: list[Any], rounds: int) -> None:
    print(f"Verify (each fix alone in a scratch copy, {rounds} interleaved runs before/after):")
    for check in checks:
        print(f"  {check.describe()}")


def apply_verified(checks: list[Any], items: list[Any]) -> int:
    """Write the verified fixes to the user's files: all of one file's edits together (positions
    are the analysed text's), through the checked atomic writes of ``--fix``."""
    from perfsquad.autofix import FixFailed, FixSkipped, write_edits

    by_rank = {i.rank: i for i in items}
    per_file: dict[str, list[Any]] = {}
    for check in checks:
        item = by_rank.get(check.rank)
        if item is not None and check.verified and item.finding.fix is not None:
            per_file.setdefault(item.path, []).append(item)
    applied = 0
    for path, chosen in per_file.items():
        edits = [e for item in chosen for e in item.finding.fix.edits]
        try:
            write_edits(Path(path), edits, within=[Path(path).parent])
        except (FixSkipped, FixFailed) as exc:
            print(f"  not applied: {exc}")
            continue
        for item in chosen:
            applied += 1
            print(f"  applied: #{item.rank} {item.finding.code} {path}:{item.line}")
    print(f"Applied {applied} verified fix{'es' if applied != 1 else ''}; the others were not measured faster "
          "with passing tests.")
    return 0
