from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._scale import data_confidence
from perfsquad.analyzers.idioms.any_all_loop import operand_text
from perfsquad.context import Context
from perfsquad.fixes import replace_node
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.syntax import walk

# Builtins that only iterate their (first) argument: handing them a generator instead of a
# map/filter object cannot be observed.
_CONSUMERS = frozenset(
    {"tuple", "sorted", "sum", "min", "max", "any", "all", "frozenset", "dict", "enumerate"}
)
_WRAPPERS = {"builtins.list": ("[", "]"), "builtins.set": ("{", "}")}


def simple_parameters(lam: ast.Lambda) -> list[str] | None:
    """The names of a lambda's plain positional parameters; None with defaults, `*`, `**`, `/`."""
    args = lam.args
    if args.posonlyargs or args.kwonlyargs or args.vararg or args.kwarg or args.defaults:
        return None
    return [a.arg for a in args.args]


def _calls_next(node: ast.AST) -> bool:
    """A visible ``next()``: a ``StopIteration`` ends ``map`` silently but escapes a comprehension."""
    return any(
        isinstance(n, ast.Call)
        and (
            (isinstance(n.func, ast.Name) and n.func.id == "next")
            or (isinstance(n.func, ast.Attribute) and n.func.attr in ("next", "__next__"))
        )
        for n in walk(node)
    )


