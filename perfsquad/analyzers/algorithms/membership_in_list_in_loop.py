from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._evidence import searched
from perfsquad.analyzers.algorithms._shared import (
    SMALL_LITERAL,
    NameUses,
    assigned_in,
    hot_loops,
    in_type_error_guard,
    maybe_sequence,
    method_call_of,
    multi_edit_fix,
    name_uses,
    single_list_binding,
)
from perfsquad.context import Context
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule, fit
from perfsquad.syntax import walk

_SEQUENCES = frozenset({"list", "tuple"})


def sorted_binding(ctx: Context, name: ast.Name) -> bool:
    """Every binding of ``name`` in its function is ``name = sorted(...)`` and it is never mutated."""
    fn = ctx.function_of(name)
    if fn is None:
        return False
    uses = name_uses(ctx, fn).get(name.id)
    if uses is None or uses.escapes_scope or not uses.bindings:
        return False
    for b in uses.bindings:
        if not (isinstance(b, ast.Assign) and isinstance(b.value, ast.Call)):
            return False
        if ctx.qualified_name(b.value.func) != "builtins.sorted":
            return False
    for load in uses.loads:
        method = method_call_of(ctx, load)
        if method is not None and method[0] in ("append", "insert", "extend", "reverse", "__setitem__"):
            return False
        parent = ctx.parent(load)
        if isinstance(parent, ast.Subscript) and not isinstance(parent.ctx, ast.Load):
            return False
    return True


