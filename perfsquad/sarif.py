"""SARIF 2.1.0 output for code-scanning dashboards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfsquad import __version__
from perfsquad.analyzers import RULES
from perfsquad.docs import rule_doc_url
from perfsquad.model import Confidence, FileReport, Severity, Span

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note", Severity.HINT: "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


_RANKS = {Confidence.HIGH: 90.0, Confidence.MEDIUM: 60.0, Confidence.LOW: 30.0}


def _region(start_line: int, start_col: int, end_line: int, end_col: int) -> dict[str, int]:
    return {"startLine": start_line, "startColumn": start_col + 1, "endLine": end_line, "endColumn": end_col + 1}


def _regions(report: FileReport) -> Callable[[Span], dict[str, Any]]:
    """The SARIF region of a span of ``report``'s file. For a notebook, the region is where the
    code sits in the ``.ipynb`` file's own text (the JSON string of the cell's source line, its
    columns counted past the JSON escapes): SARIF regions point into the artifact as stored, which
    is what code-scanning viewers display. The cell travels in the region's ``properties``:
    ``cell`` (0-based index in the notebook's cells), ``cellId``, and ``cellRegion``, the span
    within the cell (1-based lines and columns)."""
    if not report.cells:
        return lambda s: _region(s.start.line, s.start.column, s.end.line, s.end.column)
    from perfsquad import notebook

    try:
        raw = Path(report.path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raw = ""

    def region(span: Span) -> dict[str, Any]:
        located = notebook.span_in_cell(report.cells, span)
        if located is None:
            return _region(span.start.line, span.start.column, span.end.line, span.end.column)
        cell, inner = located
        try:
            start = notebook.raw_position(raw, cell.index, inner.start) if raw else None
            end = notebook.raw_position(raw, cell.index, inner.end) if raw else None
        except (notebook.NotebookError, ValueError):
            start = end = None
        data: dict[str, Any] = {}
        if start is not None and end is not None:
            data = _region(start.line, start.column, end.line, end.column)
        data["properties"] = {
            "cell": cell.index,
            "cellId": cell.id,
            "cellRegion": _region(inner.start.line, inner.start.column, inner.end.line, inner.end.column),
        }
        return data

    return region


def sarif_log(reports: list[FileReport]) -> dict[str, Any]:
    rules = []
    index = {}
    for i, rule in enumerate(RULES):
        index[rule.code] = i
        sections = rule.doc_sections()
        rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.message},
                "fullDescription": {"text": sections.get("What it does", rule.message)},
                "help": {
                    "text": sections.get("Why is this bad?", ""),
                    "markdown": sections.get("Why is this bad?", ""),
                },
                "helpUri": rule_doc_url(rule.code),
                "properties": {
                    "family": rule.family().value,
                    "fix": rule.fix_safety.value if rule.fix_safety else None,
                },
            }
        )
    results = []
    for report in reports:
        uri = Path(report.path).as_posix()
        region = _regions(report)
        for f in report.findings:
            result: dict[str, Any] = {
                "ruleId": f.code,
                "ruleIndex": index.get(f.code, -1),
                "level": _LEVELS[f.severity],
                "message": {"text": f.message},
                # SARIF's rank (0-100, higher = more important) carries the confidence; the words
                # and the evidence travel as properties for viewers that do not read rank.
                "rank": _RANKS[f.confidence],
                "properties": {"confidence": f.confidence.value, "evidence": f.evidence},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri},
                            "region": region(f.span),
                        }
                    }
                ],
            }
            if f.fix is not None:
                result["fixes"] = [
                    {
                        "description": {"text": f"{f.fix.title} [{f.fix.safety.value}]"},
                        "artifactChanges": [
                            {
                                "artifactLocation": {"uri": uri},
                                "replacements": [
                                    {
                                        "deletedRegion": region(e.span),
                                        "insertedContent": {"text": e.content},
                                    }
                                    for e in f.fix.edits
                                ],
                            }
                        ],
                    }
                ]
            results.append(result)
    notifications = [
        {
            "level": "error",
            "message": {"text": r.error},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": Path(r.path).as_posix()}}}],
        }
        for r in reports
        if r.error
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "perfsquad",
                "version": __version__,
                "informationUri": rule_doc_url("README"),
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if notifications:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": notifications}]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