class MapFilterLambda(Rule):
    """
    ## What it does
    Flags `map(lambda x: ..., xs)` and `filter(lambda x: ..., xs)`.

    Confidence: the rewrite saves a call per element, so a finding is at most `medium`: `medium`
    where `xs` is of unknown size (a parameter, an attribute, a call's result), `low` (shown with
    `--confidence low`) for a literal, `**kwargs` or code that runs once at import. The evidence
    names what is mapped.

    ## Why is this bad?
    The lambda is a Python function called once per element: a frame, argument passing and a
    return each time. A comprehension or generator expression evaluates the same expression inline,
    with no call. `list(map(lambda ...))` is the clearest case: `[... for x in xs]` is shorter and
    typically about 1.5x-2x faster. (`map` with a builtin or C function, as in `map(str, xs)`, is
    fast and is not flagged.)

    ## Example
    ```python
    names = list(map(lambda u: u.name, users))
    adults = list(filter(lambda u: u.age >= 18, users))
    total = sum(map(lambda a, b: a * b, prices, quantities))
    ```

    ## Use instead
    ```python
    names = [u.name for u in users]
    adults = [u for u in users if u.age >= 18]
    total = sum(a * b for a, b in zip(prices, quantities))
    ```

    ## Fix safety
    Safe when the result is consumed right away: `list(...)`/`set(...)` become a list/set
    comprehension, and an argument of `tuple`, `sorted`, `sum`, `min`, `max`, `any`, `all`,
    `frozenset`, `dict`, `enumerate`, `"sep".join` or the iterable of a `for` loop becomes a
    generator expression; `map` over several iterables becomes one over `zip(...)`, which stops at
    the shortest just like `map`. This requires the builtins to be the builtins and the lambda to
    have only plain positional parameters (as many as there are iterables). A lambda's body and a
    comprehension's element are both evaluated in a nested scope, so names resolve the same way.
    Unsafe:
    - elsewhere (a bare `map(...)`/`filter(...)` that is stored, returned or passed on): a generator
      is not a `map`/`filter` object (`isinstance`, `repr`, pickling differ);
    - when the lambda calls `next()`: a `StopIteration` raised there silently ends `map`/`filter`,
      but propagates out of a list comprehension (and becomes `RuntimeError` in a generator).
    No fix when the lambda contains `:=` (it would bind in the enclosing scope) or `yield`.

    ## Speedup
    Measured by `bench/calibrate.py` on `list(map(lambda ...))` (`n` = elements mapped).

    ## References
    - [List comprehensions](https://docs.python.org/3/tutorial/datastructures.html#list-comprehensions)
    - [ruff C417 unnecessary-map](https://docs.astral.sh/ruff/rules/unnecessary-map/)
    """

    code = "IDM013"
    name = "map-filter-lambda"
    message = "`{func}()` with a lambda calls a function per element; use a comprehension"
    fix_title = "Replace with a comprehension"
    fix_safety = FixSafety.SAFE
    node_types = (ast.Call,)
    call_names = frozenset({"map", "filter"})
    effort_minutes = 1
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = list(map(lambda x: x * 2 + 1, xs))",
        after="result = [x * 2 + 1 for x in xs]",
        scales_with="n = elements mapped",
    )
    valid = (
        "ys = list(map(str, xs))\n",
        "ys = list(filter(None, xs))\n",
        "ys = list(map(f, xs))\n",
        # The lambda's signature does not fit a comprehension, or the arity is wrong.
        "ys = list(map(lambda x, y=1: x + y, xs))\n",
        "ys = list(map(lambda *a: a, xs))\n",
        "ys = list(map(lambda x, y: x + y, xs))\n",
        "ys = list(filter(lambda x, y: x, xs, ys))\n",
        "ys = list(map(lambda x: x, *xss))\n",
        "ys = map(lambda x: x, xs, strict=True)\n",
        # Not the builtins.
        "from mylib import map\nys = list(map(lambda x: x + 1, xs))\n",
        "def f(filter):\n    return list(filter(lambda x: x, xs))\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    ys = list(map(lambda x: x * 2, xs))\n    return ys\n",
            fixed="def f(xs):\n    ys = [x * 2 for x in xs]\n    return ys\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(words):\n    ys = set(filter(lambda w: w.strip(), words))\n    return ys\n",
            fixed="def f(words):\n    ys = {w for w in words if w.strip()}\n    return ys\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs, ys):\n    total = sum(map(lambda a, b: a * b, xs, ys))\n    return total\n",
            fixed="def f(xs, ys):\n    total = sum(a * b for a, b in zip(xs, ys))\n    return total\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(items):\n    s = ', '.join(map(lambda x: x.upper(), items))\n    return s\n",
            fixed="def f(items):\n    s = ', '.join(x.upper() for x in items)\n    return s\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    top = sorted(filter(lambda x: x if x else 0, xs), reverse=True)\n    return top\n",
            fixed="def f(xs):\n    top = sorted((x for x in xs if (x if x else 0)), reverse=True)\n    return top\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    for y in map(lambda x: (x, x), xs):\n        print(y)\n",
            fixed="def f(xs):\n    for y in ((x, x) for x in xs):\n        print(y)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    ys = map(lambda x: x + 1, xs)\n    return ys\n",
            fixed="def f(xs):\n    ys = (x + 1 for x in xs)\n    return ys\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    return g(filter(lambda x: x > 0, xs))\n",
            fixed="def f(xs):\n    return g(x for x in xs if x > 0)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs, it):\n    ys = list(map(lambda x: next(it), xs))\n    return ys\n",
            fixed="def f(xs, it):\n    ys = [next(it) for x in xs]\n    return ys\n",
            safety=FixSafety.UNSAFE,
        ),
        # Flagged, no fix: the walrus would bind in the enclosing scope.
        Invalid("def f(xs):\n    ys = list(map(lambda x: (y := x), xs))\n    return ys\n"),
    )

    def check(self, node: ast.Call, ctx: Context) -> None:
        qualified = ctx.qualified_name(node.func)
        if qualified not in ("builtins.map", "builtins.filter") or node.keywords:
            return
        func = qualified.removeprefix("builtins.")
        if len(node.args) < 2 or any(isinstance(a, ast.Starred) for a in node.args):
            return
        lam, iterables = node.args[0], node.args[1:]
        if not isinstance(lam, ast.Lambda):
            return
        params = simple_parameters(lam)
        if params is None or len(params) != len(iterables) or (func == "filter" and len(params) != 1):
            return
        parent = ctx.parent(node)
        wrapper = (
            parent
            if isinstance(parent, ast.Call)
            and parent.args == [node]
            and not parent.keywords
            and ctx.qualified_name(parent.func) in _WRAPPERS
            else None
        )

        def fix() -> Fix | None:
            if any(isinstance(n, ast.NamedExpr | ast.Yield | ast.YieldFrom | ast.Await) for n in walk(lam)):
                return None
            if len(iterables) > 1:
                if ctx.imports.resolve_name("zip") != "builtins.zip":
                    return None
                source = f"zip({', '.join(ctx.text(i) for i in iterables)})"
            else:
                source = operand_text(ctx, iterables[0])
            target = ", ".join(params)
            if func == "map":
                clause = f"{operand_text(ctx, lam.body)} for {target} in {source}"
            else:
                clause = f"{target} for {target} in {source} if {operand_text(ctx, lam.body)}"
            reasons: list[str] = []
            if _calls_next(lam.body):
                reasons.append(
                    "the lambda calls `next()`: a StopIteration would end `map`/`filter` silently"
                    " but propagates out of a comprehension"
                )
            if wrapper is not None:
                opening, closing = _WRAPPERS[ctx.qualified_name(wrapper.func) or ""]
                replaced: ast.AST = wrapper
                text = f"{opening}{clause}{closing}"
            else:
                replaced = node
                text = f"({clause})"
                if isinstance(parent, ast.Call) and parent.args == [node] and not parent.keywords:
                    text = clause  # the sole argument: `f(x for x in xs)`
                if not self._consumed(ctx, node, parent):
                    reasons.append(f"a generator is not a `{func}` object (type checks, repr, pickling differ)")
            title = self.fix_title or ""
            if reasons:
                title += " (unsafe: " + "; ".join(reasons) + ")"
            safety = FixSafety.UNSAFE if reasons else FixSafety.SAFE
            return replace_node(ctx, replaced, text, title, safety)

        reported = wrapper if wrapper is not None else node
        scale = data_confidence(self, node, node, ctx)
        ctx.report(
            self,
            reported,
            self.message.format(func=func),
            fix=fix,
            confidence=scale.confidence,
            evidence=scale.evidence,
        )

    @staticmethod
    def _consumed(ctx: Context, node: ast.Call, parent: ast.AST | None) -> bool:
        """The map/filter object is only iterated, by a builtin or a loop, right where it is made."""
        if isinstance(parent, ast.For | ast.comprehension) and parent.iter is node:
            return not (isinstance(parent, ast.comprehension) and parent.is_async)
        if not (isinstance(parent, ast.Call) and parent.args and parent.args[0] is node):
            return False
        qualified = ctx.qualified_name(parent.func)
        if qualified is not None and qualified.startswith("builtins."):
            name = qualified.removeprefix("builtins.")
            # `min(a, b)` compares its arguments instead of iterating the first one.
            return name in _CONSUMERS and not (name in ("min", "max") and len(parent.args) != 1)
        func = parent.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "join"
            and isinstance(func.value, ast.Constant)
            and isinstance(func.value.value, str)
            and len(parent.args) == 1
        )
