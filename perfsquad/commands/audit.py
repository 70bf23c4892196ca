"""``perfsquad audit PATH [--run COMMAND] [--out DIR] [--format html,md,json]``: the three-phase audit."""

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
                        "(default: [tool.perfsquad] profile-command)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help="report directory (default: .perfsquad/audit)")
    p.add_argument("--format", type=_formats, default=("html", "md", "json"), help="html,md,json (default: all)")
    p.add_argument("--sampler", choices=("auto", "py-spy", "cprofile"), default="auto")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before the profiled run is killed")
    p.add_argument("--memory", action="store_true", help="add a tracemalloc pass (memory per line)")
    p.add_argument("--top", type=int, default=10, help="roadmap items to print (default 10)")
    p.set_defaults(handler=run)


def _cache_dir(path: Path) -> Path:
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

    try:
        result = run_audit([args.path], run=args.run, sampler=args.sampler, timeout=args.timeout,
                           memory=args.memory, progress=progress, cache_dir=_cache_dir(args.path),
                           run_cwd=Path.cwd())  # fmt: skip
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
    for path in written:
        print(f"wrote {path}")
    return 2 if result.profile_error else 0
