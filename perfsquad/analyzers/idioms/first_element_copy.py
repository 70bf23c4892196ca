from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._scale import data_confidence
from perfsquad.context import Context
from perfsquad.fixes import replace_node
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.bindings import ASSIGN, scope_bindings
from perfsquad.semantics.scale import Scale
from perfsquad.syntax import walk

# Arguments whose iteration is lazy work (or a one-shot iterator): `list(...)` runs all of it,
# `next(iter(...))` only the first step, so side effects and what is left in the iterator differ.
_LAZY_CALLS = frozenset({
    "builtins.map", "builtins.filter", "builtins.zip", "builtins.iter", "builtins.reversed", "builtins.enumerate",
    "builtins.open",
})  # fmt: skip
_VIEWS = frozenset({"keys", "values", "items"})


def _eager(ctx: Context, arg: ast.expr, node: ast.AST) -> bool:
    """Iterating ``arg`` only reads an existing collection: a name or attribute (not bound to a
    generator or a lazy call in its scope), a dict view, ``range(...)``, ``sorted(...)``."""
    if isinstance(arg, ast.Call):
        if isinstance(arg.func, ast.Attribute) and arg.func.attr in _VIEWS and not arg.args and not arg.keywords:
            return _eager(ctx, arg.func.value, node)
        return ctx.qualified_name(arg.func) in ("builtins.range", "builtins.sorted")
    if isinstance(arg, ast.Attribute):
        return isinstance(arg.value, ast.Name | ast.Attribute)
    if not isinstance(arg, ast.Name):
        return False
    scope = ctx.scope_of(node)
    for binding in scope_bindings(scope):
        if binding.name != arg.id or binding.how != ASSIGN or not isinstance(binding.node, ast.Assign):
            continue
        value = binding.node.value
        if isinstance(value, ast.GeneratorExp):
            return False
        if isinstance(value, ast.Call) and ctx.qualified_name(value.func) in _LAZY_CALLS:
            return False
    return True


def _one_element_guard(ctx: Context, arg: ast.expr, node: ast.AST) -> str | None:
    """The source of a `len(...) == 1` test that bounds the copy to one element: an `if`/`elif`
    around it whose test says so, or a test on the same collection anywhere in the function
    (`if len(xs) != 1: raise`)."""
    bases = {ast.dump(arg)}
    if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute):
        bases.add(ast.dump(arg.func.value))  # `list(d.values())[0]` under `len(d) == 1`
    around = [a.test for a in ctx.ancestors(node) if isinstance(a, ast.If | ast.IfExp | ast.While)]
    func = ctx.function_of(node)
    anywhere = [n for n in walk(func)] if func is not None else []
    for test in around:
        for n in walk(test):
            if _len_one(n) is not None:
                return ctx.text(n)
    for n in anywhere:
        measured = _len_one(n)
        if measured is not None and ast.dump(measured) in bases:
            return ctx.text(n)
    return None


