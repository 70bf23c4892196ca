from __future__ import annotations

import ast

from perfsquad.analyzers.vectorize._common import (
    INT_OVERFLOW,
    ON_LISTS,
    cst_call,
    cst_expr,
    dot_operands,
    numpy_name,
    operand_kinds,
    replace_expression,
    report,
    unsafe_title,
)
from perfsquad.analyzers.vectorize.all_pairs_similarity import ReadsModuleVectors
from perfsquad.analyzers.vectorize.dot_product_loop import is_sqrt
from perfsquad.context import Context
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


class NormLoop(ReadsModuleVectors, Rule):
    """
    ## What it does
    Flags a Euclidean norm computed element by element in Python: `math.sqrt(sum(x * x for x in a))`
    (also `x ** 2`, or `sum(...) ** 0.5`), when `a` is known to be a NumPy array or a list of
    numbers. The two norms of a pure-Python cosine similarity are the usual place.

    Sizes: nothing is reported when the code fixes the data's size (a literal, `range`,
    `np.arange` or `np.linspace` of constants, `np.zeros(<const>)`, a name bound only to one)
    below the calibrated break-even, where the rewrite was measured slower (NumPy's per-call
    overhead loses on a handful of elements). A small fixed size above it (under 1,000 elements),
    or code that runs once (at import, behind a lazy initialiser), is low confidence (shown with
    `--confidence low`): it does not grow. A large fixed size is medium (it costs as much on
    every call); data from a parameter is high; from a call of unknown size, medium.

    ## Why is this bad?
    Each element costs an interpreted iteration and a boxed multiply; `numpy.linalg.norm` does
    the whole reduction in C (one BLAS dot product for a 1-D float vector).

    ## Example
    ```python
    def length(v: np.ndarray) -> float:
        return math.sqrt(sum(x * x for x in v))
    ```

    ## Use instead
    ```python
    def length(v: np.ndarray) -> float:
        return np.linalg.norm(v)
    ```
    On a list of floats there is no NumPy fix (converting per call is slower than the loop, as
    `bench/vectorize.py` measures); `math.hypot(*v)` is the fast standard-library spelling there.

    ## Fix safety
    Always unsafe. The float summation order differs (the last digits can change), and
    `numpy.linalg.norm` does not overflow to `inf` for huge elements where squaring them in Python
    does (it returns the finite norm). Offered only on known NumPy arrays: lists of `int` never get
    a fix (Python ints never overflow; int64 wraps around), lists of floats neither (slower). The
    result is a NumPy float, as the loop's was on an array. An empty input gives `0.0` either way.
    `import numpy as np` is added if needed.

    ## Speedup
    Measured by `bench/vectorize.py` on float arrays (`n` = vector length).

    ## References
    - [`numpy.linalg.norm`](https://numpy.org/doc/stable/reference/generated/numpy.linalg.norm.html)
    - [`math.hypot` (n-dimensional since 3.8)](https://docs.python.org/3/library/math.html#math.hypot)
    """

    code = "VEC002"
    name = "norm-loop"
    message = "Vector norm computed element by element in Python; use numpy.linalg.norm"
    fix_title = "Replace with numpy.linalg.norm"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.Call, ast.BinOp)
    call_names = frozenset({"sqrt"})
    effort_minutes = 2
    bench = Bench(
        setup="import math\nimport numpy as np\na = np.arange(n) % 3.0",
        before="result = math.sqrt(sum(x * x for x in a))",
        after="result = np.linalg.norm(a)",
        scales_with="n = vector length",
    )
    valid = (
        "import math\ndef f(a):\n    return math.sqrt(sum(x * x for x in a))\n",
        "import math\ndef f(a: list[str]):\n    return math.sqrt(sum(x * x for x in a))\n",
        "import math\ndef f(a: list[float], b: list[float]):\n    return math.sqrt(sum(x * y for x, y in zip(a, b)))\n",
        "import math\ndef f(a: list[float]):\n    return math.sqrt(sum(x * 3 for x in a))\n",
        "def f(a: list[float]):\n    return sum(x * x for x in a) ** 2\n",
        "from mymath import sqrt\ndef f(a: list[float]):\n    return sqrt(sum(x * x for x in a))\n",
    )
    invalid = (
        Invalid(
            "import math\nfrom numpy import ndarray\n\n\ndef norm(a: 'ndarray') -> float:\n"
            "    return math.sqrt(sum(x * x for x in a))\n",
            fixed="import math\nfrom numpy import ndarray\nimport numpy as np\n\n\ndef norm(a: 'ndarray') -> float:\n"
            "    return np.linalg.norm(a)\n",
            safety=FixSafety.UNSAFE,
        ),
        # A list of floats: flagged, no fix (converting per call is slower than the loop).
        Invalid("import math\ndef norm(a: list[float]) -> float:\n    return math.sqrt(sum(x * x for x in a))\n"),
        Invalid(
            "import numpy as np\ndef f(v: np.ndarray):\n    return sum(x ** 2 for x in v) ** 0.5\n",
            fixed="import numpy as np\ndef f(v: np.ndarray):\n    return np.linalg.norm(v)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid("import math\ndef f(a: list[int]):\n    return math.sqrt(sum(x * x for x in a))\n"),
    )

    def check(self, node: ast.Call | ast.BinOp, ctx: Context) -> None:
        if isinstance(node, ast.Call):
            if not is_sqrt(ctx, node) or len(node.args) != 1 or node.keywords:
                return
            inner = node.args[0]
        else:
            half = node.right
            if not (isinstance(node.op, ast.Pow) and isinstance(half, ast.Constant) and half.value == 0.5):
                return
            inner = node.left
        if not isinstance(inner, ast.Call):
            return
        operands = dot_operands(ctx, inner)
        if operands is None or operands[0] is not operands[1]:
            return
        vector = operands[0]
        kinds = operand_kinds(ctx, vector)
        if kinds is None:
            return
        if kinds != ["numpy"]:
            report(ctx, self, node, notes=(INT_OVERFLOW if "int" in kinds else ON_LISTS,), on_lists=True, operands=(vector,))
            return

        def fix() -> Fix | None:
            spelled = numpy_name(ctx)
            if spelled is None:
                return None
            np, import_edit = spelled
            new = cst_call(f"{np}.linalg.norm", cst_expr(ctx, vector))
            reasons = ["float summation order changes", "no overflow to inf for huge elements"]
            return replace_expression(ctx, node, new, unsafe_title(self.fix_title or "", reasons), import_edit)

        report(ctx, self, node, fix=fix, operands=(vector,))