class MembershipInListInLoop(Rule):
    """
    ## What it does
    Flags `x in xs` / `x not in xs` inside a loop when `xs` is a list (or tuple) variable that
    lives across the loop: built before it, or grown by it (`if x not in seen: seen.append(x)`).

    ## Why is this bad?
    Membership in a list compares against every element: O(n) per test, so a loop over n items
    doing it is O(n²). A `set` (or `dict`) answers in O(1) on average.

    **Confidence** (see `evidence`): the weaker of the list's size and the loop's repetition, each
    read by `semantics.scale`: a parameter, or a list grown per element of one (the dedupe idiom),
    is `high`; an attribute or a call's result of unknown size `medium`; a literal, `*args`,
    `**kwargs`, `range(<const>)`, `.shape`, a loop at import or behind a lazy initialiser `low`
    (hidden by default). In an `except` handler, one level lower (the error path).

    ## Example
    ```python
    def unique(items):
        seen = []
        for x in items:
            if x not in seen:
                seen.append(x)
                yield x
    ```

    ## Use instead
    ```python
    def unique(items):
        seen = set()
        for x in items:
            if x not in seen:
                seen.add(x)
                yield x
    ```

    ## Fix safety
    A fix is offered when the list is a local variable bound once to `[]` and used only for
    membership tests and `append`: it becomes `set()` and `append` becomes `add`. Always
    **unsafe**: set membership hashes, so an unhashable element (a list, a dict) raises `TypeError`
    where the list compared happily, and elements that are equal but hash differently (objects
    defining `__eq__` without a matching `__hash__`) are no longer found. Lists that are also
    returned, iterated or indexed keep their order-dependent uses and get no fix: keep the list
    and add a set beside it.

    Not flagged: sets and dicts, small literal lists and tuples (`x in (1, 2, 3)`), lists
    rebuilt inside the loop, lists known to be sorted (ALG008 suggests `bisect` there), loops
    bounded by a small constant; tests on a path that leaves the loop (`return`, `raise`,
    `break`), which run once; tests in an `except TypeError` handler or in the `try` it guards
    (the elements may be unhashable: a set is what raised, or would raise); lists written by
    position in the loop (`while None in sizes: ... sizes[i] = size`), an array of slots whose
    values a set cannot follow.

    ## Speedup
    Measured by `bench/calibrate.py` de-duplicating `n` elements; grows linearly with `n`.

    ## References
    - [Python wiki: TimeComplexity](https://wiki.python.org/moin/TimeComplexity)
    - [Sets](https://docs.python.org/3/tutorial/datastructures.html#sets)
    """

    code = "ALG002"
    name = "membership-in-list-in-loop"
    message = "Membership test on a list in a loop searches element by element; use a set"
    template = "`{test}` scans the {kind} `{name}` on every iteration; use a set"
    fix_title = "Make it a set"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.Compare,)
    effort_minutes = 5
    bench = Bench(
        setup="import random\nrng = random.Random(1)\nm = min(n, 5_000)\nxs = [rng.randrange(m // 2 + 1) for _ in range(m)]",
        before="seen = []\nfor x in xs:\n    if x not in seen:\n        seen.append(x)\nresult = len(seen)",
        after="seen = set()\nfor x in xs:\n    if x not in seen:\n        seen.add(x)\nresult = len(seen)",
        scales_with="n = elements de-duplicated, capped at 5,000 (quadratic before)",
    )
    valid = (
        "def f(xs):\n    seen = set()\n    for x in xs:\n        if x not in seen:\n            seen.add(x)\n",
        "def f(xs):\n    for x in xs:\n        if x in (1, 2, 3):\n            print(x)\n",
        "def f(xs):\n    ok = ['a', 'b']\n    for x in xs:\n        if x in ok:\n            print(x)\n",
        "def f(rows, x):\n    for row in rows:\n        cols = list(row)\n        if x in cols:\n            print(row)\n",
        "def f(xs, raw):\n    ys = sorted(raw)\n    for x in xs:\n        if x in ys:\n            print(x)\n",
        "def f(xs):\n    seen = []\n    for i in range(4):\n        if i in seen:\n            seen.append(i)\n",
        "def f(xs):\n    seen = []\n    return 1 in seen\n",
        "def f(d, xs):\n    d = {}\n    for x in xs:\n        if x in d:\n            print(x)\n",
        "def f(xs, k):\n    for x in xs:\n        if k in x:\n            print(x)\n",
        # Low confidence, hidden by default: the arguments of one call; once, behind a lazy initialiser.
        "def f(xs, *names):\n    ok = list(names)\n    return [x for x in xs if x in ok]\n",
        "def f(self, xs):\n    if self._d is None:\n        seen = list(xs)\n        self._d = [x for x in xs if x in seen]\n",
        # An array of slots written by position.
        "def f(vs):\n    sizes = [v or None for v in vs]\n    while None in sizes:\n        sizes[sizes.index(None)] = 1\n",
        # The fallback for unhashable elements.
        "def f(xs, ys: list):\n    try:\n        s = set(ys)\n    except TypeError:\n"
        "        return [x for x in xs if x in ys]\n    return [x for x in xs if x in s]\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    seen = []\n    n = 0\n    for x in xs:\n        if x not in seen:\n"
            "            seen.append(x)\n            n += 1\n    return n\n",
            fixed="def f(xs):\n    seen = set()\n    n = 0\n    for x in xs:\n        if x not in seen:\n"
            "            seen.add(x)\n            n += 1\n    return n\n",
            safety=FixSafety.UNSAFE,
        ),
        # Returned (order matters): flagged, no fix.
        Invalid(
            "def f(xs):\n    out = []\n    for x in xs:\n        if x not in out:\n            out.append(x)\n    return out\n"
        ),
        # Held across the loop.
        Invalid(
            "def f(xs, ys):\n    allowed = list(ys)\n    return [x for x in xs if x in allowed]\n",
        ),
        Invalid("def f(xs, ys: list):\n    n = 0\n    for x in xs:\n        n += x in ys\n    return n\n"),
    )

    def check(self, node: ast.Compare, ctx: Context) -> None:
        for op, right in zip(node.ops, node.comparators, strict=False):
            if isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Name):
                self._check_one(node, right, ctx)

    def _check_one(self, node: ast.Compare, container: ast.Name, ctx: Context) -> None:
        loops = hot_loops(ctx, node)
        if not loops:
            return
        if not maybe_sequence(ctx, container.id):
            return
        kind = ctx.type_of(container)
        if kind not in _SEQUENCES:
            return
        # Rebuilt on every iteration of the loop: each test searches a fresh, per-iteration list.
        if _rebinds_in_body(loops[0], container.id):
            return
        # Written by position in the loop (`sizes[i] = size` while `None in sizes`): the list is an
        # array of slots, and a set of its values cannot follow the slots it replaces.
        if _stored_by_position(loops[0], container.id):
            return
        # In (or guarded by) `except TypeError`: the elements may be unhashable, a set would raise.
        if in_type_error_guard(ctx, node):
            return
        fn = ctx.function_of(node)
        if fn is not None:
            uses = name_uses(ctx, fn).get(container.id)
            if uses is not None and _small_literal_only(ctx, uses):
                return
            if sorted_binding(ctx, container):
                return  # ALG008's territory
        message = fit(self.template, test=ctx.text(node), kind=kind, name=container.id)
        scale = searched(ctx, container, loops)
        ctx.report(
            self, node, message, fix=lambda: self._fix(ctx, container),
            confidence=scale.confidence, evidence=scale.evidence,
        )  # fmt: skip

    def _fix(self, ctx: Context, container: ast.Name) -> Fix | None:
        fn = ctx.function_of(container)
        if fn is None:
            return None
        binding = single_list_binding(ctx, fn, container.id)
        if binding is None or not (isinstance(binding.value, ast.List) and not binding.value.elts):
            return None
        replacements: list[tuple[ast.AST, str]] = [(binding.value, "set()")]
        for load in name_uses(ctx, fn)[container.id].loads:
            parent = ctx.parent(load)
            if isinstance(parent, ast.Compare) and any(
                c is load and isinstance(op, ast.In | ast.NotIn) for op, c in zip(parent.ops, parent.comparators, strict=False)
            ):
                continue
            method = method_call_of(ctx, load)
            if method is not None and method[0] == "append" and isinstance(ctx.parent(method[1]), ast.Expr):
                func = method[1].func
                assert isinstance(func, ast.Attribute)
                replacements.append((func, f"{load.id}.add"))
                continue
            return None
        title = f"{self.fix_title} (unsafe: unhashable elements raise TypeError in a set)"
        return multi_edit_fix(ctx, replacements, [], title, FixSafety.UNSAFE)


def _rebinds_in_body(loop: ast.AST, name: str) -> bool:
    body = getattr(loop, "body", None)
    if isinstance(body, list):
        return any(assigned_in(stmt, name) for stmt in body)
    return False


def _stored_by_position(loop: ast.AST, name: str) -> bool:
    """``name[...] = ...`` or ``del name[...]`` somewhere in ``loop``."""
    for sub in walk(loop):
        if (
            isinstance(sub, ast.Subscript)
            and not isinstance(sub.ctx, ast.Load)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == name
        ):
            return True
    return False


def _small_literal_only(ctx: Context, uses: NameUses) -> bool:
    """Bound only to small literals and never grown: searching it is cheap."""
    if not uses.bindings:
        return False
    for b in uses.bindings:
        value = b.value if isinstance(b, ast.Assign | ast.AnnAssign) else None
        if not (isinstance(value, ast.List | ast.Tuple) and len(value.elts) <= SMALL_LITERAL):
            return False
        if any(isinstance(e, ast.Starred) for e in value.elts):
            return False
    for load in uses.loads:
        method = method_call_of(ctx, load)
        if method is not None and method[0] in ("append", "extend", "insert"):
            return False
        if isinstance(ctx.parent(load), ast.AugAssign):
            return False
    return True
