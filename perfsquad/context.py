"""What a rule sees of the module under analysis: tree navigation, semantics and reporting.

Built once per file by the engine after its single traversal. The navigation (parents, scopes,
loops, spans) is :class:`perfsquad.tree.ModuleTree`'s; this adds the semantics and reporting.
Everything expensive (scope type facts, the set of names rebound in the module) is computed
lazily, on the first rule that asks.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

from perfsquad.calibration import Calibration, running
from perfsquad.memo import EditedUnit, MemoKey
from perfsquad.model import Confidence, Finding, Fix, Severity, Span
from perfsquad.rule import shorten
from perfsquad.semantics.names import ImportMap
from perfsquad.semantics.types import UNKNOWN, infer_scope_types
from perfsquad.source import SourceText
from perfsquad.syntax import walk
from perfsquad.tree import COMPREHENSIONS, FUNCTIONS, LOOPS, SCOPES, ModuleTree

if TYPE_CHECKING:
    from perfsquad.rule import Rule
    from perfsquad.semantics.effects import EffectView, ModuleSummary
    from perfsquad.semantics.index import ProjectIndex
    from perfsquad.semantics.io_catalog import IOTypes

__all__ = ["COMPREHENSIONS", "FUNCTIONS", "LOOPS", "SCOPES", "Context", "Inheritance", "NamedCalls"]


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


class Context(ModuleTree):
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
        super().__init__(tree, source, path, parents, buckets)
        self.imports = imports
        self.want_fixes = want_fixes
        self.findings: list[Finding] = []
        self.fix_errors: list[str] = []
        self.project: ProjectIndex | None = None
        """The workspace's effect summaries (None: this module alone); set by the engine."""
        self.inherits: Inheritance | None = None
        """Facts an incremental context takes over from the previous one (see ``inherit_from``)."""
        self.calibration: Calibration = running()
        """The speedup table findings quote: the configured interpreter's; set by the engine."""

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
        if old.memoized(_IO) is None and pending is not None and pending.source is not None:
            source = pending.source
            mapped = {new: pending.classes.get(cls) if cls is not None else None for new, cls in mapped.items()}
        if summary and old.memoized(_SUMMARY) is None and pending is not None and pending.summary is not None:
            summary_source = pending.summary
        self.inherits = Inheritance(source, mapped, summary_source)

    # -- navigation (the rest is ModuleTree's) ----------------------------------------------
    def named_calls(self) -> NamedCalls:
        """The module's calls indexed by callee name (built once, on the first question)."""
        return self.memo(_NAMED_CALLS, lambda: NamedCalls(self.nodes(ast.Call), self.imports))

    # -- semantics --------------------------------------------------------------------------
    def qualified_name(self, node: ast.expr) -> str | None:
        return self.imports.qualified_name(node)

    def scope_types(self, scope: ast.AST) -> dict[str, str]:
        by_scope = self.memo(_SCOPE_TYPES, dict, _carry_scope_types)
        types = by_scope.get(scope)
        if types is None:
            types = infer_scope_types(scope, self.imports)
            by_scope[scope] = types
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
    # Memos like every per-module fact; an incremental context takes them over lazily from the
    # context it replaces (``inherits``), on the first question, since most edits never ask.
    @property
    def io(self) -> IOTypes:
        """Receiver types and the I/O catalogue lookup for this module (lazy)."""
        return self.memo(_IO, self._build_io)

    def _build_io(self) -> IOTypes:
        from perfsquad.semantics.effects import io_types_for

        inherits = self.inherits
        source_io = inherits.source.memoized(_IO) if inherits is not None and inherits.source is not None else None
        io = io_types_for(self, source_io)
        if inherits is not None and inherits.source is not None:
            for cls, old in inherits.classes.items():
                if old is not None:
                    io.inherit_class_attrs(cls, inherits.source, old)
            # Drop the reference: the earlier context is freed once nothing pends on it.
            self.inherits = Inheritance(None, {}, inherits.summary) if inherits.summary is not None else None
        return io

    @property
    def built_io(self) -> IOTypes | None:
        """The I/O types if :attr:`io` built them already (an incremental context inherits from them)."""
        return self.memoized(_IO)

    def module_summary(self) -> ModuleSummary:
        return self.memo(_SUMMARY, self._build_summary)

    def _build_summary(self) -> ModuleSummary:
        from perfsquad.semantics.effects import summarize

        inherits = self.inherits
        if inherits is not None and inherits.summary is not None:
            summary = inherits.summary.module_summary()
            self.inherits = Inheritance(inherits.source, inherits.classes, None) if inherits.source else None
            return summary
        return summarize(self)

    @property
    def effects(self) -> EffectView:
        """Which calls (transitively) do I/O: this module first, then the project index."""
        from perfsquad.semantics.effects import EffectView

        def build() -> EffectView:
            summary = self.module_summary()
            project = self.project
            return EffectView(summary, project.seen_from(summary.module) if project is not None else None)

        return self.memo(EFFECTS, build)

    # -- reporting --------------------------------------------------------------------------
    def report(
        self,
        rule: Rule,
        node: ast.AST | Span,
        message: str | None = None,
        fix: Callable[[], Fix | None] | None = None,
        notes: tuple[str, ...] = (),
        severity: Severity = Severity.WARNING,
        confidence: Confidence = Confidence.MEDIUM,
        evidence: str | None = None,
    ) -> None:
        """Record a finding of ``rule`` on ``node``; ``confidence``/``evidence`` say how sure it
        is that the cost grows with real inputs, and why (see :class:`perfsquad.model.Confidence`)."""
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
        # Messages are short like ruff's (#20); a longer one keeps its head, and its whole text
        # goes first in the notes the hover shows.
        text, whole = shorten(message or rule.message)
        if whole is not None:
            notes = (whole, *notes)
        self.findings.append(
            Finding(
                code=rule.code,
                message=text,
                span=span,
                severity=severity,
                fix=built,
                speedup=self.calibration.speedup(rule.code),
                notes=notes,
                fixable=fix is not None and (built is not None or not self.want_fixes),
                confidence=confidence,
                evidence=evidence,
            )
        )


