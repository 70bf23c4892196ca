"""Comparing two benchmark records: is AFTER really faster than BEFORE?

A change is *significant* only when both hold:

* Welch's t-test (unequal variances, two-sided) rejects "same mean" at ``alpha`` (0.05);
* the relative change of the mean is at least ``min_effect`` (2 %): a real but negligible change
  is reported as no significant change.

The verdict is ``significant speedup xR`` (R = mean before ÷ mean after), ``significant slowdown
xR`` (R = mean after ÷ mean before) or ``no significant change``. When both records carry a
profile, per-function deltas of self time are listed, and a warning is raised when the top
function changed while the total barely did: the bottleneck merely moved.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from perfsquad.audit.bench import BenchRecord
from perfsquad.audit.stats import WelchResult, welch_summary
from perfsquad.profiling.model import FunctionStat, Profile

DEFAULT_ALPHA = 0.05
DEFAULT_MIN_EFFECT = 0.02
MOVED_TOTAL_CHANGE = 0.10
"""A total change smaller than this (10 %) with a new top function means the bottleneck moved."""


@dataclass(frozen=True)
class FunctionDelta:
    name: str
    file: str
    line: int
    before_seconds: float
    after_seconds: float

    @property
    def delta(self) -> float:
        return self.after_seconds - self.before_seconds

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "line": self.line,
            "before_seconds": self.before_seconds,
            "after_seconds": self.after_seconds,
            "delta_seconds": self.delta,
        }


@dataclass(frozen=True)
class Comparison:
    before: BenchRecord
    after: BenchRecord
    test: WelchResult | None
    alpha: float
    min_effect: float
    significant: bool
    verdict: str
    function_deltas: tuple[FunctionDelta, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def mean_before(self) -> float:
        return self.before.sample().mean

    @property
    def mean_after(self) -> float:
        return self.after.sample().mean

    @property
    def ratio(self) -> float:
        """mean before ÷ mean after (> 1: AFTER is faster)."""
        return self.mean_before / self.mean_after if self.mean_after > 0 else float("inf")

    @property
    def change(self) -> float:
        """Relative change of the mean, (after - before) ÷ before."""
        return (self.mean_after - self.mean_before) / self.mean_before if self.mean_before > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        def side(rec: BenchRecord) -> dict[str, Any]:
            sample = rec.sample()
            return {
                "name": rec.name,
                "format": rec.origin,
                "command": list(rec.command),
                "runs": list(rec.runs),
                "n": sample.n,
                "mean": sample.mean,
                "std": sample.std,
                "created": rec.created,
            }

        return {
            "before": side(self.before),
            "after": side(self.after),
            "ratio": self.ratio,
            "change": self.change,
            "t": self.test.t if self.test else None,
            "df": self.test.df if self.test else None,
            "p_value": self.test.p_value if self.test else None,
            "alpha": self.alpha,
            "min_effect": self.min_effect,
            "significant": self.significant,
            "verdict": self.verdict,
            "function_deltas": [d.to_json() for d in self.function_deltas],
            "warnings": list(self.warnings),
        }


def _fkey(fn: FunctionStat) -> tuple[str, str]:
    return fn.name, os.path.basename(fn.file)


def function_deltas(before: Profile, after: Profile, limit: int = 15) -> tuple[FunctionDelta, ...]:
    """Self-time changes per function (matched by name and file name), largest first."""
    b = {_fkey(f): f for f in before.functions}
    a = {_fkey(f): f for f in after.functions}
    deltas = []
    for key in {*b, *a}:
        fb, fa = b.get(key), a.get(key)
        ref = fa or fb
        assert ref is not None
        deltas.append(
            FunctionDelta(
                ref.name, ref.file, ref.line, fb.self_seconds if fb else 0.0, fa.self_seconds if fa else 0.0
            )
        )
    deltas.sort(key=lambda d: (-abs(d.delta), d.name, d.file))
    return tuple(d for d in deltas[:limit] if d.delta != 0.0 or d.before_seconds > 0)


def top_function(profile: Profile) -> FunctionStat | None:
    """The function with the most self time (the bottleneck), ignoring idle-only frames' names."""
    return max(profile.functions, key=lambda f: f.self_seconds, default=None)


