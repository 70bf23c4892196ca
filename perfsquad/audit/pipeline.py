"""``audit-performance``: the three phases, in order, into one prioritized result.

1. **Idioms** (free wins): the static findings of the whole tree (``perfsquad.api.analyze_paths``).
   The ``IDM`` family is phase 1; everything else waits for the profile to say whether it matters.
2. **Profile**: the run command (``--run`` or ``[tool.perfsquad] profile-command``) runs under
   the profiler in a subprocess (timeout, cancellable); the profile is classified (CPU / I/O /
   memory) and its 80/20 set of functions computed (:mod:`perfsquad.profiling.analysis`).
3. **Hotspot**: findings of the other families that sit inside the hotspot — a function of the
   80/20 set, or code holding at least :data:`HOTSPOT_SHARE` of the run — routed by the kind of
   bottleneck measured *there*: CPU → ``ALG``/``VEC``, I/O → ``IO`` (an I/O finding in hot code
   always), memory → ``MEM``. Hot functions no finding explains become roadmap items of their own
   (:mod:`perfsquad.audit.hotcode`), and the notes say so when one is near the top.

Everything ends up in the roadmap (:mod:`perfsquad.audit.roadmap`), a plan ranked by time at stake.
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfsquad.audit.roadmap import RoadmapItem, build_roadmap, enclosing_function, family_of
from perfsquad.audit.shares import ShareIndex, statement_lines
from perfsquad.config import Config, find_pyproject, load_config
from perfsquad.model import FileReport
from perfsquad.profiling.model import Profile

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

HOTSPOT_SHARE = 0.05
"""Code holding at least this share of the measured run is part of the hotspot."""
ROUTES: dict[str, tuple[str, ...]] = {"cpu": ("ALG", "VEC"), "io": ("IO",), "memory": ("MEM",)}
PHASES = ("1-idioms", "2-profile", "3-hotspot", "other")
PHASE_TITLES = {
    "1-idioms": "Phase 1 · idioms",
    "2-profile": "Phase 2 · profile hotspots",
    "3-hotspot": "Phase 3 · system work in the hotspot",
    "other": "Outside the hotspot",
}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class HotspotFunction:
    name: str
    file: str
    line: int
    self_seconds: float
    share: float
    kind: str


@dataclass(frozen=True)
class AuditResult:
    root: str
    paths: tuple[str, ...]
    reports: tuple[FileReport, ...]
    roadmap: tuple[RoadmapItem, ...]
    run_command: str | None = None
    profile: Profile | None = None
    bottleneck_kind: str | None = None
    bottleneck_headline: str | None = None
    bottleneck_evidence: tuple[str, ...] = ()
    hotspot: tuple[HotspotFunction, ...] = ()
    hotspot_share: float = 0.0
    profile_error: str | None = None
    notes: tuple[str, ...] = ()
    created: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))

    @property
    def findings_count(self) -> int:
        return sum(len(r.findings) for r in self.reports)

    def by_phase(self) -> dict[str, list[RoadmapItem]]:
        out: dict[str, list[RoadmapItem]] = {p: [] for p in PHASES}
        for item in self.roadmap:
            out.setdefault(item.phase, []).append(item)
        return out

    def family_phase_counts(self) -> dict[str, dict[str, int]]:
        """``{family: {phase: count}}`` over all findings."""
        counts: dict[str, dict[str, int]] = {}
        for item in self.roadmap:
            counts.setdefault(item.family, {}).setdefault(item.phase, 0)
            counts[item.family][item.phase] += 1
        return counts


def configured_command(start: Path, key: str = "profile-command", root: Path | None = None) -> str | None:
    """``[tool.perfsquad] profile-command`` (or ``key``, e.g. ``test-command``) of the pyproject
    that applies to ``start`` (never one above ``root``: see :func:`perfsquad.config.find_pyproject`)."""
    pyproject = find_pyproject(start, root)
    if pyproject is None:
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    tool = data.get("tool", {})
    table = tool.get("perfsquad", {}) if isinstance(tool, dict) else None  # (`tool = 1`: config warns)
    if not isinstance(table, dict):
        return None
    value = table.get(key, table.get(key.replace("-", "_")))
    return value if isinstance(value, str) and value.strip() else None


def _kind_of_region(index: ShareIndex, profile: Profile, path: str, first: int, last: int) -> str:
    """``io`` when most of the region's sampled time was waiting, else ``cpu`` (``memory`` when its
    lines hold at least 10% of the peak traced memory)."""
    if profile.peak_memory_bytes:
        key = os.path.basename(path)
        held = sum(
            ln.alloc_bytes or 0 for ln in profile.lines
            if os.path.basename(ln.file) == key and first <= ln.line <= last
        )  # fmt: skip
        if held >= 0.1 * profile.peak_memory_bytes:
            return "memory"
    wall, idle = index.wall_and_idle(path, first, last)
    return "io" if wall > 0 and idle / wall >= 0.5 else "cpu"


def route_findings(
    reports: Sequence[FileReport], profile: Profile, hotspot: Sequence[HotspotFunction]
) -> dict[tuple[str, int, str], str]:
    """The audit phase of every finding, keyed by (path, line, code): ``1-idioms`` for IDM,
    ``2-profile`` for HOT, ``3-hotspot`` for a finding inside the hotspot whose family matches the
    kind of time measured on its statement (see :data:`ROUTES`), ``other`` for the rest."""
    index = ShareIndex(profile)
    hot_keys = {(h.name.split(".<locals>")[0].split(".")[-1], os.path.basename(h.file)) for h in hotspot}
    phase_of: dict[tuple[str, int, str], str] = {}
    for report in reports:
        for finding in report.findings:
            family = family_of(finding.code)
            key = (report.path, finding.span.start.line, finding.code)
            if family == "IDM":
                phase_of[key] = "1-idioms"
                continue
            if family == "HOT":
                phase_of[key] = "2-profile"
                continue
            fn = enclosing_function(report.functions, finding.span.start.line)
            lo, hi = statement_lines(report.path, finding.span.start.line, finding.span.end.line)
            share = index.share_of(report.path, lo, hi, fn.name if fn else None)
            in_pareto = fn is not None and (fn.name, os.path.basename(report.path)) in hot_keys
            if share > 0 and (in_pareto or share >= HOTSPOT_SHARE):
                region_kind = _kind_of_region(index, profile, report.path, lo, hi)
                # I/O in hot code is the hotspot's whatever the run's class: a sampler may see a
                # commit or a query as running (in C) although it waits on the disk or the server.
                routed = family in ROUTES.get(region_kind, ()) or family == "IO"
                phase_of[key] = "3-hotspot" if routed else "other"
            else:
                phase_of[key] = "other"
    return phase_of


def run_audit(
    paths: Sequence[Path],
    *,
    run: str | None = None,
    config: Config | None = None,
    root: Path | None = None,
    sampler: str = "auto",
    timeout: float = 300.0,
    memory: bool = False,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
    run_cwd: Path | None = None,
    python: str | None = None,
    configured: bool = True,
    gc_runs: int = 3,
    profile: Profile | None = None,
) -> AuditResult:
    """Run the three phases (``run`` in ``run_cwd``, default the root; else, when ``configured``, a
    ``profile-command`` of the project's pyproject in its directory: a note says which command from
    which file ran). A ``profile`` given (one loaded: ``audit --profile FILE``, the editor's) is
    phase 2's measurement: nothing is run. Configuration is read no higher than ``root`` (the
    language server's workspace folder). Raises ``ProfileCancelled`` when cancelled; a failing run
    command is recorded in ``profile_error`` and the audit carries on statically."""
    from perfsquad.api import analyze_paths

    say: Progress = progress or (lambda _msg: None)
    first = paths[0] if paths else Path(".")
    given_root = root
    if config is None:
        config, pyproject = load_config(first, given_root)
        root = root or (pyproject.parent if pyproject else None)
    root = (root or (first if first.is_dir() else first.parent)).resolve()
    run_dir = run_cwd or root
    notes: list[str] = list(config.warnings)
    if profile is not None:
        run = None  # (measured already: nothing runs, whatever is configured)
    elif not run and configured:
        run = configured_command(first, root=given_root)
        found = find_pyproject(first, given_root)
        run_dir = found.parent.resolve() if found is not None else root  # relative to its pyproject
        if run:
            notes.append(f"ran `{run}`: the profile-command of {found} (--no-run: do not run it)")

    say("phase 1/3: static analysis")
    reports = analyze_paths(list(paths), config, want_fixes=True, metrics=True, cache_dir=cache_dir)
    n_files = len(reports)
    say(f"phase 1/3: {sum(len(r.findings) for r in reports)} findings in {n_files} files")

    profile_error: str | None = None
    if profile is not None and (failed := _failure(profile, f"the loaded profile's run `{' '.join(profile.command)}`")):
        profile_error = failed
        say(f"phase 2/3: profiling failed: {profile_error}")
        profile = None
    elif profile is not None:
        say(f"phase 2/3: the loaded profile of `{' '.join(profile.command)}` (nothing run)")
        notes.append(loaded_note(profile))
    elif run:
        from perfsquad.profiling.run import ProfileCancelled, ProfilerError, profile_command
        from perfsquad.profiling.target import TargetError

        say(f"phase 2/3: profiling `{run}`")
        try:
            profile = profile_command(run, sampler=sampler, cwd=run_dir, timeout=timeout, memory=memory,
                                      cancel=cancel, on_progress=lambda m: say(f"phase 2/3: {m}"),
                                      python=python or config.python)  # fmt: skip
        except ProfileCancelled:
            raise
        except (ProfilerError, TargetError) as exc:
            profile_error = str(exc)
            say(f"phase 2/3: profiling failed: {exc}")
        if profile is not None and (failed := _failure(profile, f"`{run}`")):
            profile_error = failed
            say(f"phase 2/3: profiling failed: {profile_error}")
            profile = None
        elif profile is not None:
            notes.extend(profile.warnings)
            profile = _measured_gc_advice(profile, run, run_dir, python or config.python, gc_runs, timeout, cancel, say)
    else:
        say("phase 2/3: skipped (no --run command and no [tool.perfsquad] profile-command)")
        notes.append(
            "No profile: nothing was measured, so the roadmap is ranked by static severity and calibrated "
            "speedup. Give `--run COMMAND` (or `[tool.perfsquad] profile-command`) to rank by measured ROI."
        )

    return ranked(
        reports, profile, root, paths=paths, run_command=run, profile_error=profile_error, notes=notes, progress=say
    )


def _failure(profile: Profile, what: str) -> str | None:
    """Why the profile of ``what`` (a run) measures nothing, or None. A crashed run measures the
    crash, not the workload: it is reported, never ranked by."""
    if profile.exit_code in (0, None):
        return None
    detail = "; ".join(profile.warnings) or f"the command exited with code {profile.exit_code}"
    return f"{what} failed (exit code {profile.exit_code}): {detail}"


def loaded_note(profile: Profile) -> str:
    """The note of an audit or roadmap ranked with a profile measured earlier (not by this audit)."""
    when = f" on {profile.created[:16].replace('T', ' ')} UTC" if profile.created else ""
    return (
        f"Ranked with the loaded profile of `{' '.join(profile.command)}` (wall {profile.wall_seconds:.2f} s, "
        f"taken{when}): nothing was run."
    )


def ranked(
    reports: Sequence[FileReport],
    profile: Profile | None,
    root: Path,
    *,
    paths: Sequence[Path] = (),
    run_command: str | None = None,
    profile_error: str | None = None,
    notes: Sequence[str] = (),
    progress: Progress | None = None,
) -> AuditResult:
    """Phase 3 and the roadmap over ``reports`` with ``profile`` (None: static): the one ranking the
    CLI's audit, the editor's audit and the editor's roadmap share, so they list the same items in
    the same order for the same profile."""
    say: Progress = progress or (lambda _msg: None)
    notes = list(notes)
    phase_of: dict[tuple[str, int, str], str] = {}
    hotspot: list[HotspotFunction] = []
    kind = headline = None
    evidence: tuple[str, ...] = ()
    hot_share = 0.0
    if profile is not None:
        from perfsquad.profiling.analysis import classify, function_kind, pareto

        say("phase 3/3: routing findings in the hotspot")
        bottleneck = classify(profile, root)
        kind, headline, evidence = bottleneck.kind, bottleneck.headline, bottleneck.evidence
        top = pareto(profile, 0.8, root)
        total = profile.total_seconds or 1.0
        hot_share = top.function_share
        hotspot = [
            HotspotFunction(f.name, f.file, f.line, f.self_seconds, f.self_seconds / total, function_kind(f))
            for f in top.functions
        ]
        phase_of = route_findings(reports, profile, hotspot)
    else:
        say("phase 3/3: skipped (no profile)")
        if profile_error:
            notes.append("Profiling failed, so nothing was measured: the roadmap is ranked by static severity.")

    hot = [(h.name, h.file, h.line, h.share) for h in hotspot]
    roadmap = build_roadmap(reports, profile, phase_of, hot, root)
    if profile is not None:
        unexplained = [i for i in roadmap if i.family == "HOT"]
        if unexplained and unexplained[0].rank <= 3:
            lead = unexplained[0]
            held = lead.estimate.share or 0.0
            notes.insert(
                0,
                f"Hot code with no static finding: `{lead.function}` holds {held:.0%} of the run "
                f"({lead.finding.code}, roadmap #{lead.rank}); read its hottest lines and the advice there.",
            )
    say(f"done: {len(roadmap)} roadmap items")
    return AuditResult(
        root=str(root),
        paths=tuple(str(p) for p in paths),
        reports=tuple(reports),
        roadmap=tuple(roadmap),
        run_command=run_command,
        profile=profile,
        bottleneck_kind=kind,
        bottleneck_headline=headline,
        bottleneck_evidence=tuple(evidence),
        hotspot=tuple(hotspot),
        hotspot_share=hot_share,
        profile_error=profile_error,
        notes=tuple(notes),
    )


def _measured_gc_advice(
    profile: Profile, run: str, cwd: Path, python: str | None, runs: int, timeout: float,
    cancel: threading.Event | None, say: Progress,
) -> Profile:  # fmt: skip
    """The memory pass's collector advice measured on the run command (:mod:`perfsquad.audit.gcadvice`)
    when the collector takes more than a few percent of the run; a failure is a note, not an error."""
    from dataclasses import replace

    from perfsquad.audit.bench import BenchCancelled, BenchError, bench_dir, workspace_root
    from perfsquad.audit.gcadvice import measure
    from perfsquad.profiling.memory import gc_advice
    from perfsquad.profiling.run import ProfileCancelled
    from perfsquad.profiling.target import TargetError, command_for

    if runs <= 0 or not gc_advice(profile.gc) or profile.gc is None:
        return profile
    say("phase 2/3: measuring collector tunings on the run command")
    try:
        advice = measure(command_for(run, python), cwd=cwd, runs=runs, timeout=timeout, cancel=cancel,
                         on_progress=lambda m: say(f"phase 2/3: {m}"), store=bench_dir(workspace_root(cwd)))  # fmt: skip
    except BenchCancelled as exc:
        raise ProfileCancelled(str(exc)) from None
    except (BenchError, TargetError) as exc:
        return replace(profile, gc={**profile.gc, "advice": {"error": str(exc)}})
    return replace(profile, gc={**profile.gc, "advice": advice.to_json()})


def audit_json(result: AuditResult) -> dict[str, Any]:
    """The audit as plain JSON data (the ``--format json`` output, schema ``perfsquad.audit/1``)."""
    from perfsquad.profiling.memory import memory_json

    prof = result.profile
    return {
        "schema": "perfsquad.audit/1",
        "created": result.created,
        "root": result.root,
        "paths": list(result.paths),
        "run_command": result.run_command,
        "profile_error": result.profile_error,
        "notes": list(result.notes),
        "profile": None
        if prof is None
        else {
            "sampler": prof.sampler,
            "wall_seconds": prof.wall_seconds,
            "cpu_seconds": prof.cpu_seconds,
            "total_seconds": prof.total_seconds,
            "samples": prof.samples,
            "exit_code": prof.exit_code,
            "top_functions": [
                {"name": f.name, "file": f.file, "line": f.line, "self_seconds": f.self_seconds,
                 "total_seconds": f.total_seconds, "idle_seconds": f.idle_seconds}
                for f in prof.functions[:20]
            ],
        },
        "bottleneck": None
        if result.bottleneck_kind is None
        else {
            "kind": result.bottleneck_kind,
            "headline": result.bottleneck_headline,
            "evidence": list(result.bottleneck_evidence),
        },
        "hotspot": {
            "share": result.hotspot_share,
            "functions": [
                {"name": h.name, "file": h.file, "line": h.line, "self_seconds": h.self_seconds,
                 "share": h.share, "kind": h.kind}
                for h in result.hotspot
            ],
        },
        "memory": memory_json(prof),
        "findings_by_family_and_phase": result.family_phase_counts(),
        "roadmap": [item.to_json() for item in result.roadmap],
        "files": [
            {"path": r.path, "error": r.error, "findings": len(r.findings)} for r in result.reports if r.findings or r.error
        ],
    }
