from __future__ import annotations

import ast

from perfsquad.analyzers.vectorize._common import (
    NDARRAY,
    ON_LISTS,
    UNKNOWN,
    ElementwiseExpr,
    element_kind,
    numeric_type,
    numpy_name,
    range_len_of,
    replace_block,
    report,
    unsafe_title,
)
from perfsquad.analyzers.vectorize.all_pairs_similarity import ReadsModuleVectors
from perfsquad.context import Context
from perfsquad.fixes.cst import cst
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


class ElementwiseLoop(ReadsModuleVectors, Rule):
    """
    ## What it does
    Flags a loop that computes an array element by element, `out[i] = a[i] * b[i] + c`, over
    `range(len(...))`, when the arrays are known to be numeric (NumPy arrays, or lists of numbers
    from annotations and literals). The right-hand side may use `+ - * / **`, unary minus,
    loop-invariant scalars and one-argument `math` functions (which become NumPy ufuncs).

    Sizes: nothing is reported when the code fixes the data's size (a literal, `range`,
    `np.arange` or `np.linspace` of constants, `np.zeros(<const>)`, a name bound only to one)
    below the calibrated break-even, where the rewrite was measured slower (NumPy's per-call
    overhead loses on a handful of elements). A small fixed size above it (under 1,000 elements),
    or code that runs once (at import, behind a lazy initialiser), is low confidence (shown with
    `--confidence low`): it does not grow. A large fixed size is medium (it costs as much on
    every call); data from a parameter is high; from a call of unknown size, medium.

    ## Why is this bad?
    Every element costs an interpreted iteration, two or three indexings (each boxing a NumPy
    scalar when the data are arrays) and a store. The array expression does the same arithmetic
    in one pass of compiled code per operator.

    ## Example
    ```python
    out = np.empty(len(a))
    for i in range(len(a)):
        out[i] = a[i] * b[i] + c
    ```

    ## Use instead
    ```python
    out = np.empty(len(a))
    out[:] = a * b + c
    ```

    ## Fix safety
    Always unsafe; offered when the target and every indexed sequence are NumPy arrays (`out[:] =`
    keeps `out`'s identity and dtype, as the element stores did). It assumes equal lengths: the
    loop over `range(len(x))` would stop early or raise `IndexError` where broadcasting raises
    `ValueError` or repeats a length-1 array. `math` functions raise on domain errors
    (`math.sqrt(-1)`) where NumPy returns `nan` with a warning, and may differ in the last bit.
    If `out` is also read on the right at another index (a recurrence), the rule does not flag.
    On lists there is no fix (converting per loop is slower than the loop at small sizes; hold the
    data as arrays). `import numpy as np` is added if needed.

    ## Speedup
    Measured by `bench/vectorize.py` (`n` = elements, float arrays; `out[i] = a[i] * b[i] + 1.0`).

    ## References
    - [NumPy: universal functions](https://numpy.org/doc/stable/reference/ufuncs.html)
    - [NumPy: broadcasting](https://numpy.org/doc/stable/user/basics.broadcasting.html)
    """

    code = "VEC003"
    name = "elementwise-loop"
    message = "Array computed element by element in a Python loop; use an array expression"
    fix_title = "Replace the loop with an array expression"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.For,)
    effort_minutes = 5
    bench = Bench(
        setup="import numpy as np\na = np.arange(n) % 7.0\nb = np.arange(n) % 5.0\nout = np.zeros(n)",
        before="for i in range(len(a)):\n    out[i] = a[i] * b[i] + 1.0\nresult = out.tolist()",
        after="out[:] = a * b + 1.0\nresult = out.tolist()",
        scales_with="n = elements",
    )
    valid = (
        # Strings and unknown sequences are never arrays.
        "def f(a: list[str], out: list[str]):\n    for i in range(len(a)):\n        out[i] = a[i] * 2\n",
        "def f(a, b, out):\n    for i in range(len(a)):\n        out[i] = a[i] * b[i]\n",
        # A recurrence reads another element: not element-wise.
        "import numpy as np\ndef f(n):\n    a = np.zeros(n)\n    for i in range(len(a)):\n        a[i] = a[i - 1] + 1\n",
        # A call that is not a math ufunc.
        "import numpy as np\ndef f(n):\n    a = np.zeros(n)\n    out = np.zeros(n)\n"
        "    for i in range(len(a)):\n        out[i] = g(a[i])\n",
        # More than one statement in the body.
        "import numpy as np\ndef f(n):\n    a = np.zeros(n)\n    out = np.zeros(n)\n"
        "    for i in range(len(a)):\n        out[i] = a[i]\n        print(i)\n",
    )
    invalid = (
        Invalid(
            "import math\nimport numpy as np\n\ndef f(a: np.ndarray, b: np.ndarray, c: float):\n"
            "    out = np.empty(len(a))\n    for i in range(len(a)):\n"
            "        out[i] = math.sqrt(a[i] * b[i]) + c  # keep\n    return out\n",
            fixed="import math\nimport numpy as np\n\ndef f(a: np.ndarray, b: np.ndarray, c: float):\n"
            "    out = np.empty(len(a))\n    out[:] = np.sqrt(a * b) + c  # keep\n    return out\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "from numpy import zeros\n\ndef f(n):\n    x = zeros(n)\n    y = zeros(n)\n"
            "    for k in range(len(y)):\n        y[k] = -(x[k] ** 2) / 3\n    return y\n",
            fixed="from numpy import zeros\nimport numpy as np\n\ndef f(n):\n    x = zeros(n)\n    y = zeros(n)\n"
            "    y[:] = -(x ** 2) / 3\n    return y\n",
            safety=FixSafety.UNSAFE,
        ),
        # Lists of floats: flagged without a fix.
        Invalid(
            "def f(a: list[float], b: list[float]):\n    out = [0.0] * len(a)\n"
            "    for i in range(len(a)):\n        out[i] = a[i] * b[i]\n    return out\n"
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        if node.orelse or len(node.body) != 1 or not isinstance(node.target, ast.Name):
            return
        measured = range_len_of(ctx, node.iter)
        stmt = node.body[0]
        if measured is None or not isinstance(stmt, ast.Assign) or len(stmt.targets) != 1:
            return
        target = stmt.targets[0]
        index = node.target.id
        if not (
            isinstance(target, ast.Subscript)
            and isinstance(target.slice, ast.Name)
            and target.slice.id == index
            and isinstance(target.value, ast.Name)
        ):
            return
        out = target.value
        out_kind = element_kind(numeric_type(ctx, out))
        if out_kind == UNKNOWN:
            return
        expr = ElementwiseExpr(ctx, index, None)
        if not expr.check(stmt.value) or not expr.arrays:
            return
        if ctx.text(measured) not in {ctx.text(out), *(ctx.text(a) for a in expr.arrays)}:
            return
        if out_kind != "numpy" or expr.kinds != {"numpy"} or numeric_type(ctx, out) != NDARRAY:
            report(ctx, self, ctx.header_span(node), notes=(ON_LISTS,), on_lists=True, operands=(measured,), loop=node)
            return

        def fix() -> Fix | None:
            spelled = numpy_name(ctx)
            if spelled is None:
                return None
            np, import_edit = spelled
            value = expr.rewrite(stmt.value, np)
            whole = cst.Subscript(
                value=cst.Name(out.id), slice=[cst.SubscriptElement(slice=cst.Slice(lower=None, upper=None))]
            )
            assign = cst.Assign(targets=[cst.AssignTarget(target=whole)], value=value)
            reasons = ["assumes equal lengths", "math domain errors become nan"]
            return replace_block(ctx, node, node, [assign], unsafe_title(self.fix_title or "", reasons), import_edit)

        report(ctx, self, ctx.header_span(node), fix=fix, operands=(measured,), loop=node)
