from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import (
    behaviour_reasons,
    comprehension_clause,
    match_accumulator,
    refusal_notes,
    rewrite_blockers,
)
from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.analyzers.idioms.string_concat_loop import augmented_add
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.syntax import walk


class SumLoop(Rule):
    """
    ## What it does
    Flags a total accumulated with `total += x` in a `for` loop, starting from a numeric literal
    right before the loop.

    ## Why is this bad?
    The loop runs one interpreted iteration, a load, an add and a store per element; `sum()` over a
    generator (or better, over the iterable itself) runs the additions in C.

    ## Example
    ```python
    total = 0
    for item in basket:
        total += item.price
    ```

    ## Use instead
    ```python
    total = sum(item.price for item in basket)
    ```

    ## Fix safety
    Always unsafe: on Python 3.12+ `sum()` of floats uses compensated (Neumaier) summation, so
    float totals can differ in the last digits from repeated `+=`; `+=` calls `__iadd__`, which
    for mutable types (lists, NumPy arrays) mutates in place where `sum` builds new objects; plus
    the IDM001 caveats (loop variable read after the loop, inside `try`, module level).
    A start value other than `0` is passed as `sum`'s `start`.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = numbers summed); see `perfsquad explain IDM005`.

    ## References
    - [`sum()`](https://docs.python.org/3/library/functions.html#sum)
    - [What's new in 3.12: sum() uses Neumaier summation](https://docs.python.org/3/whatsnew/3.12.html#other-language-changes)
    """

    code = "IDM005"
    name = "sum-in-loop"
    message = "Total accumulated in a loop; use sum()"
    fix_title = "Replace the loop with sum()"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.For,)
    effort_minutes = 2
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = 0\nfor x in xs:\n    result += x * 2",
        after="result = sum(x * 2 for x in xs)",
        scales_with="n = numbers summed",
    )
    valid = (
        "t = ''\nfor x in xs:\n    t += x\n",
        "t = 0\nfor x in xs:\n    t += x\n    print(t)\n",
        "t = 0\nfor x in xs:\n    t -= x\n",
        "t = 0\nfor x in xs:\n    t += t * x\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    t = 0\n    for x in xs:\n        t += x\n    return t\n",
            fixed="def f(xs):\n    t = sum(xs)\n    return t\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    t = 0\n    for x in xs:\n        t += len(x)\n    return t\n",
            fixed="def f(xs):\n    t = sum(len(x) for x in xs)\n    return t\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    t = 1.5\n    for x in xs:\n        if x:\n            t += x\n    return t\n",
            fixed="def f(xs):\n    t = sum((x for x in xs if x), 1.5)\n    return t\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        acc = match_accumulator(ctx, node)
        if acc is None:
            return
        init = acc.init.value
        if not (
            isinstance(init, ast.Constant) and type(init.value) in (int, float) and not isinstance(init.value, bool)
        ):
            return
        term = augmented_add(acc.update, acc.name)
        if term is None or any(isinstance(n, ast.Name) and n.id == acc.name for n in walk(term)):
            return

        def fix() -> Fix | None:
            if ctx.imports.resolve_name("sum") != "builtins.sum" or rewrite_blockers(ctx, acc, term):
                return None
            reasons = ["float sums can differ (compensated summation in sum() on 3.12+); += may mutate in place"]
            reasons += behaviour_reasons(ctx, acc)
            text = ctx.text(term)
            if isinstance(term, ast.Lambda | ast.IfExp | ast.Tuple | ast.NamedExpr):
                text = f"({text})"
            generator = f"{text} {comprehension_clause(ctx, acc)}"
            if ctx.text(acc.loop.target) == text and acc.condition is None:
                generator = ctx.text(acc.loop.iter)  # sum(xs) itself: no generator at all
                if isinstance(acc.loop.iter, ast.Lambda | ast.IfExp | ast.Tuple | ast.NamedExpr):
                    generator = f"({generator})"
            if init.value == 0 and type(init.value) is int:
                code = f"{acc.name} = sum({generator})"
            else:
                code = f"{acc.name} = sum(({generator}), {ctx.text(init)})"
            title = f"{self.fix_title} (unsafe: " + "; ".join(reasons) + ")"
            return replace_statements(ctx, acc.init, node, code, title, FixSafety.UNSAFE)

        scale = loop_confidence(self, node, ctx)
        ctx.report(
            self,
            ctx.span(acc.update),
            fix=fix,
            notes=refusal_notes(ctx, acc),
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
