from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.analyzers.idioms.range_len_index import chain_parts, mutating_call
from perfsquad.context import Context
from perfsquad.fixes import replace_node
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.bindings import ASSIGN, scope_bindings
from perfsquad.semantics.scale import Scale
from perfsquad.syntax import children, walk

# Iterables that `list()` copies for nothing. Eager and side-effect free: dropping the copy is
# safe. Lazy: dropping it interleaves their work with the loop body.
_EAGER = frozenset({"range", "sorted"})
_LAZY = frozenset({"reversed", "enumerate", "zip", "map", "filter"})


class ListCopyForIteration(Rule):
    """
    ## What it does
    Flags `for x in list(...)` (and comprehensions over `list(...)`) where the argument is
    `range(...)`, `sorted(...)`, `reversed(...)`, `enumerate(...)`, `zip(...)`, `map(...)`,
    `filter(...)` or a generator expression.

    Not flagged when the loop may change a collection the lazy iterable reads (`cs.remove(c)`
    in `for c, q in list(zip(cs, qs))`, `del xs[i]`, `xs += ...`, a method of the object it hangs
    from, a call it is passed to, or the same through an alias `a = xs`): the copy is a
    deliberate snapshot, and iterating lazily would skip, repeat or mispair elements.

    Confidence: at most `medium` (the copy costs a constant per element): `medium` where the
    iterable is of unknown size, `low` (shown with `--confidence low`) for a literal, code run once
    at import, or a transposition `zip(*rows)`, which yields one tuple per column (two for
    `zip(*d.items())`), not one per row.

    ## Why is this bad?
    The loop iterates once, so materializing the whole sequence first allocates a list of every
    element (and, for `sorted`, copies a list that is already new) for nothing: the iterable can
    be looped over directly, in constant memory for the lazy ones.

    ## Example
    ```python
    for i in list(range(n)):
        ...
    for name in list(sorted(names)):
        ...
    ```

    ## Use instead
    ```python
    for i in range(n):
        ...
    for name in sorted(names):
        ...
    ```

    ## Fix safety
    Safe for `range(...)` and `sorted(...)`: a range is immutable and computes nothing, and
    `sorted` already returns a fresh list nobody else holds, so the copy is unobservable. Unsafe for
    the lazy ones (`reversed`, `enumerate`, `zip`, `map`, `filter`, generator expressions): with
    `list()` all of their work happens before the first iteration of the body, without it their
    side effects (the mapped function, the generator's code) interleave with the body's, an
    exception surfaces after part of the body ran, and changes the body makes to the underlying
    collection (`reversed(xs)` while appending to `xs`) become visible to the iteration.
    Never flagged: `list(d)`, `list(d.items())`, `list(some_name)` and other copies of existing
    collections, which are usually deliberate (to mutate the collection while looping).

    ## Speedup
    Measured by `bench/calibrate.py` on `list(range(n))` (`n` = elements iterated): the saving is
    the allocation and fill of the copy, modest in time and O(n) in memory.

    ## References
    - [ruff PERF101 unnecessary-list-cast](https://docs.astral.sh/ruff/rules/unnecessary-list-cast/)
    - [Iterator types](https://docs.python.org/3/library/stdtypes.html#iterator-types)
    """

    code = "IDM014"
    name = "list-copy-for-iteration"
    message = "`list()` copies an iterable the loop only walks once; iterate it directly"
    fix_title = "Remove the `list()` copy"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For, ast.comprehension)
    effort_minutes = 1
    bench = Bench(
        setup="",
        before="result = 0\nfor i in list(range(n)):\n    result += i",
        after="result = 0\nfor i in range(n):\n    result += i",
        scales_with="n = elements iterated",
    )
    valid = (
        # Copies of existing collections are usually deliberate.
        "for k in list(d):\n    del d[k]\n",
        "for k, v in list(d.items()):\n    d.pop(k)\n",
        "for x in list(xs):\n    xs.remove(x)\n",
        "for x in list(obj.children()):\n    pass\n",
        # Not `list`, or not the builtins.
        "for i in tuple(range(3)):\n    pass\n",
        "def f(list):\n    for i in list(range(3)):\n        pass\n",
        "from mylib import range\nfor i in list(range(3)):\n    pass\n",
        "for i in list(range(3), 1):\n    pass\n",
        "async def f():\n    return [x async for x in list(range(3))]\n",
        # The body changes what the lazy iterable reads: the copy is a deliberate snapshot.
        "def f(cs, qs):\n    for c, q in list(zip(cs, qs)):\n        if q:\n            cs.remove(c)\n",
        "def f(xs):\n    for x in list(reversed(xs)):\n        xs.append(x)\n",
        "def f(xs):\n    for i, x in list(enumerate(xs)):\n        del xs[i]\n",
        "def f(xs):\n    for i, x in list(enumerate(xs)):\n        xs[i:i] = [x]\n",
        "def f(xs):\n    for x in list(filter(None, xs)):\n        xs += [x]\n",
        "def f(self):\n    for c in list(filter(bool, self.children)):\n        self.detach(c)\n",
        "def f(xs):\n    alias = xs\n    for x in list(map(str, xs)):\n        alias.pop()\n",
        "def f(xs):\n    for x in list(y for y in xs if y):\n        prune(xs, x)\n",
        "def f(xs):\n    return [xs.remove(x) for x in list(reversed(xs))]\n",
    )
    invalid = (
        Invalid(
            "def f(n):\n    out = 0\n    for i in list(range(n)):\n        out += i\n    return out\n",
            fixed="def f(n):\n    out = 0\n    for i in range(n):\n        out += i\n    return out\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    return [x * 2 for x in list(sorted(xs, reverse=True))]\n",
            fixed="def f(xs):\n    return [x * 2 for x in sorted(xs, reverse=True)]\n",
            safety=FixSafety.SAFE,
        ),
        # The body changes another list, or only reads the source: the copy is for nothing.
        Invalid(
            "def f(xs, out):\n    for x in list(reversed(xs)):\n        out.append(x)\n        print(xs.count(x))\n",
            fixed="def f(xs, out):\n    for x in reversed(xs):\n        out.append(x)\n        print(xs.count(x))\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(cs, qs, other):\n    for c, q in list(zip(cs, qs)):\n        other.remove(c)\n        print(len(cs))\n",
            fixed="def f(cs, qs, other):\n    for c, q in zip(cs, qs):\n        other.remove(c)\n        print(len(cs))\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs, ys):\n    for a, b in list(zip(xs, ys)):\n        print(a, b)\n",
            fixed="def f(xs, ys):\n    for a, b in zip(xs, ys):\n        print(a, b)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    for y in list(x * 2 for x in xs):\n        print(y)\n",
            fixed="def f(xs):\n    for y in (x * 2 for x in xs):\n        print(y)\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.For | ast.comprehension, ctx: Context) -> None:
        if isinstance(node, ast.comprehension) and node.is_async:
            return
        copy = node.iter
        if not (
            isinstance(copy, ast.Call)
            and len(copy.args) == 1
            and not copy.keywords
            and ctx.qualified_name(copy.func) == "builtins.list"
        ):
            return
        inner = copy.args[0]
        if isinstance(inner, ast.GeneratorExp):
            what = "a generator expression"
            eager = False
        elif isinstance(inner, ast.Call):
            qualified = ctx.qualified_name(inner.func) or ""
            name = qualified.removeprefix("builtins.")
            if not qualified.startswith("builtins.") or name not in _EAGER | _LAZY:
                return
            what = f"`{name}()`"
            eager = name in _EAGER
        else:
            return
        if _body_mutates_source(ctx, node, inner):
            return

        def fix() -> Fix | None:
            text = ctx.text(inner)
            if isinstance(inner, ast.GeneratorExp) and not text.startswith("("):
                text = f"({text})"  # `list(x for x in xs)`: the call's parentheses were the genexp's
            title = self.fix_title or ""
            if not eager:
                title += (
                    f" (unsafe: {what} is lazy: its work and side effects would interleave with the"
                    " loop body, and the body's changes to what it iterates become visible)"
                )
            return replace_node(ctx, copy, text, title, FixSafety.SAFE if eager else FixSafety.UNSAFE)

        scale = loop_confidence(self, node, ctx)
        if _transposes(ctx, inner):
            scale = Scale(
                Confidence.LOW,
                f"`{ctx.text(inner)}` transposes: it yields one tuple per column, however many rows there are",
            )
        ctx.report(self, copy, fix=fix, confidence=scale.confidence, evidence=scale.evidence)


def _sources(inner: ast.expr) -> set[tuple[str, ...]]:
    """The collections a lazy iterable reads: the name or attribute chains among its arguments
    (``cs`` and ``qs`` in ``zip(cs, qs)``, ``self.items`` in ``reversed(self.items)``), at any depth."""
    found: set[tuple[str, ...]] = set()
    stack: list[ast.AST] = [inner]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            stack.extend(node.args)
            stack.extend(kw.value for kw in node.keywords)
            continue
        parts = chain_parts(node) if isinstance(node, ast.expr) else None
        if parts is not None:
            found.add(parts)
            continue
        stack.extend(children(node))
    return found


def _aliases(ctx: Context, loop: ast.AST, sources: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """``alias = xs`` in the loop's scope: mutating ``alias`` mutates ``xs``."""
    out = set(sources)
    for binding in scope_bindings(ctx.scope_of(loop)):
        if (
            binding.how == ASSIGN
            and isinstance(binding.node, ast.Assign)
            and chain_parts(binding.node.value) in sources
        ):
            out.add((binding.name,))
    return out


def _body_mutates_source(ctx: Context, node: ast.For | ast.comprehension, inner: ast.expr) -> bool:
    """Whether the loop may change a collection ``inner`` reads while iterating it: a mutating
    method on it or on the object it hangs from (``xs.remove``, ``self.detach``), an item store or
    delete, ``xs += ...``, or passing it to a call. Then ``list()`` is a deliberate snapshot: the
    lazy iterable would see the changes (skip or repeat elements, mispair a ``zip``)."""
    sources = _sources(inner)
    if not sources:
        return False
    watched = _aliases(ctx, node, sources)
    prefixes = {chain[:i] for chain in watched for i in range(1, len(chain) + 1)}
    body: list[ast.AST]
    if isinstance(node, ast.For):
        body = [*node.body, *node.orelse]
    else:
        comp = ctx.parent(node)
        body = [c for c in children(comp) if c is not node] if comp is not None else []
        body += [g for g in getattr(comp, "generators", []) if g is not node]
        body += node.ifs
    for part in body:
        for sub in walk(part):
            if isinstance(sub, ast.Call) and mutating_call(ctx, sub, prefixes) is not None:
                return True
            if (
                isinstance(sub, ast.Subscript)
                and not isinstance(sub.ctx, ast.Load)
                and chain_parts(sub.value) in watched
            ):
                return True
            if isinstance(sub, ast.AugAssign) and chain_parts(sub.target) in watched:
                return True
    return False


def _transposes(ctx: Context, inner: ast.expr) -> bool:
    """``zip(*rows)`` (not of a literal list of sequences): as many tuples as each row is long,
    a width (2 for ``zip(*d.items())``), not the number of rows."""
    return (
        isinstance(inner, ast.Call)
        and ctx.qualified_name(inner.func) == "builtins.zip"
        and len(inner.args) == 1
        and isinstance(inner.args[0], ast.Starred)
        and not isinstance(inner.args[0].value, ast.List | ast.Tuple)
    )
