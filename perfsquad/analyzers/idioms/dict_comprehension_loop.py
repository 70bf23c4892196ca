from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import (
    behaviour_reasons,
    comprehension_clause,
    is_simple,
    match_accumulator,
    refusal_notes,
    rewrite_blockers,
    safety_for,
)
from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.analyzers.idioms.list_comprehension_loop import is_empty_constructor
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.syntax import walk


class DictComprehensionLoop(Rule):
    """
    ## What it does
    Flags a dict built by a `for` loop whose only statement is `d[key] = value` (optionally under
    one `if`), right after the dict is created empty.

    ## Why is this bad?
    Each store goes through the interpreter loop with a separate subscript assignment; a dict
    comprehension builds the dict with a dedicated bytecode and says what it maps in one place.

    ## Example
    ```python
    index = {}
    for user in users:
        index[user.id] = user
    ```

    ## Use instead
    ```python
    index = {user.id: user for user in users}
    ```

    ## Fix safety
    Safe for a fresh `{}`/`dict()` when the key and value are plain names or constants. Unsafe
    when they are other expressions: `d[k] = v` evaluates `v` before `k`, a dict comprehension
    evaluates `k` first, so side effects would run in another order. Also unsafe in the cases of
    IDM001 (loop variable read after the loop, inside `try`, global/module-level name). No fix in
    class bodies or with `await`/`yield`/`:=`. Comments are kept.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = items stored); see `perfsquad explain IDM003`.

    ## References
    - [Dict comprehensions (PEP 274)](https://peps.python.org/pep-0274/)
    - [Evaluation order](https://docs.python.org/3/reference/expressions.html#evaluation-order)
    """

    code = "IDM003"
    name = "dict-built-in-loop"
    message = "Dict built by assigning keys in a loop; use a dict comprehension"
    fix_title = "Replace the loop with a dict comprehension"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 2
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = {}\nfor x in xs:\n    result[x] = x * 2",
        after="result = {x: x * 2 for x in xs}",
        scales_with="n = items stored",
    )
    valid = (
        "d = {}\nfor k in ks:\n    d[k] = d.get(k, 0) + 1\n",
        "d = {'a': 1}\nfor k in ks:\n    d[k] = 1\n",
        "d = {}\nfor k in ks:\n    d[k] += 1\n",
        "d = {}\nfor k in ks:\n    e[k] = 1\n",
    )
    invalid = (
        Invalid(
            "def f(pairs):\n    d = {}\n    for k, v in pairs:\n        d[k] = v\n    return d\n",
            fixed="def f(pairs):\n    d = {k: v for k, v in pairs}\n    return d\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(users):\n    d = {}\n    for u in users:\n        d[u.id] = u.name\n    return d\n",
            fixed="def f(users):\n    d = {u.id: u.name for u in users}\n    return d\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        acc = match_accumulator(ctx, node)
        if acc is None or not is_empty_constructor(ctx, acc.init.value, "dict"):
            return
        stmt = acc.update
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Subscript)
            and isinstance(stmt.targets[0].value, ast.Name)
            and stmt.targets[0].value.id == acc.name
            and not isinstance(stmt.targets[0].slice, ast.Slice)
        ):
            return
        key = stmt.targets[0].slice
        value = stmt.value
        names = {n.id for part in (key, value) for n in walk(part) if isinstance(n, ast.Name)}
        if acc.name in names:
            return

        def fix() -> Fix | None:
            if rewrite_blockers(ctx, acc, key, value):
                return None
            reasons = behaviour_reasons(ctx, acc)
            if not (is_simple(key) and is_simple(value)):
                reasons.append("the key would be evaluated before the value, not after")
            k = ctx.text(key)
            if isinstance(key, ast.Tuple) and not k.startswith("("):
                k = f"({k})"
            v = ctx.text(value)
            if isinstance(value, ast.Lambda):
                v = f"({v})"
            code = f"{acc.name} = {{{k}: {v} {comprehension_clause(ctx, acc)}}}"
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
