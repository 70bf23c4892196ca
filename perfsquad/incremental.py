"""Incremental analysis for the editor: re-analyze only the top-level block an edit touched.

A module is a list of top-level blocks (a statement with its decorators and the lines up to the
next one). When an edit stays inside one ``def``/``class`` block, and leaves that block's name,
imports and shadowed builtins unchanged, nothing outside the block can see the difference:
module-level semantics (imports, rebound builtins, module type facts) are the same, so only this
block is re-parsed and re-analyzed; the other blocks' findings are kept, shifted by the number of
lines the edit added or removed. Anything else (an edit spanning blocks, touching a top-level
statement, changing the block structure, or a file that did not parse) takes the whole-file path.
The result is the same report a whole-file analysis would produce (a test checks it on edits).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import copy
import dataclasses
import re
import warnings
from typing import TYPE_CHECKING

from perfsquad.analyzers import RULES
from perfsquad.config import Config
from perfsquad.context import EFFECTS, Context
from perfsquad.engine import Analysis, analyze_full, function_metrics_of, postprocess, run_rules, syntax_error_report
from perfsquad.memo import EditedUnit
from perfsquad.model import Edit, FileReport, Finding, Fix, FunctionMetrics, Position, Span
from perfsquad.semantics.effects import block_effects, block_fingerprint
from perfsquad.source import SourceText
from perfsquad.syntax import statement_start, walk
from perfsquad.tree import gc_paused, traverse

if TYPE_CHECKING:
    from perfsquad.semantics.index import ProjectIndex

_BUILTINS = frozenset(dir(builtins))
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


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
        self._new = new
        self._merged: dict[type, list[ast.AST]] = {}

    def get(self, kind: type, default: list[ast.AST] | None = None) -> list[ast.AST]:
        merged = self._merged.get(kind)
        if merged is None:
            old = self._old.get(kind, [])
            new = self._new.get(kind, [])
            if old:
                if self._dead_ids is None:
                    self._dead_ids = {id(n) for n in walk(self._dead)}
                dead = self._dead_ids
                # A subtree is contiguous in the pre-order buckets (and every splice keeps each
                # unit's nodes contiguous): replace its run by the new nodes.
                first = next((i for i, n in enumerate(old) if id(n) in dead), len(old))
                end = first
                while end < len(old) and id(old[end]) in dead:
                    end += 1
                merged = [*old[:first], *new, *old[end:]]
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

    def update(self, text: str) -> FileReport:
        with gc_paused():
            report = self._incremental(text) if self.analysis is not None else None
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
            self._known = None
            self._broken = None
            report = self.analysis.report
        return report

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
        suffix = _common_suffix(old_text, new_text, limit - prefix)
        old_n, new_n = old.line_count, new.line_count
        # Lines whose text and line ending lie wholly in the common prefix are unchanged; so are
        # the lines that start after the first character of the common suffix.
        same_head = bisect.bisect_right(old.line_starts, prefix) - 1
        same_tail = old_n - bisect.bisect_right(old.line_starts, len(old_text) - suffix)
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
        if index is None:
            return None
        ctx = analysis.ctx
        old_stmt = ctx.tree.body[index]
        if not isinstance(old_stmt, _DEFS):
            return None
        unit = None
        if isinstance(old_stmt, ast.ClassDef):
            unit = self._member_unit(text, new_source, index, old_stmt, first, last_old, delta)
        if unit is None:
            unit = self._block_unit(text, new_source, index, old_stmt, delta)
        if unit is None:
            return self._unparsable(text, new_source, index, old_stmt, first, last_old, delta)
        return self._reanalyze(new_source, index, unit, delta)

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
        facts: dict[str, object] = {"signature": _signature(unit), "print": block_fingerprint(unit)}
        if owner is not None:
            facts["attributes"] = _attribute_bindings(unit)
        seen = set()
        for rule_cls in RULES:
            func = getattr(rule_cls.module_facts, "__func__", None)
            if func is None or func in seen or not self.config.code_enabled(rule_cls.code, self.path):
                continue
            seen.add(func)
            facts[rule_cls.code] = rule_cls.module_facts(unit, ctx)
        return facts

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
        new_ctx = Context(module, new_source, self.path, parents, merged, ctx.imports, self.want_fixes)  # type: ignore[arg-type]
        new_ctx.whole = False
        new_ctx.project = self.project
        new_ctx.calibration = ctx.calibration

        if unit.offset:
            # Edits above the unit left its line numbers behind: bring them up to date (the old
            # tree is about to be replaced) so that facts read from its text are read right.
            ast.increment_lineno(unit.old, unit.offset)
        old_ctx = ctx if ctx.whole else self._unit_context(ctx, unit.old, old_owner)
        old_facts = self._facts(unit.old, old_ctx, old_owner)
        self._known = None
        new_facts = self._facts(unit.new, new_ctx, owner)
        if owner is not None and old_facts["attributes"] != new_facts["attributes"]:
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

        rule_errors = run_rules(new_ctx, buckets, self.config, RULES)
        effects = new_ctx.memoized(EFFECTS)
        if effects is not None and effects.used:
            return None  # a finding that cites other units (an interprocedural chain): whole file
        unit_findings = postprocess(new_ctx.findings, new_source, self.config, self.path)
        unit_functions = function_metrics_of(new_ctx, buckets) if self.metrics else ()
        start, end = unit.start, unit.end
        if self.metrics and _estimates_cross_blocks(analysis.report, unit_functions, unit.new, ctx, start, end, owner):
            return None  # Big-O estimates compose calls between units: recompute them all

        old = analysis.report
        kept = _kept_findings(old.findings, self.path, start, end, delta)
        if kept is None:
            return None  # one cites a line of the re-analyzed unit: that line may have moved
        findings = [*kept[0], *unit_findings, *kept[1]]
        functions = [m for m in old.functions if m.span.start.line < start]
        functions += unit_functions
        functions += [_shift_function(m, delta) for m in old.functions if m.span.start.line > end]
        report = FileReport(
            path=self.path,
            findings=tuple(findings),
            functions=tuple(functions),
            rule_errors=(*(e for e in old.rule_errors if not _mentions_lines(e, start, end)), *rule_errors),
        )
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
        self._known = (unit.new, new_facts)
        self._broken = None
        self.analysis = Analysis(report, new_ctx, blocks)
        self.source = new_source
        return report


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
