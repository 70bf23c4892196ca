from __future__ import annotations

import ast

from perfsquad.analyzers.vectorize._common import (
    INT_OVERFLOW,
    MATRICES,
    NDARRAY,
    cst_call,
    cst_expr,
    cst_method,
    is_builtin,
    known_size,
    numeric_type,
    numpy_name,
    replace_block,
    report,
    unsafe_title,
)
from perfsquad.analyzers.vectorize.all_pairs_similarity import ReadsModuleVectors
from perfsquad.context import Context
from perfsquad.fixes.cst import cst
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


def _cell(node: ast.expr, first: str, second: str) -> ast.expr | None:
    """``m`` for ``m[first][second]`` or ``m[first, second]``."""
    if not isinstance(node, ast.Subscript):
        return None
    if isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 2:
        a, b = node.slice.elts
        if isinstance(a, ast.Name) and a.id == first and isinstance(b, ast.Name) and b.id == second:
            return node.value
        return None
    inner = node.value
    if (
        isinstance(node.slice, ast.Name)
        and node.slice.id == second
        and isinstance(inner, ast.Subscript)
        and isinstance(inner.slice, ast.Name)
        and inner.slice.id == first
    ):
        return inner.value
    return None


def _range_loop(ctx: Context, node: ast.stmt) -> str | None:
    if (
        isinstance(node, ast.For)
        and not node.orelse
        and len(node.body) == 1
        and isinstance(node.target, ast.Name)
        and isinstance(node.iter, ast.Call)
        and is_builtin(ctx, node.iter.func, "range")
        and len(node.iter.args) == 1
    ):
        return node.target.id
    return None


