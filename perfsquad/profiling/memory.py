"""What a memory pass says about the collector, the objects at the peak and reference cycles.

The child side (stdlib only, in the user's interpreter) is :mod:`perfsquad.profiling._memprobe`;
this module reads what it wrote into a :class:`~perfsquad.profiling.model.Profile` (``gc``,
``census``, ``cycles``) or a leak check, and words it for the CLI, the audit and the editor.

* **Collector cost** (``Profile.gc``): from the *timed* run (no tracemalloc), ``gc.callbacks``
  count the collections of each generation and time each one from its ``start`` to its ``stop``
  callback; ``share`` is the total pause over the run's wall time. Above :data:`GC_SHARE_ADVICE`
  the advice is to freeze what start-up built (``gc.freeze()``) or to raise the generation-0
  threshold, measured on the user's command by :mod:`perfsquad.audit.gcadvice`.
* **Census** (``Profile.census``): ``start`` and ``peak``, each the objects by type (count and
  shallow bytes, ``sys.getsizeof``) over what the collector tracks plus the untracked objects those
  refer to directly, and the largest containers by deep size with their allocation site.
* **Cycles** (``Profile.cycles``, ``LeakResult.cycles``): objects that only the cycle collector
  freed, by type and by the line that allocated them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

GC_SHARE_ADVICE = 0.03
"""Collector share of the run above which perfsquad advises (and measures) a tuning."""
CYCLE_OBJECTS_ADVICE = 1000
"""Objects freed only by the collector, from one line, above which it is worth an item."""

Where = Callable[[str, int], str]


def size_text(n: float) -> str:
    sign = "-" if n < 0 else ""
    n = abs(n)
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{sign}{n / scale:.1f} {unit}"
    return f"{sign}{n:.0f} B"


def _plain(file: str, line: int) -> str:
    return f"{os.path.basename(file)}:{line}"


def gc_share(gc: dict[str, Any] | None) -> float:
    return float(gc.get("share", 0.0)) if gc else 0.0


def gc_lines(gc: dict[str, Any]) -> list[str]:
    """The collector's cost, one line per fact."""
    counts, pauses, longest = gc["collections"], gc["pause_seconds"], gc["longest_pause_seconds"]
    examined, collected = gc.get("examined", [0, 0, 0]), gc["collected"]
    out = [
        f"{gc['share']:.1%} of the run ({gc['total_pause_seconds'] * 1000:,.1f} ms in {sum(counts):,} collections"
        f" of {gc['wall_seconds']:.2f} s; longest pause {max(longest) * 1000:,.1f} ms)"
    ]
    out.extend(
        f"generation {g}: {counts[g]:,} collections, {pauses[g] * 1000:,.1f} ms (longest"
        f" {longest[g] * 1000:,.2f} ms), {examined[g]:,} objects examined, {collected[g]:,} freed"
        for g in range(3)
        if counts[g]
    )
    if gc.get("uncollectable"):
        out.append(f"{gc['uncollectable']:,} uncollectable objects (left in gc.garbage)")
    out.append(f"thresholds {tuple(gc.get('thresholds', ()))}, {gc.get('frozen', 0):,} objects frozen")
    return out


def gc_advice(gc: dict[str, Any] | None, threshold: float = GC_SHARE_ADVICE) -> str | None:
    """The advice when the collector takes more than ``threshold`` of the run (or was measured)."""
    share = gc_share(gc)
    if gc is None or (share < threshold and not gc.get("advice")):
        return None
    heavy = "full (generation 2)" if gc["pause_seconds"][2] >= max(gc["pause_seconds"][:2]) else "young-generation"
    return (
        f"the collector takes {share:.0%} of the run, mostly in {heavy} collections: call `gc.freeze()` once"
        " start-up is done (after loading long-lived data: the collector stops re-examining it), or raise the"
        " generation-0 threshold (`gc.set_threshold(100_000)`: fewer, larger collections)"
    )


def grown_types(census: dict[str, Any] | None, top: int = 8) -> list[dict[str, Any]]:
    """Types with more objects at the peak than at the start, by bytes gained."""
    if not census or not census.get("start") or not census.get("peak"):
        return []
    before = {row["type"]: row for row in census["start"]["types"]}
    grown = []
    for row in census["peak"]["types"]:
        old = before.get(row["type"], {"count": 0, "bytes": 0})
        if row["count"] > old["count"]:
            grown.append({
                "type": row["type"], "count_diff": row["count"] - old["count"], "bytes_diff": row["bytes"] - old["bytes"],
            })  # fmt: skip
    grown.sort(key=lambda r: -r["bytes_diff"])
    return grown[:top]


def census_lines(census: dict[str, Any], where: Where = _plain, top: int = 8) -> list[str]:
    """The census at the peak: top types, the largest objects, the types that grew."""
    peak = census.get("peak") or {}
    if not peak:
        return []
    out = [
        f"{peak['objects']:,} objects, {size_text(peak['bytes'])} shallow"
        + ("" if peak.get("complete", True) else " (partial: the census stopped at its time budget)")
    ]
    out.append("by type (count, bytes):")
    out.extend(f"  {row['count']:>10,} {size_text(row['bytes']):>10}  {row['type']}" for row in peak["types"][:top])
    if peak.get("largest"):
        out.append("largest containers (deep size, with what they hold):")
        for big in peak["largest"][:top]:
            at = f" allocated at {where(big['site'][0], big['site'][1])}" if big.get("site") else ""
            more = "" if big.get("deep_complete", True) else " at least"
            out.append(
                f"  {more}{size_text(big['deep_bytes']):>10}  {big['type']} of {big['length']:,} items,"
                f" {big['objects']:,} objects{at}"
            )
    grown = grown_types(census, top)
    if grown:
        out.append("grown between start and peak:")
        out.extend(f"  {g['count_diff']:>+10,} {size_text(g['bytes_diff']):>10}  {g['type']}" for g in grown)
    return out


