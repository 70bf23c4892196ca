"""Incremental analysis for the editor: re-analyze only the top-level block an edit touched.

A module is a list of top-level blocks (a statement with its decorators and the lines up to the
next one). When an edit stays inside one ``def``/``class`` block, and leaves that block's name,
imports and shadowed builtins unchanged, nothing outside the block can see the difference:
module-level semantics (imports, rebound builtins, module type facts) are the same, so only this
block is re-parsed and re-analyzed; the other blocks' findings are kept, shifted by the number of
lines the edit added or removed.

A structural edit (statements inserted, deleted, replaced or pasted, at top level or among the
methods of a top-level class) is *spliced* (:meth:`IncrementalAnalyzer._splice`): the text between
the untouched statements around it is parsed as statements of their container and analyzed alone,
when nothing else in the module can see the change (the names it adds or removes, what the
functions others call can reach, the import map, the class's attribute types, every rule's
``module_facts``). Anything else (an import others read, a file that did not parse...) takes the
whole-file path. The result is the same report a whole-file analysis would produce (tests replay
edits of every kind, and their traps, against one).
"""

from __future__ import annotations

import ast
import builtins
import collections
import copy
import dataclasses
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from perfsquad.analyzers import RULES
from perfsquad.config import Config
from perfsquad.context import EFFECTS, Context
from perfsquad.engine import Analysis, analyze_full, function_metrics_of, postprocess, run_rules, syntax_error_report
from perfsquad.memo import EditedUnit
from perfsquad.model import Edit, FileReport, Finding, Fix, FunctionMetrics, Position, Span
from perfsquad.semantics.effects import block_effects, block_fingerprint, reaches_io
from perfsquad.semantics.io_catalog import attribute_binding_kinds
from perfsquad.semantics.names import ImportMap, import_bindings
from perfsquad.semantics.types import UNKNOWN
from perfsquad.source import SourceText
from perfsquad.syntax import shared_walks, statement_start, walk
from perfsquad.tree import gc_paused, traverse

if TYPE_CHECKING:
    from perfsquad.rule import Rule
    from perfsquad.semantics.index import ProjectIndex

_BUILTINS = frozenset(dir(builtins))
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_Def = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _signature(stmt: ast.stmt) -> tuple[str, tuple[str, ...], frozenset[str]]:
    """What a block exposes to the rest of the module: its name, imports and shadowed builtins."""
    imports = []
    shadowed = set()
    for node in walk(stmt):
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(ast.dump(node, include_attributes=False))
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and node.id in _BUILTINS:
            shadowed.add(node.id)
        elif isinstance(node, ast.arg) and node.arg in _BUILTINS:
            shadowed.add(node.arg)
        elif isinstance(node, _DEFS) and node.name in _BUILTINS:
            shadowed.add(node.name)
    return getattr(stmt, "name", ""), tuple(sorted(imports)), frozenset(shadowed)


_CHUNK = 4096


def _common_prefix(a: str, b: str, limit: int) -> int:
    """Length of the common prefix of ``a`` and ``b`` (at most ``limit``): chunk by chunk, then a
    binary search inside the first chunk that differs (slices compare at C speed; copying whole
    texts at every step of a binary search would cost more than the analysis of a small edit)."""
    start = 0
    while start < limit:
        end = min(start + _CHUNK, limit)
        if a[start:end] != b[start:end]:
            lo, hi = start, end - 1  # the answer lies in [start, end - 1]
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if a[start:mid] == b[start:mid]:
                    lo = mid
                else:
                    hi = mid - 1
            return lo
        start = end
    return limit


def _common_suffix(a: str, b: str, limit: int) -> int:
    """Length of the common suffix of ``a`` and ``b`` (at most ``limit``), like ``_common_prefix``."""
    la, lb = len(a), len(b)
    done = 0
    while done < limit:
        step = min(_CHUNK, limit - done)
        if a[la - done - step : la - done] != b[lb - done - step : lb - done]:
            lo, hi = done, done + step - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if a[la - mid : la - done] == b[lb - mid : lb - done]:
                    lo = mid
                else:
                    hi = mid - 1
            return lo
        done += step
    return limit


def _starts_line(text: str, at: int) -> bool:
    return at == 0 or text[at - 1] == "\n" or (text[at - 1] == "\r" and text[at : at + 1] != "\n")


def _shift_span(span: Span, delta: int) -> Span:
    return Span(Position(span.start.line + delta, span.start.column), Position(span.end.line + delta, span.end.column))


def _shift_finding(f: Finding, delta: int) -> Finding:
    fix = f.fix
    if fix is not None:
        fix = Fix(fix.title, fix.safety, tuple(Edit(_shift_span(e.span, delta), e.content) for e in fix.edits))
    return dataclasses.replace(f, span=_shift_span(f.span, delta), fix=fix)


def _shift_function(m: FunctionMetrics, delta: int) -> FunctionMetrics:
    reason = m.complexity_reason  # its "line N" references are all inside the function
    if reason and delta:
        reason = re.sub(r"\bline (\d+)", lambda g: f"line {int(g.group(1)) + delta}", reason)
    return dataclasses.replace(
        m, span=_shift_span(m.span, delta), name_span=_shift_span(m.name_span, delta), complexity_reason=reason
    )


class _MergedBuckets:
    """The module's nodes by type after an edit: the previous buckets without the replaced unit's
    nodes, plus the new unit's, merged per type on the first request (most types never are)."""

    def __init__(self, old: _Buckets, dead: ast.AST, new: dict[type, list[ast.AST]]) -> None:
        self.depth: int = old.depth + 1 if isinstance(old, _MergedBuckets) else 1
        self._old = old
        self._dead = dead
        self._dead_ids: set[int] | None = None
        self._dead_kinds: collections.Counter[type] = collections.Counter()
        self._dead_of: dict[type, ast.AST] = {}
        """One replaced node of each type (to find the replaced run in a bucket)."""
        self._new = new
        self._merged: dict[type, list[ast.AST]] = {}

    def get(self, kind: type, default: list[ast.AST] | None = None) -> list[ast.AST]:
        merged = self._merged.get(kind)
        if merged is None:
            old = self._old.get(kind, [])
            new = self._new.get(kind, [])
            if old:
                if self._dead_ids is None:
                    self._dead_ids = set()
                    for n in walk(self._dead):
                        self._dead_ids.add(id(n))
                        self._dead_of.setdefault(type(n), n)
                        self._dead_kinds[type(n)] += 1
                dead = self._dead_ids
                some = self._dead_of.get(kind)
                if some is None:  # none of this kind replaced: the new ones are appended
                    merged = [*old, *new]
                else:
                    # A subtree is contiguous in the pre-order buckets: replace its run (found
                    # from one of its nodes, at C speed) by the new nodes. Statements a structural
                    # edit inserted were appended (their place is not worth finding): a run of
                    # statements may lie in several pieces.
                    try:
                        at = old.index(some)
                    except ValueError:
                        at = next((i for i, n in enumerate(old) if id(n) in dead), len(old))
                    first = at
                    while first > 0 and id(old[first - 1]) in dead:
                        first -= 1
                    end = at
                    while end < len(old) and id(old[end]) in dead:
                        end += 1
                    head, rest = old[:first], old[end:]
                    if end - first < self._dead_kinds[kind]:
                        head = [n for n in head if id(n) not in dead]
                        rest = [n for n in rest if id(n) not in dead]
                    merged = [*head, *new, *rest]
            else:
                merged = list(new)
            self._merged[kind] = merged
        return merged

    def materialize(self) -> dict[type, list[ast.AST]]:
        kinds = set(self._new)
        level: _Buckets = self
        while isinstance(level, _MergedBuckets):
            kinds.update(level._new)
            level = level._old
        kinds.update(level)
        return {kind: self.get(kind) for kind in kinds}


_Buckets = dict[type, list[ast.AST]] | _MergedBuckets
_MAX_DEPTH = 16
_ORPHANS = 8
"""Summaries of statements no longer in the module (parsed for an edit that took another path)
kept before they are looked for."""
"""Edits after which the merged buckets are flattened (bounds lookups and kept old trees)."""


@dataclasses.dataclass
class _Unit:
    """The part of the module an edit re-analyzes: a top-level ``def``/``class``, or a method of a
    top-level class."""

    old: ast.stmt
    new: ast.stmt
    start: int
    end: int
    """Lines (first, last) of the unit before the edit, trailing lines included."""
    offset: int
    """How far the old node's line numbers are behind the current numbering (edits above it)."""
    owner: ast.ClassDef | None = None
    """For a method: the new class statement that holds it."""
    old_owner: ast.ClassDef | None = None


