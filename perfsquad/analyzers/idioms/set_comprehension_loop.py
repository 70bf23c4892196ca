from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import (
    behaviour_reasons,
    comprehension_clause,
    element,
    match_accumulator,
    refusal_notes,
    rewrite_blockers,
    safety_for,
)
from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.analyzers.idioms.list_comprehension_loop import is_empty_constructor, method_call_on
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


class SetComprehensionLoop(Rule):
    """
    ## What it does
    Flags a set built by a `for` loop that only calls `.add()` on it (optionally under one `if`),
    right after the set is created with `set()`.

    Confidence: the rewrite saves a constant per element and is measured slower on a few
    elements (see Speedup), so a finding is `medium` only where the loop shows strong evidence
    of a large input (a parameter, a query result), and `low` (shown with `--confidence low`)
    over an attribute or a call's result of unknown size, a literal, `range(<const>)`, or at
    import. The evidence names what the loop iterates.

    ## Why is this bad?
    A method lookup and call per element, run by the interpreter loop; a set comprehension adds
    with one bytecode and states the set's contents in one expression.

    ## Example
    ```python
    seen = set()
    for user in users:
        seen.add(user.email)
    ```

    ## Use instead
    ```python
    seen = {user.email for user in users}
    ```

    ## Fix safety
    Same conditions as IDM001 (list built in a loop): safe for a fresh `set()` with the single
    `add` as the body; unsafe when the loop is inside `try`, or the name is
    `global`/`nonlocal`/module-level. No fix (a note says why) when the loop variable may be read
    after the loop (a variable only rebound afterwards does not matter), in class bodies, or with
    `await`/`yield`/`:=` in the loop. Comments are kept.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = elements added); see `perfsquad explain IDM002`.

    ## References
    - [Set comprehensions](https://docs.python.org/3/tutorial/datastructures.html#sets)
    - [ruff PERF401](https://docs.astral.sh/ruff/rules/manual-list-comprehension/)
    """

    code = "IDM002"
    name = "set-built-in-loop"
    message = "Set built by adding in a loop; use a set comprehension"
    fix_title = "Replace the loop with a set comprehension"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 2
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = set()\nfor x in xs:\n    result.add(x % 1000)",
        after="result = {x % 1000 for x in xs}",
        scales_with="n = elements added",
    )
    valid = (
        "s = set()\nfor x in xs:\n    s.add(x)\n    s.add(-x)\n",
        "s = {1}\nfor x in xs:\n    s.add(x)\n",
        "s = set()\nfor x in xs:\n    if x in s:\n        s.add(x)\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    s = set()\n    for x in xs:\n        if x > 0:\n            s.add(x)  # keep\n    return s\n",
            fixed="def f(xs):\n    s = {x for x in xs if x > 0}  # keep\n    return s\n",
            safety=FixSafety.SAFE,
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        acc = match_accumulator(ctx, node)
        if acc is None or not is_empty_constructor(ctx, acc.init.value, "set"):
            return
        item = method_call_on(acc.update, acc.name, "add")
        if item is None:
            return

        def fix() -> Fix | None:
            if rewrite_blockers(ctx, acc, item):
                return None
            reasons = behaviour_reasons(ctx, acc)
            code = f"{acc.name} = {{{element(ctx, item)} {comprehension_clause(ctx, acc)}}}"
            title = (self.fix_title or "") + (" (unsafe: " + "; ".join(reasons) + ")" if reasons else "")
            return replace_statements(ctx, acc.init, node, code, title, safety_for(reasons))

        scale = loop_confidence(self, node, ctx)
        ctx.report(
            self,
            ctx.header_span(node),
            fix=fix,
            notes=refusal_notes(ctx, acc),
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