class TripleLoopMatmul(ReadsModuleVectors, Rule):
    """
    ## What it does
    Flags matrix multiplication written as three nested `range` loops,
    `C[i][j] += A[i][k] * B[k][j]` (or `C[i, j] += A[i, k] * B[k, j]`), on matrices known to be
    numeric (NumPy arrays or `list[list[float]]` annotations and literals).

    Sizes: nothing is reported when the code fixes the data's size (a literal, `range`,
    `np.arange` or `np.linspace` of constants, `np.zeros(<const>)`, a name bound only to one)
    below the calibrated break-even, where the rewrite was measured slower (NumPy's per-call
    overhead loses on a handful of elements). A small fixed size above it (under 1,000 elements),
    or code that runs once (at import, behind a lazy initialiser), is low confidence (shown with
    `--confidence low`): it does not grow. A large fixed size is medium (it costs as much on
    every call); data from a parameter is high; from a call of unknown size, medium.
    Here the size is the multiply-adds: three `range(3)` loops (27) are below break-even.

    ## Why is this bad?
    `n³` interpreted multiply-adds, each with four or six indexings. `A @ B` hands the whole product
    to BLAS, which is cache-blocked and vectorized: thousands of times faster from about 100-by-100.

    ## Example
    ```python
    for i in range(n):
        for j in range(m):
            for k in range(p):
                C[i][j] += A[i][k] * B[k][j]
    ```

    ## Use instead
    ```python
    C += A @ B                                     # NumPy arrays
    C[:] = np.add(C, np.matmul(A, B)).tolist()     # lists of lists
    ```

    ## Fix safety
    Always unsafe. It assumes the loops cover the full shapes (`range(len(A))`, `range(len(B[0]))`,
    `range(len(B))`): partial ranges update a sub-block only. Float results can differ in the last
    digits (BLAS summation order). On lists the rows of `C` are replaced by new lists (someone
    holding a row sees no update); lists of `int` get no fix (Python ints never overflow, int64
    wraps around). `import numpy as np` is added if needed.

    ## Speedup
    Measured by `bench/vectorize.py` on lists of floats, conversion included
    (`n` = multiply-adds, square matrices of side `n^(1/3)`).

    ## References
    - [`numpy.matmul` / `@`](https://numpy.org/doc/stable/reference/generated/numpy.matmul.html)
    - [PEP 465: the `@` operator](https://peps.python.org/pep-0465/)
    """

    code = "VEC007"
    name = "triple-loop-matmul"
    message = "Matrix product written as three nested loops; use the @ operator"
    fix_title = "Replace the loops with a matrix product"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.For,)
    effort_minutes = 5
    bench = Bench(
        setup=(
            "import numpy as np\nk = max(1, round(n ** (1 / 3)))\n"
            "A = [[float((r + c) % 5) for c in range(k)] for r in range(k)]\n"
            "B = [[float((r * c) % 3) for c in range(k)] for r in range(k)]\n"
            "C0 = [[0.0] * k for _ in range(k)]"
        ),
        before=(
            "C = [row[:] for row in C0]\nfor i in range(k):\n    for j in range(k):\n        for p in range(k):\n"
            "            C[i][j] += A[i][p] * B[p][j]\nresult = C"
        ),
        after="C = [row[:] for row in C0]\nC[:] = np.add(C, np.matmul(A, B)).tolist()\nresult = C",
        scales_with="n = multiply-adds (square matrices of side n^(1/3)), lists of floats",
    )
    valid = (
        "def f(A, B, C, n):\n    for i in range(n):\n        for j in range(n):\n            for k in range(n):\n"
        "                C[i][j] += A[i][k] * B[k][j]\n",
        "def f(A: list[list[float]], B: list[list[float]], C: list[list[float]], n: int):\n"
        "    for i in range(n):\n        for j in range(n):\n            for k in range(n):\n"
        "                C[i][j] += A[i][k] * B[j][k]\n",
        "def f(A: list[list[str]], B: list[list[str]], C: list[list[str]], n: int):\n"
        "    for i in range(n):\n        for j in range(n):\n            for k in range(n):\n"
        "                C[i][j] += A[i][k] * B[k][j]\n",
    )
    invalid = (
        Invalid(
            "import numpy as np\ndef f(A: np.ndarray, B: np.ndarray, C: np.ndarray):\n"
            "    for i in range(A.shape[0]):\n        for j in range(B.shape[1]):\n"
            "            for k in range(A.shape[1]):\n                C[i, j] += A[i, k] * B[k, j]\n    return C\n",
            fixed="import numpy as np\ndef f(A: np.ndarray, B: np.ndarray, C: np.ndarray):\n"
            "    C += A @ B\n    return C\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(A: list[list[float]], B: list[list[float]], n: int):\n    C = [[0.0] * n for _ in range(n)]\n"
            "    for i in range(n):\n        for j in range(n):\n            for k in range(n):\n"
            "                C[i][j] += A[i][k] * B[k][j]\n    return C\n",
            fixed="import numpy as np\ndef f(A: list[list[float]], B: list[list[float]], n: int):\n"
            "    C = [[0.0] * n for _ in range(n)]\n    C[:] = np.add(C, np.matmul(A, B)).tolist()\n    return C\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(A: list[list[int]], B: list[list[int]], C: list[list[int]], n: int):\n"
            "    for i in range(n):\n        for j in range(n):\n            for k in range(n):\n"
            "                C[i][j] += A[i][k] * B[k][j]\n",
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        i = _range_loop(ctx, node)
        middle = node.body[0] if i else None
        j = _range_loop(ctx, middle) if isinstance(middle, ast.For) else None
        inner = middle.body[0] if isinstance(middle, ast.For) and j else None
        k = _range_loop(ctx, inner) if isinstance(inner, ast.For) else None
        if not (i and j and k and isinstance(inner, ast.For)) or len({i, j, k}) != 3:
            return
        stmt = inner.body[0]
        if not (isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add)):
            return
        value = stmt.value
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult)):
            return
        c = _cell(stmt.target, i, j)
        a, b = _cell(value.left, i, k), _cell(value.right, k, j)
        if a is None or b is None:
            a, b = _cell(value.right, i, k), _cell(value.left, k, j)
        if c is None or a is None or b is None:
            return
        if not all(isinstance(m, ast.Name) for m in (a, b, c)):
            return
        kinds = [numeric_type(ctx, m) for m in (a, b, c)]
        if not all(kind in MATRICES for kind in kinds):
            return
        # The calibration's n is the multiply-adds: the product of the three ranges, when all are fixed.
        size: int | None = 1
        for loop in (node, middle, inner):
            side = known_size(ctx, loop.iter) if isinstance(loop, ast.For) else None
            size = None if side is None or size is None else size * side
        if any(kind.endswith("[int]]") for kind in kinds):
            report(ctx, self, ctx.header_span(node), notes=(INT_OVERFLOW,), loop=node, size=size)
            return
        arrays = all(kind == NDARRAY for kind in kinds)
        ma, mb, mc = a, b, c
        assert isinstance(mc, ast.Name)

        def fix() -> Fix | None:
            spelled = numpy_name(ctx)
            if spelled is None:
                return None
            np, import_edit = spelled
            if arrays:
                product = cst.BinaryOperation(
                    left=cst_expr(ctx, ma), operator=cst.MatrixMultiply(), right=cst_expr(ctx, mb)
                )
                stmt_new: cst.BaseSmallStatement = cst.AugAssign(
                    target=cst.Name(mc.id), operator=cst.AddAssign(), value=product
                )
                import_edit = None
            else:
                total = cst_call(
                    f"{np}.add", cst_expr(ctx, mc), cst_call(f"{np}.matmul", cst_expr(ctx, ma), cst_expr(ctx, mb))
                )
                whole = cst.Subscript(
                    value=cst_expr(ctx, mc), slice=[cst.SubscriptElement(slice=cst.Slice(lower=None, upper=None))]
                )
                stmt_new = cst.Assign(targets=[cst.AssignTarget(target=whole)], value=cst_method(total, "tolist"))
            reasons = ["assumes the loops cover the full shapes", "float summation order changes"]
            return replace_block(ctx, node, node, [stmt_new], unsafe_title(self.fix_title, reasons), import_edit)

        report(ctx, self, ctx.header_span(node), fix=fix, loop=node, size=size)
