"""Hover text for findings and functions, and the per-function code lens.

A function gets a lens only when it says something: an estimated Big-O of degree 2 or more
(``O(n^2)``, ``O(n·m)``, exponential); clicking it shows the function's facts as a message
(:data:`SHOW_METRICS_COMMAND`).
"""

from __future__ import annotations

import re

from lsprotocol import types

from perfsquad.analyzers import rule_by_code
from perfsquad.docs import rule_doc_url, speedup_line
from perfsquad.model import Finding, FixSafety, FunctionMetrics, Position
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
        safety = " ".join(rule.doc_sections().get("Fix safety", "").split())
        if fix[1] is not FixSafety.SAFE and safety:  # what an unsafe fix can change, from the rule's doc
            lines += ["", f"**What can change**: {safety}", ""]
    else:
        lines.append("**Fix**: none offered here  ")
    # The finding's own figures: from the table of the interpreter its analysis was configured for,
    # which ``measured_by`` names (perfsquad.calibration).
    speedup = f"Measured: {finding.speedup.describe()}." if finding.speedup else speedup_line(rule)
    lines.append(f"**Speedup**: {speedup}")
    lines += ["", f"[{rule.code} documentation]({rule_doc_url(rule.code)})"]
    return "\n".join(lines)


def degree(big_o: str | None) -> int:
    """The polynomial degree of an estimate such as ``O(n^2·d + m log m)`` (exponential: 99; none: 0)."""
    if not big_o:
        return 0
    best = 0
    for term in big_o.removeprefix("O(").removesuffix(")").split(" + "):
        if "2^" in term:
            return 99
        product = re.sub(r"log \w+(\^\d+)?", "", term).strip()
        total = 0
        for factor in filter(None, product.split("·")):
            base, _, power = factor.partition("^")
            total += int(power) if base.strip() not in ("", "1") and power.isdigit() else int(base.strip() not in ("", "1"))
        best = max(best, total)
    return best


def lens_worthy(fn: FunctionMetrics) -> bool:
    """A function whose estimated cost grows at least quadratically (its lens says something)."""
    return degree(fn.complexity) >= 2


def metrics_summary(fn: FunctionMetrics) -> str:
    text = f"cyclomatic {fn.cyclomatic} · loop depth {fn.loop_depth}"
    return f"estimated {fn.complexity} · {text}" if fn.complexity else text


def function_text(fn: FunctionMetrics, facts: list[str]) -> str:
    """One function's facts as plain text (the lens's click shows it as a message)."""
    reason = f" ({fn.complexity_reason})" if fn.complexity and fn.complexity_reason else ""
    lines = [f"{fn.qualname}: {metrics_summary(fn)}{reason}", *facts]
    return "\n".join(lines)


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


_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def plain_text(markdown: str) -> str:
    """The hover's Markdown for a client that takes only plain text: no ``**``, no backticks,
    links as ``text: url``, rules as a line of dashes."""
    text = _LINK.sub(lambda m: f"{m.group(1)}: {m.group(2)}", markdown)
    text = text.replace("**", "").replace("`", "")
    return "\n".join(line.rstrip() for line in text.splitlines())


def make_hover(parts: list[str], rng: types.Range | None, markdown: bool) -> types.Hover | None:
    """``parts`` (Markdown) joined; plain text when the client's hover takes no Markdown."""
    if not parts:
        return None
    value = "\n\n---\n\n".join(parts)
    if not markdown:
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.PlainText, value=plain_text(value)),
                           range=rng)  # fmt: skip
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=value), range=rng)


def code_lenses(uri: str, analysis: Analysis) -> list[types.CodeLens]:
    """A lens on each function estimated O(n^2) or worse; clicking it shows the function's facts."""
    return [
        types.CodeLens(
            range=analysis.index.range(fn.name_span),
            command=types.Command(
                title=metrics_summary(fn), command=SHOW_METRICS_COMMAND, arguments=[uri, fn.qualname]
            ),
        )
        for fn in analysis.report.functions
        if lens_worthy(fn)
    ]
