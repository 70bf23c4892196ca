"""Hover text for findings and functions, and the per-function code lens."""

from __future__ import annotations

from lsprotocol import types

from perfsquad.analyzers import rule_by_code
from perfsquad.docs import rule_doc_url, speedup_line
from perfsquad.model import Finding, FunctionMetrics, Position
from perfsquad.server.conversions import contains
from perfsquad.server.diagnostics import offered_fix
from perfsquad.server.documents import Analysis

SHOW_METRICS_COMMAND = "perfsquad.showFunctionMetrics"


def finding_markdown(finding: Finding) -> str:
    rule = rule_by_code(finding.code)
    if rule is None:
        return f"**{finding.code}** {finding.message}"
    lines = [f"**{rule.code}** `{rule.name}` (perfsquad)", "", finding.message, ""]
    evidence = f": {finding.evidence}" if finding.evidence else ""
    lines.append(f"- **Confidence** {finding.confidence.value}{evidence}")
    lines += [f"- {note}" for note in finding.notes]
    why = rule.doc_sections().get("Why is this bad?", "").strip()
    if why:
        lines += ["**Why is this bad?**", "", why, ""]
    fix = offered_fix(finding)
    if fix is not None:
        lines.append(f"**Fix** ({fix[1].value}): {fix[0]}  ")
    else:
        lines.append("**Fix**: none offered here  ")
    # The finding's own figures: from the table of the interpreter its analysis was configured for,
    # which ``measured_by`` names (perfsquad.calibration).
    speedup = f"Measured: {finding.speedup.describe()}." if finding.speedup else speedup_line(rule)
    lines.append(f"**Speedup**: {speedup}")
    lines += ["", f"[{rule.code} documentation]({rule_doc_url(rule.code)})"]
    return "\n".join(lines)


def metrics_summary(fn: FunctionMetrics) -> str:
    text = f"complexity {fn.cyclomatic} · loops depth {fn.loop_depth}"
    return f"{text} · {fn.complexity}" if fn.complexity else text


def function_markdown(fn: FunctionMetrics) -> str:
    lines = [
        f"**{fn.name}** `{fn.qualname}` (perfsquad)",
        "",
        f"- Cyclomatic complexity: {fn.cyclomatic}",
        f"- Loop nesting depth: {fn.loop_depth}",
    ]
    if fn.complexity:
        reason = f" ({fn.complexity_reason})" if fn.complexity_reason else ""
        lines.append(f"- Estimated complexity: {fn.complexity}{reason}")
    return "\n".join(lines)


def hover_sections(analysis: Analysis, pos: Position) -> tuple[list[str], types.Range | None]:
    """Markdown sections for the findings and function names at ``pos``, and the first one's range."""
    parts: list[str] = []
    first: types.Range | None = None
    for finding in analysis.findings:
        if contains(finding.span, pos):
            parts.append(finding_markdown(finding))
            first = first or analysis.index.range(finding.span)
    for fn in analysis.report.functions:
        if contains(fn.name_span, pos):
            parts.append(function_markdown(fn))
            first = first or analysis.index.range(fn.name_span)
    return parts, first


def make_hover(parts: list[str], rng: types.Range | None, markdown: bool) -> types.Hover | None:
    if not parts:
        return None
    kind = types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText
    return types.Hover(contents=types.MarkupContent(kind=kind, value="\n\n---\n\n".join(parts)), range=rng)


def code_lenses(uri: str, analysis: Analysis) -> list[types.CodeLens]:
    return [
        types.CodeLens(
            range=analysis.index.range(fn.name_span),
            command=types.Command(
                title=metrics_summary(fn), command=SHOW_METRICS_COMMAND, arguments=[uri, fn.qualname]
            ),
        )
        for fn in analysis.report.functions
    ]
