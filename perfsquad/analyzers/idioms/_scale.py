"""Confidence and evidence for the idiom (IDM) rules.

An idiom rewrite saves a constant factor per element (an attribute lookup, a call, a second hash),
never a growth: what makes a finding worth acting on is that the loop runs over many elements.
So a finding's confidence is the loop's evidence of scale (:func:`perfsquad.semantics.scale.loop_scale`)
capped at ``medium`` (an idiom is never a ``high``-confidence performance problem), and ``low``
where nothing shows the loop is large: a literal, ``range(<const>)``, code that runs once at import.

Rules whose rewrite is measured *slower* at small sizes (the calibrated ratio at the smallest size
below 1.0, e.g. ``min()`` against ``sorted()[0]`` at n=10) only pay off when the input is large:
for them plausible but unproven evidence (``medium``: an attribute, a call's result) is not enough
and the finding is ``low`` unless the evidence is strong (a parameter, a query result).
"""

from __future__ import annotations

import ast

from perfsquad.context import Context
from perfsquad.model import Confidence
from perfsquad.rule import Rule
from perfsquad.semantics.scale import Scale, iteration_scale, loop_scale, runs_once

LOW, MEDIUM, HIGH = Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.comprehension)


def _slower_when_small(rule: Rule | type[Rule], ctx: Context) -> tuple[int, float] | None:
    """``(n, ratio)`` at the rule's smallest calibrated size when the rewrite is slower there (on
    the configured interpreter's table, ``ctx.calibration``)."""
    speedup = ctx.calibration.speedup(rule.code)
    if speedup is None or not speedup.sizes:
        return None
    size, ratio = min(speedup.sizes)
    return (size, ratio) if ratio < 1.0 else None


def idiom_confidence(rule: Rule | type[Rule], scale: Scale, ctx: Context) -> Scale:
    """``scale`` as an idiom finding's confidence: capped at ``medium``; ``low`` for unproven
    evidence when the rewrite is measured slower on small inputs."""
    if scale.confidence is HIGH:
        return Scale(MEDIUM, scale.evidence)
    if scale.confidence is MEDIUM:
        slower = _slower_when_small(rule, ctx)
        if slower is not None:
            return Scale(
                LOW,
                f"{scale.evidence}; the rewrite is measured slower at n={slower[0]} ({slower[1]:.2f}x), and"
                " nothing shows the input is large",
            )
    return scale


def loop_confidence(rule: Rule | type[Rule], loop: ast.For | ast.AsyncFor | ast.While | ast.comprehension,
                    ctx: Context) -> Scale:  # fmt: skip
    """The confidence of a finding about ``loop`` itself (an accumulator loop, an index loop)."""
    return idiom_confidence(rule, loop_scale(loop, ctx), ctx)


def enclosing_confidence(rule: Rule | type[Rule], node: ast.AST, ctx: Context, what: str) -> Scale:
    """The confidence of a finding on ``node``, a cost paid once each time it runs (one
    membership test, one call): the scale of the innermost loop around it; outside any loop,
    ``medium`` per call of its function (nothing says how often it is called) and ``low`` where
    it runs once (``what`` names the cost: "one membership test")."""
    loops = [loop for loop in ctx.loops_around(node) if isinstance(loop, _LOOPS)]
    if loops:
        return idiom_confidence(rule, loop_scale(loops[0], ctx), ctx)
    once = runs_once(node, ctx)
    if once is not None:
        return Scale(LOW, f"{what}, {once}")
    fn = ctx.function_of(node)
    return Scale(MEDIUM, f"{what} per call of `{fn.name}`" if fn is not None else what)


def data_confidence(rule: Rule | type[Rule], data: ast.expr, node: ast.AST, ctx: Context) -> Scale:
    """The confidence of a finding whose cost is per element of ``data`` (``sorted(data)[0]``,
    ``filter(lambda..., data)``): what ``data`` is, lowered to ``low`` where the code runs once."""
    scale = iteration_scale(data, ctx)
    once = runs_once(node, ctx)
    if once is not None:
        return Scale(LOW, f"{scale.evidence}; {once}")
    fn = ctx.function_of(node)
    if fn is not None and scale.confidence is not LOW:
        scale = Scale(scale.confidence, f"{scale.evidence}, per call of `{fn.name}`")
    return idiom_confidence(rule, scale, ctx)
