"""VEC rules and sizes the code fixes: a rewrite measured slower at that size is not proposed.

``known_size`` reads the length of a sequence or array from the code (literals, ``range``/``arange``
of constants, shape makers, copies, joins, names bound only to such values); the rules withhold a
finding when that length is below the rule's calibrated break-even (:func:`slower_below`).
"""

from __future__ import annotations

import ast

import pytest

from perfsquad.analyzers import family_rules
from perfsquad.analyzers.vectorize._common import known_size, slower_below
from perfsquad.config import Config
from perfsquad.engine import analyze_full, analyze_text
from perfsquad.model import Confidence, Speedup

RULES = family_rules("VEC")


def _size_of_last(source: str) -> int | None:
    """``known_size`` of the value of the last ``probe = ...`` statement of ``source``."""
    ctx = analyze_full(source, "sizes.py", rules=()).ctx
    assert ctx is not None
    probes = [n for n in ast.walk(ctx.tree) if isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "probe"]
    return known_size(ctx, probes[-1].value)


@pytest.mark.parametrize(
    ("source", "size"),
    [
        ("import numpy as np\nprobe = np.array([3, 7, 5, 9])\n", 4),
        ("import numpy as np\ny = np.array([3, 7, 5, 9, 8, 7, 10])\nprobe = np.arange(len(y))\n", 7),
        ("import numpy as np\nprobe = np.zeros(300)\n", 300),
        ("import numpy as np\nprobe = np.zeros((3, 4))\n", 12),
        ("import numpy as np\nprobe = np.linspace(0, 1)\n", 50),
        ("import numpy as np\nprobe = np.linspace(0, 1, num=5)\n", 5),
        ("import numpy as np\nprobe = np.arange(2, 20, 3)\n", 6),
        ("probe = list(range(10))\n", 10),
        ("probe = [0.0] * 8\n", 8),
        ("N = 100\nprobe = [1.0] * N\n", 100),
        ("import numpy as np\nn = 10\nprobe = np.hstack([[i + 1] * n for i in range(n)])\n", 100),
        ("import numpy as np\nn = 10\nprobe = np.hstack([[i + 1] * n for i in range(n)])[: n**2 - 5]\n", 95),
        ("probe = [i * 2 for i in range(6)]\n", 6),
        ("probe = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]\n", 6),
        ("import numpy as np\nprobe = np.random.rand(5, 3)\n", 15),
        ("import numpy as np\nprobe = np.random.normal(0, 1, size=(2, 4))\n", 8),
        ("import numpy as np\nprobe = np.random.randint(0, 9, size=12)\n", 12),
        ("import numpy as np\nprobe = np.random.normal(0, 1)\n", None),
        ("import numpy as np\ndef f(n):\n    probe = np.random.rand(n, 3)\n", None),
        # Sizes that are not fixed: a parameter, a call result, a list that grows, a filtered comprehension.
        ("import numpy as np\ndef f(n):\n    probe = np.zeros(n)\n", None),
        ("import numpy as np\nprobe = np.loadtxt('x.csv')\n", None),
        ("xs = []\nxs.append(1.0)\nprobe = list(xs)\n", None),
        ("probe = [i for i in range(10) if i % 2]\n", None),
        ("import numpy as np\ndef f(a):\n    probe = np.asarray(a)\n", None),
        ("import numpy as np\ndef f(k):\n    n = 10\n    if k:\n        n = k\n    probe = np.arange(n)\n", None),
        ("probe = [*range(3), 4]\n", None),
    ],
)
def test_known_size(source: str, size: int | None) -> None:
    assert _size_of_last(source) == size


def test_a_method_does_not_see_the_class_names() -> None:
    source = "import numpy as np\nclass C:\n    n = 3\n    def f(self):\n        probe = np.arange(n)\n"
    assert _size_of_last(source) is None


def test_slower_below_uses_break_even_then_the_slower_sizes() -> None:
    assert slower_below(Speedup(1.0, 2.0, "n", "bench", ((10, 1.06), (1000, 47.9)), break_even=16)) == 16
    assert slower_below(Speedup(0.5, 2.0, "n", "bench", ((10, 0.5), (100, 0.9), (1000, 2.0)))) == 101
    assert slower_below(Speedup(1.1, 2.0, "n", "bench", ((10, 1.1), (1000, 2.0)))) is None
    assert slower_below(None) is None


def _codes(source: str) -> list[tuple[int, str]]:
    report = analyze_text(source, "fixture.py", rules=RULES)
    assert report.rule_errors == (), report.rule_errors
    return [(f.span.start.line, f.code) for f in report.findings]