_NAMED_CALLS: MemoKey[NamedCalls] = MemoKey("context.named_calls")
_IO: MemoKey[IOTypes] = MemoKey("context.io")
_SUMMARY: MemoKey[ModuleSummary] = MemoKey("context.module_summary")
EFFECTS: MemoKey[EffectView] = MemoKey("context.effects")
"""The effect view, if a rule asked for it (the incremental analyzer checks whether it was used)."""
_SCOPE_TYPES: MemoKey[dict[ast.AST, dict[str, str]]] = MemoKey("context.scope_types")
_SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _carry_scope_types(
    types: dict[ast.AST, dict[str, str]], old: Context, new: Context, edit: EditedUnit
) -> dict[ast.AST, dict[str, str]]:
    """Scope type facts of everything the edit did not touch: the module's (its statements'
    names, imports and shadowed builtins are unchanged: the analyzer checks), the class's around
    an edited method (its ``self.x`` bindings are unchanged), other units'. The replaced unit's
    scopes are dropped; what ``new`` already computed is kept."""
    dead = {id(n) for n in walk(edit.old) if isinstance(n, _SCOPE_NODES)}
    carried = {k: v for k, v in types.items() if id(k) not in dead and k is not old.tree}
    module_types = types.get(old.tree)
    if module_types is not None and not edit.rebinds:
        carried[new.tree] = module_types
    if edit.owner is not None and edit.old_owner is not None:
        class_types = carried.pop(edit.old_owner, None)
        if class_types is not None:
            carried[edit.owner] = class_types
    elif isinstance(edit.old, ast.ClassDef):
        carried.pop(edit.old, None)
    computed = new._memos.values.get(_SCOPE_TYPES)
    if computed is not None:
        carried.update(computed)
    return carried


class Inheritance:
    """What an incremental :class:`Context` takes from an earlier one (see ``Context.inherit_from``)."""

    __slots__ = ("classes", "source", "summary")

    def __init__(
        self, source: Context | None, classes: dict[ast.ClassDef, ast.ClassDef | None], summary: Context | None
    ) -> None:
        self.source = source
        self.classes = classes
        self.summary = summary
