"""Qualified names: what a name in the module really is.

``np.dot`` is ``numpy.dot`` after ``import numpy as np``; ``get`` is ``requests.get`` after
``from requests import get``; ``sum`` is ``builtins.sum`` unless the module rebinds it. A name bound
to two different things in one module is ambiguous and resolves to nothing: when in doubt, rules do
not flag.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable

_BUILTINS = frozenset(dir(builtins))
_AMBIGUOUS = "<ambiguous>"


class ImportMap:
    """Module-wide bindings of names introduced by imports, and names rebound by anything else."""

    __slots__ = ("_aliases", "_rebound")

    def __init__(self) -> None:
        self._aliases: dict[str, str] = {}
        self._rebound: set[str] = set()

    def _bind(self, name: str, target: str) -> None:
        old = self._aliases.get(name)
        if old is not None and old != target:
            self._aliases[name] = _AMBIGUOUS
        else:
            self._aliases[name] = target

    def add_import(self, node: ast.Import | ast.ImportFrom, package: str | None = None) -> None:
        for name, target in import_bindings(node, package):
            self._bind(name, target)

    def add_rebinding(self, name: str) -> None:
        """A non-import binding at any scope (def, class, assignment) shadows builtins of that name."""
        self._rebound.add(name)

    def state(self, name: str) -> tuple[str | None, bool]:
        """What the map holds for ``name``: its import target (or None), whether it is rebound."""
        return self._aliases.get(name), name in self._rebound

    def updated(self, states: dict[str, tuple[frozenset[str], bool]]) -> ImportMap:
        """A copy where each name of ``states`` is bound by imports to those targets (none: not
        imported; several: ambiguous) and is rebound or not."""
        new = ImportMap()
        new._aliases = dict(self._aliases)
        new._rebound = set(self._rebound)
        for name, (targets, rebound) in states.items():
            new._aliases.pop(name, None)
            if targets:
                new._aliases[name] = next(iter(targets)) if len(targets) == 1 else _AMBIGUOUS
            if rebound:
                new._rebound.add(name)
            else:
                new._rebound.discard(name)
        return new

    def resolve_name(self, name: str) -> str | None:
        target = self._aliases.get(name)
        if target is not None:
            if target == _AMBIGUOUS or name in self._rebound:
                return None
            return target
        if name in self._rebound:
            return None
        if name in _BUILTINS:
            return f"builtins.{name}"
        return None

    def imported_tail(self, name: str) -> str | None:
        """The last part of what an import binds ``name`` to (``sqrt`` for ``root`` after
        ``from math import sqrt as root``), even if the name is rebound too; None when no import
        binds it, or imports bind it to different things (it resolves to nothing then)."""
        target = self._aliases.get(name)
        if target is None or target == _AMBIGUOUS:
            return None
        return target.rpartition(".")[2]

    def qualified_name(self, node: ast.expr) -> str | None:
        """``np.linalg.norm`` -> ``numpy.linalg.norm``; ``None`` when not statically known."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.resolve_name(node.id)
        if base is None:
            return None
        if attrs:
            return base + "." + ".".join(reversed(attrs))
        return base


def build_import_map(
    imports: Iterable[ast.Import | ast.ImportFrom],
    rebindings: Iterable[str],
    package: str | None = None,
) -> ImportMap:
    result = ImportMap()
    for node in imports:
        result.add_import(node, package)
    for name in rebindings:
        result.add_rebinding(name)
    return result


def import_bindings(node: ast.Import | ast.ImportFrom, package: str | None = None) -> list[tuple[str, str]]:
    """The (name, what it refers to) pairs an import statement binds."""
    if isinstance(node, ast.Import):
        return [
            (alias.asname, alias.name) if alias.asname else (alias.name.split(".", 1)[0],) * 2 for alias in node.names
        ]
    module = node.module or ""
    if node.level:
        base = (package or "").split(".") if package else []
        base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
        module = ".".join([*base, module] if module else base)
    return [
        (alias.asname or alias.name, f"{module}.{alias.name}" if module else alias.name)
        for alias in node.names
        if alias.name != "*"
    ]


def import_map(buckets: dict[type, list[ast.AST]], package: str | None) -> ImportMap:
    """The module's import map from the traversal's buckets (see ``perfsquad.tree.traverse``)."""
    imports = ImportMap()
    for kind in (ast.Import, ast.ImportFrom):
        for node in buckets.get(kind, ()):
            imports.add_import(node, package)  # type: ignore[arg-type]
    # Any non-import binding of a builtin's name shadows it (scope-insensitively: when in doubt,
    # the name is not the builtin).
    for def_kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
        for node in buckets.get(def_kind, ()):
            imports.add_rebinding(node.name)  # type: ignore[attr-defined]
    for arg in buckets.get(ast.arg, ()):
        imports.add_rebinding(arg.arg)  # type: ignore[attr-defined]
    for name in buckets.get(ast.Name, ()):
        if type(name.ctx) is not ast.Load and name.id in _BUILTINS:  # type: ignore[attr-defined]
            imports.add_rebinding(name.id)  # type: ignore[attr-defined]
    return imports
