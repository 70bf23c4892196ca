from __future__ import annotations

import ast

from perfsquad.analyzers.vectorize._common import (
    UNKNOWN,
    element_kind,
    is_builtin,
    numeric_type,
    range_len_of,
    report,
)
from perfsquad.analyzers.vectorize.all_pairs_similarity import ReadsModuleVectors
from perfsquad.context import Context
from perfsquad.rule import Invalid, Rule
from perfsquad.syntax import walk

_STATEMENTS = (ast.Assign, ast.AugAssign, ast.If, ast.Break, ast.Continue, ast.Pass, ast.For, ast.While, ast.Expr)
_EXPRESSIONS = (
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Name, ast.Constant, ast.Subscript, ast.Call,
    ast.IfExp, ast.Tuple,
)  # fmt: skip
_BUILTINS = ("abs", "min", "max", "len", "range", "float", "int")


def _nopython(ctx: Context, loop: ast.For) -> bool:
    """Only what numba's nopython mode compiles: numbers, indexing, arithmetic, math, a few builtins."""
    for node in walk(loop):
        if isinstance(node, ast.stmt):
            if not isinstance(node, _STATEMENTS):
                return False
            if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant):
                return False  # a bare call: side effects numba cannot compile (print, append...)
        elif isinstance(node, ast.Call):
            qn = ctx.qualified_name(node.func) or ""
            if node.keywords or not (qn.startswith("math.") or any(is_builtin(ctx, node.func, b) for b in _BUILTINS)):
                return False
        elif isinstance(node, ast.Attribute):
            if not (ctx.qualified_name(node) or "").startswith("math."):
                return False
        elif isinstance(node, ast.expr) and not isinstance(node, (*_EXPRESSIONS, ast.Attribute)):
            return False
        elif isinstance(node, ast.Constant) and not isinstance(node.value, int | float | bool | type(None)):
            return False
    return True


class NumbaCandidate(ReadsModuleVectors, Rule):
    """
    ## What it does
    Flags a numeric loop whose control flow depends on the data (an `if`, `break` or `continue`
    inside the loop, state carried from one iteration to the next) over a NumPy array or a list of
    numbers, using only what numba's nopython mode compiles: numbers, indexing, arithmetic,
    comparisons, `math` functions and `abs`/`min`/`max`/`len`/`range`. Such loops have no array
    expression equivalent (think state machines, early exits, running thresholds).

    Sizes: nothing is reported when the code fixes the data's size (a literal, `range`,
    `np.arange` or `np.linspace` of constants, `np.zeros(<const>)`, a name bound only to one)
    below the calibrated break-even, where the rewrite was measured slower (NumPy's per-call
    overhead loses on a handful of elements). A small fixed size above it (under 1,000 elements),
    or code that runs once (at import, behind a lazy initialiser), is low confidence (shown with
    `--confidence low`): it does not grow. A large fixed size is medium (it costs as much on
    every call); data from a parameter is high; from a call of unknown size, medium.
    For example a brute-force reference loop over `np.hstack([[i + 1] * n for i in range(n)])`
    with `n = 10` is low confidence: 100 fixed elements, nothing that grows.

    ## Why is this bad?
    Each iteration runs through the interpreter with boxed numbers. Compiled with `numba.njit`, the
    same loop runs as machine code on the raw array, usually 50-300x faster, without restructuring
    the algorithm the way vectorizing would require.

    ## Example
    ```python
    def crossings(xs: np.ndarray, lo: float, hi: float) -> int:
        state = count = 0
        for x in xs:
            if state == 0 and x > hi:
                state, count = 1, count + 1
            elif state == 1 and x < lo:
                state = 0
        return count
    ```

    ## Use instead
    ```python
    import numba

    @numba.njit(cache=True)
    def crossings(xs: np.ndarray, lo: float, hi: float) -> int:
        ...  # unchanged
    ```

    ## Fix safety
    No automatic fix (display-only advice): numba is a new dependency, compiles on first call
    (hundreds of milliseconds, amortized by `cache=True`), types are inferred from the first call,
    integers become fixed-width (int64 overflow wraps), lists should be passed as arrays, and
    anything outside its supported subset fails at compile time. Decide and test by hand.

    ## Speedup
    The expected gain shown on each finding is measured by `bench/vectorize.py` (when numba is
    installed): a hysteresis state machine in plain Python on a list against the same function
    under `numba.njit` on an array, compilation excluded.

    ## References
    - [Numba: a 5 minute guide](https://numba.readthedocs.io/en/stable/user/5minguide.html)
    - [Numba: supported Python features](https://numba.readthedocs.io/en/stable/reference/pysupported.html)
    """

    code = "VEC008"
    name = "numba-candidate-loop"
    message = "Numeric loop with data-dependent branches: NumPy can't vectorize it; try numba"
    node_types = (ast.For,)
    effort_minutes = 15
    valid = (
        # Not numeric.
        "def f(words: list[str]):\n    n = 0\n    for w in words:\n        if w == 'a':\n            n += 1\n    return n\n",
        "def f(xs):\n    n = 0\n    for x in xs:\n        if x > 0:\n            n += 1\n    return n\n",
        # No control flow: the other VEC rules' business.
        "def f(xs: list[float]):\n    t = 0.0\n    for x in xs:\n        t += x\n    return t\n",
        # Calls numba cannot compile.
        "def f(xs: list[float]):\n    out = []\n    for x in xs:\n        if x > 0:\n            out.append(x)\n    return out\n",
        "def f(xs: list[float]):\n    for x in xs:\n        if x > 0:\n            print(x)\n",
        # 100 elements fixed by the code: low confidence, not reported by default.
        "import numpy as np\ndef f():\n    n = 10\n    c = np.hstack([[i + 1] * n for i in range(n)])\n    k = 0\n"
        "    for i in range(len(c)):\n        if c[i] > 3:\n            k += 1\n    return k\n",
    )
    invalid = (
        Invalid(
            "import numpy as np\ndef crossings(xs: np.ndarray, lo: float, hi: float) -> int:\n"
            "    state = 0\n    count = 0\n    for x in xs:\n        if state == 0 and x > hi:\n"
            "            state = 1\n            count += 1\n        elif state == 1 and x < lo:\n"
            "            state = 0\n    return count\n"
        ),
        Invalid(
            "import math\ndef first_peak(a: list[float], limit: float) -> int:\n    for i in range(len(a)):\n"
            "        if math.fabs(a[i]) > limit:\n            break\n    return -1\n"
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        if ctx.function_of(node) is None or any(isinstance(anc, ast.For | ast.While) for anc in ctx.loops_around(node)):
            return
        sequence = range_len_of(ctx, node.iter) or node.iter
        if not isinstance(sequence, ast.Name):
            return
        # The syntactic conditions first: most loops call a method or touch an attribute, and the
        # numeric types of a scope cost an inference over the whole function.
        branching = any(isinstance(n, ast.If | ast.Break | ast.Continue | ast.While) for n in walk(node))
        if not branching or not _nopython(ctx, node):
            return
        if element_kind(numeric_type(ctx, sequence)) == UNKNOWN:
            return
        report(ctx, self, ctx.header_span(node), operands=(sequence,), loop=node)
