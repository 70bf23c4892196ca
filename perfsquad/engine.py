"""The analysis engine: parse once, one iterative traversal, dispatch by node type, never raise.

Pipeline for one file:

1. screen: size limit, decoding (BOM, PEP 263 cookie), null bytes;
2. parse with ``ast``; on a syntax error, parse each top-level block on its own so that the
   rest of a half-typed file still gets findings; ``RecursionError``/``MemoryError`` become errors;
3. one iterative traversal recording parents and bucketing nodes by type (``perfsquad.tree``);
4. each enabled rule of those the caller passes (``api`` passes the registry,
   ``perfsquad.analyzers.RULES``: the engine never imports the rules) runs on the buckets of
   the node types it declared, isolated: a crashing rule is recorded in ``FileReport.rule_errors`` and the others still report;
5. suppression comments and configuration filter the findings.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from perfsquad import notebook
from perfsquad.config import Config
from perfsquad.context import Context, NamedCalls
from perfsquad.model import FileReport, Finding, FunctionMetrics, Position, Severity, Span
from perfsquad.rule import Rule
from perfsquad.semantics.names import import_map
from perfsquad.source import SourceDecodeError, SourceText, decode_source
from perfsquad.syntax import statement_start
from perfsquad.tree import gc_paused, traverse

if TYPE_CHECKING:
    from perfsquad.semantics.index import ProjectIndex

_AST = ast.AST
_SUPPRESS_RE = re.compile(
    r"#\s*(?:perfsquad:\s*ignore|noqa)(?:\s*(?:\[|:)\s*([A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*)\s*\]?)?",
    re.IGNORECASE,
)


def analyze_bytes(
    data: bytes,
    path: str,
    config: Config | None = None,
    *,
    want_fixes: bool = True,
    metrics: bool = False,
    package: str | None = None,
    project: ProjectIndex | None = None,
    rules: tuple[type[Rule], ...],
) -> FileReport:
    config = config or Config()
    if notebook.is_notebook(path):
        return _analyze_notebook(
            data, path, config, want_fixes=want_fixes, metrics=metrics, package=package, rules=rules, project=project
        )
    if len(data) > config.max_file_bytes:
        return _too_large(path, len(data), config)
    try:
        text, _ = decode_source(data)
    except SourceDecodeError as exc:
        return FileReport(path=path, error=f"cannot decode source: {exc}")
    return analyze_text(
        text, path, config, want_fixes=want_fixes, metrics=metrics, package=package, rules=rules, project=project
    )


def _analyze_notebook(
    data: bytes,
    path: str,
    config: Config,
    *,
    want_fixes: bool,
    metrics: bool,
    package: str | None,
    project: ProjectIndex | None,
    rules: tuple[type[Rule], ...],
) -> FileReport:
    """A notebook's code cells, analyzed as the one module they make (``perfsquad.notebook``). The
    size limit applies to that module, not to the file, whose outputs (images) may be large."""
    try:
        module = notebook.virtual_module(notebook.read_cells(data))
    except (notebook.NotebookError, UnicodeDecodeError) as exc:
        return FileReport(path=path, error=str(exc))
    if len(module.text) > config.max_file_bytes:
        return _too_large(path, len(module.text), config)
    report = analyze_text(
        module.text, path, config, want_fixes=want_fixes, metrics=metrics, package=package, rules=rules,
        project=project,
    )  # fmt: skip
    return notebook.attach(report, module)


def _too_large(path: str, size: int, config: Config) -> FileReport:
    return FileReport(
        path=path,
        error=(
            f"file too large to analyze ({size / 1e6:.1f} MB > {config.max_file_bytes / 1e6:.1f} MB);"
            " raise `max-file-bytes` in [tool.perfsquad] to analyze it"
        ),
    )


def analyze_text(
    text: str,
    path: str,
    config: Config | None = None,
    *,
    want_fixes: bool = True,
    metrics: bool = False,
    package: str | None = None,
    rules: tuple[type[Rule], ...],
    project: ProjectIndex | None = None,
    record: bool = True,
) -> FileReport:
    """Analyze decoded source text. Never raises for any input. ``record=False``: leave ``project``
    as it is (an editor building fixes for a text the index may already have a newer version of)."""
    config = config or Config()
    if len(text) > config.max_file_bytes:
        return _too_large(path, len(text), config)
    try:
        with gc_paused():
            # Keep only the report: the tree and its context are freed by reference counting
            # (they hold no cycles) *before* the collector is re-enabled, so re-enabling it does
            # not trigger a collection that walks the whole tree.
            analysis = _analyze(text, path, config, want_fixes, metrics, package, rules, project, record)
            if analysis.ctx is not None:
                analysis.ctx.release()  # break the caches' reference cycles: the tree is freed now
            return analysis.report
    except (RecursionError, MemoryError) as exc:
        message = f"source too deeply nested or too large to analyze ({type(exc).__name__})"
        return FileReport(path=path, error=message)


@dataclass
class Analysis:
    """A report with the internals the incremental analyzer reuses (None when nothing parsed)."""

    report: FileReport
    ctx: Context | None = None
    blocks: list[tuple[int, int]] = field(default_factory=list)
    """Line range (first, last) of each top-level statement's block, trailing lines included."""