def cycle_fix(types: list[Any]) -> str:
    """The usual fixes for the kinds of objects kept in cycles."""
    names = " ".join(str(t[0]) for t in types).lower()
    if "traceback" in names or "frame" in names or "error" in names or "exception" in names:
        return (
            "an exception kept with its traceback (frames refer back to it): drop it after use (`del exc`,"
            " `exc.__traceback__ = None`) or keep `str(exc)` instead"
        )
    if "function" in names or "cell" in names:
        return "a closure refers to what holds it: pass the value instead, or hold it by `weakref.ref`"
    return (
        "objects refer to each other (parent and child links): hold the back link by `weakref.ref` (or"
        " `weakref.proxy`), or break the cycle when done (`node.parent = None`, `children.clear()`)"
    )


def cycles_lines(cycles: dict[str, Any], where: Where = _plain, top: int = 8, per: str = "") -> list[str]:
    """Objects freed only by the collector, by type and allocating line, with the fix."""
    if not cycles or not cycles.get("objects"):
        return ["no objects were freed by the cycle collector: nothing is kept alive by reference cycles"]
    out = [
        f"{cycles['objects']:,} objects ({size_text(cycles['bytes'])}) freed only by the cycle collector{per},"
        f" in {cycles['collections']:,} collections"
    ]
    out.append("by type: " + ", ".join(f"{t} {c:,}" for t, c, _b in cycles["by_type"][:5]))
    if cycles.get("by_line"):
        out.append("by allocating line:")
        for row in cycles["by_line"][:top]:
            kinds = ", ".join(f"{t} {c:,}" for t, c in row["types"])
            out.append(f"  {row['objects']:>10,} objects {size_text(row['bytes']):>10}  {where(row['file'], row['line'])} ({kinds})")
        out.append("fix: " + cycle_fix(cycles["by_line"][0]["types"]))
    return out


def cycle_items(cycles: dict[str, Any] | None, minimum: int = CYCLE_OBJECTS_ADVICE) -> list[dict[str, Any]]:
    """Finding-like items (file, line, message, evidence, fix) for lines whose objects only the
    collector freed, at least ``minimum`` objects each."""
    items = []
    for row in (cycles or {}).get("by_line", ()):
        if row["objects"] < minimum:
            continue
        kinds = ", ".join(f"{t} {c:,}" for t, c in row["types"])
        items.append({
            "code": "CYC",
            "file": row["file"],
            "line": row["line"],
            "message": f"{row['objects']:,} objects allocated here ({size_text(row['bytes'])}) were freed only by"
            " the cycle collector: they sit in reference cycles",
            "evidence": f"gc.DEBUG_SAVEALL during the memory pass: {kinds}",
            "fix": cycle_fix(row["types"]),
        })  # fmt: skip
    return items


def memory_sections(profile: Any, where: Where = _plain, top: int = 8) -> list[tuple[str, list[str]]]:
    """(title, lines) for the collector, the census and the cycles of a profile's memory pass: what
    ``profile --memory`` prints and the audit's reports show."""
    sections: list[tuple[str, list[str]]] = []
    if profile.gc:
        lines = gc_lines(profile.gc)
        advice = gc_advice(profile.gc)
        if advice:
            lines.append(f"advice: {advice}")
            lines.extend(f"  measured: {line}" for line in advice_lines(profile.gc.get("advice") or {}))
        sections.append(("Garbage collector", lines))
    if profile.census:
        sections.append(("Objects at the peak", census_lines(profile.census, where, top)))
    if profile.cycles is not None:
        sections.append(("Reference cycles", cycles_lines(profile.cycles, where, top)))
    return sections


def advice_lines(advice: dict[str, Any]) -> list[str]:
    """Measured collector tunings in words (``perfsquad.audit.gcadvice.GcAdvice.to_json``, kept in
    ``Profile.gc["advice"]``)."""
    if advice.get("error"):
        return [f"not measured: {advice['error']}"]
    out = [
        f"{v['name']}: {v['advice']}: {v['before_mean']:.3f} s -> {v['after_mean']:.3f} s"
        f" ({v['runs']} runs each), {v['verdict']}"
        for v in advice.get("variants", ())
    ]
    if advice.get("records"):
        names = " ".join(f"gc-{v['name']}" for v in advice.get("variants", ()))
        out.append(f"records in {advice['records']}: `perfsquad compare gc-baseline NAME` for NAME in {names}")
    return out


def memory_json(profile: Any) -> dict[str, Any] | None:
    """The memory pass for JSON reports: collector cost and advice, census summary, cycles and their items."""
    if profile is None or not (profile.gc or profile.census or profile.cycles is not None):
        return None
    peak = (profile.census or {}).get("peak") or {}
    return {
        "gc": profile.gc,
        "gc_advice": gc_advice(profile.gc),
        "census": {
            "objects": peak.get("objects"),
            "bytes": peak.get("bytes"),
            "complete": peak.get("complete"),
            "types": peak.get("types", [])[:15],
            "largest": peak.get("largest", []),
            "grown": grown_types(profile.census),
        }
        if peak
        else None,
        "cycles": profile.cycles,
        "items": cycle_items(profile.cycles),
    }
