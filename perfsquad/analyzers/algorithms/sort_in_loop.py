from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._evidence import repeated
from perfsquad.analyzers.algorithms._shared import hot_loops, maybe_sequence, rebuilt_in
from perfsquad.context import Context
from perfsquad.model import Confidence
from perfsquad.rule import Invalid, Rule, fit
from perfsquad.semantics.scale import Scale
from perfsquad.syntax import walk

_GROW = frozenset({"append", "insert", "extend"})


def _grows_by_element(loop: ast.AST, name: str) -> bool:
    """Some growth of ``name`` in ``loop`` adds one element (``append``/``insert``), not a batch."""
    for sub in walk(loop):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr in ("append", "insert")
            and isinstance(sub.func.value, ast.Name)
            and sub.func.value.id == name
        ):
            return True
    return False


def _grows_in(loop: ast.AST, name: str) -> bool:
    for sub in walk(loop):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr in _GROW
            and isinstance(sub.func.value, ast.Name)
            and sub.func.value.id == name
        ):
            return True
        if isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name) and sub.target.id == name:
            return True
    return False


class SortInLoop(Rule):
    """
    ## What it does
    Flags re-sorting a list that grows inside the same loop: `xs.sort()`, `sorted(xs)`,
    `min(xs)` or `max(xs)` on every iteration after an `append`/`insert`/`extend`.

    ## Why is this bad?
    Sorting is O(n log n) and `min`/`max` are O(n); doing it after every insertion makes the
    loop O(n² log n) or O(n²). Keeping the list sorted with `bisect.insort` costs O(n) per
    insertion with a tiny constant (a memmove), and a heap (`heapq`) gives the minimum in O(1)
    and insertions in O(log n).

    **Confidence** (see `evidence`): the list grows with the loop, so the loop's repetition
    (`semantics.scale.loop_scale`) is the evidence: a parameter is `high`, an attribute or a call's
    result `medium`, a fixed few or a loop that runs once `low`. A list grown by batches
    (`extend`, `+=`) only is `low`: it is sorted once per batch, not after every element.

    ## Example
    ```python
    def running_median(stream):
        seen = []
        out = []
        for x in stream:
            seen.append(x)
            seen.sort()
            out.append(seen[len(seen) // 2])
        return out
    ```

    ## Use instead
    ```python
    import bisect

    def running_median(stream):
        seen = []
        out = []
        for x in stream:
            bisect.insort(seen, x)
            out.append(seen[len(seen) // 2])
        return out
    ```

    ## Fix safety
    No automatic fix: `bisect.insort` needs the list sorted already and elements comparable the
    same way the sort compared them (a `key=`/`reverse=` changes how to bisect), and a heap changes
    the list's order, which other code may read.

    Not flagged: a list assigned a fresh value inside the loop (`members = []` per group, then
    filled and sorted once): it holds one iteration's items and does not grow across the loop; a
    sort on a path that leaves the loop (in a `raise`, right before `return` or `break`), which
    runs once; a list the loop does not grow; loops bounded by a small constant.

    ## Speedup
    Not calibrated (no automatic fix). Sorting per insertion is O(n log n) against insort's O(n)
    (or O(log n) for a heap).

    ## References
    - [`bisect.insort`](https://docs.python.org/3/library/bisect.html#bisect.insort)
    - [`heapq`](https://docs.python.org/3/library/heapq.html)
    """

    code = "ALG004"
    name = "sort-in-loop"
    message = "A list re-sorted (or min/max-scanned) after every insertion; use `heapq`"
    template = "`{call}` re-sorts or re-scans the growing `{name}` in a loop; use `heapq`"
    node_types = (ast.Call,)
    call_names = frozenset({"sort", "sorted", "min", "max"})
    effort_minutes = 15
    valid = (
        # Sorted once, after the loop.
        "def f(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    out.sort()\n    return out\n",
        # Sorting a list the loop does not grow.
        "def f(xs, ys):\n    base = list(ys)\n    for x in xs:\n        print(min(base))\n",
        # min of two values.
        "def f(xs):\n    best = []\n    for x in xs:\n        best.append(x)\n        print(min(x, 3))\n",
        # A constant number of times.
        "def f(xs):\n    out = []\n    for x in range(3):\n        out.append(x)\n        out.sort()\n",
        # Grown by batches: sorted once per batch (low confidence, hidden by default).
        "def f(batches):\n    acc = []\n    for b in batches:\n        acc.extend(b)\n        acc.sort()\n",
        # Rebuilt per iteration, sorted once it is filled.
        "def f(groups):\n    for g in groups:\n        ms = []\n        for m in g:\n            ms.append(m)\n"
        "        print(sorted(ms))\n",
        # Sorted in the error message of a `raise`: once.
        "def f(xs):\n    bad = []\n    for x in xs:\n        bad.append(x)\n        if x < 0:\n"
        "            raise ValueError(sorted(bad))\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    seen = []\n    for x in xs:\n        seen.append(x)\n        seen.sort()\n"
            "        print(seen[0])\n"
        ),
        Invalid("def f(xs):\n    top = []\n    for x in xs:\n        top.append(x)\n        print(max(top))\n"),
        Invalid(
            "def f(xs):\n    acc = []\n    while xs:\n        acc.append(xs.pop())\n        acc = sorted(acc)\n    return acc\n"
        ),
    )

    def check(self, node: ast.Call, ctx: Context) -> None:
        func = node.func
        target: ast.expr | None = None
        if isinstance(func, ast.Attribute) and func.attr == "sort" and not node.args:
            target = func.value
            call = f"{ctx.text(func.value)}.sort()" if isinstance(func.value, ast.Name) else "sort()"
        elif isinstance(func, ast.Name) and len(node.args) == 1 and not isinstance(node.args[0], ast.Starred):
            qn = ctx.qualified_name(func)
            if qn not in ("builtins.sorted", "builtins.min", "builtins.max"):
                return
            target = node.args[0]
            call = f"{func.id}(…)"
        else:
            return
        if not isinstance(target, ast.Name):
            return
        loops = hot_loops(ctx, node)
        if not loops or not maybe_sequence(ctx, target.id) or not _grows_in(loops[0], target.id):
            return
        if rebuilt_in(loops[0], target.id):
            return  # a fresh list per iteration, filled then sorted once: it does not grow across the loop
        if ctx.type_of(target) != "list":
            return
        if _grows_by_element(loops[0], target.id):
            scale = repeated(ctx, node, loops, f"`{target.id}` grows and is re-sorted")
        else:
            scale = Scale(Confidence.LOW, f"`{target.id}` grows by batches (`extend`, `+=`): sorted once per batch")
        message = fit(self.template, call=call, name=target.id)
        ctx.report(self, node, message, confidence=scale.confidence, evidence=scale.evidence)
