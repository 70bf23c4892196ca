from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._shared import line_start_edit, multi_edit_fix
from perfsquad.context import Context
from perfsquad.fixes import insert_import
from perfsquad.memo import MemoKey
from perfsquad.model import Confidence, Edit, Fix, FixSafety, Position, Span
from perfsquad.rule import Bench, Invalid, Rule, fit
from perfsquad.semantics.complexity import calls_per_run, estimator_for
from perfsquad.semantics.scale import Scale
from perfsquad.syntax import walk


class OverlappingRecursion(Rule):
    """
    ## What it does
    Flags a function that calls itself two or more times per run on arguments that only shrink
    by a constant (`f(n - 1) + f(n - 2)`), without memoization: the same subproblem is solved
    again and again.

    ## Why is this bad?
    The calls form a tree whose size grows exponentially (naive Fibonacci makes about 1.6ⁿ calls)
    although there are only n distinct subproblems. Caching results (`functools.cache`) solves
    each subproblem once: O(n) calls.

    **Confidence** (see `evidence`): `medium`, since the exponent is the argument the caller
    passes; `low` (hidden by default) when every call from outside the function passes a literal
    for the shrinking argument (`hermite(15, y)` in a benchmark): the cost is then fixed.

    ## Example
    ```python
    def fib(n):
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)
    ```

    ## Use instead
    ```python
    from functools import cache

    @cache
    def fib(n):
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)
    ```

    ## Fix safety
    Always **unsafe**: with `@cache` every argument must be hashable (a list argument raises
    `TypeError`), the body runs once per distinct arguments (side effects such as printing or
    appending happen once), results are shared (a returned list mutated by a caller changes the
    cached one), results depending on global state that changes are served stale, and the cache
    keeps every argument and result alive. Offered for plain functions (not methods, whose
    cache would hold `self`) without other decorators.

    Not flagged: recursion on halves (`xs[:mid]`, `n // 2`: divide and conquer), on the parts of
    a structure (`node.left`, children in a loop: a tree walk visits each node once), functions
    already memoized (`@cache`, `@lru_cache`, a memo dict checked with `in`).

    ## Speedup
    Measured by `bench/calibrate.py` on naive Fibonacci of small `n` (the sizes are the argument,
    clamped to stay fast): exponential against linear.

    ## References
    - [`functools.cache`](https://docs.python.org/3/library/functools.html#functools.cache)
    - [Overlapping subproblems](https://en.wikipedia.org/wiki/Overlapping_subproblems)
    """

    code = "ALG007"
    name = "overlapping-recursion"
    message = "Recursion recomputes overlapping subproblems (exponential); memoize it"
    template = "`{name}` recurses {calls} times on overlapping subproblems (exponential); memoize it"
    fix_title = "Memoize with `functools.cache`"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.FunctionDef,)
    effort_minutes = 3
    bench = Bench(
        setup=(
            "import functools\nk = min(18, 4 + len(str(n)) * 2)\n"
            "def fib(m):\n    return m if m < 2 else fib(m - 1) + fib(m - 2)\n"
            "@functools.cache\ndef fib_cached(m):\n    return m if m < 2 else fib_cached(m - 1) + fib_cached(m - 2)"
        ),
        before="result = fib(k)",
        after="fib_cached.cache_clear()\nresult = fib_cached(k)",
        scales_with="n = 10, 1,000, 100,000 map to fib(8), fib(12), fib(16)",
    )
    valid = (
        "import functools\n@functools.cache\ndef fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
        "def fib(n, memo={}):\n    if n in memo:\n        return memo[n]\n"
        "    memo[n] = n if n < 2 else fib(n - 1) + fib(n - 2)\n    return memo[n]\n",
        # A tree walk: each node once.
        "def size(node):\n    if node is None:\n        return 0\n    return 1 + size(node.left) + size(node.right)\n",
        # Divide and conquer on halves.
        "def total(xs):\n    if len(xs) < 2:\n        return sum(xs)\n    mid = len(xs) // 2\n"
        "    return total(xs[:mid]) + total(xs[mid:])\n",
        # Only ever called with a literal size: a fixed cost (low confidence, hidden by default).
        "def bench():\n    def h(n):\n        return 1 if n < 2 else h(n - 1) + h(n - 2)\n    return h(15)\n",
        # One call per run (exclusive branches).
        "def fact(n):\n    if n < 2:\n        return 1\n    return n * fact(n - 1)\n",
        "def down(n):\n    if n % 2:\n        return down(n - 1)\n    return down(n - 2) if n > 0 else 0\n",
    )
    invalid = (
        Invalid(
            "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
            fixed="from functools import cache\n@cache\ndef fib(n):\n    if n < 2:\n        return n\n"
            "    return fib(n - 1) + fib(n - 2)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import functools\n\n\ndef paths(r, c):\n    if r == 0 or c == 0:\n        return 1\n"
            "    return paths(r - 1, c) + paths(r, c - 1)\n",
            fixed="import functools\n\n\n@functools.cache\ndef paths(r, c):\n    if r == 0 or c == 0:\n        return 1\n"
            "    return paths(r - 1, c) + paths(r, c - 1)\n",
            safety=FixSafety.UNSAFE,
        ),
        # A method: flagged, no fix (the cache would hold self).
        Invalid(
            "class T:\n    def f(self, n):\n        return 1 if n < 1 else self.f(n - 1) + self.f(n - 2)\n",
        ),
    )

    def check(self, node: ast.FunctionDef, ctx: Context) -> None:
        # Cheap screen first: the module calls this name at least twice.
        if not _maybe_recursive(ctx, node):
            return
        own = 0
        for sub in walk(node):
            if isinstance(sub, ast.Call):
                func = sub.func
                if (isinstance(func, ast.Name) and func.id == node.name) or (
                    isinstance(func, ast.Attribute) and func.attr == node.name
                ):
                    own += 1
        if own < 2:
            return
        est = estimator_for(ctx)
        facts = est.facts(node)
        calls = facts.self_calls
        if len(calls) < 2 or any(ctx.loops_around(c) for c in calls):
            return
        per_run = calls_per_run(node.body, calls)
        if per_run < 2 or est._memoized(node, facts):
            return
        params = facts.params[1:] if facts.params[:1] in (["self"], ["cls"]) else facts.params
        kinds = [_decrements(call, params) for call in calls]
        if not all(kinds):
            return
        message = fit(self.template, name=node.name, calls=per_run)
        scale = _argument_scale(ctx, node, params, calls)
        ctx.report(
            self, _name_span(ctx, node), message, fix=lambda: self._fix(ctx, node),
            confidence=scale.confidence, evidence=scale.evidence,
        )  # fmt: skip

    def _fix(self, ctx: Context, node: ast.FunctionDef) -> Fix | None:
        if node.decorator_list or isinstance(ctx.parent(node), ast.ClassDef):
            return None
        if ctx.imports.resolve_name("functools") == "functools":
            deco = "functools.cache"
            extra: list[Edit] = []
        else:
            spelled = insert_import(ctx, "functools", "cache")
            if spelled is None:
                return None
            deco, import_edit = spelled
            extra = [import_edit] if import_edit is not None else []
        line = ctx.source.line(node.lineno)
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        decorator = f"{indent}@{deco}{ctx.source.newline}"
        if extra and extra[0].span.start == Position(node.lineno, 0):
            extra = [Edit(extra[0].span, extra[0].content + decorator)]  # the import goes right above
        else:
            extra.append(line_start_edit(ctx.source, node.lineno, decorator))
        return multi_edit_fix(ctx, [], extra, f"{self.fix_title} (unsafe: arguments must be hashable; "
                              "side effects run once per distinct arguments)", FixSafety.UNSAFE)  # fmt: skip


