from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import element
from perfsquad.analyzers.idioms._bulk import created_empty_before, is_self, match_call_loop, report_bulk_loop
from perfsquad.context import Context
from perfsquad.model import FixSafety
from perfsquad.rule import Bench, Invalid, Rule

_BULK = {"add": "update", "discard": "difference_update"}


class SetUpdateLoop(Rule):
    """
    ## What it does
    Flags a `for` loop whose whole body adds one element to (or discards one from) a set that
    already exists: `for x in xs: seen.add(x)`, `for x in xs: seen.add(x.key)`,
    `for x in xs: pending.discard(x)`.

    Not flagged: a body that does anything else (a second statement, an `if`, an `else` on the
    loop), an element computed from the set itself, a loop over the set it fills, and a set created
    empty right before the loop (IDM002 reports that shape: a set comprehension).

    Confidence: at most `medium`, from what the loop iterates (a parameter, a query result:
    `medium`; a literal, `range(<const>)`, code run once at import: `low`); `low` (shown with
    `--confidence low`) when the receiver is not known to be a `set` (an `OGRGeometry`, an ordered set without `update`, a `set` subclass whose `update(*items)` takes varargs). Never
    reported inside the collection's own method on `self` (a class implementing its bulk method by
    the single one: the rewrite would call itself).

    ## Why is this bad?
    Each iteration runs the interpreter loop, looks up `add` and calls it. `s.update(xs)` hashes and
    inserts every element in one C call; with a transformed element, `s.update(f(x) for x in xs)`
    still saves the method lookup and call per element.

    ## Example
    ```python
    for user in batch:
        seen.add(user.id)
    ```

    ## Use instead
    ```python
    seen.update(user.id for user in batch)
    ```

    ## Fix safety
    No fix (a note says why) when the loop variable is read after the loop on some path (nothing
    binds it after the rewrite), in a class body (a generator there cannot see the class's names), or
    when the loop contains `await`, `yield` or `:=`. Otherwise **safe** when the receiver is known to
    be a `set` (created as one in the function), the loop is in a function and not inside `try`.
    **Unsafe** otherwise, with the reason in the fix title: a receiver of unknown type may define
    `add` and `update` differently (a custom collection, a `dict`-backed registry with side
    effects); inside `try`, an exception midway is not proven to leave the same elements behind.
    The elements are computed and added in the same order either way. Comments inside the loop are
    kept (a trailing comment stays at the end of the new line).

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = elements added to an existing set).

    ## References
    - [ruff FURB142 for-loop-set-mutations](https://docs.astral.sh/ruff/rules/for-loop-set-mutations/)
    - [`set.update`](https://docs.python.org/3/library/stdtypes.html#frozenset.update)
    """

    code = "IDM019"
    name = "set-update-loop"
    message = "Loop only calls `{name}.{method}()` per element; use `{name}.{bulk}(...)`"
    fix_title = "Replace the loop with one bulk call"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 1
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = {-1}\nfor x in xs:\n    result.add(x)",
        after="result = {-1}\nresult.update(xs)",
        scales_with="n = elements added",
    )
    valid = (
        "def f(xs, s):\n    for x in xs:\n        if x:\n            s.add(x)\n",
        "def f(xs, s):\n    for x in xs:\n        s.add(x)\n        print(x)\n",
        "def f(s):\n    for x in list(s):\n        s.add(x + 1)\n",
        "def f(xs, s):\n    for x in xs:\n        s.add(len(s) + x)\n",
        "def f(xs):\n    s = set()\n    for x in xs:\n        s.add(x)\n    return s\n",  # IDM002
        "def f(xs, s):\n    for x in xs:\n        s.add(x)\n    else:\n        s.clear()\n",
        "def f(self, rows):\n    for r in rows:\n        self.ids.add(r)\n",  # receivers are names only
        # Reported only with `--confidence low`: `s` is not known to be a set (a class with an `add`
        # and perhaps no `update`); never inside the class's own `update` (it would recurse).
        "def f(xs, s):\n    for x in xs:\n        s.add(x)\n",
        "class S(set):\n    def update(self, xs):\n        for x in xs:\n            self.add(x)\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    seen = {0}\n    for x in xs:\n        seen.add(x)\n    return seen\n",
            fixed="def f(xs):\n    seen = {0}\n    seen.update(xs)\n    return seen\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    seen = set(xs)\n    for x in xs:\n        seen.discard(x * 2)\n    return seen\n",
            fixed="def f(xs):\n    seen = set(xs)\n    seen.difference_update(x * 2 for x in xs)\n    return seen\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(rows):\n    seen = {0}\n    try:\n        for k, v in rows:\n            seen.add(k)  # keys\n    except TypeError:\n        pass\n",
            fixed="def f(rows):\n    seen = {0}\n    try:\n        seen.update(k for k, v in rows)  # keys\n    except TypeError:\n        pass\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        found = match_call_loop(node, frozenset(_BULK))
        if found is None:
            return
        name = found.receiver.id
        if is_self(ctx, found.receiver):
            return
        if created_empty_before(ctx, node, name, "set"):
            return
        bulk = _BULK[found.method]

        def new_code() -> str | None:
            if isinstance(ctx.scope_of(node), ast.ClassDef):
                return None  # a generator in a class body cannot see the class's names
            iterable = ctx.text(node.iter)
            if isinstance(found.arg, ast.Name) and isinstance(node.target, ast.Name) and found.arg.id == node.target.id:
                return f"{name}.{bulk}({iterable})"
            if isinstance(node.iter, ast.Lambda | ast.IfExp | ast.Tuple) and not iterable.startswith("("):
                iterable = f"({iterable})"
            return f"{name}.{bulk}({element(ctx, found.arg)} for {ctx.text(node.target)} in {iterable})"

        message = self.message.format(name=name, method=found.method, bulk=bulk)
        report_bulk_loop(self, ctx, found, "set", message, new_code)
