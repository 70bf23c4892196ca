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
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.syntax import walk


def augmented_add(stmt: ast.stmt, name: str) -> ast.expr | None:
    """The right-hand side of ``name += rhs`` or ``name = name + rhs``."""
    if (
        isinstance(stmt, ast.AugAssign)
        and isinstance(stmt.op, ast.Add)
        and isinstance(stmt.target, ast.Name)
        and stmt.target.id == name
    ):
        return stmt.value
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and stmt.targets[0].id == name
        and isinstance(stmt.value, ast.BinOp)
        and isinstance(stmt.value.op, ast.Add)
        and isinstance(stmt.value.left, ast.Name)
        and stmt.value.left.id == name
    ):
        return stmt.value.right
    return None


class StringConcatLoop(Rule):
    """
    ## What it does
    Flags a string built with `s += piece` (or `s = s + piece`) inside a `for` loop, starting from
    a string literal right before the loop.

    Confidence: `join` is measured slower than `+=` on a few pieces (CPython's in-place resize;
    see Speedup), so a finding is `medium` only where the loop shows strong evidence of a large
    input (a parameter, a query result), and `low` (shown with `--confidence low`) over an
    attribute such as `range(self.index.nlevels)`, a call's result of unknown size, a literal, or
    at import.

    ## Why is this bad?
    Strings are immutable: each `+=` may copy everything built so far, which is O(n²) in the total
    length. CPython sometimes resizes in place when nothing else references the string, but that
    optimization is fragile (any other reference, another interpreter such as PyPy, or a
    `self.s += ...` attribute defeats it). `''.join(...)` sizes the result once.

    ## Example
    ```python
    out = ""
    for line in lines:
        out += line + "\\n"
    ```

    ## Use instead
    ```python
    out = "".join([line + "\\n" for line in lines])
    ```

    ## Fix safety
    Always unsafe: `s += x` works for any `x` whose type defines `__radd__` with a string, while
    `join` requires actual `str` elements; the other IDM001 caveats (inside `try`, module-level)
    apply too, and no fix (a note says why) when the loop variable may be read after the loop. A non-empty initial literal is kept as a prefix.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = pieces joined). On CPython the in-place resize often
    hides the quadratic cost for local variables, so the measured gain is modest; it grows without
    bound where that optimization does not apply.

    ## References
    - [Python FAQ: most efficient way to concatenate many strings](https://docs.python.org/3/faq/programming.html#what-is-the-most-efficient-way-to-concatenate-many-strings-together)
    """

    code = "IDM004"
    name = "string-concat-in-loop"
    message = "String built with += in a loop; use ''.join()"
    fix_title = "Build the string with ''.join()"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.For,)
    effort_minutes = 3
    bench = Bench(
        setup="xs = [str(i) for i in range(n)]",
        before="result = ''\nfor x in xs:\n    result += x + ','",
        after="result = ''.join([x + ',' for x in xs])",
        scales_with="n = pieces joined",
    )
    valid = (
        "s = 0\nfor x in xs:\n    s += x\n",
        "s = ''\nfor x in xs:\n    s += x\n    print(s)\n",
        "s = ''\nfor x in xs:\n    s += s\n",
        "s = ''\nwhile True:\n    s += 'a'\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    s = ''\n    for x in xs:\n        s += x\n    return s\n",
            fixed="def f(xs):\n    s = ''.join(xs)\n    return s\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    s = 'head:'\n    for x in xs:\n        if x:\n            s = s + x.upper()\n    return s\n",
            fixed="def f(xs):\n    s = 'head:' + ''.join([x.upper() for x in xs if x])\n    return s\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        acc = match_accumulator(ctx, node)
        if acc is None:
            return
        init = acc.init.value
        if not (isinstance(init, ast.Constant) and isinstance(init.value, str)):
            return
        piece = augmented_add(acc.update, acc.name)
        if piece is None or any(isinstance(n, ast.Name) and n.id == acc.name for n in walk(piece)):
            return

        def fix() -> Fix | None:
            if rewrite_blockers(ctx, acc, piece):
                return None
            reasons = ["`join` requires str elements where `+=` accepts any type defining `__radd__`"]
            reasons += behaviour_reasons(ctx, acc)
            text = ctx.text(piece)
            if isinstance(piece, ast.Lambda | ast.IfExp | ast.Tuple | ast.NamedExpr):
                text = f"({text})"
            # A list, not a generator: join materializes its argument anyway, and the list is faster.
            joined = f"''.join([{text} {comprehension_clause(ctx, acc)}])"
            if text == ctx.text(acc.loop.target) and acc.condition is None:
                joined = f"''.join({ctx.text(acc.loop.iter)})"
            prefix = f"{ctx.text(init)} + " if init.value else ""
            code = f"{acc.name} = {prefix}{joined}"
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