_KNOWN: MemoKey[set[int]] = MemoKey("alg.overlapping_recursion.known")


def _maybe_recursive(ctx: Context, fn: ast.FunctionDef) -> bool:
    """Whether ``fn`` calls its own name twice or more, found from the module's calls indexed by
    name (``ctx.named_calls``, shared with the engine's dispatch) without walking the function.
    A function missing from the buckets (an incrementally re-parsed block) is always a candidate."""
    if not ctx.whole:
        return True  # an editor's incremental context: the unit is small, check it precisely
    known = ctx.memo(_KNOWN, lambda: {id(f) for f in ctx.nodes(ast.FunctionDef)})
    if id(fn) not in known:
        return True
    calls = ctx.named_calls().calls(frozenset({fn.name}))
    if len(calls) < 2:
        return False
    inside = 0
    for call in calls:
        for anc in ctx.ancestors(call):
            if isinstance(anc, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
                if anc is fn:
                    inside += 1
                break
    return inside >= 2


def _argument_scale(ctx: Context, fn: ast.FunctionDef, params: list[str], own: list[ast.Call]) -> Scale:
    """The exponent is the shrinking argument: when every call from outside the function passes
    it as a literal (``hermite(15, y)`` in a benchmark), the cost is fixed, whatever it is."""
    shrinking = {i for call in own for i, arg in enumerate(call.args) if isinstance(arg, ast.BinOp)}
    outside = [
        call
        for call in ctx.named_calls().calls(frozenset({fn.name}))
        if not any(call is c for c in own) and not any(anc is fn for anc in ctx.ancestors(call))
    ]
    constant = [
        call
        for call in outside
        if all(i < len(call.args) and _int_literal(call.args[i]) for i in shrinking)
    ]
    if outside and len(constant) == len(outside) and shrinking:
        first = constant[0]
        shown = ", ".join(ast.unparse(first.args[i]) for i in sorted(shrinking))
        return Scale(Confidence.LOW, f"only called with literal sizes ({fn.name}({shown}, …)): a fixed cost")
    names = ", ".join(f"`{params[i]}`" for i in sorted(shrinking) if i < len(params))
    return Scale(Confidence.MEDIUM, f"the number of calls grows exponentially with {names or 'the argument'}")


def _int_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _decrements(call: ast.Call, params: list[str]) -> bool:
    """Some argument is a parameter minus a constant, the others are plain names or constants
    (``node.left``, ``xs[i]`` or ``xs[:mid]`` are parts of a structure, not overlapping)."""
    found = False
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred) or i >= len(params):
            return False
        p = params[i]
        if (
            isinstance(arg, ast.BinOp)
            and isinstance(arg.op, ast.Sub)
            and isinstance(arg.left, ast.Name)
            and arg.left.id == p
            and isinstance(arg.right, ast.Constant)
            and isinstance(arg.right.value, int)
        ):
            found = True
        elif isinstance(arg, ast.Name | ast.Constant):
            continue
        else:
            return False
    return found


def _name_span(ctx: Context, node: ast.FunctionDef) -> Span:
    text = ctx.source.line(node.lineno)
    col = text.find(node.name, text.find("def") + 3 if "def" in text else 0)
    col = max(col, 0)
    return Span(Position(node.lineno, col), Position(node.lineno, col + len(node.name)))
