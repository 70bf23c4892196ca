"""VEC rules: numerical equivalence of every fix, type-awareness traps, the demo, hover speedups, bench."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT, SIMILARITY

from perfsquad.analyzers import family_rules, rule_by_code
from perfsquad.autofix import fix_text
from perfsquad.engine import analyze_text
from perfsquad.model import FixSafety, Speedup

RULES = family_rules("VEC")


# Inputs: ints and floats, empty and one-element included (sizes 0..6).
small_floats = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
small_ints = st.integers(-1000, 1000)


def _pair(elements: st.SearchStrategy[Any], min_size: int = 0) -> st.SearchStrategy[tuple[list[Any], list[Any]]]:
    return st.integers(min_size, 6).flatmap(
        lambda n: st.tuples(st.lists(elements, min_size=n, max_size=n), st.lists(elements, min_size=n, max_size=n))
    )


def _fixed(source: str, code: str) -> str:
    rule = rule_by_code(code)
    assert rule is not None
    result = fix_text(source, "example.py", unsafe=True, rules=(rule,))
    assert result.text != source, "expected a fix"
    assert result.converged
    return result.text


def _function(source: str, name: str = "f") -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<vec>", "exec"), namespace)
    return namespace[name]


def _close(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-6))


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DOT = "import numpy as np\ndef f(a: np.ndarray, b: np.ndarray):\n    return sum(x * y for x, y in zip(a, b))\n"
NORM = "import math\nimport numpy as np\ndef f(a: np.ndarray):\n    return math.sqrt(sum(x * x for x in a))\n"
ELEMENTWISE = (
    "import math\nimport numpy as np\ndef f(a: np.ndarray, b: np.ndarray, c: float):\n    out = np.zeros(len(a))\n"
    "    for i in range(len(a)):\n        out[i] = a[i] * b[i] + c * math.fabs(a[i])\n    return out\n"
)
REDUCE = "import numpy as np\ndef f(a: np.ndarray):\n    t = 0.5\n    for x in a:\n        t += x\n    return t\n"
MINMAX = "import numpy as np\ndef f(a: np.ndarray):\n    return max(a) - min(a), sum(a)\n"
MEAN = "import numpy as np\ndef f(a: np.ndarray):\n    return sum(a) / len(a)\n"
UFUNC = "import math\nimport numpy as np\ndef f(a: np.ndarray):\n    return [math.sqrt(x) for x in a]\n"
MATMUL = (
    "def f(A: list[list[float]], B: list[list[float]], n: int):\n    C = [[0.0] * n for _ in range(n)]\n"
    "    for i in range(n):\n        for j in range(n):\n            for k in range(n):\n"
    "                C[i][j] += A[i][k] * B[k][j]\n    return C\n"
)


@pytest.mark.parametrize("dtype", [float, int])
def test_dot_fix_is_equivalent(dtype: type) -> None:
    before, after = _function(DOT), _function(_fixed(DOT, "VEC001"))

    @SETTINGS
    @given(_pair(small_floats if dtype is float else small_ints))
    def check(pair: tuple[list[Any], list[Any]]) -> None:
        a, b = (np.array(v, dtype=dtype) for v in pair)
        assert _close(before(a, b), after(a, b))

    check()


@pytest.mark.parametrize("dtype", [float, int])
def test_norm_fix_is_equivalent(dtype: type) -> None:
    before, after = _function(NORM), _function(_fixed(NORM, "VEC002"))

    @SETTINGS
    @given(st.lists(small_floats if dtype is float else small_ints, max_size=6))
    def check(values: list[Any]) -> None:
        a = np.array(values, dtype=dtype)
        assert _close(before(a), after(a))

    check()


@pytest.mark.parametrize("dtype", [float, int])
def test_elementwise_fix_is_equivalent(dtype: type) -> None:
    fixed = _fixed(ELEMENTWISE, "VEC003")
    assert "out[:] = a * b + c * np.fabs(a)" in fixed
    before, after = _function(ELEMENTWISE), _function(fixed)

    @SETTINGS
    @given(_pair(small_floats if dtype is float else small_ints), small_floats)
    def check(pair: tuple[list[float], list[float]], c: float) -> None:
        a, b = (np.array(v, dtype=dtype) for v in pair)
        assert _close(before(a, b, c), after(a, b, c))

    check()


@pytest.mark.parametrize("source", [REDUCE, MINMAX], ids=["loop", "builtins"])
def test_reduction_fixes_are_equivalent(source: str) -> None:
    before, after = _function(source), _function(_fixed(source, "VEC004"))
    empty_ok = source is REDUCE  # max() of an empty array raises in both

    @SETTINGS
    @given(st.lists(small_floats, min_size=0 if empty_ok else 1, max_size=6), st.booleans())
    def check(values: list[float], as_int: bool) -> None:
        a = np.array([round(v) for v in values] if as_int else values, dtype=int if as_int else float)
        assert _close(before(a), after(a))

    check()


def test_mean_fix_documented_divergence_on_empty_input() -> None:
    fixed = _fixed(MEAN, "VEC004")
    before, after = _function(MEAN), _function(fixed)
    a = np.array([1.0, 2.0, 4.5])
    assert _close(before(a), after(a))
    with pytest.raises(ZeroDivisionError):
        before(np.array([]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(after(np.array([])))
    # ... and the fix says so.
    report = analyze_text(MEAN, "m.py", rules=(rule_by_code("VEC004"),))  # type: ignore[arg-type]
    assert report.findings[0].fix is not None and "empty array" in report.findings[0].fix.title


def test_ufunc_fix_is_equivalent_and_domain_divergence_documented() -> None:
    before, after = _function(UFUNC), _function(_fixed(UFUNC, "VEC005"))

    @SETTINGS
    @given(st.lists(st.floats(0, 1e6, allow_nan=False), max_size=6))
    def check(values: list[float]) -> None:
        a = np.array(values)
        got = after(a)
        assert type(got) is list and all(type(x) is float for x in got)
        assert _close(before(a), got)

    check()
    with pytest.raises(ValueError):
        before(np.array([-1.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert math.isnan(after(np.array([-1.0]))[0])


def test_matmul_fix_is_equivalent() -> None:
    before, after = _function(MATMUL), _function(_fixed(MATMUL, "VEC007"))

    @SETTINGS
    @given(st.integers(0, 4).flatmap(lambda n: st.tuples(st.just(n), *(
        st.lists(st.lists(small_floats, min_size=n, max_size=n), min_size=n, max_size=n) for _ in range(2)
    ))))  # fmt: skip
    def check(args: tuple[int, list[list[float]], list[list[float]]]) -> None:
        n, a, b = args
        expected, got = before(a, b, n), after(a, b, n)
        assert type(got) is list and all(type(row) is list for row in got)
        assert (n == 0 and got == expected) or _close(expected, got)

    check()


@pytest.mark.parametrize(
    ("code", "source"),
    [
        ("VEC001", "def f(a: list[int], b: list[int]):\n    return sum(x * y for x, y in zip(a, b))\n"),
        ("VEC002", "import math\ndef f(a: list[int]):\n    return math.sqrt(sum(x * x for x in a))\n"),
        (
            "VEC007",
            "def f(A: list[list[int]], B: list[list[int]], C: list[list[int]], n: int):\n"
            "    for i in range(n):\n        for j in range(n):\n            for k in range(n):\n"
            "                C[i][j] += A[i][k] * B[k][j]\n",
        ),
    ],
)
def test_int_lists_fix_withheld_because_int64_overflows(code: str, source: str) -> None:
    report = analyze_text(source, "ints.py", rules=(rule_by_code(code),))  # type: ignore[arg-type]
    assert [f.code for f in report.findings] == [code]
    assert report.findings[0].fix is None
    assert any("overflow" in note for note in report.findings[0].notes)
    # The divergence the withholding avoids: Python ints are exact, int64 wraps around.
    big = [2**62, 2**62]
    assert sum(x * y for x, y in zip(big, [2, 2], strict=True)) == 2**64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert int(np.dot(np.array(big), np.array([2, 2]))) != 2**64


TRAPS = """
import math

