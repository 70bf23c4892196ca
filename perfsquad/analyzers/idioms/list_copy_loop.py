from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._bulk import created_empty_before, is_self, match_call_loop, report_bulk_loop
from perfsquad.context import Context
from perfsquad.model import FixSafety
from perfsquad.rule import Bench, Invalid, Rule

_APPEND = frozenset({"append"})


class ListCopyLoop(Rule):
    """
    ## What it does
    Flags a `for` loop whose whole body appends the loop variable, unchanged and unconditionally,
    to a list that already exists: `for x in xs: ys.append(x)`.

    Not flagged: a body that transforms the element (`ys.append(f(x))`) or appends under an `if`
    (a comprehension is the idiom there), a loop with more statements or an `else`, a loop that
    appends to the list it iterates (`for x in ys: ys.append(x)` never ends), and a list created
    empty right before the loop (IDM001 reports that shape).

    Confidence: at most `medium`, from what the loop iterates (a parameter, a query result:
    `medium`; a literal, `range(<const>)`, code run once at import: `low`); `low` (shown with
    `--confidence low`) when the receiver is not known to be a `list` (a custom collection whose `append` does more, or that has no `extend`). Never
    reported inside the collection's own method on `self` (a class implementing its bulk method by
    the single one: the rewrite would call itself).

    ## Why is this bad?
    Each iteration runs the interpreter loop, looks up `append` and calls it. `ys.extend(xs)` copies
    every element in one C call (for a list or tuple source, one memory copy after a single resize).

    ## Example
    ```python
    for user in new_users:
        users.append(user)
    ```

    ## Use instead
    ```python
    users.extend(new_users)
    ```

    ## Fix safety
    No fix (a note says why) when the loop variable is read after the loop on some path: the loop
    leaves it bound to the last element, `extend` binds nothing. Otherwise **safe** when the list
    is known to be a `list` (created as one in the function), the loop is inside a function and not
    inside `try`. **Unsafe** otherwise, with the reason in the fix title: a receiver of unknown type
    may define `append` and `extend` differently (a custom collection, a logging wrapper); inside
    `try`, an exception raised by the iterable midway is not proven to leave the same prefix behind;
    outside a function the loop variable is a module or class attribute that `extend` would no
    longer set. Comments inside the loop are kept (a trailing comment stays at the end of the new line).

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = elements copied from a list into an existing list).

    ## References
    - [ruff PERF402 manual-list-copy](https://docs.astral.sh/ruff/rules/manual-list-copy/)
    - [perflint W8402 use-list-copy](https://github.com/tonybaloney/perflint)
    - [`list.extend`](https://docs.python.org/3/tutorial/datastructures.html#more-on-lists)
    """

    code = "IDM016"
    name = "list-copy-loop"
    message = "Loop only appends each element to `{name}`; use `{name}.extend(...)`"
    fix_title = "Replace the loop with `extend()`"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 1
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = [0]\nfor x in xs:\n    result.append(x)",
        after="result = [0]\nresult.extend(xs)",
        scales_with="n = elements copied",
    )
    valid = (
        "def f(xs, ys):\n    for x in xs:\n        ys.append(x * 2)\n",
        "def f(xs, ys):\n    for x in xs:\n        if x:\n            ys.append(x)\n",
        "def f(xs, ys):\n    for x in xs:\n        ys.append(x)\n        print(x)\n",
        "def f(ys):\n    for x in ys:\n        ys.append(x)\n",
        "def f(ys):\n    for x in ys[:3]:\n        ys.append(x)\n",
        "def f(xs):\n    ys = []\n    for x in xs:\n        ys.append(x)\n    return ys\n",  # IDM001
        "def f(xs, ys):\n    for x in xs:\n        ys.append(x)\n    else:\n        pass\n",
        "def f(xs, ys):\n    for x, y in xs:\n        ys.append(x)\n",
        # Reported only with `--confidence low`: `ys` is not known to be a list (any class with an
        # `append` and perhaps no `extend`); never inside the class's own `extend` (it would recurse).
        "def f(xs, ys):\n    for x in xs:\n        ys.append(x)\n",
        "class L(list):\n    def extend(self, xs):\n        for x in xs:\n            self.append(x)\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    ys = [0]\n    for x in xs:\n        ys.append(x)  # copy\n    return ys\n",
            fixed="def f(xs):\n    ys = [0]\n    ys.extend(xs)  # copy\n    return ys\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    out = [0]\n    try:\n        for x in xs:\n            out.append(x)\n    except TypeError:\n        pass\n",
            fixed="def f(xs):\n    out = [0]\n    try:\n        out.extend(xs)\n    except TypeError:\n        pass\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid("def f(xs):\n    ys = [0]\n    for x in xs:\n        ys.append(x)\n    return x\n"),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        found = match_call_loop(node, _APPEND)
        if found is None or not isinstance(node.target, ast.Name):
            return
        if not (isinstance(found.arg, ast.Name) and found.arg.id == node.target.id):
            return
        name = found.receiver.id
        if is_self(ctx, found.receiver):
            return
        if created_empty_before(ctx, node, name, ast.List) or created_empty_before(ctx, node, name, "list"):
            return
        code = f"{name}.extend({ctx.text(node.iter)})"
        report_bulk_loop(self, ctx, found, "list", self.message.format(name=name), lambda: code)