def _len_one(node: ast.AST) -> ast.expr | None:
    """``X`` when ``node`` compares ``len(X)`` with 1 (`==`, `!=`, `>`, `<=`) or with 2 (`<`, `>=`)."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1):
        return None
    left, right = node.left, node.comparators[0]
    if isinstance(right, ast.Call) and not isinstance(left, ast.Call):
        left, right = right, left
    if not (isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "len"
            and len(left.args) == 1 and isinstance(right, ast.Constant)):  # fmt: skip
        return None
    if right.value == 1 and isinstance(node.ops[0], ast.Eq | ast.NotEq | ast.Gt | ast.LtE):
        return left.args[0]
    if right.value == 2 and isinstance(node.ops[0], ast.Lt | ast.GtE):
        return left.args[0]
    return None


class FirstElementCopy(Rule):
    """
    ## What it does
    Flags `list(xs)[0]` and `tuple(xs)[0]`: a copy of every element made to read the first one.

    Not flagged: an argument whose iteration does work or consumes a one-shot iterator, where the
    copy is the point or its side effects are (a generator expression, `map`/`filter`/`zip`/
    `iter`/`open` results or a name bound to one, any other call); another index; a slice; an
    assignment target.

    Confidence: from what is copied (a parameter or query result: `medium`; a literal or code run
    once at import: `low`); `low` too where a `len(...) == 1` test around it (or `len(xs) != 1` on
    the same collection in the function) bounds the copy to one element, and on the way to a
    `raise` (an error message, built once).

    ## Why is this bad?
    The copy allocates a list (or tuple) of all `n` elements, O(n) time and memory, to keep one.
    `next(iter(xs))` reads the first element and stops: O(1).

    ## Example
    ```python
    first_key = list(mapping)[0]
    head = tuple(rows)[0]
    ```

    ## Use instead
    ```python
    first_key = next(iter(mapping))
    head = next(iter(rows))
    ```

    ## Fix safety
    Always **unsafe**: on an empty input `list(xs)[0]` raises `IndexError` and `next(iter(xs))`
    raises `StopIteration`, so an `except IndexError` around it stops catching the error, and a
    `StopIteration` raised inside a generator becomes a `RuntimeError`. (When the empty case cannot
    happen, the rewrite is exact for the collections the rule flags: a dict's first key, a set's
    first element in its iteration order.)

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = elements of the list copied): the rewrite's cost does not
    grow with `n`, so the ratio grows with it.

    ## References
    - [ruff RUF015 unnecessary-iterable-allocation-for-first-element](https://docs.astral.sh/ruff/rules/unnecessary-iterable-allocation-for-first-element/)
    - [`next()`](https://docs.python.org/3/library/functions.html#next)
    """

    code = "IDM017"
    name = "first-element-copy"
    message = "`{func}(...)[0]` copies every element to read the first; use `next(iter(...))`"
    fix_title = "Replace with `next(iter(...))`"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.Subscript,)
    effort_minutes = 1
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = list(xs)[0]",
        after="result = next(iter(xs))",
        scales_with="n = elements copied",
    )
    valid = (
        "def f(xs):\n    return list(x * 2 for x in xs)[0]\n",
        "def f(xs):\n    return list(map(str, xs))[0]\n",
        "def f(xs):\n    it = iter(xs)\n    return list(it)[0]\n",
        "def f(xs):\n    g = (x for x in xs)\n    return list(g)[0]\n",
        "def f(xs):\n    return list(load(xs))[0]\n",
        "def f(xs):\n    return list(xs)[1]\n",
        "def f(xs):\n    return list(xs)[:1]\n",
        "def f(xs):\n    list(xs)[0] = 1\n",
        "def list(x):\n    return x\ndef f(xs):\n    return list(xs)[0]\n",
        # Reported only with `--confidence low`: one element, or an error message built once.
        "def f(xs):\n    if len(xs) == 1:\n        return list(xs)[0]\n",
        "def f(d):\n    if len(d) != 1:\n        raise ValueError\n    return list(d.values())[0]\n",
        "def f(kw):\n    raise TypeError(list(kw)[0])\n",
    )
    invalid = (
        Invalid(
            "def f(d):\n    return list(d)[0]  # first key\n",
            fixed="def f(d):\n    return next(iter(d))  # first key\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(d):\n    return tuple(d.values())[0]\n",
            fixed="def f(d):\n    return next(iter(d.values()))\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(self):\n    return list(self.rows)[0]\n",
            fixed="def f(self):\n    return next(iter(self.rows))\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.Subscript, ctx: Context) -> None:
        call = node.value
        if not (isinstance(node.ctx, ast.Load) and isinstance(call, ast.Call) and len(call.args) == 1):
            return
        index = node.slice
        if not (isinstance(index, ast.Constant) and type(index.value) is int and index.value == 0):
            return
        if call.keywords or isinstance(call.args[0], ast.Starred):
            return
        qualified = ctx.qualified_name(call.func)
        if qualified not in ("builtins.list", "builtins.tuple"):
            return
        arg = call.args[0]
        if not _eager(ctx, arg, node):
            return
        func = qualified.split(".")[1]

        def fix() -> Fix | None:
            if ctx.imports.resolve_name("next") != "builtins.next" or ctx.imports.resolve_name("iter") != "builtins.iter":
                return None
            return replace_node(ctx, node, f"next(iter({ctx.text(arg)}))", self.fix_title or "", FixSafety.UNSAFE)

        scale = data_confidence(self, arg, node, ctx)
        guard = _one_element_guard(ctx, arg, node)
        if guard is not None:
            scale = Scale(Confidence.LOW, f"one element: `{guard[:60]}` bounds the copy")
        elif any(isinstance(a, ast.Raise) for a in ctx.ancestors(node)):
            scale = Scale(Confidence.LOW, "builds an exception: runs once, on the way out")
        ctx.report(
            self,
            node,
            self.message.format(func=func),
            fix=fix,
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
