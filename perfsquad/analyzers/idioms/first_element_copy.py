from __future__ import annotations

import ast

from perfsquad.context import Context
from perfsquad.fixes import replace_node
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.bindings import ASSIGN, scope_bindings
from perfsquad.semantics.scale import Scale, iteration_scale, runs_once
from perfsquad.syntax import names_in, walk

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


_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_REMOVERS = frozenset({"pop", "remove", "discard", "__delitem__"})


def _copy_scale(ctx: Context, arg: ast.expr, node: ast.AST) -> Scale:
    """How sure we are the copy is of a large collection, made often.

    On real code `list(x)[0]` is nearly always taken on a collection of one or a few elements (the
    free symbols of one expression, the columns of one constraint, the kwargs of one call), so one
    copy per call is ``low``. ``medium`` where the copy repeats: in a loop that does not rebind the
    collection (one O(n) copy per iteration: quadratic), or to evict the first entry
    (``del cache[list(cache)[0]]``, a bounded cache evicting one entry per insertion)."""
    names = names_in(arg)
    guard = _one_element_guard(ctx, arg, node)
    if guard is not None:
        return Scale(Confidence.LOW, f"one element: `{guard[:60]}` bounds the copy")
    if any(isinstance(a, ast.Raise) for a in ctx.ancestors(node)):
        return Scale(Confidence.LOW, "builds an exception: runs once, on the way out")
    once = runs_once(node, ctx)
    if once is not None:
        return Scale(Confidence.LOW, f"one copy of `{ctx.text(arg)[:40]}`, {once}")
    if _evicts(ctx, arg, node):
        return Scale(Confidence.MEDIUM, f"evicts the first entry of `{ctx.text(arg)[:40]}`: one full copy per eviction")
    for loop in ctx.loops_around(node):
        if not isinstance(loop, _LOOPS):
            continue
        if isinstance(loop, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            scope: list[ast.AST] = [g.target for g in loop.generators]
        else:
            scope = [*getattr(loop, "body", []), getattr(loop, "target", loop)]
        bound = {n.id for part in scope for n in walk(part) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        if names & bound:
            return Scale(Confidence.LOW, f"`{ctx.text(arg)[:40]}` is rebound on every iteration: one copy of one"
                                         " element's collection (usually a few items) each time")  # fmt: skip
        if names:
            data = iteration_scale(arg, ctx)
            if data.confidence is not Confidence.LOW:
                return Scale(Confidence.MEDIUM, f"copies `{ctx.text(arg)[:40]}` again on every iteration of a loop"
                                                f" ({data.evidence})")  # fmt: skip
        break
    return Scale(Confidence.LOW, f"one copy of `{ctx.text(arg)[:40]}` per call; nothing shows it holds more than a"
                                 " few elements")  # fmt: skip


def _evicts(ctx: Context, arg: ast.expr, node: ast.AST) -> bool:
    """The first element is taken to remove it from the same collection: `del d[list(d)[0]]`,
    `d.pop(list(d)[0])`."""
    base = arg.func.value if isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) else arg
    text = ast.dump(base)
    parent = ctx.parent(node)
    if isinstance(parent, ast.Subscript) and isinstance(ctx.parent(parent), ast.Delete):
        return ast.dump(parent.value) == text
    if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr in _REMOVERS:
        return ast.dump(parent.func.value) == text
    return False


class FirstElementCopy(Rule):
    """
    ## What it does
    Flags `list(xs)[0]` and `tuple(xs)[0]`: a copy of every element made to read the first one.

    Not flagged: an argument whose iteration does work or consumes a one-shot iterator, where the
    copy is the point or its side effects are (a generator expression, `map`/`filter`/`zip`/
    `iter`/`open` results or a name bound to one, any other call); another index; a slice; an
    assignment target.

    Confidence: on real code `list(x)[0]` is nearly always taken on a collection of one or a few
    elements (the free symbols of one expression, the columns of one constraint, the kwargs of one
    call: the precision corpus, `bench/precision.py`), so one copy per call is `low` (shown with
    `--confidence low`). `medium` where the copy repeats: inside a loop that does not rebind the
    collection (one O(n) copy per iteration), or to evict the first entry
    (`del cache[list(cache)[0]]`, once per insertion into a bounded cache). Always `low` where a
    `len(...) == 1` test around it (or `len(xs) != 1` on the same collection in the function) bounds
    the copy to one element, and on the way to a `raise`.

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
        # Reported only with `--confidence low`: one copy per call (nothing shows the collection is
        # large), one element, an error message built once, a collection rebound in the loop.
        "def f(d):\n    return list(d)[0]\n",
        "def f(rows):\n    return [tuple(r)[0] for r in rows]\n",
        "def f(xs):\n    if len(xs) == 1:\n        return list(xs)[0]\n",
        "def f(d):\n    if len(d) != 1:\n        raise ValueError\n    return list(d.values())[0]\n",
        "def f(kw):\n    raise TypeError(list(kw)[0])\n",
    )
    invalid = (
        Invalid(
            "def f(d, keys):\n    out = []\n    for k in keys:\n        out.append((k, list(d)[0]))  # first key\n    return out\n",
            fixed="def f(d, keys):\n    out = []\n    for k in keys:\n        out.append((k, next(iter(d))))  # first key\n    return out\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def put(cache, key, value):\n    if len(cache) > 100:\n        del cache[list(cache)[0]]\n    cache[key] = value\n",
            fixed="def put(cache, key, value):\n    if len(cache) > 100:\n        del cache[next(iter(cache))]\n    cache[key] = value\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(self, rows):\n    return [tuple(self.d.values())[0] + r for r in rows]\n",
            fixed="def f(self, rows):\n    return [next(iter(self.d.values())) + r for r in rows]\n",
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

        scale = _copy_scale(ctx, arg, node)
        ctx.report(
            self,
            node,
            self.message.format(func=func),
            fix=fix,
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
