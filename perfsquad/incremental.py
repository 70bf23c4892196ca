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
import builtins
import dataclasses
import re
import warnings
from typing import TYPE_CHECKING

from perfsquad.config import Config
from perfsquad.context import Context
from perfsquad.engine import (
    Analysis,
    _gc_paused,
    analyze_full,
    function_metrics_of,
    postprocess,
    run_rules,
    statement_start,
    traverse,
)
from perfsquad.model import Edit, FileReport, Finding, Fix, FunctionMetrics, Position, Span
from perfsquad.semantics.effects import block_effects, block_fingerprint
from perfsquad.source import SourceText

if TYPE_CHECKING:
    from perfsquad.project import ProjectIndex

_BUILTINS = frozenset(dir(builtins))
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _signature(stmt: ast.stmt) -> tuple[str, tuple[str, ...], frozenset[str]]:
    """What a block exposes to the rest of the module: its name, imports and shadowed builtins."""
    imports = []
    shadowed = set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(ast.dump(node, include_attributes=False))
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load) and node.id in _BUILTINS:
            shadowed.add(node.id)
        elif isinstance(node, ast.arg) and node.arg in _BUILTINS:
            shadowed.add(node.arg)
        elif isinstance(node, _DEFS) and node.name in _BUILTINS:
            shadowed.add(node.name)
    return getattr(stmt, "name", ""), tuple(sorted(imports)), frozenset(shadowed)


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
        self._print: tuple[ast.stmt, tuple[str, ...]] | None = None
        """The effect fingerprint of the last re-analyzed block."""
        self.path = path
        self.config = config or Config()
        self.want_fixes = want_fixes
        self.metrics = metrics
        self.analysis: Analysis | None = None
        self.source: SourceText | None = None
        self.last_was_incremental = False

    def update(self, text: str) -> FileReport:
        with _gc_paused():
            report = self._incremental(text) if self.analysis is not None else None
        self.last_was_incremental = report is not None
        if report is None:
            self.analysis = analyze_full(
                text, self.path, self.config, want_fixes=self.want_fixes, metrics=self.metrics, project=self.project
            )
            self.source = SourceText.from_text(text)
            report = self.analysis.report
        return report

    # ------------------------------------------------------------------------------------------
    def _changed_lines(self, new: SourceText) -> tuple[int, int, int] | None:
        """(first changed line, last changed old line, line delta), 1-based; None if identical."""
        assert self.source is not None
        old = self.source
        old_n, new_n = old.line_count, new.line_count
        a = 0
        limit = min(old_n, new_n)
        while a < limit and old.line_with_ending(a + 1) == new.line_with_ending(a + 1):
            a += 1
        if a == old_n == new_n:
            return None
        s = 0
        while s < limit - a and old.line_with_ending(old_n - s) == new.line_with_ending(new_n - s):
            s += 1
        return a + 1, old_n - s, new_n - old_n

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
        index = next(
            (i for i, (start, end) in enumerate(analysis.blocks) if start <= first and last_old <= end), None
        )
        if index is None:
            return None
        ctx = analysis.ctx
        if delta and any(n.startswith("chain:") for f in analysis.report.findings for n in f.notes):
            return None  # shifting lines would leave the line numbers cited in chains stale
        old_stmt = ctx.tree.body[index]
        start, end = analysis.blocks[index]
        if not isinstance(old_stmt, _DEFS):
            return None
        new_end = end + delta
        if new_end < start:
            return None
        chunk_start = new_source.line_starts[start - 1]
        chunk_end = new_source.line_starts[new_end] if new_end < new_source.line_count else len(text)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                block = ast.parse("\n" * (start - 1) + text[chunk_start:chunk_end])
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        if len(block.body) != 1 or not isinstance(block.body[0], _DEFS):
            return None
        new_stmt = block.body[0]
        if statement_start(new_stmt) != start or _signature(new_stmt) != _signature(old_stmt):
            return None

        # The module as the rules see it: the new block among the old statements. Statements after
        # the block keep stale line numbers, which only matters for reporting, and nothing from
        # them is reported here.
        body = list(ctx.tree.body)
        body[index] = new_stmt
        module = ast.Module(body=body, type_ignores=[])
        parents, buckets = traverse(new_stmt)
        parents[new_stmt] = module
        new_ctx = Context(module, new_source, self.path, parents, ctx._buckets, ctx.imports, self.want_fixes)
        new_ctx.project = self.project
        # Other blocks' I/O findings depend on what this block calls: a cheap fingerprint first
        # (kept from the previous edit), the precise effect summary only when it differs.
        cached = self._print
        old_print = cached[1] if cached is not None and cached[0] is old_stmt else block_fingerprint(old_stmt)
        new_print = block_fingerprint(new_stmt)
        if old_print != new_print and block_effects(new_ctx, new_stmt) != block_effects(ctx, old_stmt):
            return None  # what the block calls changed: other blocks' I/O findings may change
        self._print = (new_stmt, new_print)
        # Same effects: the previous summary answers "does this call reach I/O?" alike. Its line
        # numbers may be stale, but any answer that cites them sends us to the whole-file path.
        new_ctx._summary = ctx._summary
        module_types = ctx._scope_types.get(ctx.tree)
        if module_types is not None:
            new_ctx._scope_types[module] = module_types
        rule_errors = run_rules(new_ctx, buckets, self.config)
        if new_ctx._effects is not None and new_ctx._effects.used:
            return None  # a finding that cites other blocks (an interprocedural chain): whole file
        block_findings = postprocess(new_ctx.findings, new_source, self.config)
        block_functions = function_metrics_of(new_ctx, buckets) if self.metrics else ()
        if self.metrics and _estimates_cross_blocks(analysis.report, block_functions, new_stmt, ctx, start, end):
            return None  # Big-O estimates compose calls between blocks: recompute them all

        old = analysis.report
        findings = [f for f in old.findings if f.span.start.line < start]
        findings += block_findings
        findings += [_shift_finding(f, delta) for f in old.findings if f.span.start.line > end]
        functions = [m for m in old.functions if m.span.start.line < start]
        functions += block_functions
        functions += [_shift_function(m, delta) for m in old.functions if m.span.start.line > end]
        report = FileReport(
            path=self.path,
            findings=tuple(findings),
            functions=tuple(functions),
            rule_errors=(*(e for e in old.rule_errors if not _mentions_lines(e, start, end)), *rule_errors),
        )
        # Statements after the block keep stale line numbers in the kept tree: nothing reads their
        # positions (only their names and imports, for semantics), and block ranges are shifted here.
        blocks = list(analysis.blocks)
        blocks[index] = (start, new_end)
        blocks[index + 1 :] = [(s + delta, e + delta) for s, e in blocks[index + 1 :]]
        self.analysis = Analysis(report, new_ctx, blocks)
        self.source = new_source
        return report


def _estimates_cross_blocks(
    old: FileReport, new: tuple[FunctionMetrics, ...], stmt: ast.stmt, ctx: Context, start: int, end: int
) -> bool:
    """The block calls a top-level function of another block, or it is such a function, its
    estimate changed, and other code may call it."""
    own = getattr(stmt, "name", None)
    others = {s.name for s in ctx.tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name != own}
    if others and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in others for n in ast.walk(stmt)
    ):
        return True
    if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return False
    before = {m.qualname: m.complexity for m in old.functions if start <= m.span.start.line <= end}
    after = {m.qualname: m.complexity for m in new}
    if before.get(stmt.name) == after.get(stmt.name):
        return False
    return any(isinstance(n, ast.Name) and n.id == stmt.name for n in ctx.nodes(ast.Name))


def _mentions_lines(error: str, start: int, end: int) -> bool:
    match = re.search(r"at line (\d+)", error)
    return match is not None and start <= int(match.group(1)) <= end