def compare(
    before: BenchRecord,
    after: BenchRecord,
    *,
    alpha: float = DEFAULT_ALPHA,
    min_effect: float = DEFAULT_MIN_EFFECT,
) -> Comparison:
    warnings: list[str] = []
    if tuple(before.command) != tuple(after.command):
        pass  # comparing two different commands (old vs new implementation) is the point of compare
    if before.python and after.python and before.python != after.python:
        warnings.append(f"the records were made with different Pythons ({before.python} vs {after.python})")
    if before.machine and after.machine and before.machine != after.machine:
        warnings.append(f"the records come from different machines ({before.machine} vs {after.machine})")
    sb, sa = before.sample(), after.sample()
    mb, ma = sb.mean, sa.mean
    change = (ma - mb) / mb if mb > 0 else 0.0
    test: WelchResult | None = None
    if sb.n < 2 or sa.n < 2:
        significant = False
        verdict = "not enough runs for a significance test (need at least 2 in each record)"
    else:
        test = welch_summary(sb, sa)
        significant = test.p_value < alpha and abs(change) >= min_effect
        if not significant:
            verdict = "no significant change"
        elif ma < mb:
            verdict = f"significant speedup ×{mb / ma:.2f}"  # noqa: RUF001
        else:
            verdict = f"significant slowdown ×{ma / mb:.2f}"  # noqa: RUF001
    deltas: tuple[FunctionDelta, ...] = ()
    if before.profile is not None and after.profile is not None:
        deltas = function_deltas(before.profile, after.profile)
        tb, ta = top_function(before.profile), top_function(after.profile)
        if tb is not None and ta is not None and _fkey(tb) != _fkey(ta) and (
            not significant or abs(change) < MOVED_TOTAL_CHANGE
        ):
            warnings.append(
                f"the bottleneck moved: the top function was {tb.name} ({os.path.basename(tb.file)}) and is now "
                f"{ta.name} ({os.path.basename(ta.file)}), while the total changed only {change:+.1%}"
            )
    return Comparison(before, after, test, alpha, min_effect, significant, verdict, deltas, tuple(warnings))


def _unit(x: float) -> tuple[float, str, int]:
    """Seconds with 4 decimals, as before; a micro-benchmark's sub-millisecond times in µs or ns."""
    if x == 0 or abs(x) >= 1e-3:
        return 1.0, "s", 4
    if abs(x) >= 1e-6:
        return 1e6, "µs", 3
    return 1e9, "ns", 3


def pair_up(before: list[BenchRecord], after: list[BenchRecord]) -> tuple[list[tuple[BenchRecord, BenchRecord]], list[str]]:
    """The pairs to compare between two files: their one benchmark each, else the benchmarks of the
    same name (a pyperf suite, a pytest-benchmark run); and the names only one side has."""
    if len(before) == 1 and len(after) == 1:
        return [(before[0], after[0])], []
    by_name = {r.name: r for r in after}
    pairs = [(b, by_name[b.name]) for b in before if b.name in by_name]
    names = {b.name for b in before}
    alone = [b.name for b in before if b.name not in by_name] + [a.name for a in after if a.name not in names]
    return pairs, alone


def format_comparison(c: Comparison) -> str:
    """A human-readable report (the CLI's text output)."""

    def row(label: str, rec: BenchRecord) -> str:
        s = rec.sample()
        scale, unit, digits = _unit(s.mean)
        origin = "" if rec.origin == "perfsquad" else f" [{rec.origin}]"
        return (
            f"  {label:<7} {rec.name:<24} n={s.n:<3} mean {s.mean * scale:.{digits}f} {unit} ± "
            f"{s.std * scale:.{digits}f} {unit}  (min {s.min * scale:.{digits}f}, max {s.max * scale:.{digits}f})"
            f"{origin}"
        )

    lines = ["benchmark comparison", row("before", c.before), row("after", c.after)]
    lines.append(f"  change  {c.change:+.1%} (ratio before/after {c.ratio:.3f})")
    if c.test is not None:
        lines.append(
            f"  Welch's t-test: t = {c.test.t:.3f}, df = {c.test.df:.1f}, p = {c.test.p_value:.3g} "
            f"(alpha {c.alpha:g}, minimum effect {c.min_effect:.0%})"
        )
    lines.append(f"verdict: {c.verdict}")
    if c.function_deltas:
        lines.append("per-function self time (before -> after):")
        lines.extend(
            f"  {d.delta:+9.3f} s  {d.before_seconds:8.3f} -> {d.after_seconds:8.3f}  "
            f"{d.name} ({os.path.basename(d.file)}:{d.line})"
            for d in c.function_deltas
        )
    lines.extend(f"warning: {w}" for w in c.warnings)
    return "\n".join(lines)
