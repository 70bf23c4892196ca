"""``perfsquad profile [--sampler auto|py-spy|cprofile] [--out FILE] -- COMMAND...``"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

DEFAULT_OUT = Path(".perfsquad") / "profile.json"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "profile",
        help="run a command under a profiler; print hotspots and the bottleneck kind",
        description="Profile a script, `-m module`, a pytest node id or a `python ...` command line in a "
        "subprocess, print the hotspot table (the 80/20 set) and the bottleneck classification, and write "
        "the Profile JSON (schema perfsquad.profile/1; see docs/profile-schema.md).",
    )
    p.add_argument("--sampler", choices=("auto", "py-spy", "cprofile"), default="auto",
                   help="auto: py-spy when usable, else cProfile (default)")  # fmt: skip
    p.add_argument("--out", type=Path, default=None,
                   help=f"Profile JSON to write (default: the project root's {DEFAULT_OUT}, where pyproject.toml is)")
    p.add_argument("--python", default=None, metavar="INTERPRETER",
                   help="the interpreter for a script or `-m` target (default: the `python` setting, the active "
                        "virtual environment, else python3 on PATH; a `python ...` command names its own)")
    p.add_argument("--speedscope", type=Path, default=None, help="also write a speedscope flame graph file")
    p.add_argument("--memory", action="store_true",
                   help="add a memory pass: peak and allocations by line, objects by type at the peak, reference "
                        "cycles; and the collector's share of the run")  # fmt: skip
    p.add_argument("--gc-share", type=float, default=0.03,
                   help="with --memory: the collector's share of the run above which tunings are measured (0.03)")
    p.add_argument("--gc-runs", type=int, default=5,
                   help="with --memory, when the collector takes over 3%% of the run: timed runs of the command as "
                        "is and under each collector tuning, to measure the advice (5; 0: do not measure)")  # fmt: skip
    p.add_argument("--timeout", type=float, default=300.0, help="seconds before the command is killed (300)")
    p.add_argument("--rate", type=int, default=100, help="py-spy samples per second (100)")
    p.add_argument("--top", type=int, default=10, help="rows in the hotspot tables (10)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="what to profile")
    p.set_defaults(handler=run)


def _rel(file: str) -> str:
    try:
        rel = os.path.relpath(file)
    except ValueError:
        return file
    return file if rel.startswith("..") else rel


def render(profile: Any, out: TextIO, top: int = 10, root: Path | None = None) -> None:
    from perfsquad.profiling.analysis import KIND_LABEL, classify, kind_with_lines, pareto, place

    def where(file: str, line: int) -> str:
        return place(file, line, _rel)

    neck = classify(profile, root)
    rest = pareto(profile, 0.8, root)
    total = profile.total_seconds
    facts = [f"wall {profile.wall_seconds:.2f} s"]
    if profile.cpu_seconds is not None:
        facts.append(f"CPU {profile.cpu_seconds:.2f} s")
    if profile.samples is not None:
        facts.append(f"{profile.samples} samples")
    if profile.peak_memory_bytes is not None:
        facts.append(f"peak traced memory {profile.peak_memory_bytes / 2**20:.1f} MiB")
    facts.append(f"exit {profile.exit_code}")
    out.write(f"Profiled {' '.join(profile.command)} with {profile.sampler}: {' · '.join(facts)}\n")
    for warning in profile.warnings:
        out.write(f"warning: {warning}\n")
    out.write(f"\nBottleneck: {neck.headline}\n")
    for line in neck.evidence:
        out.write(f"  - {line}\n")
    if not rest.functions:
        out.write("\nNo time was measured in your code (the run was too short, or all of it is in libraries).\n")
        return
    n = len(rest.functions)
    out.write(f"\nHotspots: {rest.function_share:.0%} of the time is in {n} function{'s' if n != 1 else ''}"
              " (the 80/20 set, marked *)\n")  # fmt: skip
    calls_known = any(f.calls is not None for f in rest.functions)
    header = f"  {'':1} {'self':>6} {'self s':>7} {'total s':>8} {'waiting':>7}"
    header += f" {'calls':>8}" if calls_known else ""
    out.write(header + "  function\n")
    from perfsquad.profiling.analysis import user_view

    view = user_view(profile, root)
    in_set = {(f.name, f.file, f.line) for f in rest.functions}
    for f in view.functions[:top]:
        share = f.self_seconds / total if total else 0.0
        idle = f.idle_seconds / f.self_seconds if f.self_seconds else 0.0
        mark = "*" if (f.name, f.file, f.line) in in_set else " "
        row = f"  {mark} {share:>6.1%} {f.self_seconds:>7.2f} {f.total_seconds:>8.2f} {idle:>7.0%}"
        if calls_known:
            row += f" {f.calls if f.calls is not None else '-':>8}"
        kind = KIND_LABEL[kind_with_lines(f, view.lines)].split("-")[0]
        out.write(f"{row}  {f.name}  {where(f.file, f.line)}  [{kind}]\n")
    if profile.stacks:
        out.write(f"\nHot lines ({rest.line_share:.0%} of the time in {len(rest.lines)} lines):\n")
        out.write(f"  {'self':>6} {'self s':>7} {'waiting':>7}  line\n")
        for ln in rest.lines[:top]:
            share = ln.self_seconds / total if total else 0.0
            idle = ln.idle_seconds / ln.self_seconds if ln.self_seconds else 0.0
            out.write(f"  {share:>6.1%} {ln.self_seconds:>7.2f} {idle:>7.0%}  {where(ln.file, ln.line)}  in {ln.function}\n")
    if profile.peak_memory_bytes is not None:
        allocs = sorted((ln for ln in view.lines if ln.alloc_bytes), key=lambda ln: -(ln.alloc_bytes or 0))[:top]
        if allocs:
            out.write("\nMemory at peak, by allocating line:\n")
            for ln in allocs:
                out.write(f"  {(ln.alloc_bytes or 0) / 2**20:>8.2f} MiB  {where(ln.file, ln.line)}\n")
    render_memory(profile, out, where, top)


def render_memory(profile: Any, out: TextIO, where: Any, top: int = 8) -> None:
    """The collector's cost, the census at the peak and the reference cycles of a memory pass."""
    from perfsquad.profiling.memory import memory_sections

    for title, lines in memory_sections(profile, where, top):
        out.write(f"\n{title}:\n")
        out.writelines(f"  {line}\n" for line in lines)


