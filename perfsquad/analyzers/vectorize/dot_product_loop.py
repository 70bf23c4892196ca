from __future__ import annotations

import ast

from perfsquad.analyzers.vectorize._common import (
    INT_OVERFLOW,
    ON_LISTS,
    cst_call,
    cst_expr,
    dot_operands,
    is_pure,
    numpy_name,
    operand_kinds,
    replace_expression,
    report,
    unsafe_title,
)
from perfsquad.analyzers.vectorize.all_pairs_similarity import ReadsModuleVectors
from perfsquad.context import Context
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


def is_sqrt(ctx: Context, node: ast.AST | None) -> bool:
    return isinstance(node, ast.Call) and ctx.qualified_name(node.func) in ("math.sqrt", "numpy.sqrt")


class DotProductLoop(ReadsModuleVectors, Rule):
    """
    ## What it does
    Flags a dot product (or a sum of squares) computed element by element in Python:
    `sum(x * y for x, y in zip(a, b))`, `sum(x * x for x in a)`, `sum(a[i] * b[i] for i in range(len(a)))`,
    (also with `zip(a, b, strict=...)`), when `a` and `b` are known to be NumPy arrays or lists of
    numbers: from NumPy constructors, numeric literals, annotations in any spelling (`list[float]`,
    `List[float]`, `Sequence[float]`, `Optional[list[float]]`, `list[float] | None`,
    `np.ndarray`, `npt.NDArray[np.float64]`, `list[np.float32]`), or their use: unannotated
    parameters compared by a dot product (or a squared distance) whose value reaches `math.sqrt`,
    `math.exp` or `math.log`, or is divided by such a value (the cosine helper's
    `dot / (math.sqrt(...) * math.sqrt(...))`). A dot product alone is no evidence (symbolic
    algebra multiplies and sums objects). Strings, dicts and objects are never flagged. A sum of
    squares under `math.sqrt` is a norm: VEC002 flags it.

    Sizes: nothing is reported when the code fixes the data's size (a literal, `range`,
    `np.arange` or `np.linspace` of constants, `np.zeros(<const>)`, a name bound only to one)
    below the calibrated break-even, where the rewrite was measured slower (NumPy's per-call
    overhead loses on a handful of elements). A small fixed size above it (under 1,000 elements),
    or code that runs once (at import, behind a lazy initialiser), is low confidence (shown with
    `--confidence low`): it does not grow. A large fixed size is medium (it costs as much on
    every call); data from a parameter is high; from a call of unknown size, medium.

    ## Why is this bad?
    The generator runs one interpreted iteration, a tuple unpack and two float boxings per element.
    `numpy.dot` runs the same multiply-adds in one BLAS call, and on arrays never boxes a float.
    This is the inner loop of every pure-Python cosine similarity.

    ## Example
    ```python
    def score(a: np.ndarray, b: np.ndarray) -> float:
        return sum(x * y for x, y in zip(a, b))
    ```

    ## Use instead
    ```python
    def score(a: np.ndarray, b: np.ndarray) -> float:
        return np.dot(a, b)
    ```
    On lists of floats the finding has no fix: `np.dot(list, list)` converts both lists on every
    call, which `bench/vectorize.py` measures slower than the generator at every size. Convert the
    vectors to arrays once, where they are created, or vectorize the caller (VEC006).

    ## Fix safety
    Always unsafe; offered only when both operands are known NumPy arrays. Float sums can differ
    in the last digits (BLAS/pairwise summation against left-to-right addition). `zip` stops at the
    shorter input where `np.dot` raises on unequal lengths. For 2-D arrays `np.dot` is a matrix
    product where the generator summed rows. An empty input gives `0.0` instead of the int `0`
    (equal, but a float). Integer arrays overflow alike in both (int64). Lists of `int` never get a
    fix (Python ints never overflow, int64 wraps around); lists of floats neither (slower, see
    above). `import numpy as np` is added if needed.

    ## Speedup
    Measured by `bench/vectorize.py` on float arrays (`n` = vector length).

    ## References
    - [`numpy.dot`](https://numpy.org/doc/stable/reference/generated/numpy.dot.html)
    - [NumPy: broadcasting and vectorization](https://numpy.org/doc/stable/user/basics.broadcasting.html)
    """

    code = "VEC001"
    name = "dot-product-loop"
    message = "Dot product computed element by element in Python; use numpy.dot"
    fix_title = "Replace with numpy.dot"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.Call,)
    call_names = frozenset({"sum"})
    effort_minutes = 3
    bench = Bench(
        setup="import numpy as np\na = np.arange(n) % 7.0\nb = np.arange(n) % 5.0",
        before="result = sum(x * y for x, y in zip(a, b))",
        after="result = np.dot(a, b)",
        scales_with="n = vector length",
    )
    valid = (
        # Strings, dicts, unknown objects: never NumPy.
        "def f(a: list[str], b: list[str]):\n    return sum(x * y for x, y in zip(a, b))\n",
        "def f(a, b):\n    return sum(x * y for x, y in zip(a, b))\n",
        "def f(d: dict, e: dict):\n    return sum(x * y for x, y in zip(d, e))\n",
        # A filter, a third iterable, or a different expression: not a dot product.
        "def f(a: list[float], b: list[float]):\n    return sum(x * y for x, y in zip(a, b) if x > 0)\n",
        "def f(a: list[float], b: list[float]):\n    return sum(x + y for x, y in zip(a, b))\n",
        "def f(a: list[float]):\n    return sum(x * 2 for x in a)\n",
        # A shadowed sum is not the builtin.
        "from mylib import sum\ndef f(a: list[float], b: list[float]):\n    return sum(x * y for x, y in zip(a, b))\n",
        # A norm (sqrt of a sum of squares) is VEC002's.
        "import math\ndef f(a: list[float]):\n    return math.sqrt(sum(x * x for x in a))\n",
        # A name rebound to something else is not known numeric.
        "def f(a: list[float], b: list[float]):\n    a = load()\n    return sum(x * y for x, y in zip(a, b))\n",
    )
    invalid = (
        Invalid(
            "import numpy as np\ndef f(a: np.ndarray, b: np.ndarray) -> float:\n    return sum(x * y for x, y in zip(a, b))\n",
            fixed="import numpy as np\ndef f(a: np.ndarray, b: np.ndarray) -> float:\n    return np.dot(a, b)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "from numpy.typing import NDArray\ndef f(a: NDArray, b: NDArray) -> float:\n"
            "    return sum(x * y for x, y in zip(a, b))\n",
            fixed="from numpy.typing import NDArray\nimport numpy as np\ndef f(a: NDArray, b: NDArray) -> float:\n"
            "    return np.dot(a, b)\n",
            safety=FixSafety.UNSAFE,
        ),
        # Lists of floats: flagged (hold them as arrays), no fix: converting per call is slower.
        Invalid("def f(a: list[float], b: list[float]) -> float:\n    return sum(x * y for x, y in zip(a, b))\n"),
        Invalid(
            "import numpy as np\n\ndef f(n):\n    a = np.ones(n)\n    b = np.arange(n)\n"
            "    return sum(a[i] * b[i] for i in range(len(a)))\n",
            fixed="import numpy as np\n\ndef f(n):\n    a = np.ones(n)\n    b = np.arange(n)\n"
            "    return np.dot(a, b)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            '"""Energy."""\nimport numpy\n\ndef energy(xs: "numpy.ndarray"):\n'
            "    # squares\n    return sum(x ** 2 for x in xs)  # total\n",
            fixed='"""Energy."""\nimport numpy\n\ndef energy(xs: "numpy.ndarray"):\n'
            "    # squares\n    return numpy.dot(xs, xs)  # total\n",
            safety=FixSafety.UNSAFE,
        ),
        # Numeric from use: a cosine helper over two unannotated lists (zip with strict=, math.sqrt norms).
        Invalid(
            "import math\ndef cos(u, v):\n    d = sum(x * y for x, y in zip(u, v, strict=False))\n"
            "    return d / (math.sqrt(sum(x * x for x in u)) * math.sqrt(sum(y * y for y in v)))\n"
        ),
        Invalid(
            "from typing import Optional\ndef f(a: Optional[list[float]], b: 'list[float] | None'):\n"
            "    return sum(x * y for x, y in zip(a, b))\n"
        ),
        # Python ints: flagged, but the fix is withheld (int64 overflow).
        Invalid("def f(a: list[int], b: list[int]):\n    return sum(x * y for x, y in zip(a, b))\n"),
    )

    def check(self, node: ast.Call, ctx: Context) -> None:
        operands = dot_operands(ctx, node)
        if operands is None:
            return
        a, b = operands
        if a is b and is_sqrt(ctx, ctx.parent(node)):
            return
        kinds = operand_kinds(ctx, a, b)
        if kinds is None:
            return
        if kinds != ["numpy", "numpy"]:
            report(ctx, self, node, notes=(INT_OVERFLOW if "int" in kinds else ON_LISTS,), on_lists=True, operands=(a, b))
            return

        def fix() -> Fix | None:
            spelled = numpy_name(ctx)
            if spelled is None:
                return None
            np, import_edit = spelled
            new = cst_call(f"{np}.dot", cst_expr(ctx, a), cst_expr(ctx, b))
            reasons = ["float summation order changes", "unequal lengths raise instead of truncating"]
            if a is b and not is_pure(a):
                return None  # the rewrite would evaluate it twice
            return replace_expression(ctx, node, new, unsafe_title(self.fix_title or "", reasons), import_edit)

        report(ctx, self, node, fix=fix, operands=(a, b))
