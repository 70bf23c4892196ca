"""The optimization roadmap: every finding, and the hot code no finding explains, as a plan.

With a profile, items are ordered by the time at stake: a finding's estimated saving (Amdahl over
its measured share, see :mod:`perfsquad.audit.roi`), or, for hot code with no finding
(:mod:`perfsquad.audit.hotcode`), the time it holds — the most any change there can save; ties
by ROI (saving per minute of effort). Then come measured items with no estimate (no calibrated
speedup, or a rewrite measured no faster there), then what the profile never reached (share 0):
an unmeasured item never ranks above a measured saving. The result is a *plan*: an item whose code
holds most of another's time (``covers``) comes before it, since applied first it makes the other
moot. Without a profile nothing is measured: the order is static severity, then the rule's
calibrated speedup, then the smallest effort — and the roadmap says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from perfsquad.audit.roi import RoiEstimate, estimate
from perfsquad.audit.shares import ShareIndex, statement_lines
from perfsquad.model import FileReport, Finding, FunctionMetrics, Severity
from perfsquad.profiling.model import Profile

OVERLAP = 0.8
_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2, Severity.HINT: 3}


@dataclass(frozen=True)
class RoadmapItem:
    path: str
    finding: Finding
    function: str | None
    """Qualified name of the innermost function around the finding (None at module level)."""
    family: str
    phase: str
    """``1-idioms``, ``3-hotspot`` (routed to the hotspot's bottleneck) or ``other``."""
    estimate: RoiEstimate
    rank: int = 0
    within: int | None = None
    """Rank of another item whose code holds at least :data:`OVERLAP` of this one's measured time."""
    covers: tuple[int, ...] = ()
    """Ranks of the items whose measured time lies mostly (:data:`OVERLAP`) inside this one's code:
    applying this one first makes their savings moot."""

    @property
    def line(self) -> int:
        return self.finding.span.start.line

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "code": self.finding.code,
            "message": self.finding.message,
            "filename": self.path,
            "line": self.line,
            "column": self.finding.span.start.column + 1,
            "function": self.function,
            "family": self.family,
            "phase": self.phase,
            "fix": self.finding.fix.title if self.finding.fix else None,
            "notes": list(self.finding.notes),
            "within": self.within,
            "covers": list(self.covers),
            **{k: v for k, v in self.estimate.to_json().items() if k != "code"},
        }


def overlap_note(item: RoadmapItem) -> str:
    """A sentence about overlapping estimates ("" when there is none)."""
    parts = []
    if item.covers:
        ranks = ", ".join(f"#{r}" for r in item.covers)
        parts.append(f"covers {ranks}: applied first, it makes their savings moot")
    if item.within is not None:
        parts.append(f"its time is mostly inside #{item.within}'s code: the two savings do not add up")
    return "; ".join(parts)


def roadmap_lines(items: Sequence[RoadmapItem], limit: int, root: Path | None = None) -> list[str]:
    """The top ``limit`` items as indented text: rank, rule, place, phase, message, then the
    estimate with its inputs, the fix safety and any overlap (the CLI's and the editor's view)."""
    out: list[str] = []
    for item in items[: max(limit, 0)]:
        where = item.path
        if root is not None:
            with contextlib.suppress(ValueError):  # another drive (Windows)
                where = os.path.relpath(item.path, root)
        function = f" in {item.function}" if item.function else ""
        out.append(f"  {item.rank:>2}. {item.finding.code} {where}:{item.line}{function} [{item.phase}] {item.finding.message}")
        out.append(f"      {item.estimate.describe()}; fix: {item.estimate.safety}")
        if item.family == "HOT":
            out.extend(f"      {note}" for note in item.finding.notes)
        if overlap_note(item):
            out.append(f"      note: {overlap_note(item)}")
    return out


def source_uri(path: str, line: int) -> str:
    """A link to the file at the line: ``file://`` with a ``#L`` fragment (editors and viewers that
    know it jump to the line; others open the file)."""
    return f"{Path(path).resolve().as_uri()}#L{line}"


def _relative(path: str, root: Path | str | None) -> str:
    if root is None:
        return path
    try:
        rel = os.path.relpath(path, root)
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("..") else rel


def _cell(text: str) -> str:
    """Text for a Markdown table cell: no line break, no column separator."""
    return " ".join(text.split()).replace("|", "\\|")


