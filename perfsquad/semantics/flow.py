"""May a name's binding be read later? A small, conservative flow analysis over statements.

A rewrite that moves a loop into a comprehension stops binding the loop variable in the
enclosing scope (a comprehension has its own). That is invisible only if nothing can read the
variable afterwards: not the code after the loop, not an ``except``/``finally`` around it (an
element that raises leaves the variable bound to it), not the next iteration of an enclosing
loop, not a nested function. :func:`later_read` answers that question for one statement and one
name, following every path out of the statement in its scope:

* a read before any rebinding (``print(x)``, ``x += 1``, ``del x``, ``f(x)``) is a read;
* a plain rebinding on the path (``x = ...``, ``for x in ...`` for its own body, ``with ... as
  x``, ``import x``, ``def x``) ends the path: what follows sees the new value;
* branches are followed separately (``if``/``try``/loops), ``return``/``raise`` end a path,
  ``break``/``continue`` carry the binding to the enclosing loop's continuation;
* anything it cannot follow (``global x``, ``locals()``, ``eval``, a nested function that
  mentions ``x``) counts as a read.

It never runs code and never claims a read is impossible unless every path shows it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perfsquad.syntax import children

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_INTROSPECTION = frozenset({"locals", "vars", "dir", "eval", "exec"})
"""Calls that may read any local by name (without arguments, or with code)."""


@dataclass(frozen=True, slots=True)
class LaterRead:
    """Where a binding may be read after the statement that made it: the node and in what."""

    node: ast.AST
    where: str
    """``"after the loop"``, ``"in an `except` handler"``, ``"in a `finally` block"``, ``"in the
    enclosing loop"``, ``"in a nested function"``..."""


def reads_name(node: ast.AST, name: str) -> ast.AST | None:
    """The first place in ``node`` (an expression or statement, read as a whole) that may read
    ``name`` from the enclosing scope; None when none can.

    A comprehension or lambda that binds ``name`` itself hides it; a nested ``def``/``class`` that
    mentions it at all counts (it may run later, as a closure)."""
    stack: list[ast.AST] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name):
            if current.id == name and not isinstance(current.ctx, ast.Store):
                return current
            continue
        if isinstance(current, ast.Global | ast.Nonlocal) and name in current.names:
            return current
        if isinstance(current, ast.Call) and isinstance(current.func, ast.Name) and current.func.id in _INTROSPECTION:
            return current
        if isinstance(current, ast.Lambda) and _binds_parameter(current.args, name):
            stack.extend(current.args.defaults)
            stack.extend(d for d in current.args.kw_defaults if d is not None)
            continue
        if isinstance(current, _COMPREHENSIONS) and any(
            isinstance(t, ast.Name) and t.id == name for gen in current.generators for t in _target_names(gen.target)
        ):
            stack.append(current.generators[0].iter)  # evaluated in the enclosing scope
            continue
        stack.extend(children(current))
    return None


def _binds_parameter(args: ast.arguments, name: str) -> bool:
    params = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return any(p is not None and p.arg == name for p in params)


def _target_names(target: ast.AST) -> list[ast.Name]:
    out: list[ast.Name] = []
    stack = [target]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name):
            out.append(current)
        elif isinstance(current, ast.Tuple | ast.List):
            stack.extend(current.elts)
        elif isinstance(current, ast.Starred):
            stack.append(current.value)
    return out


def _binds(target: ast.AST, name: str) -> bool:
    """A plain (possibly unpacking) target that stores ``name``."""
    return any(n.id == name for n in _target_names(target))


def _target_reads(target: ast.AST, name: str) -> ast.AST | None:
    """Reads inside a target: ``a[x] = ...`` and ``x.attr = ...`` read ``x``."""
    if isinstance(target, ast.Name):
        return None
    if isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            found = _target_reads(elt, name)
            if found is not None:
                return found
        return None
    if isinstance(target, ast.Starred):
        return _target_reads(target.value, name)
    return reads_name(target, name)


@dataclass
class _Path:
    """The state of one binding along the statements walked so far."""

    live: bool = True
    """Control may reach the next statement with the binding still visible."""
    escaped: bool = False
    """A ``break``/``continue`` carried the binding to an enclosing loop's continuation."""
    read: LaterRead | None = None


