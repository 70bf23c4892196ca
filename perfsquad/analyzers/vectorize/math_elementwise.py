from __future__ import annotations

import ast

from perfsquad.analyzers.vectorize._common import (
    MATH_UFUNCS,
    NDARRAY,
    ON_LISTS,
    cst_call,
    cst_expr,
    cst_method,
    element_kind,
    is_builtin,
    numeric_type,
    numpy_name,
    replace_expression,
    report,
    unsafe_title,
)
from perfsquad.analyzers.vectorize.all_pairs_similarity import ReadsModuleVectors
from perfsquad.context import Context
from perfsquad.fixes.cst import cst
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


class MathElementwise(ReadsModuleVectors, Rule):
    """
    ## What it does
    Flags a one-argument `math` function applied element by element to a numeric sequence:
    `[math.sqrt(x) for x in a]` or `list(map(math.exp, a))`, when `a` is known to be a NumPy array
    or a list of numbers. `math.floor`/`ceil`/`trunc` are left alone (they return ints).

    Sizes: nothing is reported when the code fixes the data's size (a literal, `range`,
    `np.arange` or `np.linspace` of constants, `np.zeros(<const>)`, a name bound only to one)
    below the calibrated break-even, where the rewrite was measured slower (NumPy's per-call
    overhead loses on a handful of elements). A small fixed size above it (under 1,000 elements),
    or code that runs once (at import, behind a lazy initialiser), is low confidence (shown with
    `--confidence low`): it does not grow. A large fixed size is medium (it costs as much on
    every call); data from a parameter is high; from a call of unknown size, medium.

    ## Why is this bad?
    Each element is one interpreted iteration and one Python-level call; on an array each element
    is also boxed into a NumPy scalar first. The NumPy ufunc (`np.sqrt`, `np.exp`...) applies the
    same function to the whole buffer in C.

    ## Example
    ```python
    roots = [math.sqrt(x) for x in samples]   # samples: np.ndarray
    ```

    ## Use instead
    ```python
    roots = np.sqrt(samples).tolist()
    ```
    The fix keeps a list (`.tolist()` gives Python floats, as `math` did); drop `.tolist()` when
    the consumer accepts an array, for a larger gain.

    ## Fix safety
    Always unsafe; offered on NumPy arrays. `math` raises `ValueError` on a domain error
    (`math.sqrt(-1.0)`, `math.log(0.0)`) where NumPy returns `nan`/`-inf` with a warning, and
    `OverflowError` where NumPy returns `inf`. Results may differ in the last bit (different libm
    paths). On lists there is no fix: converting them per call costs about what the loop does.

    ## Speedup
    Measured by `bench/vectorize.py` (`n` = elements of a float array; `[math.sqrt(x) for x in a]`
    against `np.sqrt(a).tolist()`).

    ## References
    - [NumPy: available ufuncs](https://numpy.org/doc/stable/reference/ufuncs.html#available-ufuncs)
    """

    code = "VEC005"
    name = "math-elementwise"
    message = "math function applied element by element; use the NumPy ufunc"
    fix_title = "Use the NumPy ufunc on the whole array"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.ListComp, ast.Call)
    call_names = frozenset({"list"})
    effort_minutes = 2
    bench = Bench(
        setup="import math\nimport numpy as np\na = np.arange(n) % 7.0",
        before="result = [math.sqrt(x) for x in a]",
        after="result = np.sqrt(a).tolist()",
        scales_with="n = elements",
    )
    valid = (
        "import math\ndef f(a):\n    return [math.sqrt(x) for x in a]\n",
        "import math\ndef f(a: list[str]):\n    return [math.sqrt(x) for x in a]\n",
        "import math\ndef f(a: list[float]):\n    return [math.floor(x) for x in a]\n",
        "import math\ndef f(a: list[float]):\n    return [math.sqrt(x) for x in a if x > 0]\n",
        "import math\ndef f(a: list[float]):\n    return [math.sqrt(y) for x in a]\n",
    )
    invalid = (
        Invalid(
            "import math\nimport numpy as np\ndef f(a: np.ndarray):\n    return [math.exp(v) for v in a]\n",
            fixed="import math\nimport numpy as np\ndef f(a: np.ndarray):\n    return np.exp(a).tolist()\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "from math import sqrt\nimport numpy\ndef f(n):\n    a = numpy.linspace(0, 1, n)\n"
            "    return list(map(sqrt, a))\n",
            fixed="from math import sqrt\nimport numpy\ndef f(n):\n    a = numpy.linspace(0, 1, n)\n"
            "    return numpy.sqrt(a).tolist()\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid("import math\ndef f(a: list[float]):\n    return [math.log(x) for x in a]\n"),
    )

    def check(self, node: ast.ListComp | ast.Call, ctx: Context) -> None:
        if isinstance(node, ast.ListComp):
            if len(node.generators) != 1:
                return
            comp = node.generators[0]
            elt = node.elt
            if comp.ifs or comp.is_async or not isinstance(comp.target, ast.Name):
                return
            if not (isinstance(elt, ast.Call) and len(elt.args) == 1 and not elt.keywords):
                return
            arg = elt.args[0]
            if not (isinstance(arg, ast.Name) and arg.id == comp.target.id):
                return
            func, sequence = elt.func, comp.iter
        else:
            # list(map(math.f, a))
            if not (is_builtin(ctx, node.func, "list") and len(node.args) == 1 and not node.keywords):
                return
            inner = node.args[0]
            if not (isinstance(inner, ast.Call) and is_builtin(ctx, inner.func, "map") and len(inner.args) == 2):
                return
            if inner.keywords:
                return
            func, sequence = inner.args
        ufunc = MATH_UFUNCS.get(ctx.qualified_name(func) or "")
        if ufunc is None:
            return
        kind = numeric_type(ctx, sequence)
        if element_kind(kind) in ("?", "numpy") and kind != NDARRAY:
            return
        if kind != NDARRAY:
            report(ctx, self, node, notes=(ON_LISTS,), on_lists=True, operands=(sequence,))
            return

        def fix() -> Fix | None:
            spelled = numpy_name(ctx)
            if spelled is None:
                return None
            np, import_edit = spelled
            new: cst.BaseExpression = cst_method(cst_call(f"{np}.{ufunc}", cst_expr(ctx, sequence)), "tolist")
            title = unsafe_title(self.fix_title, ["domain errors give nan/inf instead of raising"])
            return replace_expression(ctx, node, new, title, import_edit)

        report(ctx, self, node, fix=fix, operands=(sequence,))
