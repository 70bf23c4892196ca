"""A parsed module and the navigation over it: the one traversal that links every node to its
parent and buckets nodes by type, and the questions asked of those links (parent, ancestors,
enclosing scope, function and loops, spans and source text).

It sits at the ground floor: the semantics (``perfsquad.semantics``) read a module through it, and
:class:`perfsquad.context.Context`, what a rule sees, builds on it. Nothing here knows of rules.
"""

from __future__ import annotations

import ast
import collections
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from perfsquad.memo import Carry, EditedUnit, MemoKey, Memos
from perfsquad.model import Position, Span
from perfsquad.source import SourceText
from perfsquad.syntax import CHILD_FIELDS, child_fields

N = TypeVar("N", bound=ast.AST)
T = TypeVar("T")
_AST = ast.AST

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
LOOPS = (ast.For, ast.AsyncFor, ast.While)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@contextmanager
def gc_paused() -> Iterator[None]:
    """AST nodes have no reference cycles; collecting while building a tree only costs time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def traverse(tree: ast.AST) -> tuple[dict[_AST, _AST], dict[type, list[_AST]]]:
    """One iterative pass: parent links and nodes bucketed by exact type.

    Each bucket is in pre-order, a node's fields visited from the last to the first and each list
    in order: the statements of a body, and the items of any list, come in source order, and a
    subtree's nodes are contiguous in every bucket. Context and operator singletons (``Load()``,
    ``Add()``...) are neither linked nor bucketed.
    """
    parents: dict[_AST, _AST] = {}
    buckets: dict[type, list[_AST]] = {}
    stack: list[_AST] = [tree]
    pop = stack.pop
    push = stack.append
    table = CHILD_FIELDS
    while stack:
        node = pop()
        kind = type(node)
        bucket = buckets.get(kind)
        if bucket is None:
            buckets[kind] = [node]
        else:
            bucket.append(node)
        names = table.get(kind)
        if names is None:
            names = child_fields(kind)
        for name in names:
            value = getattr(node, name, None)
            if type(value) is list:
                for child in reversed(value):
                    if isinstance(child, _AST):
                        parents[child] = node
                        push(child)
            elif isinstance(value, _AST):
                parents[value] = node
                push(value)
    return parents, buckets


class ModuleTree:
    """A module's tree with the parent links and type buckets of :func:`traverse`, and its text."""

    def __init__(
        self,
        tree: ast.Module,
        source: SourceText,
        path: str,
        parents: dict[ast.AST, ast.AST],
        buckets: dict[type, list[ast.AST]],
    ) -> None:
        self.tree = tree
        self.source = source
        self.path = path
        self._parents = parents
        self._buckets = buckets
        self._memos = Memos()
        self.whole = True
        """Whether ``buckets`` and ``parents`` cover the whole tree (False for the editor's
        incremental contexts, which index only the re-analyzed unit)."""
        self.looped_calls: collections.Counter[str] | None = None
        """How many calls of each plain name (``name(...)``) run in a loop of their own function,
        module-wide (see ``looped_name_calls``); the editor's analyzer sets it on the contexts it
        builds, from a count it keeps current across edits."""

    # -- per-module facts (perfsquad.memo) ------------------------------------------------------
    def memo(self, key: MemoKey[T], factory: Callable[[], T], carry: Carry[T] | None = None) -> T:
        """The value of the per-module fact ``key``: ``factory()`` on the first question, then kept
        for this context's life (and freed by ``release``). ``carry``: what the editor's incremental
        analyzer does with it when a new context replaces this one after an edit (None: drop it;
        see :mod:`perfsquad.memo`). Keys are module-level constants of the module that owns the fact."""
        memos = self._memos
        value = memos.values.get(key, _MISSING)
        if value is _MISSING:
            value = memos.values[key] = factory()
            if carry is not None:
                memos.carries[key] = carry
        return value  # type: ignore[no-any-return]

    def memoized(self, key: MemoKey[T]) -> T | None:
        """The value of ``key`` if a question computed it already (never computes it)."""
        return self._memos.values.get(key)

    def carry_memos(self, old: ModuleTree, edit: EditedUnit) -> None:
        """Take over ``old``'s memos that their carry policies keep after ``edit`` (this context
        replaces ``old``; see :mod:`perfsquad.memo`)."""
        old._memos.carry_into(old, self, edit)

    def looped_name_calls(self) -> collections.Counter[str] | None:
        """How many calls of each plain name run in a loop of their own function (as
        ``loops_around`` decides), in the whole module: counted on the first question when this
        context links the whole tree, else what the editor's analyzer gave it, else None (it
        cannot tell). A rule whose findings need a call in a loop reads it to know, module-wide
        and without a walk, that a name has none."""
        if self.looped_calls is None and self.links_whole_tree():
            self.looped_calls = collections.Counter(
                call.func.id
                for call in self.nodes(ast.Call)
                if type(call.func) is ast.Name and self.loops_around(call)
            )
        return self.looped_calls

    # -- navigation -------------------------------------------------------------------------

    def links_whole_tree(self) -> bool:
        """Whether the buckets and parent links cover the whole module (an editor's incremental
        context indexes only the re-analyzed unit, and its tree may hold old statements)."""
        tree = self.tree
        return self.whole and all(self._parents.get(stmt) is tree for stmt in tree.body)

    @property
    def parent_links(self) -> dict[ast.AST, ast.AST]:
        """The engine's map from each node to its parent (read it, never change it)."""
        return self._parents

    def nodes(self, kind: type[N]) -> list[N]:
        return self._buckets.get(kind, [])  # type: ignore[return-value]

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._parents.get(node)

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        parent = self._parents.get(node)
        while parent is not None:
            yield parent
            parent = self._parents.get(parent)

    def scope_of(self, node: ast.AST) -> ast.AST:
        """The function, lambda, class or module whose local names ``node`` sees first."""
        child = node
        parents = self._parents
        anc = parents.get(node)
        while anc is not None:
            if isinstance(anc, SCOPES):
                # A statement is in a body, never a decorator, default, annotation or base.
                if (
                    not isinstance(child, ast.stmt)
                    and isinstance(anc, (*FUNCTIONS, ast.ClassDef))
                    and child in _outer_parts(anc)
                ):
                    child = anc
                    anc = parents.get(anc)
                    continue
                return anc
            child = anc
            anc = parents.get(anc)
        return self.tree

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        for anc in self.ancestors(node):
            if isinstance(anc, FUNCTIONS):
                return anc
        return None

    def loops_around(self, node: ast.AST) -> list[ast.AST]:
        """Loops (statements and comprehensions) that execute ``node`` repeatedly, innermost first,
        up to the enclosing function boundary. A node in a loop's ``iter`` or ``else`` is not in it.

        What lies above a statement is worked out once per statement (a module's calls share
        their statements' chains of ancestors)."""
        loops: list[ast.AST] = []
        parents = self._parents
        child = node
        anc = parents.get(node)
        via_iter = False
        while anc is not None:
            if child is not node and isinstance(child, ast.stmt):
                stmt_loops = self.memo(_STMT_LOOPS, dict)
                above = stmt_loops.get(child)
                if above is None:
                    above = stmt_loops[child] = self.loops_around(child)
                loops.extend(above)
                return loops
            if isinstance(anc, ast.For | ast.AsyncFor):
                # `child` is one of the loop's children: in its body unless it is another part.
                if not (child is anc.iter or child is anc.target or any(child is s for s in anc.orelse)):
                    loops.append(anc)
            elif isinstance(anc, ast.While):
                if not any(child is s for s in anc.orelse):
                    loops.append(anc)
            elif isinstance(anc, ast.comprehension):
                via_iter = child is anc.iter
            elif isinstance(anc, COMPREHENSIONS):
                # Only the first generator's iterable is evaluated once, outside the loop.
                if not (child is anc.generators[0] and via_iter):
                    loops.append(anc)
            elif isinstance(anc, (*FUNCTIONS, ast.Lambda, ast.ClassDef)):
                break
            child = anc
            anc = parents.get(anc)
        return loops

    # -- positions and text -----------------------------------------------------------------
    def span(self, node: ast.AST) -> Span:
        src = self.source
        line: int = node.lineno  # type: ignore[attr-defined]
        end_line: int = node.end_lineno or line  # type: ignore[attr-defined]
        col = src.char_column(line, node.col_offset)  # type: ignore[attr-defined]
        end_col = src.char_column(end_line, node.end_col_offset)  # type: ignore[attr-defined]
        return Span(Position(line, col), Position(end_line, end_col))

    def header_span(self, node: ast.For | ast.AsyncFor | ast.While | ast.If) -> Span:
        """From the keyword to the end of the loop's iterable or test: where a loop is flagged."""
        head = node.iter if isinstance(node, ast.For | ast.AsyncFor) else node.test
        return Span(self.span(node).start, self.span(head).end)

    def text(self, node: ast.AST) -> str:
        return self.source.segment(self.span(node))


_STMT_LOOPS: MemoKey[dict[ast.AST, list[ast.AST]]] = MemoKey("tree.stmt_loops")
"""The loops around each statement (``loops_around``), worked out once per statement."""
_MISSING = object()


def _outer_parts(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[ast.AST]:
    """Children of a def/class evaluated in the *enclosing* scope (decorators, defaults, bases)."""
    parts: list[ast.AST] = list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        parts.extend(node.bases)
        parts.extend(node.keywords)
    else:
        parts.extend(node.args.defaults)
        parts.extend(d for d in node.args.kw_defaults if d is not None)
        if node.returns is not None:
            parts.append(node.returns)
    return parts