_Scan = tuple[
    collections.Counter[str], collections.Counter[tuple[str, str]], collections.Counter[str], collections.Counter[str]
]
"""A statement's identifiers, import bindings, rebound names and called names, counted (see
:func:`_scan`)."""


class _Summary:
    """What the edit checks read of one statement of a container (module or class body) that
    depends on the statement alone, never on its position or on the module around it: computed
    once per statement object, when first asked, and kept while the statement is in the module.
    An edit then reads the statements it replaces, which the edit before it usually parsed (a
    paste, its undo; typing in one function), without walking them again."""

    __slots__ = ("_attribute_kinds", "_attributes", "_bound", "_fingerprint", "_looped", "_scan", "stmt")

    def __init__(self, stmt: ast.stmt) -> None:
        self.stmt = stmt
        self._bound: set[str] | None = None
        self._scan: _Scan | None = None
        self._attributes: tuple[str, ...] | None = None
        self._attribute_kinds: dict[str, frozenset[str]] | None = None
        self._looped: collections.Counter[str] | None = None
        self._fingerprint: tuple[str, ...] | None = None

    @property
    def bound(self) -> set[str]:
        """:func:`_bound_anywhere` (do not modify)."""
        if self._bound is None:
            self._bound = _bound_anywhere(self.stmt)
        return self._bound

    def scan(self) -> _Scan:
        """Its identifiers, import bindings and rebound names, counted in one walk (do not modify)."""
        if self._scan is None:
            self._scan = _scan(self.stmt)
        return self._scan

    @property
    def attributes(self) -> tuple[str, ...]:
        """:func:`_attribute_bindings`."""
        if self._attributes is None:
            self._attributes = _attribute_bindings(self.stmt)
        return self._attributes

    @property
    def attribute_kinds(self) -> dict[str, frozenset[str]]:
        """:func:`~perfsquad.semantics.io_catalog.attribute_binding_kinds` (do not modify)."""
        if self._attribute_kinds is None:
            self._attribute_kinds = attribute_binding_kinds(self.stmt)
        return self._attribute_kinds

    def looped(self, ctx: Context) -> collections.Counter[str]:
        """:func:`_looped_names` (``ctx`` links the statement; what is in a loop lies within it)."""
        if self._looped is None:
            self._looped = _looped_names(ctx, self.stmt)
        return self._looped

    @property
    def fingerprint(self) -> tuple[str, ...]:
        """:func:`block_fingerprint`."""
        if self._fingerprint is None:
            self._fingerprint = block_fingerprint(self.stmt)
        return self._fingerprint


