from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._scale import data_confidence
from perfsquad.context import Context
from perfsquad.fixes import replace_node
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


class SortedForMinMax(Rule):
    """
    ## What it does
    Flags `sorted(xs)[0]` and `sorted(xs)[-1]` (with or without `key=` and `reverse=`) used to
    get the smallest or largest element.

    Confidence: `min()` is measured *slower* than `sorted()[0]` on a few elements and wins as the
    input grows (see Speedup), so a finding is `medium` only where the sorted input shows strong
    evidence of size (a parameter, a query result); `low` (shown with `--confidence low`) for an
    attribute or a local list of unknown size (a handful of candidates collected by a loop), a
    literal, or code that runs once at import.

    ## Why is this bad?
    Sorting is O(n log n) and builds a whole new list to keep one element; `min()`/`max()` make a
    single O(n) pass with no allocation.

    ## Example
    ```python
    cheapest = sorted(prices)[0]
    newest = sorted(posts, key=lambda p: p.date)[-1]
    ```

    ## Use instead
    ```python
    cheapest = min(prices)
    newest = max(posts, key=lambda p: p.date)
    ```

    ## Fix safety
    Always unsafe. On an empty input `sorted(xs)[0]` raises `IndexError`, `min(xs)` raises
    `ValueError`, so an `except IndexError` would stop catching it. And ties differ for the
    maximum: `sorted` is stable, so `sorted(xs)[-1]` is the *last* of equal largest elements,
    while `max` returns the *first* (with `key=` or for equal-but-distinct values like `1`/`1.0`).

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = elements); grows with `log n` plus the saved copy.

    ## References
    - [`min()`](https://docs.python.org/3/library/functions.html#min) and
      [`sorted()` stability](https://docs.python.org/3/howto/sorting.html#sort-stability-and-complex-sorts)
    - [refurb FURB192](https://github.com/dosisod/refurb/blob/master/docs/checks.md#furb192-use-min-max)
    """

    code = "IDM007"
    name = "sorted-for-min-max"
    message = "`sorted(...)[{index}]` sorts everything to keep one element; use `{func}()`"
    fix_title = "Replace with `min()`/`max()`"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.Subscript,)
    effort_minutes = 1
    bench = Bench(
        setup="import random\nrng = random.Random(1)\nxs = [rng.random() for _ in range(n)]",
        before="result = sorted(xs)[0]",
        after="result = min(xs)",
        scales_with="n = elements",
    )
    valid = (
        # Reported only with `--confidence low`: nothing shows the input is large, and `min()` is
        # measured slower than `sorted()[0]` on a few elements.
        "m = sorted(xs)[0]\n",
        "def f(self):\n    return sorted(self.candidates, key=len)[0]\n",
        "def f():\n    found = []\n    for c in CONFIGS:\n        found.append(c)\n    return sorted(found)[0]\n",
        "sorted(xs)[1]\n",
        "sorted(xs)[:3]\n",
        "sorted(xs)\n",
        "def sorted(x):\n    return x\nsorted(xs)[0]\n",
        "sorted(xs)[0] = 1\n",
    )
    invalid = (
        Invalid("def f(xs):\n    return sorted(xs)[0]\n", fixed="def f(xs):\n    return min(xs)\n", safety=FixSafety.UNSAFE),
        Invalid(
            "def f(xs):\n    return sorted(xs, key=len)[-1]\n",
            fixed="def f(xs):\n    return max(xs, key=len)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    return sorted(xs, reverse=True)[0]\n",
            fixed="def f(xs):\n    return max(xs)\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.Subscript, ctx: Context) -> None:
        call = node.value
        if not (isinstance(node.ctx, ast.Load) and isinstance(call, ast.Call) and len(call.args) == 1):
            return
        if isinstance(call.args[0], ast.Starred) or ctx.qualified_name(call.func) != "builtins.sorted":
            return
        index = node.slice
        if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub) and isinstance(index.operand, ast.Constant):
            value = -index.operand.value if index.operand.value == 1 else None
        elif isinstance(index, ast.Constant) and index.value == 0 and type(index.value) is int:
            value = 0
        else:
            return
        if value not in (0, -1):
            return
        key = None
        reverse = False
        for kw in call.keywords:
            if kw.arg == "key":
                key = kw.value
            elif kw.arg == "reverse" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, bool):
                reverse = kw.value.value
            else:
                return
        func = "min" if (value == 0) != reverse else "max"

        def fix() -> Fix | None:
            if ctx.imports.resolve_name(func) != f"builtins.{func}":
                return None
            args = ctx.text(call.args[0])
            if key is not None:
                args += f", key={ctx.text(key)}"
            return replace_node(ctx, node, f"{func}({args})", f"Replace with `{func}()`", FixSafety.UNSAFE)

        scale = data_confidence(self, call.args[0], node, ctx)
        ctx.report(
            self,
            node,
            self.message.format(index=value, func=func),
            fix=fix,
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