def measure_gc_advice(
    profile: Any, cmd: Any, python: str | None, runs: int, timeout: float, progress: Any, cwd: Path | None = None,
    cancel: Any = None,
) -> Any:
    """``profile`` with the measured collector tunings in ``profile.gc["advice"]``
    (:mod:`perfsquad.audit.gcadvice`; records kept under ``.perfsquad/bench``)."""
    from dataclasses import replace

    from perfsquad.audit.bench import bench_dir, workspace_root
    from perfsquad.audit.gcadvice import measure
    from perfsquad.profiling.target import command_for

    target = command_for(cmd, python)
    store = bench_dir(workspace_root(cwd))
    advice = measure(target, cwd=cwd, runs=runs, timeout=timeout, on_progress=progress, store=store, cancel=cancel)
    return replace(profile, gc={**profile.gc, "advice": advice.to_json()})


def _configured_python() -> str | None:
    from perfsquad.config import load_config

    return load_config(Path("."))[0].python


def run(args: argparse.Namespace) -> int:
    from perfsquad.profiling.formats import to_speedscope
    from perfsquad.profiling.run import ProfileCancelled, ProfilerError, profile_command
    from perfsquad.profiling.target import TargetError

    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("perfsquad profile: give a command after `--`, e.g. `perfsquad profile -- python app.py`",
              file=sys.stderr)  # fmt: skip
        return 2
    progress = (lambda msg: print(f"perfsquad: {msg}", file=sys.stderr)) if args.format == "text" else None
    try:
        profile = profile_command(
            cmd, sampler=args.sampler, timeout=args.timeout, memory=args.memory, rate=args.rate, on_progress=progress,
            python=args.python or _configured_python(),
        )
    except ProfileCancelled as exc:
        print(f"perfsquad profile: {exc}", file=sys.stderr)
        return 130
    except (ProfilerError, TargetError) as exc:
        print(f"perfsquad profile: error: {exc}", file=sys.stderr)
        return 2
    from perfsquad.profiling.memory import gc_advice

    if args.memory and args.gc_runs > 0 and gc_advice(profile.gc, args.gc_share) and not profile.exit_code:
        from perfsquad.audit.bench import BenchCancelled, BenchError

        try:
            profile = measure_gc_advice(profile, cmd, args.python or _configured_python(), args.gc_runs,
                                        args.timeout, progress)  # fmt: skip
        except BenchCancelled as exc:
            print(f"perfsquad profile: {exc}", file=sys.stderr)
            return 130
        except (BenchError, TargetError) as exc:
            print(f"perfsquad profile: warning: the collector tuning was not measured: {exc}", file=sys.stderr)
    if args.out is None:
        from perfsquad.audit.bench import workspace_root

        args.out = workspace_root() / DEFAULT_OUT
    profile.dump(args.out)
    if args.speedscope is not None:
        from perfsquad.files import write_output

        write_output(args.speedscope, json.dumps(to_speedscope(profile)).encode("utf-8"))
    if args.format == "json":
        json.dump(profile.to_json(), sys.stdout)
        sys.stdout.write("\n")
    else:
        render(profile, sys.stdout, args.top, Path.cwd())
        where = f"\nProfile written to {args.out}"
        if args.speedscope is not None:
            where += f"; flame graph: {args.speedscope} (open it at https://www.speedscope.app)"
        print(where + f"\nRank findings by it: perfsquad check --profile {args.out} PATH")
    return 0 if not profile.exit_code else 1