class IncrementalAnalyzer:
    def __init__(
        self,
        path: str,
        config: Config | None = None,
        *,
        want_fixes: bool = True,
        metrics: bool = True,
        project: ProjectIndex | None = None,
    ) -> None:
        self.project = project
        self._known: tuple[ast.stmt, dict[str, object]] | None = None
        """Facts of the unit last re-analyzed (its signature, effects, rules' module facts)."""
        self._members: dict[int, list[tuple[int, int]]] = {}
        """Line ranges of the members of top-level classes (by block index), kept current."""
        self.path = path
        self.config = config or Config()
        self.want_fixes = want_fixes
        self.metrics = metrics
        self.analysis: Analysis | None = None
        self.source: SourceText | None = None
        self.last_was_incremental = False
        self._broken: tuple[int, int] | None = None
        """The unit (its lines in the last text that parsed) an edit left unparsable, once checked
        against the whole module."""
        self._spliced = False
        """Whether the last structural edit parsed as statements of its container (whatever the
        outcome): then a class it lies in need not be parsed again to find out more."""
        self._imports: _ImportCounts | None = None
        """The import map as counts (built on the first structural edit that changes it)."""
        self._import_delta: tuple[_Counts, _Counts] | None = None
        self._calls: collections.Counter[str] | None = None
        """How often each name is called in the current module (``_called_name``), kept like
        ``_idents``."""
        self._idents: collections.Counter[str] | None = None
        """How often each identifier occurs in the current module (built on the first structural
        edit, then kept current): whether a name an edit adds or removes is mentioned elsewhere."""
        self.incremental_error: Exception | None = None
        """The last error the incremental path raised, if it ever did (the edit was then analyzed
        whole, as if it could not be re-analyzed alone): tests and fuzzing assert there is none."""
        self._summaries: dict[int, _Summary] = {}
        """Summaries of the module's statements and top-level classes' members, by id (see
        :class:`_Summary`): an edit drops those of the statements it replaces."""
        self._fresh: dict[int, tuple[ast.stmt, dict[str, object]]] = {}
        """The statements the last incremental edit parsed (by id), which its context indexes, with
        the rules' ``module_facts`` of each as read in that context: the next edit reads them in
        the same context (no context of its own built for them) and finds the facts known."""
        self._looped: collections.Counter[str] | None = None
        """The module's calls of plain names in loops (``Context.looped_name_calls``), counted on the
        first edit after a whole-file analysis, then kept current: every context built for an edit
        gets its count, so rules' ``module_facts`` can read it."""

    def update(self, text: str) -> FileReport:
        with gc_paused(), shared_walks():
            try:
                report = self._incremental(text) if self.analysis is not None else None
            except Exception as exc:  # a bug of the incremental path: the whole file is always right
                self.incremental_error = exc
                report = None
        self.last_was_incremental = report is not None
        if report is None:
            self.analysis = analyze_full(
                text,
                self.path,
                self.config,
                want_fixes=self.want_fixes,
                metrics=self.metrics,
                project=self.project,
                rules=RULES,
            )
            self.source = SourceText.from_text(text)
            self._members = {}
            self._fresh = {}
            self._summaries = {}
            self._known = None
            self._broken = None
            self._idents = None
            self._calls = None
            self._imports = None
            self._looped = None
            report = self.analysis.report
        return report

    @property
    def prepared(self) -> bool:
        """Whether the next structural edit finds its counts made (see :meth:`prepare`)."""
        return self.analysis is None or self.analysis.ctx is None or self._idents is not None

    def prepare(self) -> None:
        """Count now what the first structural edit after a whole-file analysis would count (the
        module's identifiers, calls, imports and looped calls; each statement's bound names, each
        class member's attribute bindings): the editor calls this when idle in a document being
        edited, so that the edit does not wait for it. Changes no result."""
        analysis = self.analysis
        if analysis is None or analysis.ctx is None or self._idents is not None:
            return
        ctx = analysis.ctx
        with gc_paused(), shared_walks():
            try:
                self._identifier_counts(ctx)
                self._call_counts(ctx)
                if self._imports is None:
                    self._imports = _ImportCounts.of(ctx)
                if self._looped is None and (known := ctx.looped_name_calls()) is not None:
                    self._looped = collections.Counter(known)
                for stmt in ctx.tree.body:
                    _ = self._summary(stmt).bound
                    if isinstance(stmt, ast.ClassDef):
                        for member in stmt.body:
                            summary = self._summary(member)
                            _ = summary.bound, summary.attribute_kinds
            except Exception as exc:  # a bug: the edits count for themselves, as without preparing
                self.incremental_error = exc
                self._idents = self._calls = self._imports = self._looped = None
                self._summaries = {}

    # ------------------------------------------------------------------------------------------
    def _changed_lines(self, new: SourceText) -> tuple[int, int, int] | None:
        """(first changed line, last changed old line, line delta), 1-based; None if identical."""
        assert self.source is not None
        old = self.source
        old_text, new_text = old.text, new.text
        if old_text == new_text:
            return None
        # The common prefix and suffix, found by comparing slices (C speed), then turned into lines.
        limit = min(len(old_text), len(new_text))
        prefix = _common_prefix(old_text, new_text, limit)
        if prefix and old_text[prefix - 1] == "\r":
            prefix -= 1  # "\r" then "\n" in one text only: the line's ending changed
        # From the start of the line the texts part on: lines inserted before a line that starts
        # like them ("    def " before "    def last") are then seen as inserted, not as a change
        # of that line, so the statement after them is not re-analyzed.
        prefix = old.start(old.line_index(prefix))
        suffix = _common_suffix(old_text, new_text, limit - prefix)
        old_n, new_n = old.line_count, new.line_count
        # Lines whose text and line ending lie wholly in the common prefix are unchanged; so are
        # the lines that start after the first character of the common suffix.
        same_head = old.line_index(prefix)
        tail_start = len(old_text) - suffix
        same_tail = old_n - old.line_index(tail_start) - 1
        new_start = len(new_text) - suffix
        if suffix and old.start(old_n - same_tail - 1) == tail_start and _starts_line(new_text, new_start):
            same_tail += 1  # the suffix starts a line in both texts: that line is unchanged too
        same_tail = min(same_tail, min(old_n, new_n) - same_head)
        return same_head + 1, old_n - same_tail, new_n - old_n

    def _incremental(self, text: str) -> FileReport | None:
        analysis, old_source = self.analysis, self.source
        if analysis is None or analysis.ctx is None or old_source is None or not analysis.blocks:
            return None
        new_source = SourceText.from_text(text)
        if "\x00" in text:
            return None
        change = self._changed_lines(new_source)
        if change is None:
            self.source = new_source
            return analysis.report
        first, last_old, delta = change
        index = next((i for i, (start, end) in enumerate(analysis.blocks) if start <= first and last_old <= end), None)
        old_stmt = analysis.ctx.tree.body[index] if index is not None else None
        if index is None or not isinstance(old_stmt, _DEFS):
            # Across blocks, or a top-level statement: statements inserted, deleted or replaced.
            return self._splice(text, new_source, first, last_old, delta)
        if self._between_statements(index, old_stmt, first, last_old, delta):
            # Whole statements pasted or removed (a function, a method): statements of the
            # container first (parsing the block or method around would be in vain).
            report = self._splice(text, new_source, first, last_old, delta)
            if report is not None:
                return report
        unit = None
        if isinstance(old_stmt, ast.ClassDef):
            unit = self._member_unit(text, new_source, index, old_stmt, first, last_old, delta)
            if unit is None:  # methods added or removed: cheaper than parsing the class again
                report = self._splice(text, new_source, first, last_old, delta)
                if report is not None or self._spliced:
                    # Parsed, but others may see the change: so would they after parsing the class.
                    return report
        if unit is None:
            unit = self._block_unit(text, new_source, index, old_stmt, delta)
        if unit is None:
            report = self._splice(text, new_source, first, last_old, delta)
            if report is not None:
                return report
            return self._unparsable(text, new_source, index, old_stmt, first, last_old, delta)
        return self._reanalyze(new_source, index, unit, delta)

    def _between_statements(self, index: int, old_stmt: ast.stmt, first: int, last_old: int, delta: int) -> bool:
        """Whether the edit inserts whole lines where a top-level statement or a member of the
        class ``old_stmt`` starts, or deletes whole lines from such a start to the next (or to
        the class's end): lines typed inside a function body are not."""
        assert self.analysis is not None
        if last_old == first - 1 and delta > 0:
            seams = [first]
        elif delta < 0 and last_old - first + 1 == -delta:
            seams = [first, last_old + 1]
        else:
            return False
        starts = {start for start, _ in self.analysis.blocks}
        ends = {end + 1 for _, end in self.analysis.blocks}
        if isinstance(old_stmt, ast.ClassDef):
            ranges = self._member_ranges(index, old_stmt)
            starts.update(start for start, _ in ranges)
            ends.update(end + 1 for _, end in ranges)
        return seams[0] in starts and all(seam in starts or seam in ends for seam in seams[1:])

    def _unparsable(
        self, text: str, new_source: SourceText, index: int, old_stmt: ast.stmt, first: int, last_old: int, delta: int
    ) -> FileReport | None:
        """An edit inside one block (a method, if the block is a class) after which the module
        does not parse: typing in an editor, most keystrokes. The report is the syntax error and
        the last analysis's findings outside that block or method (shifted), found without
        analyzing anything; the analyzer keeps the last text that parsed, so the next text is
        compared with it: once the code parses again, only that unit is re-analyzed. Anything
        else (the module parses: a change of structure) takes the whole-file path. A whole-file
        analysis of the broken text would also drop the findings of the broken class's other
        methods; these keep them."""
        assert self.analysis is not None
        start, end = self.analysis.blocks[index]
        member = False
        if isinstance(old_stmt, ast.ClassDef):
            ranges = self._member_ranges(index, old_stmt)
            inside = next(((s, e) for s, e in ranges if s <= first and last_old <= e), None)
            if inside is not None:
                (start, end), member = inside, True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if self._broken == (start, end):
                    # This unit's edit broke the module at an earlier key; the module is parsed
                    # whole (150 ms for 18k lines) once per such streak, then the unit alone.
                    _parse_chunk(text, new_source, start, end + delta, member)
                else:
                    ast.parse(text)
            return None
        except SyntaxError as exc:
            error, error_span = syntax_error_report(exc)
        except (ValueError, RecursionError, MemoryError):
            return None
        self._broken = (start, end)
        old = self.analysis.report
        kept = _kept_findings(old.findings, self.path, start, end, delta)
        if kept is None:
            return None
        functions = [m for m in old.functions if m.span.start.line < start]
        functions += [_shift_function(m, delta) for m in old.functions if m.span.start.line > end]
        return FileReport(
            path=self.path,
            findings=(*kept[0], *kept[1]),
            functions=tuple(functions),
            error=error,
            error_span=error_span,
            rule_errors=tuple(e for e in old.rule_errors if not _mentions_lines(e, start, end)),
        )

    def _block_unit(
        self, text: str, new_source: SourceText, index: int, old_stmt: ast.stmt, delta: int
    ) -> _Unit | None:
        assert self.analysis is not None
        start, end = self.analysis.blocks[index]
        new_stmt = _parse_unit(text, new_source, start, end + delta, None)
        if new_stmt is None:
            return None
        return _Unit(old_stmt, new_stmt, start, end, start - statement_start(old_stmt))

    def _member_unit(
        self,
        text: str,
        new_source: SourceText,
        index: int,
        cls: ast.ClassDef,
        first: int,
        last_old: int,
        delta: int,
    ) -> _Unit | None:
        """The method of ``cls`` the edit stays inside, re-parsed, or None."""
        assert self.analysis is not None
        ranges = self._member_ranges(index, cls)
        member = next((i for i, (s, e) in enumerate(ranges) if s <= first and last_old <= e), None)
        if member is None or not isinstance(cls.body[member], ast.FunctionDef | ast.AsyncFunctionDef):
            return None
        start, end = ranges[member]
        old = cls.body[member]
        new = _parse_unit(text, new_source, start, end + delta, old)
        if new is None:
            return None
        owner = copy.copy(cls)
        owner.body = [*cls.body[:member], new, *cls.body[member + 1 :]]
        if owner.end_lineno is not None:
            owner.end_lineno += delta
        return _Unit(old, new, start, end, start - statement_start(old), owner, cls)

    def _member_ranges(self, index: int, cls: ast.ClassDef) -> list[tuple[int, int]]:
        assert self.analysis is not None
        ranges = self._members.get(index)
        if ranges is None:
            block_start, block_end = self.analysis.blocks[index]
            offset = block_start - statement_start(cls)  # the class was parsed whole: one offset
            starts = [statement_start(m) + offset for m in cls.body]
            ranges = [(s, (starts[i + 1] - 1 if i + 1 < len(starts) else block_end)) for i, s in enumerate(starts)]
            self._members[index] = ranges
        return ranges

    def _facts(self, unit: ast.stmt, ctx: Context, owner: ast.ClassDef | None) -> dict[str, object]:
        """What ``unit`` exposes to the rest of the module (kept for the unit last re-analyzed)."""
        known = self._known
        if known is not None and known[0] is unit:
            return known[1]
        summary = self._summary(unit)
        facts: dict[str, object] = {"signature": _signature(unit), "print": summary.fingerprint}
        if owner is not None:
            facts["attributes"] = summary.attributes
        known_facts = self._fresh_facts(unit, ctx)
        for rule_cls in self._fact_rules():
            code = rule_cls.code
            facts[code] = known_facts[code] if code in known_facts else rule_cls.module_facts(unit, ctx)
        return facts

    def _attributes_stay_unknown(self, kept: list[ast.stmt], edited: list[ast.stmt]) -> bool:
        """Whether a class's ``self.x`` types are surely the same after an edit of some of its
        members (``edited``: before and after), without computing them: every attribute those
        bind is also bound, with a value of unknown type, by a member the edit ``kept``, and is
        annotated nowhere (see ``attribute_binding_kinds``): it is of unknown type before and
        after, and the other attributes' bindings are untouched. (``self.x = None`` in
        ``__init__``: a method setting ``self.x`` may come and go.)"""
        touched: dict[str, set[str]] = {}
        for stmt in edited:
            for name, kinds in self._summary(stmt).attribute_kinds.items():
                touched.setdefault(name, set()).update(kinds)
        if not touched:
            return True
        if any(":" in kinds for kinds in touched.values()):
            return False
        unknown: set[str] = set()
        for stmt in kept:
            for name, kinds in self._summary(stmt).attribute_kinds.items():
                if name in touched:
                    if ":" in kinds:
                        return False
                    if "?" in kinds:
                        unknown.add(name)
        return unknown.issuperset(touched)

    def _summary(self, stmt: ast.stmt) -> _Summary:
        found = self._summaries.get(id(stmt))
        if found is None or found.stmt is not stmt:
            found = self._summaries[id(stmt)] = _Summary(stmt)
        return found

    def _forget(self, stmts: Iterable[ast.stmt | None]) -> None:
        """The statements an edit replaced: their summaries go (the statements with them). Those
        of statements parsed for an edit that took another path (a splice that others could see,
        then the class re-analyzed) go once there are a few: no old tree is kept alive by them."""
        summaries = self._summaries
        for stmt in stmts:
            if stmt is not None and (found := summaries.get(id(stmt))) is not None and found.stmt is stmt:
                del summaries[id(stmt)]
        if self.analysis is None or self.analysis.ctx is None:
            return
        body = self.analysis.ctx.tree.body
        if len(summaries) > len(body) + sum(len(s.body) for s in body if isinstance(s, ast.ClassDef)) + _ORPHANS:
            live = {id(s) for s in body} | {id(m) for s in body if isinstance(s, ast.ClassDef) for m in s.body}
            self._summaries = {k: v for k, v in summaries.items() if k in live}

    def _fresh_facts(self, stmt: ast.stmt, ctx: Context) -> dict[str, object]:
        """The facts known of ``stmt`` as read in ``ctx`` (the last edit parsed it, and ``ctx`` is
        that edit's context; facts read later in ``ctx`` may be added), else a new empty dict."""
        entry = self._fresh.get(id(stmt))
        if entry is None or entry[0] is not stmt or self.analysis is None or ctx is not self.analysis.ctx:
            return {}
        return entry[1]

    def _old_context(self, ctx: Context, stmt: ast.stmt, owner: ast.ClassDef | None) -> Context:
        """A context of the previous tree that indexes ``stmt``: ``ctx`` itself when it does (a
        whole-file context, or the statement the last edit parsed), else one built for it."""
        entry = self._fresh.get(id(stmt))
        if ctx.whole or (entry is not None and entry[0] is stmt):
            return ctx
        return self._unit_context(ctx, stmt, owner)

    def _fact_rules(self) -> Iterator[type[Rule]]:
        """The enabled rules with their own ``module_facts`` (one per implementation)."""
        seen = set()
        for rule_cls in RULES:
            func = getattr(rule_cls.module_facts, "__func__", None)
            if func is None or func in seen or not self.config.code_enabled(rule_cls.code, self.path):
                continue
            seen.add(func)
            yield rule_cls

    def _unit_context(self, ctx: Context, unit: ast.stmt, owner: ast.ClassDef | None) -> Context:
        """A context of the previous tree that indexes ``unit`` (an incremental context indexes
        only the unit it re-analyzed): to read the facts of a unit before its first edit."""
        parents, _ = traverse(unit)
        parents[unit] = owner if owner is not None else ctx.tree
        if owner is not None:
            parents[owner] = ctx.tree
        unit_ctx = Context(ctx.tree, ctx.source, self.path, parents, ctx._buckets, ctx.imports, self.want_fixes)
        unit_ctx.whole = False
        unit_ctx.project = self.project
        unit_ctx.calibration = ctx.calibration
        classes: dict[ast.ClassDef, ast.ClassDef | None] = {s: s for s in ctx.tree.body if isinstance(s, ast.ClassDef)}
        unit_ctx.inherit_from(ctx, classes, summary=True)
        # The same tree seen through the unit's parent links, as an incremental context sees the
        # module: what ``ctx`` knows carries over as across an edit that changed nothing.
        unit_ctx.carry_memos(ctx, EditedUnit(unit, unit, _unit_text(ctx.source, unit), owner, owner))
        return unit_ctx

    def _reanalyze(self, new_source: SourceText, index: int, unit: _Unit, delta: int) -> FileReport | None:
        analysis = self.analysis
        assert analysis is not None and analysis.ctx is not None
        ctx = analysis.ctx
        old_owner, owner = unit.old_owner, unit.owner

        # The module as the rules see it: the new unit among the old statements. Statements after
        # it keep stale line numbers, which only matters for reporting, and nothing from them is
        # reported here.
        body = list(ctx.tree.body)
        body[index] = owner if owner is not None else unit.new
        module = ast.Module(body=body, type_ignores=[])
        parents, buckets = traverse(unit.new)
        parents[unit.new] = owner if owner is not None else module
        if owner is not None:
            parents[owner] = module
        merged_view = _MergedBuckets(ctx._buckets, unit.old, buckets)
        merged: _Buckets = merged_view.materialize() if merged_view.depth > _MAX_DEPTH else merged_view
        new_ctx = self._context(module, new_source, parents, merged, ctx.imports, ctx)

        if unit.offset:
            # Edits above the unit left its line numbers behind: bring them up to date (the old
            # tree is about to be replaced) so that facts read from its text are read right.
            ast.increment_lineno(unit.old, unit.offset)
        old_ctx = self._old_context(ctx, unit.old, old_owner)
        looped = self._count_looped(ctx, [(unit.old, old_ctx)], [unit.new], new_ctx)
        old_facts = self._facts(unit.old, old_ctx, old_owner)
        self._known = None
        new_facts = self._facts(unit.new, new_ctx, owner)
        if (
            owner is not None
            and old_facts["attributes"] != new_facts["attributes"]
            and not self._attributes_stay_unknown([m for m in owner.body if m is not unit.new], [unit.old, unit.new])
        ):
            return None  # the method binds `self.x`: the class's attribute types may change
        if new_facts["signature"] != old_facts["signature"]:
            return None
        classes: dict[ast.ClassDef, ast.ClassDef | None] = {
            s: s for s in body if isinstance(s, ast.ClassDef) and s is not owner and s is not unit.new
        }
        if owner is not None:
            classes[owner] = old_owner
        elif isinstance(unit.new, ast.ClassDef):
            classes[unit.new] = None
        new_ctx.inherit_from(ctx, classes, summary=True)
        # Other units' I/O findings depend on what this unit calls: the cheap fingerprint first,
        # the precise effect summary only when it differs.
        if new_facts["print"] != old_facts["print"]:
            owner_name = owner.name if owner is not None else None
            old_effects = old_facts.get("effects")
            if old_effects is None:
                old_effects = old_facts["effects"] = block_effects(old_ctx, unit.old, owner_name)
            new_facts["effects"] = block_effects(new_ctx, unit.new, owner_name)
            if new_facts["effects"] != old_effects:
                return None  # what the unit calls changed: other units' I/O findings may change
        for key, value in new_facts.items():
            if key not in ("signature", "print", "effects", "attributes") and old_facts.get(key) != value:
                return None  # a fact other units' findings read changed
        unit_text = _unit_text(new_ctx.source, unit.new)
        new_ctx.carry_memos(ctx, EditedUnit(unit.old, unit.new, unit_text, old_owner, owner))

        start, end = unit.start, unit.end
        ran = self._run(new_ctx, buckets, [unit.new], ctx, start, end, owner)
        if ran is None:
            return None
        report = self._spliced_report(*ran, start, end, delta)
        if report is None:
            return None  # a kept finding cites a line of the re-analyzed unit: it may have moved
        # Units after this one keep stale line numbers in the kept tree: nothing reads their
        # positions (only their names and imports, for semantics); ranges are shifted here.
        blocks = list(analysis.blocks)
        blocks[index] = (blocks[index][0], blocks[index][1] + delta)
        blocks[index + 1 :] = [(s + delta, e + delta) for s, e in blocks[index + 1 :]]
        members = {i: [(s + delta, e + delta) for s, e in r] if i > index else r for i, r in self._members.items()}
        if owner is None:
            members.pop(index, None)  # the class (if any) was parsed anew: its members are exact
        else:
            ranges = list(members[index])
            j = owner.body.index(unit.new)
            ranges[j] = (ranges[j][0], ranges[j][1] + delta)
            ranges[j + 1 :] = [(s + delta, e + delta) for s, e in ranges[j + 1 :]]
            members[index] = ranges
        self._members = members
        if self._idents is not None or self._imports is not None or self._calls is not None:
            old_scan, new_scan = self._summary(unit.old).scan(), self._summary(unit.new).scan()
            if self._idents is not None:
                self._idents.subtract(old_scan[0])
                self._idents.update(new_scan[0])
            if self._imports is not None:  # its parameters may differ
                self._imports.apply(old_scan[1:3], new_scan[1:3])
            if self._calls is not None:
                self._calls.subtract(old_scan[3])
                self._calls.update(new_scan[3])
        self._looped = looped
        self._known = (unit.new, new_facts)
        self._fresh = {id(unit.new): (unit.new, new_facts)}
        self._broken = None
        self.analysis = Analysis(report, new_ctx, blocks)
        self._forget((unit.old, old_owner))
        self.source = new_source
        return report

    # ------------------------------------------------------------------------------------------
    def _count_looped(
        self, ctx: Context, old: list[tuple[ast.stmt, Context]], new: list[ast.stmt], new_ctx: Context
    ) -> collections.Counter[str] | None:
        """The module's looped calls of plain names after the edit replaces ``old`` (each with a
        context that links it) by ``new``: given to ``new_ctx``, and the count before it to the
        contexts the old statements' facts are read with. None when unknown (the contexts then
        cannot tell, and the rules that ask assume the worst)."""
        if self._looped is None:
            known = ctx.looped_name_calls()
            if known is None:
                return None
            self._looped = collections.Counter(known)
        before = self._looped
        after = before.copy()
        for stmt, of in old:
            of.looped_calls = before
            after.subtract(self._summary(stmt).looped(of))
        for stmt in new:
            after.update(self._summary(stmt).looped(new_ctx))
        new_ctx.looped_calls = after
        return after

    def _counted(self, stmts: list[ast.stmt]) -> _Counts:
        """The import bindings and rebound names of ``stmts``, counted."""
        pairs: collections.Counter[tuple[str, str]] = collections.Counter()
        rebinds: collections.Counter[str] = collections.Counter()
        for stmt in stmts:
            _, p, r, _ = self._summary(stmt).scan()
            pairs.update(p)
            rebinds.update(r)
        return pairs, rebinds

    def _call_counts(self, ctx: Context) -> collections.Counter[str]:
        if self._calls is None:
            self._calls = _module_calls(ctx)
        return self._calls

    def _identifier_counts(self, ctx: Context) -> collections.Counter[str]:
        if self._idents is None:
            self._idents = _module_identifiers(ctx)
        return self._idents

    def _import_changes(
        self, ctx: Context, old: list[ast.stmt], new: list[ast.stmt]
    ) -> tuple[ImportMap, dict[str, tuple[frozenset[str], bool]]] | None:
        """The import map after replacing ``old`` by ``new`` (the module's is flat and scope-blind:
        an import or a parameter anywhere counts), and the names whose entry changes."""
        self._import_delta = None
        removed, added = self._counted(old), self._counted(new)
        if removed == added:
            return ctx.imports, {}
        names = {n for n, _ in (*removed[0], *added[0])} | {
            n for n in (removed[1] - added[1]) + (added[1] - removed[1]) if n in _BUILTINS or ctx.imports.state(n)[0]
        }
        if not names:
            return ctx.imports, {}
        if self._imports is None:
            self._imports = _ImportCounts.of(ctx)
        counts = self._imports
        before = {n: counts.state(n) for n in names}
        counts.apply(removed, added)
        after = {n: counts.state(n) for n in names}
        counts.apply(added, removed)  # kept as it was until the edit is taken
        changed = {n: state for n, state in after.items() if state != before[n]}
        self._import_delta = (removed, added)
        return (ctx.imports.updated(changed) if changed else ctx.imports), changed

    def _locate(self, text: str, new_source: SourceText, first: int, last_old: int, delta: int) -> _Splice | None:
        """The statements an edit touches in the innermost container that holds it whole (a
        top-level class's body, or the module), with the text between their neighbours parsed
        anew; None when that text does not parse as statements of the container."""
        analysis, old_source = self.analysis, self.source
        assert analysis is not None and analysis.ctx is not None and old_source is not None
        tree = analysis.ctx.tree
        container, items, index = tree.body, analysis.blocks, None
        inside = next((i for i, (s, e) in enumerate(analysis.blocks) if s <= first and last_old <= e), None)
        if inside is not None and isinstance(tree.body[inside], ast.ClassDef):
            cls = tree.body[inside]
            assert isinstance(cls, ast.ClassDef)
            ranges = self._member_ranges(inside, cls)
            if ranges and ranges[0][0] <= first <= analysis.blocks[inside][1]:
                container, items, index = cls.body, ranges, inside
        prev = nxt = None
        own_end = 0
        for i, (start, _end) in enumerate(items):
            stmt = container[i]
            end = start + (stmt.end_lineno or stmt.lineno) - statement_start(stmt)
            if end < first:
                prev, own_end = i, end
            elif start > last_old:
                nxt = i
                break
        if prev is not None:
            lo = own_end + 1
        else:  # from the first statement (the lines before a class's first method are its header)
            lo = items[0][0] if index is not None else 1
        if nxt is not None:
            hi = items[nxt][0] - 1
        else:  # to the end of the class's block, or of the module
            hi = items[-1][1] if index is not None else old_source.line_count
        a = prev + 1 if prev is not None else 0
        b = nxt if nxt is not None else len(items)
        end = hi + delta
        chunk = text[new_source.lines_slice(lo, end)] if end >= lo else ""
        new: list[ast.stmt] = []
        if not _only_comments(chunk):
            try:
                module = _parse_chunk(text, new_source, lo, end, index is not None)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return None
            new = module.body
            if index is not None:
                holder = new[0] if len(new) == 1 else None
                if not isinstance(holder, ast.ClassDef):
                    return None
                new = holder.body
                if any(s.col_offset != container[0].col_offset for s in new):
                    return None  # more indented: the previous method's body goes on
        return _Splice(container, items, a, b, lo, hi, new, chunk, index)

    def _splice(self, text: str, new_source: SourceText, first: int, last_old: int, delta: int) -> FileReport | None:
        """A structural edit (statements inserted, deleted or replaced, in the module or among a
        top-level class's methods) re-analyzed alone, when nothing else in the module can see it:
        a module variable or class it adds or removes is mentioned nowhere else, and a function
        or method others call cannot reach I/O (``reaches_io``); the import map changes for no
        name others mention; the definitions it keeps by name keep their effects; the class's
        ``self.x`` types and every rule's ``module_facts`` are the same. Otherwise (or when the
        edited text does not parse) None."""
        splice = self._locate(text, new_source, first, last_old, delta)
        analysis = self.analysis
        self._spliced = splice is not None
        if splice is None or analysis is None or analysis.ctx is None:
            return None
        ctx = analysis.ctx
        a, b, new = splice.a, splice.b, splice.new
        old = splice.container[a:b]
        for stmt, (start, _end) in zip(old, splice.items[a:b], strict=True):
            # Statements after an earlier edit keep stale line numbers (see ``_reanalyze``): bring
            # these up to date (the old tree is about to be replaced), their text is read below.
            if start != statement_start(stmt):
                ast.increment_lineno(stmt, start - statement_start(stmt))
        member = splice.index is not None
        allowed = _METHODS if member else _MODULE_STATEMENTS
        if any(not isinstance(s, allowed) for s in (*old, *new)):
            return None
        if not member and a == 0 and any(isinstance(s, ast.Expr) for s in (*old[:1], *new[:1])):
            return None  # the module's docstring
        old_binds = [_binds(s) for s in old]
        new_binds = [_binds(s) for s in new]
        if any(n is None for n in (*old_binds, *new_binds)):
            return None
        old_names = [n for names in old_binds for n in names or ()]
        new_names = [n for names in new_binds for n in names or ()]
        if len(set(old_names)) < len(old_names) or len(set(new_names)) < len(new_names):
            return None  # overloads, redefinitions: which one wins is the module's business
        others: set[str] = set()
        for stmt in (*splice.container[:a], *splice.container[b:]):
            others |= self._summary(stmt).bound
        if others & {*old_names, *new_names}:
            return None
        old_by_name: dict[str, _Def] = {s.name: s for s in old if isinstance(s, _DEFS)}
        new_by_name: dict[str, _Def] = {s.name: s for s in new if isinstance(s, _DEFS)}
        kept = {n for n in old_by_name.keys() & new_by_name.keys() if type(old_by_name[n]) is type(new_by_name[n])}
        changed = set(old_names) ^ set(new_names) | (set(old_names) & set(new_names)) - kept
        old_ids: collections.Counter[str] = collections.Counter()
        new_ids: collections.Counter[str] = collections.Counter()
        old_calls: collections.Counter[str] = collections.Counter()
        new_calls: collections.Counter[str] = collections.Counter()
        for stmts, ids, calls in ((old, old_ids, old_calls), (new, new_ids, new_calls)):
            for stmt in stmts:
                scan = self._summary(stmt).scan()
                ids.update(scan[0])
                calls.update(scan[3])
        mentioned: set[str] = set()
        if changed:
            counts = self._identifier_counts(ctx)
            assigned = collections.Counter(
                n for s, names in zip(new, new_binds, strict=True) if not isinstance(s, _DEFS) for n in names or ()
            )
            # Mentions of a name added or removed, anywhere in the new module (its own binding aside).
            mentioned = {n for n in changed if counts[n] - old_ids[n] + new_ids[n] - assigned[n]}
            if any(n not in old_by_name and n not in new_by_name for n in mentioned):
                return None  # a module variable others read: their types may change
            if any(isinstance(s, ast.ClassDef) and s.name in mentioned for s in (*old, *new)):
                return None  # a class others use: its attribute types and methods are theirs too
        # Imports and rebound builtins act module-wide through the import map (see _import_changes).
        imports = self._import_changes(ctx, old, new)
        if imports is None:
            return None
        import_map, import_delta = imports
        if any(self._identifier_counts(ctx)[n] - old_ids[n] for n in import_delta):
            return None  # what a name others mention refers to changed (an import, a parameter)
        rebound = (
            member
            and not _same_multiset(
                [x for s in old if (x := self._summary(s).attributes)],
                [x for s in new if (x := self._summary(s).attributes)],
            )
            and not self._attributes_stay_unknown([*splice.container[:a], *splice.container[b:]], [*old, *new])
        )

        cls = ctx.tree.body[splice.index] if splice.index is not None else None
        owner: ast.ClassDef | None = None
        if isinstance(cls, ast.ClassDef):
            owner = copy.copy(cls)
            owner.body = [*cls.body[:a], *new, *cls.body[b:]]
            if not owner.body:
                return None  # a class without a body does not parse
            if owner.end_lineno is not None:
                owner.end_lineno += delta
            body = list(ctx.tree.body)
            body[splice.index or 0] = owner
        else:
            cls = None
            body = [*ctx.tree.body[:a], *new, *ctx.tree.body[b:]]
        module = ast.Module(body=body, type_ignores=[])
        inserted = ast.Module(body=new, type_ignores=[])
        replaced = ast.Module(body=old, type_ignores=[])
        parents, buckets = traverse(inserted)
        buckets.pop(ast.Module, None)
        parents.pop(inserted, None)
        for stmt in new:
            parents[stmt] = owner if owner is not None else module
        if owner is not None:
            parents[owner] = module
        merged_view = _MergedBuckets(ctx._buckets, replaced, buckets)
        merged: _Buckets = merged_view.materialize() if merged_view.depth > _MAX_DEPTH else merged_view
        new_ctx = self._context(module, new_source, parents, merged, import_map, ctx)
        # What the previous context knows and the edit cannot change, taken over before anything
        # is asked of the new one (the class's `self.x` types unless its methods rebind them).
        classes: dict[ast.ClassDef, ast.ClassDef | None] = {
            s: s for s in body if isinstance(s, ast.ClassDef) and s is not owner and all(s is not n for n in new)
        }
        if owner is not None:
            classes[owner] = None if rebound else cls
        classes.update({s: None for s in new if isinstance(s, ast.ClassDef)})
        new_ctx.inherit_from(ctx, classes, summary=True)

        if (
            rebound
            and owner is not None
            and cls is not None
            and _known(ctx.io.class_attrs(cls)) != _known(new_ctx.io.class_attrs(owner))
        ):
            return None  # a method binds `self.x`: the class's attribute types changed
        old_contexts = {id(s): self._old_context(ctx, s, cls) for s in old}
        looped = self._count_looped(ctx, [(s, old_contexts[id(s)]) for s in old], new, new_ctx)
        new_facts: dict[int, dict[str, object]] = {id(s): {} for s in new}
        for rule_cls in self._fact_rules():

            def facts(
                stmts: list[ast.stmt],
                of: Callable[[ast.stmt], Context],
                known: Callable[[ast.stmt], dict[str, object]],
                rule: type[Rule] = rule_cls,
            ) -> list[object]:
                out = []
                for s in stmts:
                    if rule.facts_by_name and isinstance(s, _DEFS) and s.name in changed - mentioned:
                        continue  # read only through its name, which nothing mentions
                    found = known(s)  # what is known of it, where the fact read is kept
                    if rule.code in found:
                        fact = found[rule.code]
                    else:
                        fact = found[rule.code] = rule.module_facts(s, of(s))
                    if fact:
                        out.append(fact)
                return out

            def remembered(s: ast.stmt) -> dict[str, object]:
                return new_facts[id(s)]

            if not _same_multiset(
                facts(old, lambda s: old_contexts[id(s)], lambda s: self._fresh_facts(s, old_contexts[id(s)])),
                facts(new, lambda s: new_ctx, remembered),
            ):
                return None  # a fact other units' findings read changed
        owner_name = cls.name if cls is not None else None
        if mentioned:
            module_calls = self._call_counts(ctx)
            # Mentioned, but called nowhere (``name.alters_data = True``): no call resolves to it.
            mentioned_calls = {n for n in mentioned if module_calls[n] - old_calls[n] + new_calls[n]}
        else:
            mentioned_calls = set()
        for name in mentioned_calls:
            # A function others call appears or disappears: their I/O findings stay the same when
            # calling it cannot reach I/O, with it (before a removal, after an insertion) or
            # without it (through a base class's method of that name).
            before, after = old_by_name.get(name), new_by_name.get(name)
            if isinstance(before, _METHODS) and reaches_io(old_contexts[id(before)], before, owner_name, ctx.effects):
                return None
            if isinstance(after, _METHODS) and reaches_io(new_ctx, after, owner_name, ctx.effects):
                return None
        for name in kept:
            before, after = old_by_name[name], new_by_name[name]
            if self._summary(before).fingerprint != self._summary(after).fingerprint and block_effects(
                old_contexts[id(before)], before, owner_name
            ) != block_effects(new_ctx, after, owner_name):
                return None  # what a definition others may call does changed

        new_ctx.carry_memos(ctx, EditedUnit(replaced, inserted, splice.text, cls, owner, rebinds=bool(changed)))

        lo, hi = splice.lo, splice.hi
        ran = self._run(new_ctx, buckets, [*new, *old], ctx, lo, hi, owner)
        if ran is None:
            return None
        report = self._spliced_report(*ran, lo, hi, delta)
        if report is None:
            return None

        blocks = list(analysis.blocks)
        members: dict[int, list[tuple[int, int]]] = {}
        if splice.index is not None:
            index = splice.index
            blocks[index] = (blocks[index][0], blocks[index][1] + delta)
            blocks[index + 1 :] = [(s + delta, e + delta) for s, e in blocks[index + 1 :]]
            for i, ranges in self._members.items():
                members[i] = [(s + delta, e + delta) for s, e in ranges] if i > index else ranges
            members[index] = _respliced(splice.items, a, b, new, delta, blocks[index][1])
        else:
            blocks = _respliced(blocks, a, b, new, delta, new_source.line_count)
            shift = len(new) - (b - a)
            for i, ranges in self._members.items():
                if i < a - 1:
                    members[i] = ranges
                elif i == a - 1 and ranges:  # the class before: its last method's range ends anew
                    members[i] = [*ranges[:-1], (ranges[-1][0], blocks[i][1])]
                elif i >= b:
                    members[i + shift] = [(s + delta, e + delta) for s, e in ranges]
        self._members = members
        if self._idents is not None:
            self._idents.subtract(old_ids)
            self._idents.update(new_ids)
        if self._calls is not None:
            self._calls.subtract(old_calls)
            self._calls.update(new_calls)
        if self._imports is not None and self._import_delta is not None:
            self._imports.apply(*self._import_delta)
        self._looped = looped
        self._known = None
        self._broken = None
        self._fresh = {id(s): (s, new_facts[id(s)]) for s in new}
        self.analysis = Analysis(report, new_ctx, blocks)
        self._forget((*old, cls if owner is not None else None))
        self.source = new_source
        return report

    def _context(
        self,
        module: ast.Module,
        source: SourceText,
        parents: dict[ast.AST, ast.AST],
        buckets: _Buckets,
        imports: ImportMap,
        old: Context,
    ) -> Context:
        """The context of the module after an incremental edit (it indexes only what was parsed anew)."""
        ctx = Context(module, source, self.path, parents, buckets, imports, self.want_fixes)  # type: ignore[arg-type]
        ctx.whole = False
        ctx.project = self.project
        ctx.calibration = old.calibration
        return ctx

    def _run(
        self,
        new_ctx: Context,
        buckets: dict[type, list[ast.AST]],
        units: list[ast.stmt],
        ctx: Context,
        start: int,
        end: int,
        owner: ast.ClassDef | None,
    ) -> tuple[tuple[Finding, ...], tuple[FunctionMetrics, ...], list[str]] | None:
        """The rules on the re-analyzed statements (their nodes: ``buckets``): their findings,
        function metrics and rule errors; None when a result reaches beyond them (a finding that
        cites another unit, a Big-O estimate other units compose)."""
        assert self.analysis is not None
        rule_errors = run_rules(new_ctx, buckets, self.config, RULES)
        effects = new_ctx.memoized(EFFECTS)
        if effects is not None and effects.used:
            return None  # a finding that cites other units (an interprocedural chain): whole file
        findings = postprocess(new_ctx.findings, new_ctx.source, self.config, self.path)
        functions = function_metrics_of(new_ctx, buckets) if self.metrics else ()
        if self.metrics and any(
            _estimates_cross_blocks(self.analysis.report, functions, unit, ctx, start, end, owner) for unit in units
        ):
            return None  # Big-O estimates compose calls between units: recompute them all
        return findings, functions, rule_errors

    def _spliced_report(
        self,
        findings: tuple[Finding, ...],
        functions: tuple[FunctionMetrics, ...],
        rule_errors: list[str],
        start: int,
        end: int,
        delta: int,
    ) -> FileReport | None:
        """The last report with what lay in old lines ``start..end`` replaced by the re-analyzed
        unit's ``findings``, ``functions`` and ``rule_errors``, the rest shifted by ``delta``;
        None when a kept finding cites a line of the replaced lines."""
        assert self.analysis is not None
        old = self.analysis.report
        kept = _kept_findings(old.findings, self.path, start, end, delta)
        if kept is None:
            return None
        before = [m for m in old.functions if m.span.start.line < start]
        after = [_shift_function(m, delta) for m in old.functions if m.span.start.line > end]
        return FileReport(
            path=self.path,
            findings=(*kept[0], *findings, *kept[1]),
            functions=(*before, *functions, *after),
            rule_errors=(*(e for e in old.rule_errors if not _mentions_lines(e, start, end)), *rule_errors),
        )


