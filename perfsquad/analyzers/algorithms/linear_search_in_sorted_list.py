from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._evidence import searched
from perfsquad.analyzers.algorithms._shared import hot_loops, maybe_sequence
from perfsquad.analyzers.algorithms.membership_in_list_in_loop import sorted_binding
from perfsquad.context import Context
from perfsquad.rule import Invalid, Rule, fit


class LinearSearchInSortedList(Rule):
    """
    ## What it does
    Flags `x in xs` and `xs.index(x)` inside a loop when `xs` is a list the function built with
    `sorted(...)` and never changes afterwards.

    ## Why is this bad?
    Both scan the list from the start, O(n) per search, ignoring that it is sorted. Binary
    search with the `bisect` module finds the position in O(log n).

    **Confidence** (see `evidence`): the weaker of the list's size (what was sorted) and the loop's
    repetition, as for ALG002; `low` (hidden by default) for a fixed few or code run once, one
    level lower in an `except` handler.

    ## Example
    ```python
    def hits(queries, values):
        ordered = sorted(values)
        return [q for q in queries if q in ordered]
    ```

    ## Use instead
    ```python
    from bisect import bisect_left

    def contains(ordered, q):
        i = bisect_left(ordered, q)
        return i < len(ordered) and ordered[i] == q

    def hits(queries, values):
        ordered = sorted(values)
        return [q for q in queries if contains(ordered, q)]
    ```
    (or, when only membership matters, `allowed = set(values)`).

    ## Fix safety
    No automatic fix: binary search needs a helper function, finds elements by ordering rather
    than equality (values that compare equal but are not `==`-identical, or a list sorted with a
    `key=`, need the same key for `bisect`), and raises `TypeError` on values that cannot be
    ordered against the list's where `in` simply answers `False`.

    Not flagged: searches on a path that leaves the loop (`return False, s` right after it, a
    `raise` or `break` branch): they run once, not once per iteration.

    ## Speedup
    Not calibrated (no automatic fix): O(n) per search against O(log n).

    ## References
    - [`bisect`](https://docs.python.org/3/library/bisect.html)
    - [Searching sorted lists](https://docs.python.org/3/library/bisect.html#searching-sorted-lists)
    """

    code = "ALG008"
    name = "linear-search-in-sorted-list"
    message = "Linear search in a sorted list inside a loop; use `bisect` (O(log n))"
    template = "`{what}` scans the sorted list `{name}` in a loop; use `bisect` (O(log n))"
    node_types = (ast.Compare, ast.Call)
    call_names = frozenset({"index"})
    effort_minutes = 10
    valid = (
        # A set.
        "def f(qs, vs):\n    ordered = set(vs)\n    return [q for q in qs if q in ordered]\n",
        # Not sorted.
        "def f(qs, vs: list):\n    return [q for q in qs if q in vs]\n",
        # Sorted, then appended to: no longer known sorted.
        "def f(qs, vs):\n    o = sorted(vs)\n    o.append(0)\n    return [q for q in qs if q in o]\n",
        # Once, not in a loop.
        "def f(q, vs):\n    o = sorted(vs)\n    return q in o\n",
        # On the path that returns: once per call.
        "def f(qs, vs):\n    o = sorted(vs)\n    for q in qs:\n        if q < 0:\n            i = o.index(q)\n"
        "            return i\n",
    )
    invalid = (
        Invalid("def f(qs, vs):\n    o = sorted(vs)\n    return [q for q in qs if q in o]\n"),
        Invalid("def f(qs, vs):\n    o = sorted(vs)\n    for q in qs:\n        print(o.index(q))\n"),
    )

    def check(self, node: ast.Compare | ast.Call, ctx: Context) -> None:
        if isinstance(node, ast.Compare):
            for op, right in zip(node.ops, node.comparators, strict=False):
                if isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Name):
                    self._check_one(node, right, "in", ctx)
            return
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "index" and isinstance(func.value, ast.Name):
            self._check_one(node, func.value, "index", ctx)

    def _check_one(self, node: ast.AST, name: ast.Name, how: str, ctx: Context) -> None:
        loops = hot_loops(ctx, node)
        if not loops or not maybe_sequence(ctx, name.id) or ctx.type_of(name) != "list":
            return
        if not sorted_binding(ctx, name):
            return
        what = f"… in {name.id}" if how == "in" else f"{name.id}.index(…)"
        scale = searched(ctx, name, loops, verb="scans")
        ctx.report(
            self, node, fit(self.template, what=what, name=name.id), confidence=scale.confidence, evidence=scale.evidence
        )