def analyze_full(
    text: str,
    path: str,
    config: Config | None = None,
    *,
    want_fixes: bool = True,
    metrics: bool = False,
    package: str | None = None,
    rules: tuple[type[Rule], ...],
    project: ProjectIndex | None = None,
) -> Analysis:
    config = config or Config()
    if len(text) > config.max_file_bytes:
        return Analysis(_too_large(path, len(text), config))
    try:
        with gc_paused():
            return _analyze(text, path, config, want_fixes, metrics, package, rules, project)
    except (RecursionError, MemoryError) as exc:
        message = f"source too deeply nested or too large to analyze ({type(exc).__name__})"
        return Analysis(FileReport(path=path, error=message))


def _analyze(
    text: str,
    path: str,
    config: Config,
    want_fixes: bool,
    metrics: bool,
    package: str | None,
    rules: tuple[type[Rule], ...],
    project: ProjectIndex | None = None,
    record: bool = True,
) -> Analysis:
    source = SourceText.from_text(text)
    error: str | None = None
    error_span: Span | None = None
    parse_text = text
    if "\x00" in text:
        nul = text.index("\x00")
        error_span = _point(source.position(nul))
        error = f"null byte in source at line {error_span.start.line}; analyzed the rest as if it were a space"
        parse_text = text.replace("\x00", " ")

    tree, syntax_error, syntax_span = _parse(parse_text, source)
    if syntax_error is not None:
        error, error_span = syntax_error, syntax_span
    if tree is None:
        return Analysis(FileReport(path=path, error=error, error_span=error_span))

    parents, buckets = traverse(tree)
    imports = import_map(buckets, package)
    ctx = Context(tree, source, path, parents, buckets, imports, want_fixes)
    ctx.project = project
    ctx.calibration = config.calibration
    rule_errors = run_rules(ctx, buckets, config, rules)
    if project is not None and record and error is None:
        project.record(ctx)  # this module's effect summary, from the same parse
    findings = postprocess(ctx.findings, source, config, path)
    functions = function_metrics_of(ctx, buckets) if metrics else ()
    report = FileReport(
        path=path,
        findings=findings,
        functions=functions,
        error=error,
        error_span=error_span,
        rule_errors=tuple(rule_errors),
    )
    return Analysis(report, ctx if error is None else None, block_ranges(tree, source) if error is None else [])


def run_rules(
    ctx: Context,
    dispatch: dict[type, list[_AST]],
    config: Config,
    rules: tuple[type[Rule], ...],
) -> list[str]:
    """Run every enabled rule on the nodes of its types in ``dispatch``; returns rule errors."""
    rule_errors: list[str] = []
    named: NamedCalls | None = None
    for rule_cls in rules:
        if not config.code_enabled(rule_cls.code, ctx.path):
            continue
        rule = rule_cls()
        for kind in rule_cls.node_types:
            nodes: Sequence[_AST] = dispatch.get(kind, ())
            if kind is ast.Call and rule_cls.call_names is not None and nodes:
                if named is None:
                    # The module's own index when these are its calls (an editor's incremental
                    # run dispatches only the re-analyzed unit's: its context is not asked for
                    # the module's calls, which it would merge to compare).
                    whole = ctx.whole and nodes is ctx.nodes(ast.Call)
                    named = ctx.named_calls() if whole else NamedCalls(nodes, ctx.imports)  # type: ignore[arg-type]
                nodes = named.calls(rule_cls.call_names)
            for node in nodes:
                try:
                    rule.check(node, ctx)
                except (RecursionError, MemoryError):
                    rule_errors.append(f"{rule_cls.code}: input too deeply nested")
                    break
                except Exception as exc:  # isolate: one rule's bug never hides the others' findings
                    line = getattr(node, "lineno", "?")
                    rule_errors.append(f"{rule_cls.code} crashed at line {line}: {type(exc).__name__}: {exc}")
                    break
    rule_errors.extend(ctx.fix_errors)
    return rule_errors


def block_ranges(tree: ast.Module, source: SourceText) -> list[tuple[int, int]]:
    starts = [statement_start(stmt) for stmt in tree.body]
    ranges = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 1 if i + 1 < len(starts) else source.line_count
        ranges.append((start, end))
    return ranges