def _kept_findings(
    findings: tuple[Finding, ...], path: str, start: int, end: int, delta: int
) -> tuple[list[Finding], list[Finding]] | None:
    """The findings outside lines ``start..end`` (the unit an edit changed by ``delta`` lines):
    those before it, and those after it shifted. None when one cites a line inside the unit."""
    before: list[Finding] = []
    after: list[Finding] = []
    for f in findings:
        line = f.span.start.line
        if start <= line <= end:
            continue
        if delta:
            restated = _restate(f, path, start, end, delta)
            if restated is None:
                return None
            f = restated
        if line < start:
            before.append(f)
        else:
            after.append(_shift_finding(f, delta))
    return before, after


def _attribute_bindings(unit: ast.stmt) -> tuple[str, ...]:
    """What a method contributes to its class's ``self.x`` types: its bindings of attributes of
    its first parameter, with every binding (in the method) of the names their values read,
    transitively. Equal before and after an edit: the class's attribute types are unchanged."""
    if not isinstance(unit, ast.FunctionDef | ast.AsyncFunctionDef):
        return (ast.dump(unit),)
    params = [*unit.args.posonlyargs, *unit.args.args]
    if not params:
        return ()
    me = params[0].arg

    def binds_self(target: ast.AST) -> bool:
        return any(
            isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name)
            and n.value.id == me
            and not isinstance(n.ctx, ast.Load)
            for n in walk(target)
        )

    stmts: list[ast.AST] = []
    binders: list[tuple[ast.AST, set[str]]] = []  # statements binding local names, and which
    for node in walk(unit):
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.For | ast.AsyncFor):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, ast.With | ast.AsyncWith):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, ast.NamedExpr | ast.comprehension):
            targets = [node.target]
        else:
            continue
        if any(binds_self(t) for t in targets):
            stmts.append(node)
        names = {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}
        if names:
            binders.append((node, names))
    if not stmts:
        return ()
    out = [ast.dump(unit.args), *(ast.dump(s) for s in stmts)]
    wanted = {n.id for s in stmts for n in walk(s) if isinstance(n, ast.Name) and n.id != me}
    seen: set[int] = {id(s) for s in stmts}
    while wanted:
        name = wanted.pop()
        for node, names in binders:
            if name in names and id(node) not in seen:
                seen.add(id(node))
                out.append(ast.dump(node))
                wanted |= {n.id for n in walk(node) if isinstance(n, ast.Name) and n.id != me} - names
    return tuple(out)