SMALL_FIXED = """
import numpy as np


def oob():
    y = np.array([3, 7, 5, 9, 8, 7, 10])
    x = np.arange(len(y))
    return [min(x) - 10, max(x) + 10]


def total():
    a = np.arange(8)
    return sum(a)


def mean():
    a = np.linspace(0, 1, 5)
    return sum(a) / len(a)


def loop():
    a = np.ones(12)
    t = 0.0
    for x in a:
        t += x
    return t


def matmul(A: np.ndarray, B: np.ndarray, C: np.ndarray):
    for i in range(3):
        for j in range(3):
            for k in range(3):
                C[i][j] += A[i][k] * B[k][j]
"""


def test_fixed_sizes_below_break_even_are_not_reported() -> None:
    assert _codes(SMALL_FIXED) == []


GROWING = """
import numpy as np


def oob(x: np.ndarray):
    return [min(x) - 10, max(x) + 10]


def total(n):
    a = np.arange(n)
    return sum(a)


def loop(k):
    a = np.ones(k * 12)
    t = 0.0
    for x in a:
        t += x
    return t


def matmul(A: np.ndarray, B: np.ndarray, C: np.ndarray, n: int):
    for i in range(n):
        for j in range(n):
            for k in range(n):
                C[i][j] += A[i][k] * B[k][j]
"""


def test_sizes_the_code_does_not_fix_are_still_reported() -> None:
    assert _codes(GROWING) == [(6, "VEC004"), (6, "VEC004"), (11, "VEC004"), (18, "VEC004"), (23, "VEC007")]


def test_a_small_fixed_size_above_break_even_is_low_confidence() -> None:
    # 300 elements: NumPy's method wins at that size, but a small size set in the code does not grow.
    source = "import numpy as np\ndef f():\n    z = np.zeros(300)\n    return sum(z)\n"
    assert _codes(source) == []
    (finding,) = analyze_text(source, "fixture.py", Config(confidence=Confidence.LOW), rules=RULES).findings
    assert finding.code == "VEC004" and finding.confidence is Confidence.LOW
    assert finding.evidence == "a fixed size: 300 elements, set in the code; it does not grow"


def test_a_large_fixed_size_is_medium_and_once_at_import_is_low() -> None:
    # 80,000 elements on every call: it does not grow, but the gain is real.
    source = "import numpy as np\ndef f():\n    z = np.zeros(80_000)\n    return sum(z)\n"
    (finding,) = analyze_text(source, "fixture.py", rules=RULES).findings
    assert finding.confidence is Confidence.MEDIUM and "80,000 elements" in (finding.evidence or "")
    once = "import numpy as np\nz = np.zeros(80_000)\ntotal = sum(z)\n"
    assert _codes(once) == []
    (low,) = analyze_text(once, "fixture.py", Config(confidence=Confidence.LOW), rules=RULES).findings
    assert low.confidence is Confidence.LOW and "import" in (low.evidence or "")


EVIDENCE = """
import numpy as np

N = 100


def from_parameter(a: np.ndarray):
    return max(a)


def numba_loop(c: np.ndarray):
    count = 0
    for i in range(len(c)):
        if c[i] > 3:
            count += 1
    return count


def numba_fixed():
    n = 10
    c = np.hstack([[i + 1] * n for i in range(n)])
    count = 0
    for i in range(len(c)):
        if c[i] > 3:
            count += 1
    return count


def module_constant():
    return sum(np.ones(N))


values = np.zeros(int(input()))
peak = max(values)
"""


def test_every_vec_finding_carries_evidence() -> None:
    report = analyze_text(EVIDENCE, "fixture.py", Config(confidence=Confidence.LOW), rules=RULES)
    by_line = {(f.span.start.line, f.code): f for f in report.findings}
    assert all(f.evidence for f in report.findings)
    assert by_line[(8, "VEC004")].confidence is Confidence.HIGH
    assert "parameter `a`" in (by_line[(8, "VEC004")].evidence or "")
    assert by_line[(13, "VEC008")].confidence is Confidence.HIGH
    # The brute-force reference loop over 10 x 10 fixed labels: no scale.
    assert by_line[(23, "VEC008")].confidence is Confidence.LOW
    assert by_line[(30, "VEC004")].confidence is Confidence.LOW
    # At import: runs once, whatever its size.
    assert by_line[(34, "VEC004")].confidence is Confidence.LOW
    assert "import" in (by_line[(34, "VEC004")].evidence or "")
    assert _codes(EVIDENCE) == [(8, "VEC004"), (13, "VEC008")]
