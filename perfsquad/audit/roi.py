"""Return on investment of one finding: Amdahl's law over a measured share, per minute of effort.

    time saved  T = W * share * (1 - 1/X)
    ROI         = T ÷ effort

``W`` is the profiled run's wall time, ``share`` the fraction of it spent in the finding's code
(:mod:`perfsquad.audit.shares`), ``X`` the rule's speedup measured by ``bench/calibrate.py`` on
the Python the analysis was configured for (:mod:`perfsquad.calibration`; the finding carries it) and ``effort`` the rule's ``effort_minutes`` (documented in
every rule's reference page). A finding the profile never saw has share 0. With no profile at
all there is nothing to multiply: the roadmap then ranks by static severity and says so.

Which calibrated size stands for "the observed size": code that takes a measurable share of a
run is usually running on inputs of at least n=1,000, but how much larger is unknown, so a
measured finding uses the *lowest* ratio among the calibrated sizes from 1,000 up (for a
vectorization finding on lists, the figures measured on lists, conversion included); an unmeasured
one the median over sizes. The size used is shown. A ratio of 1 or less saves nothing (never a
negative saving): such an item never ranks above one with a measured saving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfsquad.calibration import SpeedupPoint, rule_speedup, saved_share, times
from perfsquad.model import FixSafety, Speedup

__all__ = ["RoiEstimate", "SpeedupPoint", "estimate", "rule_effort", "rule_speedup", "times"]


@dataclass(frozen=True)
class RoiEstimate:
    code: str
    share: float | None
    """Fraction of the measured run spent in the finding's code; None without a profile."""
    speedup: SpeedupPoint | None
    wall_seconds: float | None
    effort_minutes: int
    safety: str
    """``safe`` / ``unsafe`` / ``display-only`` for the finding's fix, ``manual`` without one."""

    @property
    def saved_seconds(self) -> float | None:
        if self.share is None or self.wall_seconds is None:
            return None
        if self.speedup is None or self.speedup.ratio <= 0:
            return None
        return self.wall_seconds * saved_share(self.share, self.speedup.ratio)

    @property
    def roi(self) -> float | None:
        """Seconds saved per minute of effort."""
        saved = self.saved_seconds
        if saved is None:
            return None
        return saved / max(self.effort_minutes, 1)

    def describe(self) -> str:
        """The estimate with its inputs, e.g. for a hover or the roadmap's detail column."""
        effort = f"effort {self.effort_minutes} min"
        if self.share is None or self.wall_seconds is None:
            sp = f"speedup {times(self.speedup.ratio)} ({self.speedup.basis})" if self.speedup else "no calibrated speedup"
            return f"ROI: no profile, so no measured share ({sp}); {effort}"
        if self.code.startswith("HOT"):
            held = self.share * self.wall_seconds
            return (
                f"measured: {self.share:.1%} of {self.wall_seconds:.3g} s ({held:.3g} s), the most a change there "
                f"can save; no rule says how much; {effort} to investigate"
            )
        if self.speedup is None:
            return (
                f"ROI: share {self.share:.1%} of {self.wall_seconds:.3g} s, but the rule has no calibrated "
                f"speedup, so no time-saved estimate; {effort}"
            )
        saved = self.saved_seconds or 0.0
        if self.speedup.ratio <= 1.0:
            return (
                f"ROI: share {self.share:.1%} of {self.wall_seconds:.3g} s, but the rewrite is measured no faster "
                f"there (speedup {times(self.speedup.ratio)}, {self.speedup.basis}): nothing saved; {effort}"
            )
        return (
            f"ROI: share {self.share:.1%} \u00d7 (1 \u2212 1/speedup {times(self.speedup.ratio)}) = "
            f"{saved:.3g} s saved of {self.wall_seconds:.3g} s; {effort} "
            f"(speedup {self.speedup.basis})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "share": self.share,
            "speedup": self.speedup.ratio if self.speedup else None,
            "speedup_basis": self.speedup.basis if self.speedup else None,
            "wall_seconds": self.wall_seconds,
            "saved_seconds": self.saved_seconds,
            "effort_minutes": self.effort_minutes,
            "roi_seconds_per_minute": self.roi,
            "safety": self.safety,
            "formula": self.describe(),
        }


def rule_effort(code: str) -> int:
    from perfsquad.analyzers import rule_by_code

    rule = rule_by_code(code)
    return rule.effort_minutes if rule is not None else 5


def fix_safety_label(safety: FixSafety | None) -> str:
    return safety.value if safety is not None else "manual"


def estimate(
    code: str,
    *,
    share: float | None,
    wall_seconds: float | None,
    safety: FixSafety | None,
    declared: Speedup | None = None,
) -> RoiEstimate:
    """The ROI estimate of a finding of rule ``code`` (see the module docstring)."""
    measured = share is not None and share > 0
    return RoiEstimate(
        code=code,
        share=share,
        speedup=rule_speedup(code, measured=measured, fallback=declared),
        wall_seconds=wall_seconds,
        effort_minutes=rule_effort(code),
        safety=fix_safety_label(safety),
    )