def _unit_text(source: SourceText, stmt: ast.stmt) -> str:
    """The source of a top-level block (decorators included), as a memo's carry sees it."""
    return source.text[source.lines_slice(statement_start(stmt), stmt.end_lineno or stmt.lineno)]


def _parse_chunk(text: str, source: SourceText, start: int, end: int, member: bool) -> ast.Module:
    """Parse lines ``start..end`` of ``text`` with their own line numbers (a ``member``: inside a
    stand-in class). Raises SyntaxError (or ValueError, RecursionError, MemoryError)."""
    chunk = text[source.lines_slice(start, end)] if end >= start else ""
    if member:
        # The stand-in class header takes the line before the method (the parser needs a block).
        padded = "\n" * (start - 2) + "class _:\n" + chunk
    else:
        padded = "\n" * (start - 1) + chunk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(padded)


def _parse_unit(text: str, source: SourceText, start: int, end: int, member_of: ast.stmt | None) -> ast.stmt | None:
    """Parse lines ``start..end`` of ``text`` as one ``def``/``class`` with its own line numbers;
    ``member_of``: the old method it replaces (it is parsed inside a stand-in class)."""
    if end < start or (member_of is not None and start < 2):
        return None
    try:
        block = _parse_chunk(text, source, start, end, member_of is not None)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(block.body) != 1:
        return None
    stmt = block.body[0]
    if member_of is not None:
        if not isinstance(stmt, ast.ClassDef) or len(stmt.body) != 1:
            return None
        stmt = stmt.body[0]
        if (
            type(stmt) is not type(member_of)
            or getattr(stmt, "name", None) != getattr(member_of, "name", None)
            or [ast.dump(d) for d in getattr(stmt, "decorator_list", [])]
            != [ast.dump(d) for d in getattr(member_of, "decorator_list", [])]
        ):
            return None  # the class's own namespace changes: re-analyze the class
    elif not isinstance(stmt, _DEFS):
        return None
    if statement_start(stmt) != start:
        return None
    return stmt


