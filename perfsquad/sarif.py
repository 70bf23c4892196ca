"""SARIF 2.1.0 output for code-scanning dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfsquad import __version__
from perfsquad.analyzers import RULES
from perfsquad.docs import rule_doc_url
from perfsquad.model import Confidence, FileReport, Severity

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note", Severity.HINT: "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


_RANKS = {Confidence.HIGH: 90.0, Confidence.MEDIUM: 60.0, Confidence.LOW: 30.0}


def _region(start_line: int, start_col: int, end_line: int, end_col: int) -> dict[str, int]:
    return {"startLine": start_line, "startColumn": start_col + 1, "endLine": end_line, "endColumn": end_col + 1}


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
                            "region": _region(
                                f.span.start.line, f.span.start.column, f.span.end.line, f.span.end.column
                            ),
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
                                        "deletedRegion": _region(
                                            e.span.start.line, e.span.start.column, e.span.end.line, e.span.end.column
                                        ),
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
