from __future__ import annotations

import ast

from perfsquad.context import Context
from perfsquad.fixes import replace_node
from perfsquad.model import Fix, FixSafety, Severity
from perfsquad.rule import Bench, Invalid, Rule, fit
from perfsquad.syntax import early_exit, walk

# Consumers that walk their argument exactly once.
_REDUCERS = frozenset({"sum", "min", "max", "any", "all", "sorted", "set", "frozenset", "tuple"})
# These build their own list before doing anything with the elements: feeding them a generator
# instead of a list changes nothing but the extra copy.
_MATERIALIZING = frozenset({"sorted", "tuple"})
_SHORT_CIRCUIT = frozenset({"any", "all"})
_CONSTANT_MEMORY = frozenset({"sum", "min", "max", "any", "all"})
"""Consumers that need one element at a time: a list comprehension passed to them is pure overhead."""
_LAZY_SOURCES = frozenset({"map", "filter", "zip", "enumerate", "reversed", "range"})


def _has_await(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Await) for n in walk(node))


class MaterializedOnce(Rule):
    """
    ## What it does
    Flags a list built only to be consumed once, right away:

    - a list comprehension passed to `sum`, `min` or `max`;
    - `list(...)` of a generator expression, `range`, `map`, `filter`, `zip`, `enumerate` or
      `reversed` passed to any of those or to `sorted`, `set`, `frozenset` or `tuple` (which make
      their own collection from any iterable: the list is a copy for nothing);
    - a `for` loop (or a comprehension) over a list comprehension.

    A list fed to a consumer that can stop early (`any`, `all`, a loop with `break` or `return`)
    is ALG009's: there the elements after the exit are computed for nothing, a time cost.
    `for x in list(range(n))` is IDM014's; `"".join([...])` is not flagged (`join` builds a list
    from a generator anyway, so the list comprehension is the faster spelling).

    ## Why is this bad?
    Every element is stored in a list that lives until the consumer is done with it, so peak memory
    is O(n) where the consumer needs O(1) (`sum`, `min`, `any`...) or already makes its own copy
    (`sorted`, `tuple`). `sorted([...])` and `tuple([...])` of a comprehension are not flagged:
    there the generator would only save one copy while being slower.

    ## Example
    ```python
    total = sum([len(line) for line in lines])
    biggest = max(list(map(score, items)))
    for row in [parse(r) for r in raw]:
        ...
    ```

    ## Use instead
    ```python
    total = sum(len(line) for line in lines)
    biggest = max(map(score, items))
    for row in (parse(r) for r in raw):
        ...
    ```

    ## Fix safety
    Safe when nothing observable changes: `sorted(...)` and `tuple(...)` copy their argument into a
    list before touching an element, and `range` yields plain ints, so dropping the intermediate
    list there is unobservable. Unsafe otherwise: with a generator, evaluating the elements
    interleaves with the consumer's work (`__add__` in `sum`, `__lt__` in `min`/`max`, `__hash__`
    in `set`, the loop body in `for`), so side effects happen in a different order and an exception
    midway comes after part of that work; `any`/`all` stop at the first decisive element, so the
    remaining elements (and their side effects) are never evaluated. No fix when an element
    contains `await` (it would become an async generator).

    ## Speedup
    Measured by `bench/calibrate.py` on `sum([...])` against `sum(...)` of a generator (`n` =
    elements). In time, CPython's list comprehensions are about as fast as generators or faster
    (a generator resumes a frame per element); the gain is memory: O(1) instead of O(n).

    ## References
    - [PEP 289: generator expressions](https://peps.python.org/pep-0289/)
    - [ruff C419 unnecessary-comprehension-in-call](https://docs.astral.sh/ruff/rules/unnecessary-comprehension-in-call/)
    """

    code = "MEM005"
    name = "list-materialized-once"
    message = "A list is built only to be consumed once; pass a generator or the iterable"
    fix_title = "Drop the intermediate list"
    fix_safety = FixSafety.SAFE
    node_types = (ast.Call, ast.For, ast.comprehension)
    call_names = _REDUCERS
    effort_minutes = 1
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = sum([x * 2 for x in xs])",
        after="result = sum(x * 2 for x in xs)",
        scales_with="n = elements",
    )
    valid = (
        "total = sum(x for x in xs)\n",
        "s = ''.join([str(x) for x in xs])\n",
        "ys = [x for x in xs]\nprint(sum(ys), len(ys))\n",
        "for i in list(range(3)):\n    pass\n",  # IDM014
        "m = max(list(xs))\n",  # a copy of an existing collection
        "m = sum([1, 2, 3])\n",
        "def sum(xs):\n    return 0\nt = sum([x for x in xs])\n",
        "for x in [a, b, c]:\n    pass\n",
        "n = len([x for x in xs if x])\n",
        "s = sorted([x.name for x in xs])\n",
        "t = tuple([x * 2 for x in xs])\n",
        "ok = any([check(x) for x in xs])\n",  # ALG009
        "for row in [parse(r) for r in raw]:\n    if row:\n        break\n",  # ALG009
    )
    invalid = (
        Invalid(
            "total = sum([len(line) for line in lines])\n",
            fixed="total = sum(len(line) for line in lines)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "top = max([score(x) for x in xs], key=abs)\n",
            fixed="top = max((score(x) for x in xs), key=abs)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid("t = sum(list(range(n)))\n", fixed="t = sum(range(n))\n", safety=FixSafety.SAFE),
        Invalid(
            "s = sorted(list(x.name for x in xs))\n", fixed="s = sorted(x.name for x in xs)\n", safety=FixSafety.SAFE
        ),
        Invalid("s = tuple(list(map(abs, xs)))\n", fixed="s = tuple(map(abs, xs))\n", safety=FixSafety.SAFE),
        Invalid("s = set(list(map(f, xs)))\n", fixed="s = set(map(f, xs))\n", safety=FixSafety.UNSAFE),
        Invalid(
            "for row in [parse(r) for r in raw]:\n    print(row)\n",
            fixed="for row in (parse(r) for r in raw):\n    print(row)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid("async def f(xs):\n    return sum([await g(x) for x in xs])\n"),
    )

    def check(self, node: ast.Call | ast.For | ast.comprehension, ctx: Context) -> None:
        if isinstance(node, ast.For | ast.comprehension):
            # A loop that can stop early wastes the elements after the exit: ALG009's (time, not memory).
            if isinstance(node.iter, ast.ListComp) and not (isinstance(node, ast.For) and early_exit(node)):
                self._report(node.iter, node.iter, None, ctx, consumer="the loop")
            return
        qualified = ctx.qualified_name(node.func)
        if qualified is None or not qualified.startswith("builtins."):
            return
        consumer = qualified[9:]
        if consumer not in _REDUCERS or consumer in _SHORT_CIRCUIT or not node.args or isinstance(node.args[0], ast.Starred):
            return  # `any`/`all` stop early: a list fed to them is ALG009's
        arg = node.args[0]
        if isinstance(arg, ast.ListComp):
            # sorted/tuple/set build their own collection anyway: a generator would save one copy
            # and cost time (a frame resumed per element); only O(1) consumers are worth it.
            if consumer in _CONSTANT_MEMORY:
                self._report(arg, arg, node, ctx, consumer=consumer)
            return
        if (
            isinstance(arg, ast.Call)
            and len(arg.args) == 1
            and not arg.keywords
            and ctx.qualified_name(arg.func) == "builtins.list"
        ):
            inner = arg.args[0]
            if isinstance(inner, ast.GeneratorExp):
                self._report(arg, inner, node, ctx, consumer=consumer)
            elif isinstance(inner, ast.Call):
                source = ctx.qualified_name(inner.func) or ""
                if source.startswith("builtins.") and source[9:] in _LAZY_SOURCES:
                    self._report(arg, inner, node, ctx, consumer=consumer, source=source[9:])

    def _report(
        self,
        built: ast.expr,
        content: ast.expr,
        call: ast.Call | None,
        ctx: Context,
        consumer: str,
        source: str | None = None,
    ) -> None:
        def fix() -> Fix | None:
            if _has_await(content):
                return None
            if isinstance(content, ast.ListComp | ast.GeneratorExp):
                text = ctx.text(content)
                # A list comprehension's brackets, or the parentheses a generator expression's span
                # includes (`list(x for x in xs)`): the bare comprehension goes in their place.
                bracketed = isinstance(content, ast.ListComp) or (text.startswith("(") and text.endswith(")"))
                inner = text[1:-1] if bracketed else text
                alone = call is not None and len(call.args) == 1 and not call.keywords
                text = inner if alone else f"({inner})"
            else:
                text = ctx.text(content)
            if consumer in _MATERIALIZING or source == "range":
                safety, reason = FixSafety.SAFE, ""
            elif consumer in _SHORT_CIRCUIT:
                safety = FixSafety.UNSAFE
                reason = f"`{consumer}` stops at the first decisive element: later elements are no longer evaluated"
            elif consumer == "the loop":
                safety = FixSafety.UNSAFE
                reason = "elements are computed as the loop runs, interleaved with its body"
            else:
                safety = FixSafety.UNSAFE
                reason = (
                    f"element evaluation interleaves with `{consumer}`'s own work (`__add__`, `__lt__`, `__hash__`)"
                )
            title = self.fix_title or ""
            if reason:
                title += f" (unsafe: {reason})"
            return replace_node(ctx, built, text, title, safety)

        message = (
            f"A list is built only for {consumer} to consume once; iterate lazily instead"
            if consumer == "the loop"
            else fit("A list is built only for `{consumer}()` to consume once; pass the iterable", consumer=consumer)
        )
        ctx.report(self, built, message=message, fix=fix, severity=Severity.INFO)