def _estimates_cross_blocks(
    old: FileReport,
    new: tuple[FunctionMetrics, ...],
    stmt: ast.stmt,
    ctx: Context,
    start: int,
    end: int,
    owner: ast.ClassDef | None = None,
) -> bool:
    """The unit calls a top-level function of another block (or, for a method, another method of
    its class), or it is such a function, its estimate changed, and other code may call it."""
    own = getattr(stmt, "name", None)
    if owner is not None:
        methods = {m.name for m in owner.body if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef)} - {own}
        if any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in methods for n in walk(stmt)
        ):
            return True
        before = {m.qualname: m.complexity for m in old.functions if start <= m.span.start.line <= end}
        after = {m.qualname: m.complexity for m in new}
        if before != after:
            return True  # other methods may compose this one's estimate
    others = {s.name for s in ctx.tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name != own}
    if others and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in others for n in walk(stmt)
    ):
        return True
    if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    before = {m.qualname: m.complexity for m in old.functions if start <= m.span.start.line <= end}
    after = {m.qualname: m.complexity for m in new}
    if before.get(stmt.name) == after.get(stmt.name):
        return False
    return any(isinstance(n, ast.Name) and n.id == stmt.name for n in ctx.nodes(ast.Name))


_CITED_LINE = re.compile(r"\bline (\d+)|(?<= at )(.+):(\d+)$")