def _point(pos: Position) -> Span:
    return Span(pos, Position(pos.line, pos.column + 1))


def syntax_error_report(exc: SyntaxError) -> tuple[str, Span]:
    """A report's error and error span for a module that does not parse."""
    line = exc.lineno or 1
    col = max((exc.offset or 1) - 1, 0)
    return f"syntax error: {exc.msg} (line {line}); analyzed the blocks that parse", Span(
        Position(line, col), Position(line, col + 1)
    )


def _parse(text: str, source: SourceText) -> tuple[ast.Module | None, str | None, Span | None]:
    """Parse the module; on a syntax error, parse what can be parsed block by block."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, type_comments=False), None, None
    except SyntaxError as exc:
        message, span = syntax_error_report(exc)
        return _parse_blocks(text, source, span.start.line), message, span
    except ValueError as exc:  # e.g. lone surrogates, or other source the compiler refuses
        message = f"cannot parse source: {exc}; analyzed the blocks that parse"
    except (RecursionError, MemoryError) as exc:
        message = (
            f"source too deeply nested or too large to parse ({type(exc).__name__}); analyzed the blocks that parse"
        )
    return _parse_blocks(text, source, 0), message, None


def top_level_block_starts(source: SourceText) -> list[int]:
    """Lines (1-based) that start a top-level block, found without parsing: a line whose first
    character is not whitespace or ``#``, and that does not continue the previous block."""
    starts: list[int] = []
    continuing = ("else", "elif", "except", "finally", ")", "]", "}", "case")
    prev_decorator = False
    for lineno in range(1, source.line_count + 1):
        line = source.line(lineno)
        if not line or line[0] in " \t#\f":
            continue
        word = re.match(r"[A-Za-z_)\]}]+", line)
        if word and word.group() in continuing:
            continue
        if not prev_decorator:
            starts.append(lineno)
        prev_decorator = line.startswith("@")
    return starts


def _parse_blocks(text: str, source: SourceText, bad_line: int) -> ast.Module | None:
    starts = top_level_block_starts(source)
    body: list[ast.stmt] = []
    for i, start in enumerate(starts):
        end = starts[i + 1] - 1 if i + 1 < len(starts) else source.line_count
        if start <= bad_line <= end:
            continue
        chunk = text[source.lines_slice(start, end)]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # Padding with newlines keeps line numbers and columns identical to the file's.
                block = ast.parse("\n" * (start - 1) + chunk)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        body.extend(block.body)
    return ast.Module(body=body, type_ignores=[])


def _suppressed_codes(line: str) -> set[str] | None:
    """Codes suppressed on a line; an empty set means all codes; None means no suppression."""
    if "#" not in line:
        return None
    m = _SUPPRESS_RE.search(line)
    if m is None:
        return None
    if not m.group(1):
        return set()
    return {c.upper() for c in re.split(r"[\s,]+", m.group(1)) if c}


def is_suppressed(finding: Finding, source: SourceText) -> bool:
    for lineno in {finding.span.start.line, finding.span.end.line}:
        codes = _suppressed_codes(source.line(lineno))
        if codes is not None and (not codes or finding.code in codes):
            return True
    return False


def postprocess(
    findings: list[Finding], source: SourceText, config: Config, path: str | None = None
) -> tuple[Finding, ...]:
    """What the user sees of the rules' findings: suppressions applied, test files demoted (hint,
    one confidence level lower: their loops rarely run at scale), findings below the configured
    confidence dropped, severities overridden."""
    in_tests = config.tests != "normal" and config.is_test_file(path)
    if in_tests and config.tests == "off":
        return ()
    kept: list[Finding] = []
    for f in findings:
        if is_suppressed(f, source):
            continue
        if in_tests:
            evidence = (
                f"{f.evidence}; in a test file" if f.evidence else "in a test file, whose loops rarely run at scale"
            )
            f = replace(f, severity=Severity.HINT, confidence=f.confidence.lowered(), evidence=evidence)
        if f.confidence.rank < config.confidence.rank:
            continue
        severity = config.severity_for(f.code, f.severity)
        if severity is not f.severity:
            f = replace(f, severity=severity)
        kept.append(f)
    kept.sort(key=lambda f: (f.span.start.line, f.span.start.column, f.code))
    return tuple(kept)


def function_metrics_of(ctx: Context, buckets: dict[type, list[_AST]]) -> tuple[FunctionMetrics, ...]:
    from perfsquad.metrics import function_metrics

    funcs = [*buckets.get(ast.FunctionDef, ()), *buckets.get(ast.AsyncFunctionDef, ())]
    result = [function_metrics(fn, ctx) for fn in funcs]
    result.sort(key=lambda m: (m.span.start.line, m.span.start.column))
    return tuple(result)
