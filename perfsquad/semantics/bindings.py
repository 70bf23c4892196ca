"""Every binding of every name in one scope, and the rule the type inferencers share over them.

A name has a type only if *every* binding of it in its scope agrees (:func:`agree`). The scope
type inference (``semantics.types.infer_scope_types``), the numeric inference of the
vectorization rules (``infer_numeric_types``) and the ALG rules' local kinds (``local_kind``) each
give a binding a kind of their own (a constructor's type, a numeric annotation...), then agree.
:func:`scope_bindings` lists the bindings once, for all of them, in a fixed order: the
parameters, then the scope's nodes in the order of ``scope_body_nodes``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from perfsquad.syntax import children, walk

UNKNOWN = "?"

# How a binding binds (``Binding.how``); ``node`` is given for each.
PARAM = "param"
"""A positional or keyword-only parameter (``node``: the ``ast.arg``, with its annotation)."""
VARARG = "*args"
KWARG = "**kwargs"
ASSIGN = "="
"""A plain name target of an assignment (``node``: the ``ast.Assign``; its value types it)."""
ANNOTATED = ":"
"""``name: T`` or ``name: T = v`` (``node``: the ``ast.AnnAssign``)."""
AUGMENTED = "+="
"""``name += v`` (``node``: the ``ast.AugAssign``): keeps a type for some, unknown for others."""
DELETED = "del"
"""``del name`` (``node``: the ``ast.Name``)."""
TARGET = "target"
"""A name bound without a value to type it: unpacking, a ``for``/``with`` target, a walrus
(``node``: the ``Assign``, ``For``, ``With`` or ``NamedExpr``)."""
IN_TARGET = "in-target"
"""A name *read* inside a ``for``/``with`` target (``a`` in ``for a[i] in ...``): not a binding,
but the scope type inference has always counted it as an unknown one (``node`` as for TARGET)."""
OTHER = "other"
"""Import, ``def``/``class``, ``except ... as``, a match capture, ``global``/``nonlocal``: unknown."""


class Binding(NamedTuple):
    name: str
    how: str
    node: ast.AST


def scope_body_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``scope`` that belongs to it (not to nested functions, classes or lambdas)."""
    stack: list[ast.AST] = children(scope)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            # The name, decorators and defaults belong to the enclosing scope; the body does not.
            if not isinstance(node, ast.Lambda):
                stack.extend(node.decorator_list)
            continue
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            # Only the first iterable is evaluated in the enclosing scope.
            stack.append(node.generators[0].iter)
            continue
        stack.extend(children(node))


def scope_bindings(scope: ast.AST) -> list[Binding]:
    """The bindings of the names of ``scope`` (a function, lambda, class or module)."""
    out: list[Binding] = []
    add = out.append
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = scope.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            add(Binding(arg.arg, PARAM, arg))
        if args.vararg:
            add(Binding(args.vararg.arg, VARARG, args.vararg))
        if args.kwarg:
            add(Binding(args.kwarg.arg, KWARG, args.kwarg))
    for node in scope_body_nodes(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    add(Binding(target.id, ASSIGN, node))
                else:
                    # Only names in Store context are bound: `d[k] = v` and `o.a = v` do not rebind `d`/`o`.
                    for sub in walk(target):
                        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                            add(Binding(sub.id, TARGET, node))
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name):
                add(Binding(node.target.id, ANNOTATED, node))
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                add(Binding(node.target.id, AUGMENTED, node))
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Del):
                add(Binding(node.id, DELETED, node))
            # A stored name is the target of a node above it, listed there.
        elif isinstance(node, ast.NamedExpr):
            add(Binding(node.target.id, TARGET, node))
        elif isinstance(node, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
            targets = (
                [node.target]
                if isinstance(node, ast.For | ast.AsyncFor)
                else [i.optional_vars for i in node.items if i.optional_vars is not None]
            )
            for target in targets:
                for sub in walk(target):
                    if isinstance(sub, ast.Name):
                        add(Binding(sub.id, TARGET if isinstance(sub.ctx, ast.Store) else IN_TARGET, node))
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                add(Binding(name, OTHER, node))
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                add(Binding((alias.asname or alias.name).split(".", 1)[0], OTHER, node))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            add(Binding(node.name, OTHER, node))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            add(Binding(node.name, OTHER, node))
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            add(Binding(node.name, OTHER, node))
        elif isinstance(node, ast.MatchMapping) and node.rest:
            add(Binding(node.rest, OTHER, node))
    return out


def agree(kinds: Iterable[str]) -> str:
    """The kind every binding has, or ``UNKNOWN`` when two differ, one is unknown, or there is none."""
    result: str | None = None
    for kind in kinds:
        if result is None:
            result = kind
        elif kind != result:
            return UNKNOWN
    return UNKNOWN if result is None else result