def _restate(finding: Finding, path: str, start: int, end: int, delta: int) -> Finding | None:
    """``finding`` with the lines its message and notes cite (``line N``, ``at path:N``) moved by
    ``delta`` when after the edited unit; None when one is inside it (where it now is is unknown)."""
    inside = False

    def move(m: re.Match[str]) -> str:
        nonlocal inside
        if m.group(1) is not None:
            number, prefix = int(m.group(1)), "line "
        elif m.group(2) == path:
            number, prefix = int(m.group(3)), f"{path}:"
        else:
            return m.group(0)  # another file's line
        if start <= number <= end:
            inside = True
        return f"{prefix}{number + delta if number > end else number}"

    message = _CITED_LINE.sub(move, finding.message)
    notes = tuple(_CITED_LINE.sub(move, note) for note in finding.notes)
    if inside:
        return None
    if message == finding.message and notes == finding.notes:
        return finding
    return dataclasses.replace(finding, message=message, notes=notes)


def _mentions_lines(error: str, start: int, end: int) -> bool:
    match = re.search(r"at line (\d+)", error)
    return match is not None and start <= int(match.group(1)) <= end


# --- structural edits: a run of statements replaced by another ---------------------------------

_MODULE_STATEMENTS = (*_DEFS, ast.Assign, ast.AnnAssign, ast.Expr, ast.Pass)
"""Top-level statements a splice may insert or delete (imports, rebinding and compound
statements change module-level semantics: those edits take the whole-file path)."""
_METHODS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _target_names(target: ast.expr, out: list[str]) -> bool:
    """Add the names ``target`` binds to ``out``; False when it assigns to anything but names."""
    if isinstance(target, ast.Name):
        out.append(target.id)
        return True
    if isinstance(target, ast.Tuple | ast.List):
        return all(_target_names(t, out) for t in target.elts)
    if isinstance(target, ast.Starred):
        return _target_names(target.value, out)
    return False


