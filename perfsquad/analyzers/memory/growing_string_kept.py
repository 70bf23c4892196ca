from __future__ import annotations

import ast

from perfsquad.analyzers.idioms.string_concat_loop import augmented_add
from perfsquad.context import FUNCTIONS, Context
from perfsquad.rule import Invalid, Rule, fit
from perfsquad.semantics.types import expr_type
from perfsquad.syntax import children, walk

_IMMUTABLE = frozenset({"str", "bytes", "tuple"})
_STORE_METHODS = frozenset({"append", "add", "insert", "appendleft"})


_OPAQUE = (*FUNCTIONS, ast.ClassDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _target(stmt: ast.AugAssign | ast.Assign) -> ast.Name | None:
    """The one name an augmented or plain assignment binds, if that is what it binds."""
    target = stmt.target if isinstance(stmt, ast.AugAssign) else (stmt.targets[0] if len(stmt.targets) == 1 else None)
    return target if isinstance(target, ast.Name) else None


def _loop_statements(loop: ast.For | ast.AsyncFor | ast.While) -> list[ast.AST]:
    """Every node executed by the loop's body, not descending into nested functions or classes."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(loop.body)
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, _OPAQUE):
            continue
        stack.extend(children(node))
    return out


def _stored_name(node: ast.AST) -> str | None:
    """The name ``node`` stores into a container: ``xs.append(name)`` (and the like), ``d[k] = name``."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _STORE_METHODS
        and node.args
        and isinstance(node.args[-1], ast.Name)
    ):
        return node.args[-1].id
    if (
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Name)
        and any(isinstance(t, ast.Subscript) for t in node.targets)
    ):
        return node.value.id
    return None


def _bound_to_immutable(ctx: Context, name: ast.Name) -> bool:
    """Every plain assignment to ``name`` in its scope is a str/bytes/tuple (and there is one).

    ``name = name + piece`` keeps the type it adds to, so it is not counted."""
    scope = ctx.scope_of(name)
    kinds = {
        expr_type(n.value, ctx.imports)
        for n in walk(scope)
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name.id for t in n.targets)
        and augmented_add(n, name.id) is None
        and ctx.scope_of(n) is scope
    }
    return len(kinds) == 1 and kinds <= _IMMUTABLE


