"""Numerics of the benchmark comparison: incomplete beta, Student's t tail, Welch's test, verdicts."""

from __future__ import annotations

import math
import random

import pytest

from perfsquad.audit.bench import BenchRecord, record_from_json
from perfsquad.audit.compare import compare, format_comparison
from perfsquad.audit.stats import betainc, mean, stdev, t_sf2, welch
from perfsquad.profiling.model import FunctionStat, Profile


def _t_pdf(x: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))


def _two_sided_by_quadrature(t: float, df: float) -> float:
    """An independent check: 1 - 2 * integral_0^|t| pdf, by composite Simpson's rule."""
    n = 4000
    h = abs(t) / n
    s = _t_pdf(0, df) + _t_pdf(abs(t), df)
    s += sum((4 if i % 2 else 2) * _t_pdf(i * h, df) for i in range(1, n))
    return 1 - 2 * s * h / 3


@pytest.mark.parametrize(
    ("a", "b", "x", "expected"),
    [
        (1, 1, 0.3, 0.3),  # uniform
        (2, 3, 0.4, 0.5248),  # sum_{j=2}^{4} C(4,j) x^j (1-x)^(4-j)
        (5, 1, 0.7, 0.7**5),  # I_x(a, 1) = x^a
        (1, 4, 0.2, 1 - 0.8**4),  # I_x(1, b) = 1 - (1-x)^b
        (0.5, 0.5, 0.5, 0.5),  # symmetry
        (7.5, 7.5, 0.5, 0.5),
        (0.5, 0.5, 0.25, 2 / math.pi * math.asin(0.5)),  # arcsine distribution
    ],
)
def test_betainc_known_values(a: float, b: float, x: float, expected: float) -> None:
    assert betainc(a, b, x) == pytest.approx(expected, abs=1e-12)


def test_betainc_edges_and_bad_input() -> None:
    assert betainc(2, 3, 0.0) == 0.0 and betainc(2, 3, 1.0) == 1.0
    for bad in ((0, 1, 0.5), (1, -1, 0.5), (1, 1, 1.5)):
        with pytest.raises(ValueError):
            betainc(*bad)


@pytest.mark.parametrize("t", [0.1, 0.7, 1.0, 2.5, 10.0])
def test_t_tail_closed_forms(t: float) -> None:
    # df = 1 is the Cauchy distribution; df = 2 has a closed form too.
    assert t_sf2(t, 1) == pytest.approx(1 - 2 / math.pi * math.atan(t), abs=1e-12)
    assert t_sf2(-t, 2) == pytest.approx(1 - t / math.sqrt(t * t + 2), abs=1e-12)


@pytest.mark.parametrize(("t", "df"), [(2.0, 3), (1.3, 7.5), (2.228, 10), (0.4, 30), (3.5, 4.2)])
def test_t_tail_matches_quadrature(t: float, df: float) -> None:
    assert t_sf2(t, df) == pytest.approx(_two_sided_by_quadrature(t, df), abs=1e-9)


def test_t_tail_textbook_critical_values() -> None:
    # Two-sided 5% critical values from any t table.
    assert t_sf2(12.706, 1) == pytest.approx(0.05, abs=1e-4)
    assert t_sf2(2.228, 10) == pytest.approx(0.05, abs=1e-4)
    assert t_sf2(1.960, 1e7) == pytest.approx(0.05, abs=1e-4)  # the normal limit
    assert t_sf2(0.0, 5) == 1.0 and t_sf2(math.inf, 5) == 0.0


def test_welch_statistic_and_degrees_of_freedom() -> None:
    a = [1.0, 2.0, 3.0, 4.0, 5.0]
    b = [2.0, 4.0, 6.0, 8.0, 10.0]
    r = welch(a, b)
    va, vb = 2.5 / 5, 10.0 / 5  # sample variances 2.5 and 10, over n
    assert r.t == pytest.approx((3 - 6) / math.sqrt(va + vb))
    assert r.df == pytest.approx((va + vb) ** 2 / (va**2 / 4 + vb**2 / 4))
    assert r.df == pytest.approx(100 / 17)
    assert r.p_value == pytest.approx(_two_sided_by_quadrature(r.t, r.df), abs=1e-9)
    assert 0.10 < r.p_value < 0.11