def _binds(stmt: ast.stmt) -> list[str] | None:
    """The names a statement a splice may move binds in its container; None for anything else
    (an assignment to an attribute or item changes an object other code may read)."""
    if isinstance(stmt, _DEFS):
        return [stmt.name]
    names: list[str] = []
    if isinstance(stmt, ast.Assign):
        return names if all(_target_names(t, names) for t in stmt.targets) else None
    if isinstance(stmt, ast.AnnAssign):
        return names if _target_names(stmt.target, names) else None
    if isinstance(stmt, ast.Expr | ast.Pass):
        return names
    return None


def _bound_anywhere(stmt: ast.stmt) -> set[str]:
    """Every name a statement of the container binds (for statements a splice does not move:
    imports, compound statements; nested scopes included, which only makes the check stricter)."""
    names = _binds(stmt)
    if names is not None:
        return set(names)
    found: set[str] = set()
    for node in walk(stmt):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, _DEFS):
            found.add(node.name)
        elif isinstance(node, ast.alias):
            found.add((node.asname or node.name).split(".")[0])
    return found


def _scan(stmt: ast.stmt) -> _Scan:
    """In one walk of ``stmt``: how often each identifier is read or written in it (names,
    attribute names, ``global`` names), its import bindings (:func:`_import_pairs`), the names
    it rebinds (:func:`_rebindings`) and the names it calls (:func:`_called_name`)."""
    idents: collections.Counter[str] = collections.Counter()
    pairs: collections.Counter[tuple[str, str]] = collections.Counter()
    rebinds: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for node in walk(stmt):
        if isinstance(node, ast.Call):
            if (called := _called_name(node)) is not None:
                calls[called] += 1
        elif (rebound := _rebound_name(node)) is not None:
            rebinds[rebound] += 1
            if isinstance(node, ast.Name):
                idents[node.id] += 1
        elif isinstance(node, ast.Name):
            idents[node.id] += 1
        elif isinstance(node, ast.Attribute):
            idents[node.attr] += 1
        elif isinstance(node, ast.Global | ast.Nonlocal):
            idents.update(node.names)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            pairs.update(import_bindings(node))
    return idents, pairs, rebinds, calls


def _called_name(call: ast.Call) -> str | None:
    """The name a call's function goes by (``f(...)``, ``x.f(...)``): the only way an I/O finding
    reaches a definition is a call resolved by that name (``effects.call_target``)."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _module_calls(ctx: Context) -> collections.Counter[str]:
    return collections.Counter(name for call in ctx.nodes(ast.Call) if (name := _called_name(call)) is not None)


def _looped_names(ctx: Context, unit: ast.stmt) -> collections.Counter[str]:
    """The calls of plain names in ``unit`` that run in a loop, as ``ctx.loops_around`` (the
    definition ``Context.looped_name_calls`` counts with) decides; ``ctx`` links ``unit``."""
    return collections.Counter(
        n.func.id for n in walk(unit) if type(n) is ast.Call and type(n.func) is ast.Name and ctx.loops_around(n)
    )


def _module_identifiers(ctx: Context) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter(n.id for n in ctx.nodes(ast.Name))
    counts.update(n.attr for n in ctx.nodes(ast.Attribute))
    for kind in (ast.Global, ast.Nonlocal):
        scoped: list[ast.Global | ast.Nonlocal] = ctx.nodes(kind)
        for node in scoped:
            counts.update(node.names)
    return counts


def _same_multiset(a: list[object], b: list[object]) -> bool:
    """Equal as multisets (facts may be unhashable or unordered)."""
    if len(a) != len(b):
        return False
    rest = list(b)
    for item in a:
        for j, other in enumerate(rest):
            if other == item:
                del rest[j]
                break
        else:
            return False
    return True


def _import_pairs(nodes: Iterable[ast.AST]) -> collections.Counter[tuple[str, str]]:
    return collections.Counter(
        pair for n in nodes if isinstance(n, ast.Import | ast.ImportFrom) for pair in import_bindings(n)
    )


def _rebindings(nodes: Iterable[ast.AST]) -> collections.Counter[str]:
    """The names the import map counts as rebound (``perfsquad.semantics.names.import_map``)."""
    return collections.Counter(name for n in nodes if (name := _rebound_name(n)) is not None)


def _rebound_name(node: ast.AST) -> str | None:
    """The name ``node`` rebinds for the import map: a definition's, a parameter's, a builtin's
    assigned to (one definition for :func:`_rebindings` and :func:`_scan`, which must agree)."""
    if isinstance(node, _DEFS):
        return node.name
    if isinstance(node, ast.arg):
        return node.arg
    if isinstance(node, ast.Name) and type(node.ctx) is not ast.Load and node.id in _BUILTINS:
        return node.id
    return None


_Counts = tuple[collections.Counter[tuple[str, str]], collections.Counter[str]]
"""Imports (name, target) and rebound names, counted."""


@dataclasses.dataclass
class _ImportCounts:
    """The module's import map as counts (which imports bind each name, how often each name is
    rebound), so that an edit's effect on the map is known without rebuilding it."""

    pairs: collections.Counter[tuple[str, str]]
    rebinds: collections.Counter[str]

    @classmethod
    def of(cls, ctx: Context) -> _ImportCounts:
        nodes = [*ctx.nodes(ast.Import), *ctx.nodes(ast.ImportFrom)]
        defs = [*ctx.nodes(ast.FunctionDef), *ctx.nodes(ast.AsyncFunctionDef), *ctx.nodes(ast.ClassDef)]
        return cls(_import_pairs(nodes), _rebindings([*defs, *ctx.nodes(ast.arg), *ctx.nodes(ast.Name)]))

    def state(self, name: str) -> tuple[frozenset[str], bool]:
        targets = frozenset(t for (n, t), count in self.pairs.items() if n == name and count > 0)
        return targets, self.rebinds[name] > 0

    def apply(self, removed: _Counts, added: _Counts) -> None:
        self.pairs.subtract(removed[0])
        self.pairs.update(added[0])
        self.rebinds.subtract(removed[1])
        self.rebinds.update(added[1])


def _known(types: dict[str, str]) -> dict[str, str]:
    """Attribute types as lookups see them (a missing attribute is of unknown type)."""
    return {name: kind for name, kind in types.items() if kind != UNKNOWN}


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


@dataclasses.dataclass
class _Splice:
    """A structural edit: statements ``a..b-1`` of a container (the module, or a top-level class's
    body) replaced by ``new``; the edit lies in old lines ``lo..hi`` (from the end of the statement
    before to the start of the one after), ``hi + delta`` in the new text."""

    container: list[ast.stmt]
    items: list[tuple[int, int]]
    a: int
    b: int
    lo: int
    hi: int
    new: list[ast.stmt]
    text: str
    index: int | None = None
    """The class's block, for a splice of its methods; None at module level."""


def _respliced(
    items: list[tuple[int, int]], a: int, b: int, new: list[ast.stmt], delta: int, last_line: int
) -> list[tuple[int, int]]:
    """The line ranges of a container's statements after a splice (``last_line``: the last line
    of the container's last statement's range, in the new text)."""
    starts = [statement_start(s) for s in new]
    following = items[b][0] + delta if b < len(items) else last_line + 1
    out = list(items[:a])
    if a:
        out[a - 1] = (out[a - 1][0], (starts[0] if starts else following) - 1)
    out += [(s, (starts[i + 1] if i + 1 < len(starts) else following) - 1) for i, s in enumerate(starts)]
    out += [(s + delta, e + delta) for s, e in items[b:]]
    return out
