from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._evidence import on_error_path
from perfsquad.analyzers.algorithms._shared import constant_bounded, in_type_error_guard
from perfsquad.context import Context
from perfsquad.rule import Invalid, Rule, fit
from perfsquad.semantics.scale import Scale, loop_scale, weakest
from perfsquad.syntax import names_in, walk


def _targets(loop: ast.For | ast.AsyncFor) -> set[str]:
    return {n.id for n in walk(loop.target) if isinstance(n, ast.Name)}


def _bare(node: ast.expr) -> set[str]:
    """The name ``node`` is, when it is a bare name."""
    return {node.id} if isinstance(node, ast.Name) else set()


def _indices(loop: ast.For | ast.AsyncFor) -> set[str]:
    """The loop's position variables: the target of ``range(...)``, the first target of
    ``enumerate(...)``."""
    it = loop.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)):
        return set()
    if it.func.id == "range" and isinstance(loop.target, ast.Name):
        return {loop.target.id}
    if it.func.id == "enumerate" and isinstance(loop.target, ast.Tuple) and loop.target.elts:
        first = loop.target.elts[0]
        return {first.id} if isinstance(first, ast.Name) else set()
    return set()


class NestedLoopJoin(Rule):
    """
    ## What it does
    Flags two nested `for` loops over two independent collections whose inner body only acts
    when a key of the outer element equals a key of the inner element:
    `for a in xs: for b in ys: if key(a) == key(b): ...`.

    ## Why is this bad?
    That is a join done by comparing every pair: O(n·m) comparisons. Indexing one side by its
    key in a dict first (O(m)) and looking each element of the other side up (O(1) each) gives
    the same pairs in O(n + m).

    **Confidence** (see `evidence`): the weaker of the two loops' scales
    (`semantics.scale.loop_scale`): both over parameters is `high`; a side over a fixed few (a
    literal, `*args`, `range(<const>)`, a size parameter with a small default such as `W=55`) or
    run once is `low`, hidden by default; one level lower in an `except` handler.

    ## Example
    ```python
    def attach(orders, customers):
        for order in orders:
            for customer in customers:
                if order.customer_id == customer.id:
                    order.customer = customer
    ```

    ## Use instead
    ```python
    def attach(orders, customers):
        by_id = {}
        for customer in customers:
            by_id.setdefault(customer.id, []).append(customer)
        for order in orders:
            for customer in by_id.get(order.customer_id, ()):
                order.customer = customer
    ```

    ## Fix safety
    No automatic fix: the keys must be hashable, the dict groups equal keys (the rewrite above
    keeps every match, in the inner collection's order), and `==` between different types (a
    custom `__eq__`, `1 == 1.0 == True`) may match pairs that hashing treats differently.

    Not flagged: an `if`/`else` (or `elif`) whose other arm does work for every non-matching pair
    (all pairs are visited anyway); `i == j` between the two loops' positions (`range`, or the
    index of `enumerate`): the diagonal of a sweep, not a join on keys; loops in an
    `except TypeError` handler or in the `try` it guards (the keys may be unhashable).

    ## Speedup
    Not calibrated (no automatic fix). The comparisons drop from n·m to n + m.

    ## References
    - [Hash join](https://en.wikipedia.org/wiki/Hash_join)
    - [Mapping types: dict](https://docs.python.org/3/library/stdtypes.html#mapping-types-dict)
    """

    code = "ALG006"
    name = "nested-loop-join"
    message = "Nested loops join two collections on `==` (O(n·m)); index one side in a dict"
    template = "Nested loops join `{outer}`, `{inner}` on `==` (O(n·m)); index one in a dict"
    node_types = (ast.For,)
    effort_minutes = 15
    valid = (
        # The inner loop depends on the outer element: a traversal, not a join.
        "def f(rows, k):\n    for row in rows:\n        for cell in row:\n            if cell == k:\n                print(cell)\n",
        # Not an equality between the two sides.
        "def f(xs, ys):\n    for x in xs:\n        for y in ys:\n            if x < y:\n                print(x, y)\n",
        # Compares to a constant.
        "def f(xs, ys):\n    for x in xs:\n        for y in ys:\n            if y == 3:\n                print(x)\n",
        # The inner loop is constant-bounded.
        "def f(xs):\n    for x in xs:\n        for c in (1, 2):\n            if x == c:\n                print(x)\n",
        # Sizes that default to small constants (low confidence, hidden by default).
        "def f(ys, W=55, H=20):\n    for h in range(H):\n        for i in range(W):\n            if ys[i] == h:\n"
        "                print(i)\n",
        # The diagonal of a sweep over positions.
        "def f(xs):\n    for i, a in enumerate(xs):\n        for j, b in enumerate(xs):\n            if i == j:\n"
        "                print(a, b)\n",
        # The other arm works on every pair.
        "def f(xs, ys):\n    for x in xs:\n        for y in ys:\n            if x.k == y.k:\n                print(x)\n"
        "            else:\n                print(x, y)\n",
    )
    invalid = (
        Invalid(
            "def f(orders, customers):\n    for o in orders:\n        for c in customers:\n"
            "            if o.customer_id == c.id:\n                o.customer = c\n"
        ),
        Invalid(
            "def f(xs, ys):\n    out = []\n    for x in xs:\n        for y in ys:\n            if y[0] == x[0]:\n"
            "                out.append((x, y))\n    return out\n"
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        outer = ctx.parent(node)
        if not isinstance(outer, ast.For) or not any(s is node for s in outer.body):
            return
        if constant_bounded(node) or constant_bounded(outer):
            return
        outer_names = _targets(outer)
        inner_names = _targets(node)
        if not outer_names or not inner_names or names_in(node.iter) & outer_names:
            return
        if len(node.body) != 1 or not isinstance(node.body[0], ast.If) or node.orelse:
            return
        branch = node.body[0]
        if branch.orelse:
            return  # the other arm does work for every non-matching pair: all pairs are visited anyway
        test = branch.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
            return
        if _indices(outer) & _bare(test.left) and _indices(node) & _bare(test.comparators[0]):
            return  # `i == j` on two positions: the diagonal of a sweep, not a join on keys
        if _indices(node) & _bare(test.left) and _indices(outer) & _bare(test.comparators[0]):
            return
        if in_type_error_guard(ctx, node):
            return  # the keys may be unhashable: a dict index is what failed
        left, right = names_in(test.left), names_in(test.comparators[0])

        def only(names: set[str], mine: set[str], other: set[str]) -> bool:
            return bool(names & mine) and not names & other

        if not (
            (only(left, outer_names, inner_names) and only(right, inner_names, outer_names))
            or (only(right, outer_names, inner_names) and only(left, inner_names, outer_names))
        ):
            return
        message = fit(self.template, outer=ctx.text(outer.iter), inner=ctx.text(node.iter))
        sides = loop_scale(outer, ctx), loop_scale(node, ctx)
        low = weakest(*sides)
        evidence = f"outer loop {sides[0].evidence}; inner loop {sides[1].evidence}"
        scale = on_error_path(ctx, node, Scale(low.confidence, evidence))
        ctx.report(self, ctx.header_span(node), message, confidence=scale.confidence, evidence=scale.evidence)

