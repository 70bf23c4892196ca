from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import element, following_statements, is_simple, previous_statement
from perfsquad.analyzers.idioms._bulk import context_reasons, single_call, titled
from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.scale import Scale
from perfsquad.syntax import names_in

_APPEND = frozenset({"append"})
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _append_to(stmt: ast.stmt | None, name: str | None = None) -> tuple[ast.Name, ast.expr] | None:
    found = single_call(stmt, _APPEND) if stmt is not None else None
    if found is None or (name is not None and found[0].id != name):
        return None
    return found[0], found[2]


class RepeatedAppend(Rule):
    """
    ## What it does
    Flags two or more consecutive statements that each append one element to the same list:
    `xs.append(a)` then `xs.append(b)`.

    Not flagged: appends separated by any other statement, appends to different lists, and an
    element computed from the list itself (`xs.append(len(xs))`, which sees the earlier append).

    Confidence: the saving is a constant per run of appends, so a finding is `medium` only inside a
    loop whose iterations show evidence of scale, `low` (shown with `--confidence low`) elsewhere.

    ## Why is this bad?
    Each `append` is an attribute lookup and a call. `xs.extend((a, b))` is one lookup and one call
    for all of them (plus a small tuple).

    ## Example
    ```python
    for node in nodes:
        out.append(node.start)
        out.append(node.end)
    ```

    ## Use instead
    ```python
    for node in nodes:
        out.extend((node.start, node.end))
    ```

    ## Fix safety
    **Safe** when the receiver is known to be a `list`, every element is a plain name or a constant
    (evaluating it cannot run code), the statements are not inside `try` and are in a function.
    **Unsafe** otherwise, with the reason in the fix title: with `extend`, every element is evaluated
    before the first is appended, so a call or attribute in a later element runs earlier than it
    did and, if it raises, the earlier elements are no longer appended; a receiver of unknown type
    may define `append` and `extend` differently. Comments between the appends are kept, above the
    new statement.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = iterations of a loop that appends two elements each).
    On recent CPython versions `list.append` has its own specialized instruction, and `extend`
    builds a tuple: the rule can measure slower there, and then it is in the `readability` group.

    ## References
    - [ruff FURB113 repeated-append](https://docs.astral.sh/ruff/rules/repeated-append/)
    - [`list.extend`](https://docs.python.org/3/tutorial/datastructures.html#more-on-lists)
    """

    code = "IDM018"
    name = "repeated-append"
    message = "{count} consecutive `{name}.append()` calls; use one `{name}.extend(...)`"
    fix_title = "Replace the appends with one `extend()`"
    fix_safety = FixSafety.SAFE
    node_types = (ast.Expr,)
    effort_minutes = 1
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = []\nfor x in xs:\n    result.append(x)\n    result.append(-x)",
        after="result = []\nfor x in xs:\n    result.extend((x, -x))",
        scales_with="n = loop iterations, two elements appended in each",
    )
    valid = (
        "def f(xs, a, b):\n    xs.append(a)\n    y = 1\n    xs.append(b)\n",
        "def f(xs, ys, a, b):\n    xs.append(a)\n    ys.append(b)\n",
        "def f(xs, a):\n    xs.append(a)\n    xs.append(len(xs))\n",
        "def f(xs, a):\n    xs.append(a)\n",
        "def f(xs, a, b):\n    xs.append(a)\n    xs.extend(b)\n",
    )
    invalid = (
        Invalid(
            "def f(rows):\n    out = []\n    for a, b in rows:\n        out.append(a)\n        # then b\n        out.append(b)\n    return out\n",
            fixed="def f(rows):\n    out = []\n    for a, b in rows:\n        # then b\n        out.extend((a, b))\n    return out\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(out, rows):\n    for r in rows:\n        out.append(r.start)\n        out.append(r.end)\n        out.append(0)\n",
            fixed="def f(out, rows):\n    for r in rows:\n        out.extend((r.start, r.end, 0))\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.Expr, ctx: Context) -> None:
        first = _append_to(node)
        if first is None:
            return
        receiver, _ = first
        name = receiver.id
        if _append_to(previous_statement(ctx, node), name) is not None:
            return  # reported on the first append of the run
        run: list[tuple[ast.stmt, ast.expr]] = [(node, first[1])]
        for stmt in following_statements(ctx, node):
            found = _append_to(stmt, name)
            if found is None:
                break
            run.append((stmt, found[1]))
        if len(run) < 2 or any(name in names_in(arg) for _, arg in run):
            return

        def fix() -> Fix | None:
            if any(isinstance(n, ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr)
                   for _, arg in run for n in ast.walk(arg)):  # fmt: skip
                return None
            reasons = context_reasons(ctx, node, receiver, "list", loop_variable=False)
            if not all(is_simple(arg) for _, arg in run):
                reasons.insert(0, "every element is evaluated before the first is appended (a call or attribute runs earlier)")
            items = ", ".join(element(ctx, arg) for _, arg in run)
            title, safety = titled(self, reasons)
            return replace_statements(ctx, node, run[-1][0], f"{name}.extend(({items}))", title, safety)

        loops = [loop for loop in ctx.loops_around(node) if isinstance(loop, _LOOPS)]
        if loops:
            scale = loop_confidence(self, loops[0], ctx)
        else:
            scale = Scale(Confidence.LOW, "not in a loop: the saving is a constant per call")
        ctx.report(
            self,
            node,
            self.message.format(count=len(run), name=name),
            fix=fix,
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
