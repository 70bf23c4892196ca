"""What a rule sees of the module under analysis: tree navigation, semantics and reporting.

Built once per file by the engine after its single traversal. Everything expensive (scope type
facts, the set of names rebound in the module) is computed lazily, on the first rule that asks.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from perfsquad.model import Finding, Fix, Position, Severity, Span
from perfsquad.semantics.names import ImportMap
from perfsquad.semantics.types import UNKNOWN, infer_scope_types
from perfsquad.source import SourceText

if TYPE_CHECKING:
    from perfsquad.analyzers.base import Rule
    from perfsquad.project import ProjectIndex
    from perfsquad.semantics.effects import EffectView, ModuleSummary
    from perfsquad.semantics.io_catalog import IOTypes

N = TypeVar("N", bound=ast.AST)

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
LOOPS = (ast.For, ast.AsyncFor, ast.While)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class NamedCalls:
    """A module's calls indexed by the last part of their callee (see ``Rule.call_names``)."""

    __slots__ = ("_by_name", "_calls")

    def __init__(self, calls: list[ast.Call], imports: ImportMap) -> None:
        self._calls = calls
        by_name: dict[str, list[int]] = {}
        for i, call in enumerate(calls):
            func = call.func
            kind = type(func)
            if kind is ast.Attribute:
                name = func.attr  # type: ignore[attr-defined]
            elif kind is ast.Name:
                name = func.id  # type: ignore[attr-defined]
                tail = imports.imported_tail(name)
                if tail is not None and tail != name:
                    by_name.setdefault(tail, []).append(i)
            else:
                continue
            found = by_name.get(name)
            if found is None:
                by_name[name] = [i]
            else:
                found.append(i)
        self._by_name = by_name

    def calls(self, names: frozenset[str]) -> list[ast.Call]:
        """The calls to any of ``names``, in the order of the module's call bucket."""
        hits = [self._by_name[n] for n in names if n in self._by_name]
        if not hits:
            return []
        indexes = hits[0] if len(hits) == 1 else sorted({i for hit in hits for i in hit})
        calls = self._calls
        return [calls[i] for i in indexes]


