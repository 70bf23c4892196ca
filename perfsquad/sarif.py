"""SARIF 2.1.0 output for code-scanning dashboards (GitHub code scanning, Azure DevOps, VS Code's
SARIF viewer). The tests validate it against the OASIS 2.1.0 schema (tests/data/).

* Each rule carries its documentation: ``help`` is the rule's doc (``text``: the docstring;
  ``markdown``: the rule's page as in docs/rules/), ``helpUri`` its published page.
* Each result carries ``partialFingerprints["perfsquadFindingHash/v1"]``: a hash of the rule and the
  code the finding points at (its line's text, whitespace trimmed), plus the number of earlier
  findings of the file with the same hash. Lines added, removed or edited elsewhere in the file
  (above the finding, too) keep it, so a dashboard keeps tracking one alert instead of closing it
  and opening a new one; editing the finding's own line changes it.
* A fix is a SARIF ``fix``: one ``artifactChange`` of the file with its ``replacements``.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from perfsquad import __version__
from perfsquad.analyzers import RULES
from perfsquad.docs import rule_markdown, rule_web_url
from perfsquad.fixes import minimal_edit
from perfsquad.model import Confidence, Edit, FileReport, NotebookCell, Severity, Span
from perfsquad.source import SourceText

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note", Severity.HINT: "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


_RANKS = {Confidence.HIGH: 90.0, Confidence.MEDIUM: 60.0, Confidence.LOW: 30.0}
FINGERPRINT = "perfsquadFindingHash/v1"
PROJECT_URL = "https://github.com/perfsquad/perfsquad"


def _read_text(path: str) -> str:
    """A checked file's text as SARIF positions count it ("" when it cannot be read any more)."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""


def _module_lines(report: FileReport, raw: str) -> list[str]:
    """The lines findings' positions count in: the file's, or a notebook's code cells as one module."""
    if report.cells:
        from perfsquad import notebook

        try:
            raw = notebook.virtual_module(notebook.read_cells(raw)).text
        except (notebook.NotebookError, ValueError):
            return []
    return raw.splitlines()


def fingerprints(report: FileReport, raw: str) -> list[str]:
    """One stable ``partialFingerprints`` value per finding of ``report`` (the module docstring),
    ``raw`` being the file's text."""
    lines = _module_lines(report, raw)
    seen: dict[str, int] = {}
    out = []
    for f in report.findings:
        row = f.span.start.line - 1
        text = " ".join(lines[row].split()) if 0 <= row < len(lines) else ""
        digest = hashlib.sha256(f"{f.code}\0{text}".encode()).hexdigest()[:32]
        seen[digest] = seen.get(digest, 0) + 1
        out.append(f"{digest}:{seen[digest]}")
    return out


def notebook_replacements(raw: str, cells: Sequence[NotebookCell], edits: Sequence[Edit]) -> list[dict[str, Any]] | None:
    """A notebook fix as SARIF replacements of the ``.ipynb`` text: the edits applied to their cells'
    sources, the sources written back in the file's JSON layout (``notebook.splice``, as ``--fix``
    does), and the changed stretch of the file as one replacement, its inserted text JSON-escaped as
    the file needs. None when an edit leaves its cell (``--fix`` never applies such a fix)."""
    from perfsquad import notebook

    by_cell: dict[int, list[tuple[Span, str]]] = {}
    for edit in edits:
        start, end = notebook.in_cell(cells, edit.span.start), notebook.in_cell(cells, edit.span.end)
        if start is None or end is None or start[0].index != end[0].index:
            return None
        by_cell.setdefault(start[0].index, []).append((Span(start[1], end[1]), edit.content))
    try:
        sources = {c.index: c.source for c in notebook.read_cells(raw)}
        fixed = {}
        for index, items in by_cell.items():
            text = sources[index]
            for span, content in sorted(items, key=lambda item: (item[0].start.line, item[0].start.column), reverse=True):
                cell = SourceText.from_text(text)
                text = text[: cell.offset(span.start)] + content + text[cell.offset(span.end) :]
            fixed[index] = text
        new = notebook.splice(raw, fixed)
    except (notebook.NotebookError, KeyError, ValueError):
        return None
    change = minimal_edit(SourceText.from_text(raw), 0, len(raw), new)
    a, b = change.span.start, change.span.end
    return [{"deletedRegion": _region(a.line, a.column, b.line, b.column), "insertedContent": {"text": change.content}}]


def _region(start_line: int, start_col: int, end_line: int, end_col: int) -> dict[str, int]:
    return {"startLine": start_line, "startColumn": start_col + 1, "endLine": end_line, "endColumn": end_col + 1}


def _regions(report: FileReport, raw: str) -> Callable[[Span], dict[str, Any]]:
    """The SARIF region of a span of ``report``'s file. For a notebook, the region is where the
    code sits in the ``.ipynb`` file's own text (the JSON string of the cell's source line, its
    columns counted past the JSON escapes): SARIF regions point into the artifact as stored, which
    is what code-scanning viewers display. The cell travels in the region's ``properties``:
    ``cell`` (0-based index in the notebook's cells), ``cellId``, and ``cellRegion``, the span
    within the cell (1-based lines and columns)."""
    if not report.cells:
        return lambda s: _region(s.start.line, s.start.column, s.end.line, s.end.column)
    from perfsquad import notebook

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
                "help": {"text": inspect.cleandoc(rule.__doc__ or "") or rule.message, "markdown": rule_markdown(rule)},
                "helpUri": rule_web_url(rule.code),
                "properties": {
                    "family": rule.family().value,
                    "fix": rule.fix_safety.value if rule.fix_safety else None,
                },
            }
        )
    results = []
    for report in reports:
        uri = Path(report.path).as_posix()
        raw = _read_text(report.path) if report.findings else ""
        region = _regions(report, raw)
        for f, fingerprint in zip(report.findings, fingerprints(report, raw), strict=True):
            result: dict[str, Any] = {
                "ruleId": f.code,
                "ruleIndex": index.get(f.code, -1),
                "level": _LEVELS[f.severity],
                "message": {"text": f.message},
                # SARIF's rank (0-100, higher = more important) carries the confidence; the words
                # and the evidence travel as properties for viewers that do not read rank.
                "rank": _RANKS[f.confidence],
                "partialFingerprints": {FINGERPRINT: fingerprint},
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
            if f.fix is not None and not f.fix.edits:
                # A display-only fix without edits is advice: SARIF's fix needs a replacement.
                result["properties"]["suggestion"] = f"{f.fix.title} [{f.fix.safety.value}]"
            elif f.fix is not None:
                if report.cells:
                    replacements = notebook_replacements(raw, report.cells, f.fix.edits)
                else:
                    replacements = [
                        {"deletedRegion": region(e.span), "insertedContent": {"text": e.content}} for e in f.fix.edits
                    ]
                if replacements:
                    result["fixes"] = [
                        {
                            "description": {"text": f"{f.fix.title} [{f.fix.safety.value}]"},
                            "artifactChanges": [{"artifactLocation": {"uri": uri}, "replacements": replacements}],
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
                "informationUri": PROJECT_URL,
                "rules": rules,
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if notifications:
        run["invocations"] = [{"executionSuccessful": True, "toolExecutionNotifications": notifications}]
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