def markdown_table(items: Sequence[RoadmapItem], root: Path | str | None, limit: int) -> list[str]:
    """The top ``limit`` items as a Markdown table, each place a link to its file and line
    (``[path:line](file:///...#Lline)``): the roadmap in the editor's Markdown and the audit's report."""
    from perfsquad.audit.roi import times

    rows = [
        "| # | where | rule | finding | share | speedup | saved | effort | fix |",
        "|---:|---|---|---|---:|---:|---:|---:|---|",
    ]
    for item in items[: max(limit, 0)]:
        est = item.estimate
        where = f"{_relative(item.path, root)}:{item.line}"
        function = f" in `{_cell(item.function)}`" if item.function else ""
        share = "-" if est.share is None else f"{est.share:.1%}"
        speed = times(est.speedup.ratio) if est.speedup else "-"
        saved = f"{stake_seconds(item):.3g} s" if item.family == "HOT" and est.share else (
            "-" if est.saved_seconds is None else f"{est.saved_seconds:.3g} s")  # fmt: skip
        rows.append(
            f"| {item.rank} | [{_cell(where)}]({source_uri(item.path, item.line)}){function} | {item.finding.code} | "
            f"{_cell(item.finding.message)} | {share} | {speed} | {saved} | {est.effort_minutes} min | {est.safety} |"
        )
    return rows


def format_roadmap(items: Sequence[RoadmapItem], profile: Profile | None, root: Path | None, limit: int) -> str:
    """A standalone roadmap in Markdown: what it is ranked by, a table whose places link to the
    source, the top item's estimate with its inputs and the overlaps."""
    if profile is not None:
        basis = (
            f"ranked by the time at stake (time saved = share x (1 - 1/speedup) x wall), with the shares measured "
            f"by `{' '.join(profile.command)}` (wall {profile.wall_seconds:.3g} s)"
        )
    else:
        basis = "no profile loaded, so nothing is measured: ranked by severity, calibrated speedup and effort"
    head = [f"# Optimization roadmap ({len(items)} items)", "", basis + ".", ""]
    if not items:
        return "\n".join([*head, "No findings.", ""])
    body = markdown_table(items, root, limit)
    if len(items) > limit:
        body.append(f"\n... and {len(items) - limit} more")
    body += ["", f"Top item: {items[0].estimate.describe()}"]
    body.extend(f"- #{i.rank}: {overlap_note(i)}" for i in items[:limit] if overlap_note(i))
    return "\n".join([*head, *body, ""])


def enclosing_function(functions: Iterable[FunctionMetrics], line: int) -> FunctionMetrics | None:
    """The innermost function whose span contains ``line``."""
    best: FunctionMetrics | None = None
    for fn in functions:
        if fn.span.start.line <= line <= fn.span.end.line and (
            best is None or fn.span.start.line >= best.span.start.line
        ):
            best = fn
    return best


def family_of(code: str) -> str:
    return code.rstrip("0123456789")


def order(items: list[RoadmapItem], measured: bool) -> list[RoadmapItem]:
    """Sort roadmap items (see the module docstring) and number them from 1."""

    def key_measured(item: RoadmapItem) -> tuple[float, float, float, float, int, str, int]:
        stake = stake_seconds(item)
        share = item.estimate.share or 0.0
        bucket = 0.0 if stake > 0 else (1.0 if share > 0 else 2.0)
        return (
            bucket,
            -stake,
            -(item.estimate.roi or 0.0),
            -share,
            _SEVERITY_RANK.get(item.finding.severity, 4),
            item.path,
            item.line,
        )

    def key_static(item: RoadmapItem) -> tuple[float, float, float, int, str, int]:
        ratio = item.estimate.speedup.ratio if item.estimate.speedup else 1.0
        return (
            float(_SEVERITY_RANK.get(item.finding.severity, 4)),
            -ratio,
            float(item.estimate.effort_minutes),
            0,
            item.path,
            item.line,
        )

    ranked = sorted(items, key=key_measured if measured else key_static)
    return [replace(i, rank=rank) for rank, i in enumerate(ranked, 1)]


def stake_seconds(item: RoadmapItem) -> float:
    """The seconds at stake: a finding's estimated saving; hot code's measured time (its ceiling)."""
    if item.family == "HOT":
        est = item.estimate
        return (est.share or 0.0) * (est.wall_seconds or 0.0)
    return item.estimate.saved_seconds or 0.0


