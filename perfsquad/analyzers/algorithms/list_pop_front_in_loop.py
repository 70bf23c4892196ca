from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._evidence import searched
from perfsquad.analyzers.algorithms._shared import (
    hot_loops,
    is_zero,
    method_call_of,
    multi_edit_fix,
    name_uses,
    single_list_binding,
)
from perfsquad.context import Context
from perfsquad.fixes import insert_import
from perfsquad.model import Edit, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule, fit

# Methods a deque has with the same meaning as on a list (argument-less ``pop`` included).
_DEQUE_METHODS = frozenset({"append", "extend", "pop", "insert", "clear", "count", "index", "remove", "reverse"})


class ListPopFrontInLoop(Rule):
    """
    ## What it does
    Flags `xs.pop(0)` and `xs.insert(0, x)` on a list inside a loop.

    ## Why is this bad?
    A list stores its elements contiguously: removing or inserting at the front moves every other
    element, so each call is O(n) and draining a list of n elements from the front is O(n²).
    `collections.deque` pops and appends at both ends in O(1).

    **Confidence** (what shows the list is long and the loop repeats; see `evidence`): the weaker
    of the list's size (what it was built from: a parameter or a list filled per element of one is
    `high`; an attribute, a call's result or a `while` loop of unknown count `medium`) and the
    loop's. A list of a fixed few (a literal, `*args`, a fixed enumeration), a loop at import or
    behind a lazy `if x is None:` initialiser is `low`, hidden by default; so is code in an
    `except` handler one level lower (it runs on the error path).

    ## Example
    ```python
    def drain(xs):
        queue = list(xs)
        total = 0
        while queue:
            total += queue.pop(0)
        return total
    ```

    ## Use instead
    ```python
    from collections import deque

    def drain(xs):
        queue = deque(xs)
        total = 0
        while queue:
            total += queue.popleft()
        return total
    ```

    ## Fix safety
    The fix changes the list's single binding `queue = <list>` to `queue = deque(<list>)`, every
    `queue.pop(0)` to `queue.popleft()` and `queue.insert(0, x)` to `queue.appendleft(x)`.
    It is offered only when the list is a local variable bound once in the function, not used by a
    nested function, and never sliced or given a method a deque lacks (`sort`, `copy`...).

    It is **safe** when every other use is one a deque answers identically: `append`, `extend`,
    `pop()`, `len()`, indexing, and truth tests. (The one difference left is the text of the
    `IndexError` raised by popping an empty container.)

    It is **unsafe** when the list escapes: returned, passed to a function, compared, iterated or
    otherwise used, because that code then receives a `deque` instead of a `list` (`deque == list`
    is always false, `json.dumps` and `isinstance(x, list)` reject it, iterating a deque while it
    is modified raises `RuntimeError`).

    No fix is offered for a parameter or attribute (converting it would stop mutating the
    caller's list) or for a module-level list.

    Not flagged: a `pop(0)`/`insert(0, …)` on a path that leaves the loop (`return`, `raise`,
    `break`), which runs once.

    ## Speedup
    Measured by `bench/calibrate.py` draining a queue of `n` elements; the gap grows linearly with `n`
    (O(n²) against O(n)).

    ## References
    - [Python wiki: TimeComplexity](https://wiki.python.org/moin/TimeComplexity)
    - [`collections.deque`](https://docs.python.org/3/library/collections.html#collections.deque)
    """

    code = "ALG001"
    name = "list-pop-front-in-loop"
    message = "Front of a list popped or inserted in a loop (O(n) each); use a `deque`"
    template = "`{call}` in a loop shifts the whole list (O(n) each); use a `deque`"
    fix_title = "Use `collections.deque`"
    fix_safety = FixSafety.SAFE
    node_types = (ast.Call,)
    call_names = frozenset({"pop", "insert"})
    effort_minutes = 5
    bench = Bench(
        setup="xs = list(range(min(n, 20_000)))",
        before="queue = list(xs)\nresult = 0\nwhile queue:\n    result += queue.pop(0)",
        after="from collections import deque\nqueue = deque(xs)\nresult = 0\nwhile queue:\n    result += queue.popleft()",
        scales_with="n = elements drained from the front, capped at 20,000 (quadratic before)",
    )
    valid = (
        # A deque's popleft is O(1).
        "from collections import deque\ndef f(xs):\n    q = deque(xs)\n    while q:\n        q.popleft()\n",
        # pop() from the end is O(1).
        "def f(xs):\n    q = list(xs)\n    while q:\n        q.pop()\n",
        # Once, not in a loop.
        "def f(xs):\n    q = list(xs)\n    return q.pop(0)\n",
        # A loop bounded by a small constant.
        "def f(xs):\n    q = list(xs)\n    for _ in range(3):\n        q.pop(0)\n",
        # A dict's pop(0) removes key 0.
        "def f(xs):\n    d = {}\n    for x in xs:\n        d.pop(0, None)\n",
        # Unknown type: not flagged.
        "def f(q, xs):\n    for x in xs:\n        q.pop(0)\n",
        # insert at the end.
        "def f(xs):\n    q = []\n    for x in xs:\n        q.insert(len(q), x)\n",
    )
    invalid = (
        Invalid(
            "def f(items):\n    queue = list(items)\n    total = 0\n    while queue:\n"
            "        total += queue.pop(0)\n    return total\n",
            fixed="from collections import deque\ndef f(items):\n    queue = deque(items)\n    total = 0\n"
            "    while queue:\n        total += queue.popleft()\n    return total\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    out = []\n    for x in xs:\n        out.insert(0, x)\n    return out\n",
            fixed="from collections import deque\ndef f(xs):\n    out = deque()\n    for x in xs:\n"
            "        out.appendleft(x)\n    return out\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import collections\ndef f(xs):\n    q = [x for x in xs if x]\n    n = 0\n    while len(q) > 1:\n"
            "        n += q.pop(0) - q[-1]\n    return n\n",
            fixed="import collections\ndef f(xs):\n    q = collections.deque([x for x in xs if x])\n    n = 0\n"
            "    while len(q) > 1:\n        n += q.popleft() - q[-1]\n    return n\n",
            safety=FixSafety.SAFE,
        ),
        # A parameter: flagged, no fix (converting it would stop mutating the caller's list).
        Invalid("def f(xs: list, ys):\n    for y in ys:\n        xs.pop(0)\n"),
        # Sliced afterwards: a deque cannot be sliced, no fix.
        Invalid("def f(xs):\n    q = list(xs)\n    while len(q) > 2:\n        q.pop(0)\n    return q[:1]\n"),
    )

    def check(self, node: ast.Call, ctx: Context) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in ("pop", "insert") and isinstance(func.value, ast.Name)):
            return
        if func.attr == "pop" and not (len(node.args) == 1 and not node.keywords and is_zero(node.args[0])):
            return
        if func.attr == "insert" and not (len(node.args) == 2 and not node.keywords and is_zero(node.args[0])):
            return
        receiver = func.value
        if ctx.type_of(receiver) != "list":
            return
        loops = hot_loops(ctx, node)
        if not loops:
            return
        call_text = f"{receiver.id}.{func.attr}(0{', …' if func.attr == 'insert' else ''})"
        scale = searched(ctx, receiver, loops, verb="shifts")
        ctx.report(
            self, node, fit(self.template, call=call_text), fix=lambda: self._fix(ctx, receiver),
            confidence=scale.confidence, evidence=scale.evidence,
        )  # fmt: skip

    def _fix(self, ctx: Context, receiver: ast.Name) -> Fix | None:
        fn = ctx.function_of(receiver)
        if fn is None:
            return None
        binding = single_list_binding(ctx, fn, receiver.id)
        if binding is None:
            return None
        uses = name_uses(ctx, fn)[receiver.id]
        replacements: list[tuple[ast.AST, str]] = []
        escapes: list[str] = []
        for load in uses.loads:
            method = method_call_of(ctx, load)
            parent = ctx.parent(load)
            if method is not None:
                name, call = method
                if name == "pop" and len(call.args) == 1 and is_zero(call.args[0]) and not call.keywords:
                    replacements.append((call, f"{load.id}.popleft()"))
                elif name == "insert" and len(call.args) == 2 and is_zero(call.args[0]) and not call.keywords:
                    replacements.append((call, f"{load.id}.appendleft({ctx.text(call.args[1])})"))
                elif name not in _DEQUE_METHODS or (name == "pop" and call.args):
                    return None  # sort(), copy(), pop(i)...: a deque cannot stand in
            elif isinstance(parent, ast.Subscript) and parent.value is load:
                if isinstance(parent.slice, ast.Slice):
                    return None  # deques cannot be sliced
            elif _is_len_or_truth(ctx, load):
                continue
            else:
                escapes.append(_describe_escape(ctx, load))
        spelled = insert_import(ctx, "collections", "deque")
        if spelled is None:
            return None
        deque_name, import_edit = spelled
        value = binding.value
        if isinstance(value, ast.List) and not value.elts:
            new_value = f"{deque_name}()"
        elif isinstance(value, ast.Call) and ctx.qualified_name(value.func) == "builtins.list" and len(value.args) == 1:
            new_value = f"{deque_name}({ctx.text(value.args[0])})"
        else:
            new_value = f"{deque_name}({ctx.text(value)})"
        replacements.append((value, new_value))
        extra: list[Edit] = [import_edit] if import_edit is not None else []
        if escapes:
            reasons = "; ".join(dict.fromkeys(escapes))
            title = f"{self.fix_title} (unsafe: `{receiver.id}` becomes a deque where {reasons})"
            return multi_edit_fix(ctx, replacements, extra, title, FixSafety.UNSAFE)
        return multi_edit_fix(ctx, replacements, extra, self.fix_title, FixSafety.SAFE)


def _is_len_or_truth(ctx: Context, load: ast.Name) -> bool:
    parent = ctx.parent(load)
    if isinstance(parent, ast.Call) and load in parent.args and len(parent.args) == 1:
        return ctx.qualified_name(parent.func) == "builtins.len"
    if isinstance(parent, ast.While | ast.If | ast.IfExp | ast.Assert) and parent.test is load:
        return True
    if isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
        return True
    if isinstance(parent, ast.BoolOp):
        grand = ctx.parent(parent)
        return isinstance(grand, ast.While | ast.If | ast.IfExp | ast.Assert) and grand.test is parent
    return False


def _describe_escape(ctx: Context, load: ast.Name) -> str:
    parent = ctx.parent(load)
    if isinstance(parent, ast.Return):
        return "it is returned"
    if isinstance(parent, ast.Call):
        return "it is passed to a call"
    if isinstance(parent, ast.For | ast.comprehension):
        return "it is iterated (a deque raises if changed meanwhile)"
    if isinstance(parent, ast.Compare):
        return "it is compared (a deque never equals a list)"
    return f"it is used as `{ctx.text(parent) if parent is not None else load.id}`"
