from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import match_accumulator
from perfsquad.analyzers.vectorize._common import (
    NDARRAY,
    cst_expr,
    cst_method,
    is_builtin,
    is_pure,
    names_in,
    numeric_type,
    numpy_name,
    range_len_of,
    replace_block,
    replace_expression,
    report,
    unsafe_title,
)
from perfsquad.analyzers.vectorize.all_pairs_similarity import ReadsModuleVectors
from perfsquad.context import Context
from perfsquad.fixes.cst import cst
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


def _axis() -> cst.Arg:
    return cst.Arg(
        value=cst.Integer("0"),
        keyword=cst.Name("axis"),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )


def _reduce(array: cst.BaseExpression, method: str) -> cst.Call:
    call = cst_method(array, method)
    return call.with_changes(args=[_axis()])


class ArrayReductionLoop(ReadsModuleVectors, Rule):
    """
    ## What it does
    Flags a reduction over a NumPy array done by the Python interpreter: an accumulation loop
    (`total = 0` then `for x in arr: total += x`, or `total += arr[i]` over `range(len(arr))`), or the
    builtins `sum(arr)`, `min(arr)`, `max(arr)` and `sum(arr) / len(arr)` on an array.

    Sizes: nothing is reported when the code fixes the data's size (a literal, `range`,
    `np.arange` or `np.linspace` of constants, `np.zeros(<const>)`, a name bound only to one)
    below the calibrated break-even, where the rewrite was measured slower (NumPy's per-call
    overhead loses on a handful of elements). A small fixed size above it (under 1,000 elements),
    or code that runs once (at import, behind a lazy initialiser), is low confidence (shown with
    `--confidence low`): it does not grow. A large fixed size is medium (it costs as much on
    every call); data from a parameter is high; from a call of unknown size, medium.
    For example `min(x)` with `x = np.arange(len(y))` and `y` a literal of 7 numbers is not
    reported: 7 elements, below the n ≈ 16 where the array's method starts to win.

    ## Why is this bad?
    Iterating an array from Python boxes every element into a NumPy scalar object, which is even
    slower than iterating a list. The array's own `.sum()`, `.min()`, `.max()` and `.mean()` run in C
    over the raw buffer.

    ## Example
    ```python
    total = 0.0
    for x in samples:        # samples = np.loadtxt(...)
        total += x
    peak = max(samples)
    ```

    ## Use instead
    ```python
    total = 0.0 + samples.sum(axis=0)
    peak = samples.max(axis=0)
    ```
    `axis=0` reduces exactly what iteration would (the rows of a 2-D array); on a 1-D array it is
    the same as `.sum()`.

    ## Fix safety
    Always unsafe. Float totals can differ in the last digits (NumPy sums pairwise). With NaNs,
    `max()`/`min()` depend on element order where NumPy propagates `nan`. `sum(a) / len(a)` on an
    empty array raises `ZeroDivisionError` where `.mean()` returns `nan` with a warning. Integer
    arrays overflow alike (int64 both ways). A start value other than `0` is kept: `start + a.sum(axis=0)`.
    Only arrays are flagged: on lists the builtins are already the fast way (IDM005 covers `sum`).

    ## Speedup
    Measured by `bench/vectorize.py` (`n` = elements of a float array; the loop against `.sum(axis=0)`).

    ## References
    - [`numpy.ndarray.sum`](https://numpy.org/doc/stable/reference/generated/numpy.ndarray.sum.html)
    - [`numpy.mean`](https://numpy.org/doc/stable/reference/generated/numpy.mean.html)
    """

    code = "VEC004"
    name = "array-reduction-loop"
    message = "Reduction over a NumPy array done in Python; use the array's own method"
    fix_title = "Use the array's reduction method"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.For, ast.Call, ast.BinOp)
    call_names = frozenset({"sum", "min", "max"})
    effort_minutes = 2
    bench = Bench(
        setup="import numpy as np\na = np.arange(n) % 7.0",
        before="result = 0.0\nfor x in a:\n    result += x",
        after="result = 0.0 + a.sum(axis=0)",
        scales_with="n = elements",
    )
    valid = (
        # Lists: the builtins are already right.
        "def f(xs: list[float]):\n    return sum(xs), max(xs)\n",
        "def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n",
        "import numpy as np\ndef f(n):\n    a = np.ones(n)\n    t = 0\n    for x in a:\n        t += x * x\n    return t\n",
        "import numpy as np\ndef f(n):\n    a = np.ones(n)\n    return sum(a, 5)\n",
        # 7 elements fixed by the code: below break-even, the builtins are faster.
        "import numpy as np\ndef f():\n    y = np.array([3, 7, 5, 9, 8, 7, 10])\n    x = np.arange(len(y))\n"
        "    return min(x) - 10, max(x) + 10\n",
    )
    invalid = (
        Invalid(
            "import numpy as np\n\ndef f(n):\n    a = np.ones(n)\n    total = 0\n    for x in a:\n"
            "        total += x\n    return total\n",
            fixed="import numpy as np\n\ndef f(n):\n    a = np.ones(n)\n    total = a.sum(axis=0)\n    return total\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import numpy as np\ndef f(a: np.ndarray):\n    t = 1.5\n    for i in range(len(a)):\n"
            "        t += a[i]\n    return t\n",
            fixed="import numpy as np\ndef f(a: np.ndarray):\n    t = 1.5 + a.sum(axis=0)\n    return t\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import numpy as np\ndef f(a: np.ndarray):\n    return max(a) - min(a)\n",
            fixed="import numpy as np\ndef f(a: np.ndarray):\n    return a.max(axis=0) - a.min(axis=0)\n",
            safety=FixSafety.UNSAFE,
            count=2,
        ),
        Invalid(
            "import numpy as np\ndef f(a: np.ndarray):\n    return sum(a) / len(a)\n",
            fixed="import numpy as np\ndef f(a: np.ndarray):\n    return a.mean(axis=0)\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.For | ast.Call | ast.BinOp, ctx: Context) -> None:
        if isinstance(node, ast.For):
            self._loop(node, ctx)
        elif isinstance(node, ast.BinOp):
            self._mean(node, ctx)
        else:
            self._builtin(node, ctx)

    def _is_array(self, ctx: Context, node: ast.expr) -> bool:
        return numeric_type(ctx, node) == NDARRAY and not isinstance(node, ast.Subscript)

    def _builtin(self, node: ast.Call, ctx: Context) -> None:
        func = node.func
        if not (isinstance(func, ast.Name) and func.id in ("sum", "min", "max")):
            return  # cheap screen first: type inference only for the calls that could matter
        if len(node.args) != 1 or node.keywords or not self._is_array(ctx, node.args[0]):
            return
        method = next((m for m in ("sum", "min", "max") if is_builtin(ctx, node.func, m)), None)
        parent = ctx.parent(node)
        if method is None or (method == "sum" and isinstance(parent, ast.BinOp) and self._mean_of(parent, ctx)):
            return
        array = node.args[0]

        def fix() -> Fix | None:
            new = _reduce(cst_expr(ctx, array), method)
            title = unsafe_title(self.fix_title, ["float summation order / NaN ordering change"])
            return replace_expression(ctx, node, new, title, None)

        report(ctx, self, node, fix=fix, operands=(array,))

    def _mean_of(self, node: ast.BinOp, ctx: Context) -> ast.expr | None:
        """``a`` for ``sum(a) / len(a)`` on an array."""
        left, right = node.left, node.right
        if not (isinstance(node.op, ast.Div) and isinstance(left, ast.Call) and isinstance(right, ast.Call)):
            return None
        if not (is_builtin(ctx, left.func, "sum") and is_builtin(ctx, right.func, "len")):
            return None
        if len(left.args) != 1 or len(right.args) != 1 or left.keywords or right.keywords:
            return None
        a = left.args[0]
        if ctx.text(a) != ctx.text(right.args[0]) or not is_pure(a) or not self._is_array(ctx, a):
            return None
        return a

    def _mean(self, node: ast.BinOp, ctx: Context) -> None:
        array = self._mean_of(node, ctx)
        if array is None:
            return

        def fix() -> Fix | None:
            assert array is not None
            new = _reduce(cst_expr(ctx, array), "mean")
            title = unsafe_title(self.fix_title, ["an empty array gives nan instead of ZeroDivisionError"])
            return replace_expression(ctx, node, new, title, None)

        report(ctx, self, node, fix=fix, operands=(array,))

    def _loop(self, node: ast.For, ctx: Context) -> None:
        acc = match_accumulator(ctx, node)
        if acc is None or acc.condition is not None:
            return
        init = acc.init.value
        if not (isinstance(init, ast.Constant) and type(init.value) in (int, float)):
            return
        update = acc.update
        if not (
            isinstance(update, ast.AugAssign)
            and isinstance(update.op, ast.Add)
            and isinstance(update.target, ast.Name)
            and update.target.id == acc.name
        ):
            return
        term = update.value
        array: ast.expr | None = None
        if isinstance(node.target, ast.Name) and isinstance(term, ast.Name) and term.id == node.target.id:
            array = node.iter
        else:
            measured = range_len_of(ctx, node.iter)
            if (
                measured is not None
                and isinstance(node.target, ast.Name)
                and isinstance(term, ast.Subscript)
                and isinstance(term.slice, ast.Name)
                and term.slice.id == node.target.id
                and ctx.text(term.value) == ctx.text(measured)
                and node.target.id not in names_in(term.value)
            ):
                array = term.value
        if array is None or not self._is_array(ctx, array):
            return
        found = array

        def fix() -> Fix | None:
            spelled = numpy_name(ctx)  # only to refuse when numpy cannot be named; no import needed
            if spelled is None:
                return None
            total: cst.BaseExpression = _reduce(cst_expr(ctx, found), "sum")
            if init.value != 0:
                total = cst.BinaryOperation(left=cst_expr(ctx, init), operator=cst.Add(), right=total)
            assign = cst.Assign(targets=[cst.AssignTarget(target=cst.Name(acc.name))], value=total)
            title = unsafe_title(self.fix_title, ["float summation order changes"])
            return replace_block(ctx, acc.init, node, [assign], title, None)

        report(ctx, self, ctx.span(update), fix=fix, operands=(found,), loop=node)
