"""Statistics for benchmark comparison, with no dependency beyond the standard library.

* :func:`betainc` — the regularized incomplete beta function I_x(a, b), evaluated with its
  continued fraction (modified Lentz algorithm), using the symmetry
  I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly;
* :func:`t_sf2` — the two-sided tail probability of Student's t distribution,
  P(|T| ≥ t) = I_{nu/(nu+t²)}(nu/2, 1/2);
* :func:`welch` — Welch's unequal-variance t-test (t statistic, Welch-Satterthwaite degrees of
  freedom, two-sided p-value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 500


def mean(xs: Sequence[float]) -> float:
    if not xs:
        raise ValueError("mean of no values")
    return math.fsum(xs) / len(xs)


def stdev(xs: Sequence[float]) -> float:
    """Sample standard deviation (n - 1 in the denominator); 0.0 for fewer than two values."""
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _beta_cf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), without its prefactor (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_ITER + 1):
        m2 = 2 * m
        # even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        h *= d * c
        # odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    return h  # converged to the precision the iterations allowed


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1."""
    if a <= 0 or b <= 0:
        raise ValueError("betainc needs a > 0 and b > 0")
    if not 0.0 <= x <= 1.0:
        raise ValueError("betainc needs 0 <= x <= 1")
    if x == 0.0 or x == 1.0:
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return min(1.0, max(0.0, front * _beta_cf(a, b, x) / a))
    return min(1.0, max(0.0, 1.0 - front * _beta_cf(b, a, 1.0 - x) / b))


def t_sf2(t: float, df: float) -> float:
    """Two-sided p-value P(|T| ≥ |t|) of Student's t distribution with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError("degrees of freedom must be positive")
    if math.isinf(t):
        return 0.0
    if math.isnan(t):
        return float("nan")
    return betainc(df / 2.0, 0.5, df / (df + t * t))


@dataclass(frozen=True)
class WelchResult:
    t: float
    df: float
    p_value: float


@dataclass(frozen=True)
class Summary:
    """What the statistics need of a sample: its size, mean, sample standard deviation, extremes.
    Built from the values (:meth:`of`), or read as such from a file that keeps only the summary
    (pytest-benchmark without ``--benchmark-save-data``): Welch's test needs nothing more."""

    n: int
    mean: float
    std: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(len(values), mean(values), stdev(values), min(values), max(values))


def welch(before: Sequence[float], after: Sequence[float]) -> WelchResult:
    """Welch's two-sample t-test (unequal variances), two-sided; needs two values in each sample.

    ``t`` is positive when ``before`` has the larger mean. When both samples have zero variance
    the test degenerates: p is 1.0 for equal means and 0.0 otherwise.
    """
    return welch_summary(Summary.of(before), Summary.of(after))


def welch_summary(before: Summary, after: Summary) -> WelchResult:
    """:func:`welch` from the samples' summaries (the same figures: the test reads n, mean, std)."""
    n1, n2 = before.n, after.n
    if n1 < 2 or n2 < 2:
        raise ValueError("Welch's t-test needs at least two values in each sample")
    m1, m2 = before.mean, after.mean
    v1, v2 = before.std**2 / n1, after.std**2 / n2
    se2 = v1 + v2
    if se2 == 0.0:
        if m1 == m2:
            return WelchResult(0.0, float(n1 + n2 - 2), 1.0)
        return WelchResult(math.copysign(math.inf, m1 - m2), float(n1 + n2 - 2), 0.0)
    t = (m1 - m2) / math.sqrt(se2)
    df = se2 * se2 / ((v1 * v1) / (n1 - 1) + (v2 * v2) / (n2 - 1))
    return WelchResult(t, df, t_sf2(t, df))
