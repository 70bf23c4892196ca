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
from perfsquad.context import COMPREHENSIONS, Context
from perfsquad.rule import Invalid, Rule, fit
from perfsquad.semantics.bindings import ASSIGN, scope_bindings
from perfsquad.semantics.types import UNKNOWN


class ListSearchInLoop(Rule):
    """
    ## What it does
    Flags `xs.index(x)`, `xs.count(x)` and `xs.remove(x)` on a list or tuple inside a loop, when
    the list lives across the loop (it is not the loop's own element or rebuilt each iteration).
    In a comprehension (not one that builds an error message: in a `raise` or in a block ending
    with one), `count`/`index` are flagged even when the receiver's type is unknown if the
    comprehension iterates the same collection (`{t: tags.count(t) for t in tags}`, also over
    `set(tags)` or `sorted(tags)`) or one bound from it in the function (`order = sorted(keys)` then
    `[order.index(k) for k in keys]`): the scan and the loop have the same size, so the cost is
    quadratic whatever the sequence (a `str` too); a receiver known to be something else (a dict,
    a set) is not.

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
        # The duplicates listed in an error message: once, on the way out.
        "def f(names):\n    if len(names) != len(set(names)):\n"
        "        raise ValueError(f'dupes: {[n for n in names if names.count(n) > 1]}')\n",
        # In a comprehension over another collection of unrelated size.
        "def f(word, alphabet):\n    return [alphabet.index(c) for c in word]\n",
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
        Invalid("def f(tags):\n    return {t: tags.count(t) for t in set(tags)}\n"),
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
        inner = loops[0]
        if isinstance(inner, COMPREHENSIONS) and func.attr != "remove":
            kind = ctx.type_of(receiver)
            if kind in ("list", "tuple", "str", UNKNOWN) and _scans_own_collection(ctx, inner, receiver.id):
                if in_type_error_guard(ctx, node) or _before_raise(ctx, inner):
                    return
                self._report(ctx, node, receiver, loops, kind if kind != UNKNOWN else "sequence")
                return
        if not maybe_sequence(ctx, receiver.id):
            return
        kind = ctx.type_of(receiver)
        if kind not in ("list", "tuple"):
            return
        if receiver.id in loop_target_names(inner):
            return
        body = getattr(inner, "body", None)
        if isinstance(body, list) and any(assigned_in(stmt, receiver.id) for stmt in body):
            return
        if in_type_error_guard(ctx, node):
            return  # the elements may be unhashable: the dict or Counter proposed would raise
        self._report(ctx, node, receiver, loops, kind)

    def _report(self, ctx: Context, node: ast.Call, receiver: ast.Name, loops: list[ast.AST], kind: str) -> None:
        assert isinstance(node.func, ast.Attribute)
        call = f"{receiver.id}.{node.func.attr}(…)"
        scale = searched(ctx, receiver, loops, verb="scans")
        message = fit(self.template, call=call, kind=kind, name=receiver.id)
        ctx.report(self, node, message, confidence=scale.confidence, evidence=scale.evidence)


_SAME_SIZE = frozenset({"set", "sorted", "list", "tuple", "reversed", "frozenset", "enumerate"})
"""Builtins whose result has (at most) the size of their argument: iterating ``set(xs)`` is iterating ``xs``."""


def _collection_names(ctx: Context, node: ast.expr) -> str | None:
    """``xs`` for ``xs``, ``set(xs)``, ``sorted(xs, key=...)``, ``enumerate(xs)``..."""
    while isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Name):
        name = node.func.id
        if name not in _SAME_SIZE or ctx.imports.resolve_name(name) != f"builtins.{name}":
            return None
        node = node.args[0]
    return node.id if isinstance(node, ast.Name) else None


def _before_raise(ctx: Context, node: ast.AST) -> bool:
    """The comprehension builds an error message: it is in a ``raise`` statement, or in a block
    that ends with one (``dupes = [n for n in names if names.count(n) > 1]; raise ValueError(...)``):
    it runs once, on the way out."""
    child: ast.AST = node
    for anc in ctx.ancestors(node):
        if isinstance(child, ast.stmt):
            if isinstance(child, ast.Raise):
                return True
            block = next(
                (b for f in ("body", "orelse", "finalbody") if isinstance(b := getattr(anc, f, None), list) and child in b),
                None,
            )
            return block is not None and isinstance(block[-1], ast.Raise)
        child = anc
    return False


def _scans_own_collection(ctx: Context, comp: ast.AST, receiver: str) -> bool:
    """Whether a comprehension scans, per element, a collection as large as the one it iterates: the
    same one (``{t: tags.count(t) for t in tags}``), or one bound from the other in the function
    (``order = sorted(keys)`` then ``[order.index(k) for k in keys]``)."""
    generators = getattr(comp, "generators", [])
    iterated = {name for g in generators if (name := _collection_names(ctx, g.iter)) is not None}
    if receiver in iterated:
        return True
    fn = ctx.function_of(comp)
    if fn is None or not iterated:
        return False
    sources: dict[str, set[str]] = {}
    for b in scope_bindings(fn):
        if b.how == ASSIGN and isinstance(b.node, ast.Assign) and len(b.node.targets) == 1:
            derived = _collection_names(ctx, b.node.value)
            if derived is None and isinstance(b.node.value, COMPREHENSIONS):
                derived = _collection_names(ctx, b.node.value.generators[0].iter)
            sources.setdefault(b.name, set()).add(derived or "")
        else:
            sources.setdefault(b.name, set()).add("")
    def origin(name: str) -> set[str]:
        return sources.get(name, set())
    return any(origin(receiver) == {other} or origin(other) == {receiver} for other in iterated)