class _Flow:
    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where

    def read_at(self, node: ast.AST | None) -> LaterRead | None:
        if node is None:
            return None
        found = reads_name(node, self.name)
        return LaterRead(found, self.where) if found is not None else None

    def block(self, stmts: Sequence[ast.stmt], live: bool = True) -> _Path:
        path = _Path(live=live)
        for stmt in stmts:
            if not path.live:
                break
            step = self.stmt(stmt)
            if step.read is not None:
                return step
            path.escaped = path.escaped or step.escaped
            path.live = step.live
        return path

    def stmt(self, stmt: ast.stmt) -> _Path:
        name = self.name
        if isinstance(stmt, ast.Assign):
            read = self.read_at(stmt.value)
            for target in stmt.targets:
                read = read or self._target(target)
            if read is not None:
                return _Path(read=read)
            return _Path(live=not any(_binds(t, name) for t in stmt.targets))
        if isinstance(stmt, ast.AnnAssign):
            read = self.read_at(stmt.value) or self._target(stmt.target)
            if read is not None:
                return _Path(read=read)
            return _Path(live=not (stmt.value is not None and _binds(stmt.target, name)))
        if isinstance(stmt, ast.AugAssign):
            read = self.read_at(stmt.value) or self._target(stmt.target)
            if read is None and isinstance(stmt.target, ast.Name) and stmt.target.id == name:
                read = LaterRead(stmt.target, self.where)  # `x += 1` reads `x` first
            return _Path(read=read)
        if isinstance(stmt, ast.Return | ast.Raise):
            read = self.read_at(stmt)
            return _Path(live=False, read=read)
        if isinstance(stmt, ast.Break | ast.Continue):
            return _Path(live=False, escaped=True)
        if isinstance(stmt, ast.Delete):
            return _Path(read=self.read_at(stmt) or self._deleted(stmt))
        if isinstance(stmt, ast.If | ast.While):
            read = self.read_at(stmt.test)
            if read is not None:
                return _Path(read=read)
            body = self.block(stmt.body)
            if body.read is not None:
                return body
            orelse = self.block(stmt.orelse)
            if orelse.read is not None:
                return orelse
            if isinstance(stmt, ast.While):
                # The body may run any number of times (a break leaves it live).
                return _Path(live=True, escaped=orelse.escaped)
            return _Path(live=body.live or orelse.live, escaped=body.escaped or orelse.escaped)
        if isinstance(stmt, ast.For | ast.AsyncFor):
            read = self.read_at(stmt.iter) or self._target(stmt.target)
            if read is not None:
                return _Path(read=read)
            rebound = _binds(stmt.target, name)
            body = self.block(stmt.body, live=not rebound)
            if body.read is not None:
                return body
            # The iterable may be empty: after the loop the old binding may still be there.
            orelse = self.block(stmt.orelse)
            if orelse.read is not None:
                return orelse
            return _Path(live=True, escaped=orelse.escaped)
        if isinstance(stmt, ast.With | ast.AsyncWith):
            rebound = False
            for item in stmt.items:
                read = self.read_at(item.context_expr) or (
                    self._target(item.optional_vars) if item.optional_vars is not None else None
                )
                if read is not None:
                    return _Path(read=read)
                rebound = rebound or (item.optional_vars is not None and _binds(item.optional_vars, name))
            body = self.block(stmt.body, live=not rebound)
            return body
        if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
            return self._try(stmt)  # type: ignore[arg-type]
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found = reads_name(stmt, name)
            if found is not None:
                return _Path(read=LaterRead(found, "in a nested function or class"))
            return _Path(live=stmt.name != name)
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            bound = any((a.asname or a.name).split(".", 1)[0] == name for a in stmt.names)
            return _Path(live=not bound)
        if isinstance(stmt, ast.Expr | ast.Assert | ast.Pass | ast.Global | ast.Nonlocal):
            return _Path(read=self.read_at(stmt))
        # Anything else (match, type aliases...): a read if it mentions the name at all.
        return _Path(read=self.read_at(stmt))

    def _target(self, target: ast.AST) -> LaterRead | None:
        found = _target_reads(target, self.name)
        return LaterRead(found, self.where) if found is not None else None

    def _deleted(self, stmt: ast.Delete) -> LaterRead | None:
        """``del x`` reads the binding (it raises when there is none)."""
        for target in stmt.targets:
            for n in _target_names(target):
                if n.id == self.name:
                    return LaterRead(n, self.where)
        return None

    def _try(self, stmt: ast.Try) -> _Path:
        body = self.block(stmt.body)
        if body.read is not None:
            return body
        live = False
        escaped = body.escaped
        # A handler may run after any statement of the body raised: before a rebinding too.
        for handler in stmt.handlers:
            read = self.read_at(handler.type)
            if read is not None:
                return _Path(read=read)
            path = self.block(handler.body, live=handler.name != self.name)
            if path.read is not None:
                return path
            live = live or path.live
            escaped = escaped or path.escaped
        orelse = self.block(stmt.orelse, live=body.live)
        if orelse.read is not None:
            return orelse
        live = live or orelse.live
        escaped = escaped or orelse.escaped
        # `finally` runs on every path, including the ones that left the binding untouched.
        final = self.block(stmt.finalbody)
        if final.read is not None:
            return final
        if stmt.finalbody and not final.live and not final.escaped:
            return _Path(live=False, escaped=escaped)
        return _Path(live=live, escaped=escaped or final.escaped)