class GrowingStringKept(Rule):
    """
    ## What it does
    Flags a loop that builds a string (or bytes, or tuple) by concatenation and also stores the
    growing value on every iteration: `s += piece` (or `s = s + piece`) followed by
    `results.append(s)`, `seen.add(s)` or `table[key] = s` in the same loop.

    Only when the value is known to be a `str`, `bytes` or `tuple`: its name is bound to one in
    its scope, its inferred type is one, or the piece added is one. `a = a + ndim` on integers
    (an axis made positive, then stored) has the same shape and is not reported.

    ## Why is this bad?
    Each stored value is a separate copy of everything built so far: after `n` pieces the
    container holds `n` strings of average length `n/2` pieces, so memory is O(n²) in the number
    of pieces, and the copying is O(n²) in time. A 10,000-piece loop of 10-character pieces keeps
    about 500 MB alive.

    ## Example
    ```python
    prefix = ""
    prefixes = []
    for token in tokens:
        prefix += token
        prefixes.append(prefix)
    ```

    ## Use instead
    Store what is needed to rebuild a prefix instead of each copy (the end offsets, then slice
    `"".join(tokens)` on demand), or keep only the final string if the intermediates are not
    really used.

    ## Fix safety
    No automatic fix: what the intermediates are needed for decides the right structure.

    ## Speedup
    Not a speed rule first: memory retained is quadratic in the number of pieces. No benchmark;
    `perfsquad leakcheck` and `perfsquad profile --memory` show the allocation at this line.

    ## References
    - [Python FAQ: most efficient way to concatenate many strings](https://docs.python.org/3/faq/programming.html#what-is-the-most-efficient-way-to-concatenate-many-strings-together)
    - [`itertools.accumulate`](https://docs.python.org/3/library/itertools.html#itertools.accumulate)
    """

    code = "MEM007"
    name = "growing-string-kept"
    message = "Every intermediate of a growing string is stored: memory grows quadratically"
    node_types = (ast.For, ast.AsyncFor, ast.While)
    effort_minutes = 20
    valid = (
        "s = ''\nfor x in xs:\n    s += x\nout.append(s)\n",
        "s = ''\nfor x in xs:\n    s += x\n    out.append(x)\n",
        "s = []\nfor x in xs:\n    s += [x]\n    out.append(s)\n",  # the same list object each time
        "s = ''\nfor x in xs:\n    s += x\n    out.append(len(s))\n",
        "s = ''\nfor x in xs:\n    s += x\n    if len(s) > 10:\n        out.append(s)\n        s = ''\n",
        # Integers (an axis made positive, a running offset): no evidence of a string.
        "def norm(axis, ndim):\n    axes = []\n    for a in axis:\n        if a < 0:\n            a = a + ndim\n"
        "        axes.append(a)\n    return axes\n",
        "def offsets(sizes):\n    pos = 0\n    out = []\n    for n in sizes:\n        pos = pos + n\n"
        "        out.append(pos)\n    return out\n",
        "def offsets(sizes):\n    total = 0\n    seen = {}\n    for k, n in sizes:\n        total += n\n"
        "        seen[k] = total\n    return seen\n",
    )
    invalid = (
        Invalid(
            "def prefixes(tokens):\n    prefix = ''\n    out = []\n    for t in tokens:\n        prefix += t\n"
            "        out.append(prefix)\n    return out\n"
        ),
        Invalid("acc = ()\nwhile more():\n    acc = acc + (next_item(),)\n    seen[len(acc)] = acc\n"),
        Invalid("b = b''\nfor chunk in chunks:\n    b += chunk\n    history.add(b)\n"),
        # The plain spelling, with a string bound before the loop or a string piece.
        Invalid(
            "def paths(parts):\n    p = ''\n    out = []\n    for x in parts:\n        p = p + x\n"
            "        out.append(p)\n    return out\n"
        ),
        Invalid("def keys(parts, out):\n    for x in parts:\n        key = key + f'.{x}'\n        out.append(key)\n"),
    )

    def __init__(self) -> None:
        self._screened: set[ast.AST] | None = None

    def _loops_with_candidates(self, ctx: Context) -> set[ast.AST]:
        """The loops whose body (nested defs aside) holds a ``name += ...`` or ``name = name + ...``:
        found once per module from the engine's buckets, going up from each such statement,
        instead of walking the body of every loop (a rule instance serves one context)."""
        if self._screened is None:
            loops: set[ast.AST] = set()
            parents = ctx.parent_links
            statements: list[ast.AugAssign | ast.Assign] = [*ctx.nodes(ast.AugAssign), *ctx.nodes(ast.Assign)]
            for stmt in statements:
                target = _target(stmt)
                if target is None or augmented_add(stmt, target.id) is None:
                    continue
                child: ast.AST = stmt
                parent = parents.get(stmt)
                while parent is not None and not isinstance(parent, _OPAQUE):
                    if isinstance(parent, _LOOPS) and any(child is s for s in parent.body):
                        loops.add(parent)
                    child, parent = parent, parents.get(parent)
            self._screened = loops
        return self._screened

    def check(self, node: ast.For | ast.AsyncFor | ast.While, ctx: Context) -> None:
        # An editor's incremental context checks the loops of one unit only: walking those is
        # cheaper than indexing the whole module.
        if ctx.whole and node not in self._loops_with_candidates(ctx):
            return
        body = _loop_statements(node)
        candidates: dict[str, list[tuple[ast.AugAssign | ast.Assign, ast.Name]]] = {}
        resets: set[str] = set()
        for stmt in body:
            if isinstance(stmt, ast.AugAssign | ast.Assign):
                target = _target(stmt)
                if target is None:
                    continue
                if augmented_add(stmt, target.id) is None:
                    if isinstance(stmt, ast.Assign):
                        resets.add(target.id)
                    continue
                candidates.setdefault(target.id, []).append((stmt, target))
        # Types (an inference over the scope) only for names the loop also stores somewhere.
        stored_names = {_stored_name(stmt) for stmt in body} - {None}
        growing: set[str] = set()
        for name, stmts in candidates.items():
            if name in resets or name not in stored_names:
                continue
            for stmt, target in stmts:
                # Both spellings need evidence that the value is a str/bytes/tuple: `a = a + ndim`
                # on integers (an axis made positive) is the same shape as a growing string.
                piece = augmented_add(stmt, name)
                if not (
                    ctx.type_of(target) in _IMMUTABLE
                    or (piece is not None and expr_type(piece, ctx.imports) in _IMMUTABLE)
                    or _bound_to_immutable(ctx, target)
                ):
                    continue
                growing.add(name)
                break
        if not growing:
            return
        for stmt in body:
            stored = _stored_name(stmt)
            if stored is not None and stored in growing:
                message = fit("`{name}` grows in this loop and every copy is kept: memory grows quadratically", name=stored)
                ctx.report(self, stmt, message=message)
                return
