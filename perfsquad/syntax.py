"""Which fields of an ``ast`` node hold child nodes: looked up once per node type, for the
traversal (``perfsquad.tree``) and the walks of the semantics; and where a statement starts."""

from __future__ import annotations

import ast
import contextlib
import threading
from collections.abc import Iterator

_SCALAR_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "asname", "module", "level", "type_comment", "kind", "is_async"}
    | {"conversion", "tag", "lineno"}
)
"""Fields that never hold a node worth visiting: identifiers, numbers, and the shared singleton
nodes of contexts and operators (``Load()``, ``Add()``, ``Eq()``: one object for the whole tree,
so a parent link to them would be meaningless anyway)."""
CHILD_FIELDS: dict[type, tuple[str, ...]] = {}
"""Node type -> its child fields (filled as types are met; read it directly in hot loops)."""


def child_fields(kind: type) -> tuple[str, ...]:
    """The fields of ``kind`` that may hold child nodes, in ``_fields`` order."""
    names = CHILD_FIELDS.get(kind)
    if names is None:
        names = CHILD_FIELDS[kind] = tuple(
            name
            for name in kind._fields  # type: ignore[attr-defined]
            if name not in _SCALAR_FIELDS
            # `name` is an identifier everywhere but in `type X = ...` (3.12+), where it is a Name.
            and not (name == "name" and kind.__name__ != "TypeAlias")
            and not (name == "value" and kind in (ast.Constant, ast.MatchSingleton))
        )
    return names


def children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` in the same order, without the context and operator singletons."""
    out: list[ast.AST] = []
    for name in child_fields(type(node)):
        value = getattr(node, name, None)
        if type(value) is list:
            out.extend(child for child in value if isinstance(child, ast.AST))
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk``: the same nodes in the same (breadth-first) order, without the context and
    operator singletons, and without ``iter_child_nodes``' per-field generators. Inside
    :func:`shared_walks`, a statement's walk is made once and replayed."""
    shared: dict[int, tuple[ast.AST, list[ast.AST] | None]] | None = getattr(_SHARED, "walks", None)
    if shared is None or not isinstance(node, ast.stmt):
        return _walk(node)
    entry = shared.get(id(node))
    if entry is None or entry[0] is not node:  # a first walk: lazy (callers may stop early)
        shared[id(node)] = (node, None)  # (the node kept: its id stays its own)
        return _walk(node)
    nodes = entry[1]
    if nodes is None:  # walked again: kept from now on
        nodes = _nodes(node)
        shared[id(node)] = (node, nodes)
    return iter(nodes)


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    todo = [node]
    i = 0
    fields = CHILD_FIELDS
    while i < len(todo):
        current = todo[i]
        i += 1
        # (``children`` inlined: the semantics walk every edited unit several times per edit)
        names = fields.get(type(current))
        if names is None:
            names = child_fields(type(current))
        for name in names:
            value = getattr(current, name, None)
            if type(value) is list:
                todo.extend([child for child in value if isinstance(child, ast.AST)])
            elif isinstance(value, ast.AST):
                todo.append(value)
        yield current


def _nodes(node: ast.AST) -> list[ast.AST]:
    """The whole of :func:`_walk`, as a list."""
    return list(_walk(node))


_SHARED = threading.local()


@contextlib.contextmanager
def shared_walks() -> Iterator[None]:
    """Within the block (in this thread), a statement walked a second time is walked once more,
    in full, and its nodes replayed to every later :func:`walk` of it: the editor's incremental
    analysis walks the edited unit about ten times per edit (facts, fingerprints, identifiers,
    imports and rules, each its own pass), and must not change the tree's shape meanwhile (line
    numbers may move: the order does not depend on them). The lists go when the block ends."""
    previous = getattr(_SHARED, "walks", None)
    _SHARED.walks = {} if previous is None else previous
    try:
        yield
    finally:
        _SHARED.walks = previous


def names_in(node: ast.AST) -> set[str]:
    """Every name (``ast.Name``) read or bound anywhere in ``node``."""
    return {n.id for n in walk(node) if isinstance(n, ast.Name)}


def statement_start(stmt: ast.stmt) -> int:
    """First line of a statement, decorators included."""
    decorators: list[ast.expr] = getattr(stmt, "decorator_list", [])
    return min([stmt.lineno, *(d.lineno for d in decorators)])


_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def early_exit(loop: ast.For | ast.AsyncFor) -> ast.stmt | None:
    """The first ``break`` of ``loop`` itself, or ``return`` inside its body: a way to leave it
    before its iterable is exhausted. A ``break`` of a nested loop leaves only that loop; nothing
    in a nested function or class runs as part of this loop; ``else:`` runs after exhaustion."""
    todo: list[tuple[ast.AST, bool]] = [(stmt, True) for stmt in reversed(loop.body)]
    while todo:
        node, own = todo.pop()
        if isinstance(node, ast.Return) or (own and isinstance(node, ast.Break)):
            return node
        if isinstance(node, _SCOPES):
            continue
        nested = own and not isinstance(node, _LOOPS)
        todo.extend((child, nested) for child in reversed(list(ast.iter_child_nodes(node))))
    return None
