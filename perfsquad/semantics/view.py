"""What the semantics read of a module under analysis, as protocols defined below them.

The semantics sit below :class:`perfsquad.context.Context` (what a rule sees) and never import it:
they ask for a module through these protocols, which the context satisfies (through
:class:`perfsquad.tree.ModuleTree`, its navigation), and so does the lighter module
``perfsquad.semantics.index`` builds to summarize a file no rule runs on.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from perfsquad.memo import Carry, MemoKey
from perfsquad.semantics.names import ImportMap
from perfsquad.source import SourceText

N = TypeVar("N", bound=ast.AST)
T = TypeVar("T")


class ModuleView(Protocol):
    """A parsed module: its tree, text and imports, and navigation over the tree."""

    @property
    def tree(self) -> ast.Module: ...

    @property
    def source(self) -> SourceText: ...

    @property
    def path(self) -> str: ...

    @property
    def imports(self) -> ImportMap: ...

    @property
    def parent_links(self) -> dict[ast.AST, ast.AST]: ...

    def links_whole_tree(self) -> bool: ...

    def nodes(self, kind: type[N]) -> list[N]: ...

    def parent(self, node: ast.AST) -> ast.AST | None: ...

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]: ...

    def scope_of(self, node: ast.AST) -> ast.AST: ...

    def loops_around(self, node: ast.AST) -> list[ast.AST]: ...

    def text(self, node: ast.AST) -> str: ...

    def memo(self, key: MemoKey[T], factory: Callable[[], T], carry: Carry[T] | None = None) -> T: ...


class TypedModuleView(ModuleView, Protocol):
    """A module whose expressions' types and qualified names are known (the Big-O estimator's)."""

    def qualified_name(self, node: ast.expr) -> str | None: ...

    def type_of(self, node: ast.expr) -> str: ...
