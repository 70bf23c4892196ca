from __future__ import annotations

import ast

from perfsquad.context import Context
from perfsquad.fixes import replace_node
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.scale import Scale, iteration_scale, loop_scale, runs_once
from perfsquad.syntax import early_exit

_SHORT_CIRCUIT = frozenset({"any", "all"})
_LAZY_SOURCES = frozenset({"map", "filter", "zip", "enumerate", "reversed"})


class EagerListBeforeEarlyExit(Rule):
    """
    ## What it does
    Flags a list built in full for a consumer that can stop early:

    - a `for` loop over a list comprehension (or `list(...)` of a generator expression, `map`,
      `filter`, `zip`, `enumerate` or `reversed`) whose body can leave it: a `break` of that loop,
      or a `return`;
    - a list comprehension passed to `any()` or `all()`, which stop at the first decisive element.

    ## Why is this bad?
    The list computes every element before the first one is looked at. When the loop stops after
    k of n elements, n - k elements (and the calls that make them) were computed for nothing: the
    cost is O(n) where a generator's is O(k), and the list holds all n at once. It is the
    waste that a generator avoids, not a generator's per-element speed: for a loop that always
    runs to the end, a list comprehension is as fast or faster (that case is MEM005's, a memory
    finding in the `readability` group).

    **Confidence** (see `evidence`): the scale of what the comprehension iterates (a parameter or
    a query result is evidence; a literal or a fixed enumeration is not), at most `medium`: whether
    the exit comes early, and how often, depends on the data. One level lower when each element is
    cheap (attribute reads, comparisons, `isinstance`) and the source is already built: there is
    little to save unless the list is long. `low` when the elements of an `any()`/`all()` list
    call something: `all([form.is_valid() for form in forms])` is often written to call every one
    (validation that reports every error). A source that yields on demand (`map`, `filter`, a file,
    an `iter*()` method such as `itertuples()`, a directory walk, a generator function of the
    module) keeps the level: producing the skipped elements is the waste.

    ## Example
    ```python
    def first_visible(rows, hidden):
        for i, row in [z for z in enumerate(rows) if z[0] not in hidden]:
            if render(row):
                return i
    ```

    ## Use instead
    ```python
    def first_visible(rows, hidden):
        for i, row in (z for z in enumerate(rows) if z[0] not in hidden):
            if render(row):
                return i
    ```

    ## Fix safety
    Always **unsafe**: with a generator, the elements are computed as the loop runs, interleaved
    with its body (side effects in a different order; the body may change what the comprehension
    reads), and the elements after the exit are never computed, so their side effects and
    exceptions no longer happen. No fix when an element contains `await`.

    ## Speedup
    Measured by `bench/calibrate.py`: a loop over `[x * 2 for x in xs]` that stops halfway, against
    the same loop over a generator (`n` = elements the list would hold). Where the exit comes is the
    data's: the gain is about n / k for an exit after k elements (far more than the figure when the
    first match comes early), and none when it comes last. Halfway is the conservative middle.

    ## References
    - [PEP 289: generator expressions](https://peps.python.org/pep-0289/)
    """

    code = "ALG009"
    name = "eager-list-before-early-exit"
    message = "List built in full for a loop that can stop early; iterate a generator instead"
    fix_title = "Iterate a generator"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.For, ast.AsyncFor, ast.Call)
    call_names = _SHORT_CIRCUIT
    effort_minutes = 2
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = None\nfor y in [x * 2 for x in xs]:\n    if y >= n:\n        result = y\n        break\n",
        after="result = None\nfor y in (x * 2 for x in xs):\n    if y >= n:\n        result = y\n        break\n",
        scales_with="n = elements the list would hold (the loop stops halfway)",
    )
    valid = (
        "def f(rows):\n    for r in [g(x) for x in rows]:\n        print(r)\n",  # runs to the end: MEM005
        "def f(rows):\n    for r in [g(x) for x in rows]:\n        for c in r:\n            if c:\n                break\n",
        "def f(rows):\n    for r in [g(x) for x in rows]:\n        def h():\n            return r\n        use(h)\n",
        "def f(rows):\n    for r in [g(x) for x in rows]:\n        pass\n    else:\n        return 1\n",
        "def f(rows):\n    for r in rows:\n        if r:\n            break\n",  # no list built
        "def f(rows):\n    ok = any(g(x) for x in rows)\n",
        "def f(rows):\n    n = sum([g(x) for x in rows])\n",
        "def any(xs):\n    return 0\ndef f(rows):\n    return any([g(x) for x in rows])\n",
        "def f(a, b):\n    for r in [a, b]:\n        if r:\n            break\n",  # a literal list: nothing to save
    )
    invalid = (
        Invalid(
            "def f(xs):\n    for r in [divmod(x, 3) for x in xs]:\n        if r[1] > 1:\n            break\n    return r\n",
            fixed="def f(xs):\n    for r in (divmod(x, 3) for x in xs):\n        if r[1] > 1:\n            break\n    return r\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    for r in list(map(abs, xs)):\n        if r > 2:\n            return r\n",
            fixed="def f(xs):\n    for r in map(abs, xs):\n        if r > 2:\n            return r\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    for r in [sorted([x, -x]) for x in xs]:\n        for c in r:\n            if c > 3:\n"
            "                return c\n",
            fixed="def f(xs):\n    for r in (sorted([x, -x]) for x in xs):\n        for c in r:\n            if c > 3:\n"
            "                return c\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    return any([x > 2 for x in map(abs, xs)])\n",
            fixed="def f(xs):\n    return any(x > 2 for x in map(abs, xs))\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid("async def f(rows):\n    for r in [await g(x) for x in rows]:\n        if r:\n            break\n"),
    )

    def check(self, node: ast.For | ast.AsyncFor | ast.Call, ctx: Context) -> None:
        if isinstance(node, ast.Call):
            if ctx.qualified_name(node.func) not in ("builtins.any", "builtins.all"):
                return
            if len(node.args) == 1 and not node.keywords:
                built, content = _eager(node.args[0], ctx)
                if built is not None and content is not None:
                    consumer = f"`{ast.unparse(node.func)}()` stops at the first decisive element"
                    self._report(built, content, _source(content, node, ctx), consumer, ctx)
            return
        built, content = _eager(node.iter, ctx)
        if built is None or content is None:
            return
        exit_stmt = early_exit(node)
        if exit_stmt is None:
            return
        kind = "break" if isinstance(exit_stmt, ast.Break) else "return"
        # What the list holds grows with what its comprehension iterates (or, for `list(map(...))`,
        # with what the loop ends up iterating).
        why = f"the loop can stop at `{kind}` (line {exit_stmt.lineno})"
        self._report(built, content, _source(content, node, ctx), why, ctx)

    def _report(
        self,
        built: ast.expr,
        content: ast.expr,
        scale: Scale,
        why: str,
        ctx: Context,
    ) -> None:
        confidence: Confidence = Confidence.MEDIUM if scale.confidence is Confidence.HIGH else scale.confidence
        evidence = f"{why}; every element is computed first: {scale.evidence}"
        parts = _element_parts(content)
        costly = next((c for p in parts if (c := _costly_call(p, ctx)) is not None), None)
        lazy = _lazy_source(_source_expr(content), ctx)
        if costly is not None and ctx.parent(built) is not None and isinstance(ctx.parent(built), ast.Call):
            # `all([form.is_valid() for form in forms])`: calling every one is often the point
            # (validation that reports every error), not an accident.
            confidence = Confidence.LOW
            evidence += f"; the elements call `{costly}()`: evaluating every one may be intended"
        elif costly is None and lazy is None:
            confidence = confidence.lowered()
            evidence += "; each element is cheap and the source is already built: little to save unless it is long"
        elif lazy is not None:
            evidence += f"; {lazy}"

        def fix() -> Fix | None:
            if any(isinstance(n, ast.Await) for n in ast.walk(content)):
                return None
            text = ctx.text(content)
            if isinstance(content, ast.ListComp):
                text = text[1:-1] if _sole_argument(built, ctx) else f"({text[1:-1]})"
            elif isinstance(content, ast.GeneratorExp) and not text.startswith("("):
                text = f"({text})"
            title = f"{self.fix_title} (unsafe: elements after the exit are no longer computed, and the rest interleave)"
            return replace_node(ctx, built, text, title, FixSafety.UNSAFE)

        ctx.report(self, built, fix=fix, confidence=confidence, evidence=evidence)


def _source(content: ast.expr, node: ast.For | ast.AsyncFor | ast.Call, ctx: Context) -> Scale:
    """How many elements the list holds: what its comprehension's first ``for`` iterates, else
    (``list(map(f, xs))``) what the loop over it iterates, else (``any(list(map(f, xs)))``) the
    lazy source itself, at ``low`` when the code runs once per process."""
    if isinstance(content, ast.ListComp | ast.GeneratorExp):
        return loop_scale(content.generators[0], ctx)
    if isinstance(node, ast.For | ast.AsyncFor):
        return loop_scale(node, ctx)
    scale = iteration_scale(content, ctx)
    once = runs_once(node, ctx)
    return Scale(Confidence.LOW, f"{scale.evidence}; {once}") if once is not None else scale


_CHEAP_BUILTINS = frozenset({
    "isinstance", "issubclass", "len", "hasattr", "getattr", "callable", "type", "id", "abs", "bool", "int",
    "float", "str", "ord", "chr", "repr",
})  # fmt: skip
_CHEAP_METHODS = frozenset({
    "startswith", "endswith", "lower", "upper", "strip", "lstrip", "rstrip", "casefold", "isdigit", "isalpha",
    "isspace", "isidentifier", "get", "keys", "values", "items",
})  # fmt: skip
_LAZY_NAMES = frozenset({"scandir", "walk", "iglob", "glob", "rglob", "finditer", "reader", "DictReader", "imap"})


def _element_parts(content: ast.expr) -> list[ast.expr]:
    """What is evaluated per element: a comprehension's element and filters, or the function a
    ``map``/``filter`` applies."""
    if isinstance(content, ast.ListComp | ast.GeneratorExp):
        return [content.elt, *(test for gen in content.generators for test in gen.ifs)]
    return []


def _source_expr(content: ast.expr) -> ast.expr:
    if isinstance(content, ast.ListComp | ast.GeneratorExp):
        return content.generators[0].iter
    return content


def _costly_call(expr: ast.expr, ctx: Context) -> str | None:
    """The first call in ``expr`` that does unknown work per element (not a cheap builtin such as
    ``isinstance``/``len``, nor a string or mapping accessor)."""
    for node in ast.walk(expr):
        if not isinstance(node, ast.Call):
            continue
        qualified = ctx.qualified_name(node.func) or ""
        if qualified.startswith("builtins.") and qualified[9:] in _CHEAP_BUILTINS:
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in _CHEAP_METHODS:
            continue
        return ast.unparse(node.func)
    return None


def _lazy_source(source: ast.expr, ctx: Context) -> str | None:
    """Why ``source`` produces its elements on demand (so a list pays to produce the ones the
    consumer never reaches), or None: ``map``/``filter`` (a function per element), a file, an
    ``iter*`` method (``itertuples``, ``iterrows``, ``iterdir``...), a directory walk, a regex's
    ``finditer``, a CSV reader, a generator function of this module."""
    if isinstance(source, ast.GeneratorExp):
        return "the source is a generator expression"
    if not isinstance(source, ast.Call):
        return None
    qualified = ctx.qualified_name(source.func) or ""
    if qualified in ("builtins.map", "builtins.filter"):
        return f"`{qualified[9:]}` calls a function per element"
    if qualified in ("builtins.enumerate", "builtins.zip", "builtins.reversed"):
        return next((why for arg in source.args if (why := _lazy_source(arg, ctx)) is not None), None)
    if qualified == "builtins.open" or qualified.startswith("itertools."):
        return f"`{qualified.removeprefix('builtins.')}` yields its elements on demand"
    name = source.func.attr if isinstance(source.func, ast.Attribute) else getattr(source.func, "id", "")
    if name.startswith("iter") or name in _LAZY_NAMES:
        return f"`{name}()` yields its elements on demand"
    if isinstance(source.func, ast.Name):
        for fn in ctx.tree.body:
            if isinstance(fn, ast.FunctionDef) and fn.name == name and _is_generator(fn):
                return f"`{name}` is a generator function: each element is computed on demand"
    return None


def _is_generator(fn: ast.FunctionDef) -> bool:
    todo: list[ast.AST] = list(fn.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            todo.extend(ast.iter_child_nodes(node))
    return False


def _sole_argument(node: ast.expr, ctx: Context) -> bool:
    """``node`` is the only argument of a call (``any([...])``): its brackets can simply go."""
    parent = ctx.parent(node)
    return isinstance(parent, ast.Call) and len(parent.args) == 1 and not parent.keywords and parent.args[0] is node


def _eager(iterable: ast.expr, ctx: Context) -> tuple[ast.expr | None, ast.expr | None]:
    """(the list-building expression, what it lists) when ``iterable`` builds a list of a lazy
    source: a list comprehension, or ``list(<generator expression | map | filter | ...>)``."""
    if isinstance(iterable, ast.ListComp):
        return iterable, iterable
    if (
        isinstance(iterable, ast.Call)
        and len(iterable.args) == 1
        and not iterable.keywords
        and ctx.qualified_name(iterable.func) == "builtins.list"
    ):
        inner = iterable.args[0]
        if isinstance(inner, ast.GeneratorExp):
            return iterable, inner
        if isinstance(inner, ast.Call) and (ctx.qualified_name(inner.func) or "").removeprefix("builtins.") in _LAZY_SOURCES:
            return iterable, inner
    return None, None