class Context:
    def __init__(
        self,
        tree: ast.Module,
        source: SourceText,
        path: str,
        parents: dict[ast.AST, ast.AST],
        buckets: dict[type, list[ast.AST]],
        imports: ImportMap,
        want_fixes: bool,
    ) -> None:
        self.tree = tree
        self.source = source
        self.path = path
        self._parents = parents
        self._buckets = buckets
        self.imports = imports
        self.want_fixes = want_fixes
        self.findings: list[Finding] = []
        self.fix_errors: list[str] = []
        self._scope_types: dict[ast.AST, dict[str, str]] = {}
        self._stmt_loops: dict[ast.AST, list[ast.AST]] = {}
        self._named_calls: NamedCalls | None = None
        self.whole = True
        """Whether ``buckets`` and ``parents`` cover the whole tree (False for the editor's
        incremental contexts, which index only the re-analyzed unit)."""
        self.project: ProjectIndex | None = None
        """The workspace's effect summaries (None: this module alone); set by the engine."""
        self._io: IOTypes | None = None
        self._summary: ModuleSummary | None = None
        self._effects: EffectView | None = None
        self.inherits: Inheritance | None = None
        """Facts an incremental context takes over from the previous one (see ``inherit_from``)."""

    def release(self) -> None:
        """Drop everything this context holds (it is unusable afterwards).

        Derived caches (I/O types, effect views) refer back to the context; clearing breaks those
        cycles so the tree is freed by reference counting at once instead of by the collector.
        """
        self.__dict__.clear()

    def inherit_from(self, old: Context, classes: dict[ast.ClassDef, ast.ClassDef | None], summary: bool) -> None:
        """Take over, lazily, what ``old`` knows and an edit did not change: the ``self.x`` types
        of classes (``classes`` maps each class of this tree to its counterpart in ``old``, or to
        None when the edit may have changed them) and, if ``summary``, the module's I/O effect
        summary. Never a chain of contexts: what ``old`` itself had not computed yet is taken
        from the context ``old`` would have taken it from."""
        source: Context | None = old
        mapped = dict(classes)
        summary_source = old if summary else None
        pending = old.inherits
        if old._io is None and pending is not None and pending.source is not None:
            source = pending.source
            mapped = {new: pending.classes.get(cls) if cls is not None else None for new, cls in mapped.items()}
        if summary and old._summary is None and pending is not None and pending.summary is not None:
            summary_source = pending.summary
        self.inherits = Inheritance(source, mapped, summary_source)

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

    def named_calls(self) -> NamedCalls:
        """The module's calls indexed by callee name (built once, on the first question)."""
        if self._named_calls is None:
            self._named_calls = NamedCalls(self.nodes(ast.Call), self.imports)
        return self._named_calls

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
                above = self._stmt_loops.get(child)
                if above is None:
                    above = self._stmt_loops[child] = self.loops_around(child)
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

    # -- semantics --------------------------------------------------------------------------
    def qualified_name(self, node: ast.expr) -> str | None:
        return self.imports.qualified_name(node)

    def scope_types(self, scope: ast.AST) -> dict[str, str]:
        types = self._scope_types.get(scope)
        if types is None:
            types = infer_scope_types(scope, self.imports)
            self._scope_types[scope] = types
        return types

    def type_of(self, node: ast.expr) -> str:
        """The known type of an expression (``list``, ``dict``, ``numpy.ndarray``...) or ``UNKNOWN``."""
        from perfsquad.semantics.types import expr_type

        if not isinstance(node, ast.Name):
            return expr_type(node, self.imports)
        scope: ast.AST | None = self.scope_of(node)
        first = True
        while scope is not None:
            if first or not isinstance(scope, ast.ClassDef):
                types = self.scope_types(scope)
                if node.id in types:
                    return types[node.id]
            first = False
            scope = None if isinstance(scope, ast.Module) else self.scope_of(scope)
        return UNKNOWN

    # -- I/O semantics (perfsquad.semantics.io_catalog / effects) ----------------------------------
    @property
    def io(self) -> IOTypes:
        """Receiver types and the I/O catalogue lookup for this module (lazy)."""
        if self._io is None:
            from perfsquad.semantics.effects import module_name_for, package_of, project_imports
            from perfsquad.semantics.io_catalog import IOTypes

            io = IOTypes(self)
            io.module = module_name_for(self.path)
            inherits = self.inherits
            source_io = inherits.source._io if inherits is not None and inherits.source is not None else None
            if source_io is not None and source_io.module == io.module:
                io.imports = source_io.imports  # the edit changed no import (the editor checks)
            else:
                io.imports = project_imports(self, package_of(io.module, self.path))
            self._io = io
            if inherits is not None and inherits.source is not None:
                for cls, old in inherits.classes.items():
                    if old is not None:
                        io.inherit_class_attrs(cls, inherits.source, old)
                # Drop the reference: the earlier context is freed once nothing pends on it.
                self.inherits = Inheritance(None, {}, inherits.summary) if inherits.summary is not None else None
        return self._io

    def module_summary(self) -> ModuleSummary:
        if self._summary is None:
            from perfsquad.semantics.effects import summarize

            inherits = self.inherits
            if inherits is not None and inherits.summary is not None:
                self._summary = inherits.summary.module_summary()
                self.inherits = Inheritance(inherits.source, inherits.classes, None) if inherits.source else None
            else:
                self._summary = summarize(self)
        return self._summary

    @property
    def effects(self) -> EffectView:
        """Which calls (transitively) do I/O: this module first, then the project index."""
        if self._effects is None:
            from perfsquad.semantics.effects import EffectView

            self._effects = EffectView(self.module_summary(), self.project)
        return self._effects

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

    # -- reporting --------------------------------------------------------------------------
    def report(
        self,
        rule: Rule,
        node: ast.AST | Span,
        message: str | None = None,
        fix: Callable[[], Fix | None] | None = None,
        notes: tuple[str, ...] = (),
        severity: Severity = Severity.WARNING,
    ) -> None:
        span = node if isinstance(node, Span) else self.span(node)
        built: Fix | None = None
        if fix is not None and self.want_fixes:
            try:
                built = fix()
            except (RecursionError, MemoryError):
                built = None
            except Exception as exc:  # a broken fix never hides the finding
                self.fix_errors.append(f"{rule.code} fix: {type(exc).__name__}: {exc}")
                built = None
        self.findings.append(
            Finding(
                code=rule.code,
                message=message or rule.message,
                span=span,
                severity=severity,
                fix=built,
                speedup=rule.speedup(),
                notes=notes,
                fixable=fix is not None and (built is not None or not self.want_fixes),
            )
        )


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


class Inheritance:
    """What an incremental :class:`Context` takes from an earlier one (see ``Context.inherit_from``)."""

    __slots__ = ("classes", "source", "summary")

    def __init__(
        self, source: Context | None, classes: dict[ast.ClassDef, ast.ClassDef | None], summary: Context | None
    ) -> None:
        self.source = source
        self.classes = classes
        self.summary = summary