def strings(a: list[str], b: list[str]):
    x = sum(p * q for p, q in zip(a, b))
    out = [""] * len(a)
    for i in range(len(a)):
        out[i] = a[i] * 2
    return [math.sqrt(s) for s in a], x

def dicts(d: dict, e: dict):
    return sum(p * q for p, q in zip(d, e))

def objects(items, others):
    total = 0
    for it in items:
        total += it
    for i in range(len(items)):
        for j in range(len(items)):
            compare(items[i], items[j])
    return sum(p * q for p, q in zip(items, others)), max(items)

def rebound(a: list[float]):
    a = load()
    return math.sqrt(sum(x * x for x in a))

def string_and_object_arrays():
    import numpy as np
    names = np.array(["ada", "bob"])
    blobs = np.empty(3, dtype=object)
    tags = np.zeros(2, dtype="U8")
    return sum(x * y for x, y in zip(names, tags)), [math.sqrt(b) for b in blobs], max(blobs)
"""


def test_no_numpy_suggested_for_strings_dicts_or_objects() -> None:
    report = analyze_text(TRAPS, "traps.py", rules=RULES)
    assert report.rule_errors == ()
    assert [f.code for f in report.findings] == []


def test_random_arrays_are_arrays() -> None:
    source = (
        "import numpy as np\ndef f(n):\n    a = np.random.rand(n)\n    b = np.random.normal(0, 1, n)\n"
        "    return sum(x * y for x, y in zip(a, b))\n"
    )
    report = analyze_text(source, "r.py", rules=RULES)
    assert [f.code for f in report.findings] == ["VEC001"]
    assert report.findings[0].fix is not None


def test_function_return_annotations_type_their_results() -> None:
    source = (
        "import numpy as np\n\ndef load() -> np.ndarray:\n    return np.loadtxt('x')\n\n"
        "def names() -> list[str]:\n    return []\n\n"
        "def f():\n    a = load()\n    s = names()\n"
        "    return sum(x * x for x in a), sum(x * y for x, y in zip(s, s))\n"
    )
    report = analyze_text(source, "ret.py", rules=RULES)
    assert [(f.code, f.span.start.line) for f in report.findings] == [("VEC001", 12)]
    assert report.findings[0].fix is not None


def test_fix_keeps_comments_crlf_and_adds_one_import() -> None:
    source = (
        '"""Doc."""\r\nimport math\r\nfrom numpy import ndarray\r\n\r\n\r\ndef f(a: ndarray, b: ndarray):\r\n'
        "    # the dot product\r\n    d = sum(x * y for x, y in zip(a, b))  # inline\r\n"
        "    return d / math.sqrt(sum(x * x for x in a))\r\n"
    )
    rules = tuple(r for r in RULES if r.code in ("VEC001", "VEC002"))
    result = fix_text(source, "crlf.py", unsafe=True, rules=rules)
    assert result.converged
    text = result.text
    assert "\n" not in text.replace("\r\n", "")
    assert text.count("import numpy as np") == 1
    assert "    # the dot product\r\n    d = np.dot(a, b)  # inline\r\n" in text
    assert "d / np.linalg.norm(a)" in text
    assert analyze_text(text, "crlf.py", rules=rules).findings == ()


# -- the demo -----------------------------------------------------------------------------------


def _function_at(source: str, line: int) -> str | None:
    import ast

    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or 0):
            return node.name
    return None


def test_demo_cosine_and_pairwise_loops_are_flagged() -> None:
    source = SIMILARITY.read_text(encoding="utf-8")
    report = analyze_text(source, str(SIMILARITY), rules=RULES)
    found = {(_function_at(source, f.span.start.line), f.code) for f in report.findings}
    assert {("cosine", "VEC001"), ("cosine", "VEC002"), ("norm", "VEC002")} <= found
    assert {("group_similar", "VEC006"), ("similarity_matrix", "VEC006"), ("consolidate", "VEC006")} <= found
    pairwise = next(f for f in report.findings if f.code == "VEC006")
    assert any("U @ U.T" in note for note in pairwise.notes)
    # The demo's vectors are lists: no NumPy fix is offered on them (measured slower), only advice.
    cosine = next(f for f in report.findings if f.code == "VEC001")
    assert cosine.fix is None and any("hold the vectors as NumPy arrays" in n for n in cosine.notes)


def test_demo_check_cli_flags_similarity(capsys: pytest.CaptureFixture[str]) -> None:
    from perfsquad.cli import main

    code = main(["check", "--no-cache", "--select", "VEC", "--format", "json", str(ROOT / "demo")])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    codes = {(Path(d["filename"]).name, d["code"]) for d in out}
    assert {("similarity.py", "VEC001"), ("similarity.py", "VEC002"), ("similarity.py", "VEC006")} <= codes


def _bench_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_vectorize", ROOT / "bench" / "vectorize.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_vectorize"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_vectorized_grouping_matches_the_demo() -> None:
    bench = _bench_module()
    from memoria import similarity  # type: ignore[import-not-found]  # put on sys.path by the bench module

    vectors = similarity.make_vectors(n=40, dim=24, seed=1, clusters=5, noise=0.5)
    vectors.append([0.0] * 24)  # a zero vector: cosine 0.0 on both sides
    for threshold in (-0.5, 0.0, 0.4, 0.8, 1.01):
        assert bench.consolidate_numpy(vectors, threshold) == similarity.consolidate(vectors, threshold)
    assert bench.consolidate_numpy([], 0.5) == []


# -- speedups: per-size lookup, hover, calibration file ------------------------------------------


def test_speedup_nearest_size_on_a_log_scale() -> None:
    s = Speedup(0.5, 80.0, "n = elements", "bench", sizes=((10, 0.5), (1000, 12.0), (100000, 80.0)), break_even=64)
    assert s.at(3) == (10, 0.5)
    assert s.at(400) == (1000, 12.0)
    assert s.at(20000) == (100000, 80.0)
    assert "slower than the original below n ≈ 64" in s.describe()
    assert Speedup(1.0, 2.0, "n", "bench").at(10) is None


def test_hover_on_a_vec_finding_shows_the_nearest_size() -> None:
    from perfsquad.server.hover import finding_markdown

    rule = rule_by_code("VEC005")
    assert rule is not None and rule.speedup() is not None
    speedup = rule.speedup()
    assert speedup is not None and [n for n, _ in speedup.sizes] == [10, 1000, 100000]
    source = "import math\nimport numpy as np\ndef f():\n    a = np.zeros(2000)\n    return [math.sqrt(x) for x in np.zeros(2000)]\n"
    report = analyze_text(source, "h.py", rules=(rule,))
    (finding,) = report.findings
    ratio = dict(speedup.sizes)[1000]
    text = finding_markdown(finding)
    assert f"Measured speedup at n = 1,000 (nearest calibrated size to n = 2,000): {ratio:.1f}x" in text
    # Unknown size: every calibrated size is listed.
    demo = analyze_text(SIMILARITY.read_text(encoding="utf-8"), "s.py", rules=(rule_by_code("VEC006"),))  # type: ignore[arg-type]
    assert "at n = 100,000" in finding_markdown(demo.findings[0])


@pytest.mark.parametrize("table", sorted((ROOT / "perfsquad" / "data" / "speedups").glob("*.json")), ids=lambda p: p.stem)
def test_every_vec_rule_with_a_bench_is_calibrated_at_three_sizes(table: Path) -> None:
    data = json.loads(table.read_text(encoding="utf-8"))
    for rule in family_rules("VEC"):
        if rule.bench is None:
            continue
        entry = data["rules"][rule.code]
        assert set(entry["sizes"]) == {"10", "1000", "100000"}
        assert "bench/vectorize.py" in entry["measured_by"]
        for old, new in entry["seconds"].values():
            assert old > 0 and new > 0


def test_write_results_merges_without_overwriting(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from calibrate import write_results  # type: ignore[import-not-found]

    out = tmp_path / "speedups.json"
    out.write_text(json.dumps({"rules": {"IDM001": {"sizes": {"10": 1.0}, "scales_with": "n"}}}), encoding="utf-8")
    write_results(out, {"VEC001": {"sizes": {"10": 2.0}, "scales_with": "n", "break_even": 32}}, [10])
    rules = json.loads(out.read_text(encoding="utf-8"))["rules"]
    assert rules["IDM001"] == {"sizes": {"10": 1.0}, "scales_with": "n"}
    assert rules["VEC001"]["break_even"] == 32


@pytest.mark.parametrize("rule", [r for r in RULES if r.fix_safety is FixSafety.UNSAFE], ids=lambda r: r.code)
def test_unsafe_fix_docs_name_the_numeric_divergences(rule: Any) -> None:
    text = rule.doc_sections()["Fix safety"].lower()
    assert "unsafe" in text
    assert any(word in text for word in ("overflow", "summation", "last digits", "last bit", "nan"))


def test_findings_on_lists_carry_the_speedup_measured_on_lists() -> None:
    from perfsquad.calibration import running

    source = SIMILARITY.read_text(encoding="utf-8")
    report = analyze_text(source, str(SIMILARITY), rules=RULES)
    dot = next(f for f in report.findings if f.code == "VEC001")
    on_lists = running().list_speedup("VEC001")
    rule = rule_by_code("VEC001")
    assert on_lists is not None and rule is not None and rule.speedup() is not None
    assert dot.speedup == on_lists != rule.speedup()
    assert "conversion included" in on_lists.scales_with
    figures = ", ".join(f"{r:.1f}x at n = {n:,}" for n, r in on_lists.sizes)
    assert any(figures in note for note in dot.notes), dot.notes


@pytest.mark.parametrize("kind", ["dot", "cosine", "cosine-distance", "distance", "squared-distance"])
def test_all_pairs_suggestions_compute_what_the_loops_compute(kind: str) -> None:
    from perfsquad.analyzers.vectorize.all_pairs_similarity import _SUGGESTIONS

    def dot(u: list[float], v: list[float]) -> float:
        return sum(x * y for x, y in zip(u, v, strict=True))

    def cosine(u: list[float], v: list[float]) -> float:
        nu, nv = math.sqrt(dot(u, u)), math.sqrt(dot(v, v))
        return 0.0 if nu == 0 or nv == 0 else dot(u, v) / (nu * nv)

    pure = {
        "dot": (dot, "S"),
        "cosine": (cosine, "S"),
        "cosine-distance": (lambda u, v: 1.0 - cosine(u, v), "D"),
        "distance": (lambda u, v: math.dist(u, v), "D"),
        "squared-distance": (lambda u, v: math.dist(u, v) ** 2, "D2"),
    }
    fn, result_name = pure[kind]

    # Squares of components below ~1e-154 underflow in the loop (documented in VEC006): realistic magnitudes.
    element = st.one_of(st.just(0.0), st.floats(1e-3, 1e3), st.floats(-1e3, -1e-3))

    @SETTINGS
    @given(
        st.integers(1, 5).flatmap(lambda d: st.lists(st.lists(element, min_size=d, max_size=d), min_size=1, max_size=5))
    )
    def check(vectors: list[list[float]]) -> None:
        if kind == "cosine-distance" and any(not any(v) for v in vectors):
            return  # documented: the unguarded division needs non-zero vectors
        namespace: dict[str, Any] = {"np": np, "X": vectors}
        exec(_SUGGESTIONS[kind].split("  #")[0].format(x="X"), namespace)
        expected = [[fn(u, v) for v in vectors] for u in vectors]
        got = np.asarray(namespace[result_name])
        if kind in ("distance", "squared-distance"):
            # Through the Gram matrix the error is relative to the squared norms (documented cancellation).
            scale = max(1.0, max(sum(x * x for x in v) for v in vectors))
            power = 2 if kind == "distance" else 1
            assert np.allclose(got**power, np.asarray(expected) ** power, rtol=0, atol=1e-9 * scale)
        else:
            assert np.allclose(got, expected, rtol=1e-7, atol=1e-6 * max(1.0, float(np.abs(expected).max())))

    check()
