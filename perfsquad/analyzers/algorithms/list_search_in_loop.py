from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._evidence import searched
from perfsquad.analyzers.algorithms._shared import (
    assigned_in,
    hot_loops,
    in_type_error_guard,
    loop_target_names,
    maybe_sequence,
)
from perfsquad.context import Context
from perfsquad.rule import Invalid, Rule, fit


class ListSearchInLoop(Rule):
    """
    ## What it does
    Flags `xs.index(x)`, `xs.count(x)` and `xs.remove(x)` on a list or tuple inside a loop, when
    the list lives across the loop (it is not the loop's own element or rebuilt each iteration).

    ## Why is this bad?
    Each call scans the list from the start: O(n) per call, O(n·m) for the loop. Counting every
    element with `count` is the classic O(n²); a `collections.Counter` built once counts all of
    them in one pass, and a dict from value to position answers `index` in O(1).

    **Confidence** (see `evidence`): the weaker of the list's size and the loop's repetition, as
    for ALG002: `low` (hidden by default) when either is a fixed few (a literal, `*args`,
    `**kwargs`, `range(<const>)`, `.shape`) or the code runs once (at import, behind a lazy
    initialiser); one level lower in an `except` handler.

    ## Example
    ```python
    def tally(words):
        return {w: words.count(w) for w in words}

    def positions(order, wanted):
        return [order.index(w) for w in wanted]
    ```

    ## Use instead
    ```python
    from collections import Counter

    def tally(words):
        return dict(Counter(words))

    def positions(order, wanted):
        where = {w: i for i, w in reversed(list(enumerate(order)))}  # first occurrence wins
        return [where[w] for w in wanted]
    ```

    ## Fix safety
    No automatic fix: the right replacement depends on what the loop does with the answer
    (`index` raises `ValueError` for a missing element where a dict raises `KeyError`, `remove`
    mutates the list the rest of the code sees, and a `Counter` reorders nothing but counts
    everything even when only some counts are needed).

    Not flagged: calls on a path that leaves the loop (`return`, `raise`, `break`), which run
    once; calls in an `except TypeError` handler or in the `try` it guards (the elements may be
    unhashable, so the dict or `Counter` proposed would raise).

    ## Speedup
    Not calibrated (no automatic fix). The rewrite turns O(n·m) into O(n + m).

    ## References
    - [Python wiki: TimeComplexity](https://wiki.python.org/moin/TimeComplexity)
    - [`collections.Counter`](https://docs.python.org/3/library/collections.html#collections.Counter)
    """

    code = "ALG003"
    name = "list-search-in-loop"
    message = "`index`/`count`/`remove` on a list in a loop scans it; use a dict or Counter"
    template = "`{call}` scans the {kind} `{name}` in a loop; use a dict or Counter"
    node_types = (ast.Call,)
    call_names = frozenset({"index", "count", "remove"})
    effort_minutes = 10
    valid = (
        # The receiver is the loop's own element: one scan per element, not a repeated search.
        "def f(lines):\n    for line in lines:\n        print(line.count(','))\n",
        # Not in a loop.
        "def f(xs: list, x):\n    return xs.index(x)\n",
        # Unknown type (could be a str, a custom class...).
        "def f(xs, ys):\n    for y in ys:\n        xs.count(y)\n",
        # Rebuilt on every iteration.
        "def f(rows, x):\n    for row in rows:\n        cells = list(row)\n        cells.index(x)\n",
        # A constant number of times.
        "def f(xs: list):\n    for c in 'abc':\n        xs.count(c)\n",
        # A dict's or a set's own methods.
        "def f(ys):\n    s = set()\n    for y in ys:\n        s.remove(y)\n",
        # Right before `return`: once.
        "def f(xs, ys):\n    order = list(xs)\n    for y in ys:\n        if y:\n            return order.index(y)\n",
        # The fallback for unhashable elements.
        "def f(xs, ys):\n    order = list(xs)\n    try:\n        d = {x: i for i, x in enumerate(order)}\n"
        "    except TypeError:\n        return [order.index(y) for y in ys]\n    return [d[y] for y in ys]\n",
    )
    invalid = (
        Invalid("def f(words: list):\n    return {w: words.count(w) for w in words}\n"),
        Invalid("def f(xs, ys):\n    order = list(xs)\n    for y in ys:\n        print(order.index(y))\n"),
        Invalid("def f(xs, ys):\n    pool = list(xs)\n    for y in ys:\n        pool.remove(y)\n    return pool\n"),
    )

    def check(self, node: ast.Call, ctx: Context) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("index", "count", "remove")):
            return
        receiver = func.value
        if not isinstance(receiver, ast.Name) or len(node.args) != 1:
            return
        loops = hot_loops(ctx, node)
        if not loops:
            return
        if not maybe_sequence(ctx, receiver.id):
            return
        kind = ctx.type_of(receiver)
        if kind not in ("list", "tuple"):
            return
        inner = loops[0]
        if receiver.id in loop_target_names(inner):
            return
        body = getattr(inner, "body", None)
        if isinstance(body, list) and any(assigned_in(stmt, receiver.id) for stmt in body):
            return
        if in_type_error_guard(ctx, node):
            return  # the elements may be unhashable: the dict or Counter proposed would raise
        call = f"{receiver.id}.{func.attr}(…)"
        scale = searched(ctx, receiver, loops, verb="scans")
        message = fit(self.template, call=call, kind=kind, name=receiver.id)
        ctx.report(self, node, message, confidence=scale.confidence, evidence=scale.evidence)