def later_read(stmt: ast.stmt, name: str, parent: Callable[[ast.AST], ast.AST | None]) -> LaterRead | None:
    """Where the binding of ``name`` that ``stmt`` leaves behind (a loop's variable) may be read
    after ``stmt`` in its scope, or None when every path rebinds it first or never reads it.

    ``parent`` gives a node's parent (the engine's links). Followed: the statements after
    ``stmt`` in its block and in every enclosing block up to the scope; the ``except`` handlers
    and ``finally`` blocks of the ``try`` statements around it (an exception raised while the
    binding exists reaches them); the rest of an enclosing loop's body before ``stmt`` (its next
    iteration) and whatever follows that loop."""
    child: ast.AST = stmt
    node = parent(stmt)
    live, escaped = True, False
    while node is not None:
        block = _block_of(node, child)
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            assert isinstance(node, ast.Try)
            if block in ("body", "orelse", "handlers"):
                for handler in node.handlers:
                    if handler is child:
                        continue
                    if block == "body":
                        found = reads_name(handler, name) if handler.name != name else None
                        if found is not None:
                            return LaterRead(found, "in an `except` handler")
            if block != "finalbody":
                found = reads_name(ast.Module(body=node.finalbody, type_ignores=[]), name)
                if found is not None:
                    return LaterRead(found, "in a `finally` block")
        if isinstance(child, ast.stmt) and block is not None and block != "handlers":
            siblings: list[ast.stmt] = getattr(node, block)
            rest = siblings[siblings.index(child) + 1 :] if child in siblings else []
            path = _Flow(name, "after the loop").block(rest, live=live)
            if path.read is not None:
                return path.read
            live, escaped = path.live, escaped or path.escaped
            if block == "body" and isinstance(node, ast.Try) and live:
                # The `else` of a `try` runs after its body completed.
                path = _Flow(name, "after the loop").block(node.orelse)
                if path.read is not None:
                    return path.read
                live, escaped = path.live, escaped or path.escaped
        if isinstance(node, ast.For | ast.AsyncFor | ast.While) and block == "body":
            if live or escaped:
                # The next iteration runs the body from its start; the loop's `else` and what
                # follows it may run next.
                flow = _Flow(name, "in the enclosing loop")
                if isinstance(node, ast.While):
                    read = flow.read_at(node.test)
                else:
                    read = None if _binds(node.target, name) else flow.read_at(node.iter)
                if read is not None:
                    return read
                if not (isinstance(node, ast.For | ast.AsyncFor) and _binds(node.target, name)):
                    head = node.body[: node.body.index(child)] if child in node.body else []
                    path = flow.block(head)
                    if path.read is not None:
                        return path.read
                orelse = _Flow(name, "after the loop").block(node.orelse)
                if orelse.read is not None:
                    return orelse.read
                live, escaped = True, False
            else:
                return None
        elif isinstance(node, ast.ExceptHandler):
            # Inside a handler: what follows the whole `try` is the continuation (handled above
            # when the walk reaches the `try`).
            pass
        if (not live and not escaped) or isinstance(node, _SCOPES):
            return None
        child, node = node, parent(node)
    return None


def _block_of(node: ast.AST, child: ast.AST) -> str | None:
    """Which statement list (``body``, ``orelse``, ``finalbody``, ``handlers``) of ``node`` holds
    ``child``; None when ``child`` is an expression part of ``node``."""
    for field in ("body", "orelse", "finalbody", "handlers"):
        value = getattr(node, field, None)
        if isinstance(value, list) and any(s is child for s in value):
            return field
    return None
