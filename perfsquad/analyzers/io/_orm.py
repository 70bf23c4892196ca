"""ORM rows read in a loop: which model a loop's rows are, and which relations its query preloads.

A loop (``for`` or a comprehension's generator) iterates the rows of a query when its iterable is,
or is a name assigned once in the same function from:

* Django: a queryset chain, ``Book.objects.filter(...)`` (``select_related``/``prefetch_related``
  and ``values``/``values_list`` preload or replace the related objects);
* SQLAlchemy: ``session.scalars(select(M)...)``, ``session.execute(select(M)).scalars()...``, or
  ``session.query(M)...`` (``.options(selectinload(M.rel))`` and the other loader options preload
  ``rel``; a ``"*"`` option covers every relation).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from perfsquad.context import COMPREHENSIONS, Context
from perfsquad.semantics.io_catalog import django_model_of
from perfsquad.syntax import walk

_SELECTS = frozenset({"sqlalchemy.select", "sqlalchemy.future.select", "sqlalchemy.sql.select", "sqlalchemy.sql.expression.select"})
_LOADERS = frozenset(
    {"selectinload", "joinedload", "subqueryload", "immediateload", "contains_eager", "raiseload", "lazyload", "noload",
     "defaultload", "load_only", "defer", "undefer", "Load"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RowSource:
    orm: str
    """``django`` or ``sqlalchemy``."""
    model: str
    """The model's name as written (``Invoice``)."""
    preloaded: frozenset[str]
    """Relations the query already loads; ``*`` for all."""
    query: ast.Call | None = None
    """SQLAlchemy: the ``select(M)``/``x.query(M)`` call of this function an option can follow."""


def _assigned_once(ctx: Context, name: ast.Name, before: ast.AST) -> ast.expr | None:
    """The value of ``name`` when the function around ``before`` binds it exactly once, by a plain
    assignment (no loop variable, no augmented assignment, no other binding)."""
    fn = ctx.function_of(before)
    if fn is None:
        return None
    value: ast.expr | None = None
    count = 0
    for node in walk(fn):
        if isinstance(node, ast.Name) and node.id == name.id and isinstance(node.ctx, ast.Store | ast.Del):
            count += 1
            parent = ctx.parent(node)
            if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and parent.targets[0] is node:
                value = parent.value
            else:
                return None
        elif isinstance(node, ast.arg) and node.arg == name.id:
            return None
    return value if count == 1 else None


def _resolve(ctx: Context, node: ast.expr, at: ast.AST) -> ast.expr:
    if isinstance(node, ast.Name):
        value = _assigned_once(ctx, node, at)
        if value is not None:
            return value
    return node


def row_source(ctx: Context, iterable: ast.expr, at: ast.AST) -> RowSource | None:
    expr = _resolve(ctx, iterable, at)
    found = django_model_of(expr)
    if found is not None:
        model, methods = found
        if "values" in methods or "values_list" in methods:
            return None
        preloaded = frozenset("*" for m in methods if m in ("select_related", "prefetch_related"))
        return RowSource("django", model, preloaded)
    return _sqlalchemy_rows(ctx, expr, at)


def _sqlalchemy_rows(ctx: Context, expr: ast.expr, at: ast.AST) -> RowSource | None:
    """``session.scalars(select(M)).all()``, ``session.execute(stmt).scalars()``, ``session.query(M)``."""
    chain: list[ast.Call] = []
    node: ast.expr = expr
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        chain.append(node)
        node = node.func.value
    if not chain:
        return None
    methods = [c.func.attr for c in chain if isinstance(c.func, ast.Attribute)]
    innermost = chain[-1]
    statement: ast.expr | None = None
    if methods[-1] == "query" and innermost.args and isinstance(innermost.args[0], ast.Name):
        query = innermost
        model = innermost.args[0].id
        options = chain[:-1]
    elif methods[-1] == "scalars" and innermost.args:
        statement = innermost.args[0]
    elif methods[-1] == "execute" and innermost.args and "scalars" in methods:
        statement = innermost.args[0]
    else:
        return None
    if statement is not None:
        statement = _resolve(ctx, statement, at)
        options = []
        node = statement
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            options.append(node)
            node = node.func.value
        if not (
            isinstance(node, ast.Call)
            and ctx.imports.qualified_name(node.func) in _SELECTS
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Name)
        ):
            return None
        query = node
        model = node.args[0].id
    preloaded: set[str] = set()
    for call in options:
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "options"):
            continue
        for part in walk(call):
            if isinstance(part, ast.Attribute):
                preloaded.add(part.attr)
            elif isinstance(part, ast.Constant) and isinstance(part.value, str):
                preloaded.add(part.value)
    in_function = ctx.function_of(query) is ctx.function_of(at)
    return RowSource("sqlalchemy", model, frozenset(preloaded), query if in_function else None)


@dataclass(frozen=True, slots=True)
class RowLoop:
    row: str
    iterable: ast.expr
    body: tuple[ast.AST, ...]
    """What runs once per row."""


def row_loops(node: ast.AST) -> list[RowLoop]:
    """The (row name, iterable, per-row code) of a ``for`` loop or of each comprehension generator."""
    if isinstance(node, ast.For | ast.AsyncFor):
        if isinstance(node.target, ast.Name):
            return [RowLoop(node.target.id, node.iter, tuple(node.body))]
        return []
    if not isinstance(node, COMPREHENSIONS):
        return []
    if isinstance(node, ast.DictComp):
        element: list[ast.AST] = [node.key, node.value]
    else:
        element = [node.elt]
    loops: list[RowLoop] = []
    for i, gen in enumerate(node.generators):
        if not isinstance(gen.target, ast.Name):
            continue
        later: list[ast.AST] = [*gen.ifs]
        for other in node.generators[i + 1 :]:
            later.extend([other.iter, *other.ifs])
        loops.append(RowLoop(gen.target.id, gen.iter, (*later, *element)))
    return loops


def relation_reads(loop: RowLoop, fields: dict[str, str]) -> list[ast.Attribute]:
    """``row.rel`` reads of a relation field, first of each, in source order."""
    seen: set[str] = set()
    out: list[ast.Attribute] = []
    nodes = sorted(
        (n for part in loop.body for n in walk(part) if isinstance(n, ast.Attribute)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for node in nodes:
        if (
            isinstance(node.value, ast.Name)
            and node.value.id == loop.row
            and isinstance(node.ctx, ast.Load)
            and node.attr in fields
            and node.attr not in seen
        ):
            seen.add(node.attr)
            out.append(node)
    return out