def test_welch_degenerate_and_small_samples() -> None:
    assert welch([1.0, 1.0], [1.0, 1.0]).p_value == 1.0
    assert welch([1.0, 1.0], [2.0, 2.0]).p_value == 0.0
    with pytest.raises(ValueError):
        welch([1.0], [1.0, 2.0])
    assert stdev([3.0]) == 0.0 and mean([1.0, 3.0]) == 2.0


def _record(name: str, runs: list[float], profile: Profile | None = None) -> BenchRecord:
    return BenchRecord(name=name, command=("python", f"{name}.py"), cwd="/w", runs=tuple(runs), warmup=1,
                       timeout=60.0, python="3.11.7", machine="Linux x86_64, 2 CPUs", profile=profile)  # fmt: skip


def _noisy(rng: random.Random, centre: float, n: int, spread: float = 0.01) -> list[float]:
    return [centre * (1 + rng.gauss(0, spread)) for _ in range(n)]


def test_verdicts() -> None:
    rng = random.Random(7)
    slow = _record("before", _noisy(rng, 1.0, 6))
    fast = _record("after", _noisy(rng, 0.25, 6))
    c = compare(slow, fast)
    assert c.significant and c.verdict.startswith("significant speedup \u00d7")
    assert float(c.verdict.rsplit("\u00d7", 1)[1]) == pytest.approx(c.ratio, abs=0.006)
    assert 3.5 < c.ratio < 4.5
    back = compare(fast, slow)
    assert back.significant and back.verdict.startswith("significant slowdown \u00d7")

    same = compare(_record("a", _noisy(rng, 1.0, 6)), _record("b", _noisy(rng, 1.0, 6)))
    assert not same.significant and same.verdict == "no significant change"
    assert same.test is not None and same.test.p_value > 0.05


def test_minimum_effect_threshold() -> None:
    # A 1% change measured with almost no noise is statistically significant but below 2%.
    before = _record("before", [1.000, 1.0001, 0.9999, 1.0000])
    after = _record("after", [0.990, 0.9901, 0.9899, 0.9900])
    c = compare(before, after)
    assert c.test is not None and c.test.p_value < 1e-6
    assert c.verdict == "no significant change"
    assert compare(before, after, min_effect=0.005).verdict.startswith("significant speedup")


def test_not_enough_runs() -> None:
    c = compare(_record("a", [1.0]), _record("b", [0.5, 0.6]))
    assert not c.significant and "not enough runs" in c.verdict


def _profile(top: str, seconds: dict[str, float]) -> Profile:
    functions = tuple(FunctionStat(name, "/w/app.py", i + 1, s, s) for i, (name, s) in enumerate(seconds.items()))
    return Profile(command=("python", "app.py"), sampler="py-spy", wall_seconds=sum(seconds.values()),
                   cpu_seconds=None, functions=functions, lines=())  # fmt: skip


def test_per_function_deltas_and_moved_bottleneck() -> None:
    rng = random.Random(3)
    before = _record("before", _noisy(rng, 1.0, 5), _profile("parse", {"parse": 0.7, "render": 0.3}))
    after = _record("after", _noisy(rng, 1.0, 5), _profile("render", {"parse": 0.2, "render": 0.8}))
    c = compare(before, after)
    assert c.verdict == "no significant change"
    deltas = {d.name: round(d.delta, 6) for d in c.function_deltas}
    assert deltas == {"parse": -0.5, "render": 0.5}
    assert any("bottleneck moved" in w and "parse" in w and "render" in w for w in c.warnings)
    text = format_comparison(c)
    assert "per-function self time" in text and "warning: the bottleneck moved" in text

    # A real speedup with a new top function is not "merely moved".
    faster = _record("after", _noisy(rng, 0.5, 5), _profile("render", {"parse": 0.1, "render": 0.4}))
    assert not any("bottleneck moved" in w for w in compare(before, faster).warnings)


def test_record_round_trip_and_bad_records() -> None:
    rec = _record("x", [1.0, 2.0], _profile("f", {"f": 1.0}))
    back = record_from_json(rec.to_json())
    assert back.runs == rec.runs and back.profile is not None and back.profile.functions[0].name == "f"
    from perfsquad.audit.bench import BenchError

    for bad in ({}, {"schema": "perfsquad.bench/1"}, {"schema": "perfsquad.bench/1", "name": "x", "runs": "ab"}, []):
        with pytest.raises(BenchError):
            record_from_json(bad)
