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
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule


def is_empty_constructor(ctx: Context, value: ast.expr, kind: str) -> bool:
    """``[]``/``list()``, ``set()``, ``{}``/``dict()`` with the builtin really being the builtin."""
    literal = {"list": ast.List, "dict": ast.Dict}.get(kind)
    if literal is not None and isinstance(value, literal):
        return not (value.keys if isinstance(value, ast.Dict) else value.elts)  # type: ignore[attr-defined]
    return (
        isinstance(value, ast.Call)
        and not value.args
        and not value.keywords
        and ctx.qualified_name(value.func) == f"builtins.{kind}"
    )


def method_call_on(stmt: ast.stmt, name: str, method: str) -> ast.expr | None:
    """The single argument of ``name.method(arg)`` when ``stmt`` is exactly that call."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    func = call.func
    if (
        isinstance(func, ast.Attribute)
        and func.attr == method
        and isinstance(func.value, ast.Name)
        and func.value.id == name
        and len(call.args) == 1
        and not call.keywords
        and not isinstance(call.args[0], ast.Starred)
    ):
        return call.args[0]
    return None


class ListComprehensionLoop(Rule):
    """
    ## What it does
    Flags a list built by a `for` loop that only appends to it (optionally under one `if`), right
    after the list is created empty.

    Confidence: the rewrite saves a constant per element and is measured slower on a few
    elements (see Speedup), so a finding is `medium` only where the loop shows strong evidence
    of a large input (a parameter, a query result), and `low` (shown with `--confidence low`)
    over an attribute or a call's result of unknown size, a literal, `range(<const>)`, or at
    import. The evidence names what the loop iterates.

    ## Why is this bad?
    Each `result.append(x)` is an attribute lookup and a method call per element, executed by the
    interpreter loop. A list comprehension appends with a dedicated bytecode and no lookups, and it
    says in one expression what the list contains.

    ## Example
    ```python
    result = []
    for word in words:
        if word:
            result.append(word.lower())
    ```

    ## Use instead
    ```python
    result = [word.lower() for word in words if word]
    ```

    ## Fix safety
    Safe when the list is a fresh `[]`/`list()`, the loop body is the single append, and nothing
    else can tell the difference.
    No fix (a note says why) when the loop variable may be read after the loop on some path:
    the code after it, an `except`/`finally` around it (an element that raises leaves the
    variable bound to it), the next iteration of an enclosing loop, a closure. The
    comprehension binds its variable in its own scope, so that read would raise `NameError`
    (or see an older value) after the rewrite. A variable that is only rebound after the loop
    before any read (assigned, reused as the next loop's target) does not make the fix unsafe.
    Unsafe (with the reason in the fix title's note) when:
    - the loop sits inside `try`: if an element raises, the loop leaves a partially filled list
      behind, the comprehension leaves the name unbound;
    - the accumulator is declared `global`/`nonlocal`, or the loop runs at module level (module
      attributes change).
    No fix is offered either in a class body (a comprehension there cannot see the class's names), or
    when the loop contains `await`, `yield` or `:=`. Comments inside the loop are kept, moved
    above the new statement.

    ## Speedup
    Measured by `bench/calibrate.py` on this rule's benchmark (`n` = number of elements appended);
    the range is shown by `perfsquad explain IDM001` and in hovers. Typically modest (1.2x-2x):
    worth it in hot loops, and for readability everywhere.

    ## References
    - [List comprehensions (Python tutorial)](https://docs.python.org/3/tutorial/datastructures.html#list-comprehensions)
    - [ruff PERF401](https://docs.astral.sh/ruff/rules/manual-list-comprehension/)
    """

    code = "IDM001"
    name = "list-built-in-loop"
    message = "List built by appending in a loop; use a list comprehension"
    fix_title = "Replace the loop with a list comprehension"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 2
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = []\nfor x in xs:\n    if x % 3:\n        result.append(x * 2)",
        after="result = [x * 2 for x in xs if x % 3]",
        scales_with="n = elements appended",
    )
    valid = (
        "result = []\nfor x in xs:\n    result.append(x)\n    print(x)\n",
        "result = []\nfor x in xs:\n    if x not in result:\n        result.append(x)\n",
        "result = [0]\nfor x in xs:\n    result.append(x)\n",
        "result = []\nfor x in xs:\n    other.append(x)\n",
        "result = []\nfor x in xs:\n    result.append(x)\nelse:\n    pass\n",
        "def f(list):\n    result = list()\n    for x in xs:\n        result.append(x)\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    result = []\n    for x in xs:\n        result.append(x * 2)\n    return result\n",
            fixed="def f(xs):\n    result = [x * 2 for x in xs]\n    return result\n",
            safety=FixSafety.SAFE,
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        acc = match_accumulator(ctx, node)
        if acc is None or not is_empty_constructor(ctx, acc.init.value, "list"):
            return
        item = method_call_on(acc.update, acc.name, "append")
        if item is None:
            return

        def fix() -> Fix | None:
            if rewrite_blockers(ctx, acc, item):
                return None
            reasons = behaviour_reasons(ctx, acc)
            code = f"{acc.name} = [{element(ctx, item)} {comprehension_clause(ctx, acc)}]"
            title = self.fix_title or ""
            if reasons:
                title += " (unsafe: " + "; ".join(reasons) + ")"
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