def as_plan(items: list[RoadmapItem]) -> list[RoadmapItem]:
    """Move every item with a saving that covers others before the first of them (applied first,
    it makes their savings moot), renumber, and keep ``covers``/``within`` pointing at the new ranks."""
    order_ = list(items)
    by_rank = {i.rank: i for i in items}
    # Only a rewrite that saves something makes the items inside it moot: one measured no faster
    # (a readability idiom on the loop around a hot call) stays where its estimate puts it.
    for item in sorted((i for i in items if i.covers and stake_seconds(i) > 0), key=lambda i: i.rank):
        first = min((order_.index(by_rank[r]) for r in item.covers if r in by_rank), default=None)
        here = order_.index(item)
        if first is not None and first < here:
            order_.insert(first, order_.pop(here))
    new_rank = {item.rank: n for n, item in enumerate(order_, 1)}
    return [
        replace(
            item,
            rank=new_rank[item.rank],
            within=new_rank.get(item.within) if item.within is not None else None,
            covers=tuple(sorted(new_rank[r] for r in item.covers if r in new_rank)),
        )
        for item in order_
    ]


def mark_overlaps(items: list[RoadmapItem], index: ShareIndex) -> list[RoadmapItem]:
    """Note which items' measured time lies inside another item's code (their savings overlap:
    Amdahl estimates of nested code do not add up)."""
    samples: dict[int, frozenset[int]] = {}
    walls: dict[int, float] = {}
    for item in items:
        if not item.estimate.share:
            continue
        lo, hi = statement_lines(item.path, item.finding.span.start.line, item.finding.span.end.line)
        found = index.samples_in(item.path, lo, hi)
        if found:
            samples[item.rank], walls[item.rank] = found, index.wall_of(found)
    if not samples:
        return items
    within: dict[int, int] = {}
    covers: dict[int, list[int]] = {}
    for inner, inner_samples in samples.items():
        for outer, outer_samples in samples.items():
            if inner == outer or (outer_samples == inner_samples and outer > inner):
                continue  # identical regions: the better-ranked one holds the other
            shared = index.wall_of(inner_samples & outer_samples)
            if walls[inner] > 0 and shared / walls[inner] >= OVERLAP and walls[outer] >= walls[inner]:
                covers.setdefault(outer, []).append(inner)
                if inner not in within or walls[outer] < walls[within[inner]]:
                    within[inner] = outer  # the tightest enclosing item
    return [replace(i, within=within.get(i.rank), covers=tuple(sorted(covers.get(i.rank, ())))) for i in items]


def build_roadmap(
    reports: Iterable[FileReport],
    profile: Profile | None,
    phase_of: dict[tuple[str, int, str], str] | None = None,
    hotspot: Sequence[tuple[str, str, int, float]] = (),
    root: Path | None = None,
) -> list[RoadmapItem]:
    """Rank every finding of ``reports`` and, with a profile, the ``hotspot`` functions (name,
    file, line, share) no finding explains; ``phase_of`` maps (path, line, code) to its audit phase."""
    reports = list(reports)
    index = ShareIndex(profile) if profile is not None else None
    wall = profile.wall_seconds if profile is not None else None
    items: list[RoadmapItem] = []
    for report in reports:
        for finding in report.findings:
            fn = enclosing_function(report.functions, finding.span.start.line)
            share: float | None = None
            if index is not None:
                share = index.finding_share(
                    report.path, finding.span.start.line, finding.span.end.line, fn.name if fn else None
                )
            est = estimate(
                finding.code,
                share=share,
                wall_seconds=wall,
                safety=finding.fix.safety if finding.fix else None,
                declared=finding.speedup,
            )
            family = family_of(finding.code)
            phase = (phase_of or {}).get((report.path, finding.span.start.line, finding.code))
            if phase is None:
                phase = "1-idioms" if family == "IDM" else "other"
            items.append(RoadmapItem(report.path, finding, fn.qualname if fn else None, family, phase, est))
    if profile is not None and hotspot:
        from perfsquad.audit.hotcode import unexplained_hot_code

        explained = [(i.path, i.line) for i in items if (i.estimate.share or 0) > 0]
        for report, fn, finding, share in unexplained_hot_code(reports, profile, hotspot, explained, root):
            est = RoiEstimate(finding.code, share, None, wall, 30, "manual")
            items.append(RoadmapItem(report.path, finding, fn.qualname, "HOT", "2-profile", est))
    ranked = order(items, measured=profile is not None)
    return as_plan(mark_overlaps(ranked, index)) if index is not None else ranked
