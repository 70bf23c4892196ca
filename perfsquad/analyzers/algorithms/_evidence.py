"""Evidence of scale for the ALG rules (issue #16): how often the code repeats, and how large the
container it works on may get, as ``semantics.scale.Scale`` values a finding reports as its
``confidence`` and one-line ``evidence``.

An ALG finding claims a cost that grows twice: with the number of times a loop repeats the code,
and with the size of the container each repetition scans, copies or sorts. Both need evidence; the
finding is as sure as the weaker of the two (``weakest``)."""

from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._shared import hot_loops, name_uses
from perfsquad.context import COMPREHENSIONS, FUNCTIONS, Context
from perfsquad.model import Confidence
from perfsquad.semantics.scale import Scale, iteration_scale, loop_scale, runs_once, strongest, weakest

_GROW = frozenset({"append", "extend", "insert", "appendleft", "extendleft", "add", "update"})
_BATCH = frozenset({"extend", "extendleft", "update"})


def repetition(ctx: Context, loops: list[ast.AST]) -> Scale:
    """How often code inside ``loops`` (``hot_loops``, innermost first) runs: the strongest of
    them, since the count is their product."""
    scales: list[Scale] = []
    for loop in loops:
        if isinstance(loop, COMPREHENSIONS):
            scales.extend(loop_scale(g, ctx) for g in loop.generators)
        elif isinstance(loop, ast.For | ast.AsyncFor | ast.While):
            scales.append(loop_scale(loop, ctx))
    if not scales:
        return Scale(Confidence.LOW, "not repeated by a loop")
    return strongest(*scales)


def growth_loops(ctx: Context, name: str, node: ast.AST) -> list[ast.AST]:
    """The loops that grow the local list ``name`` (``append``/``extend``/``insert``/``+=``/
    ``name = name + ...``) in the function around ``node``."""
    fn = ctx.function_of(node)
    if fn is None:
        return []
    uses = name_uses(ctx, fn).get(name)
    if uses is None or uses.escapes_scope:
        return []
    found: list[ast.AST] = []
    sites: list[ast.AST] = []
    for load in uses.loads:
        parent = ctx.parent(load)
        if isinstance(parent, ast.Attribute) and parent.attr in _GROW:
            call = ctx.parent(parent)
            if isinstance(call, ast.Call) and call.func is parent:
                sites.append(call)
        elif isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.Add) and parent.left is load:
            stmt = ctx.parent(parent)
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
                sites.append(stmt)  # name = name + part
    sites.extend(b for b in uses.bindings if isinstance(b, ast.AugAssign))
    for site in sites:
        for loop in hot_loops(ctx, site):
            if not any(loop is seen for seen in found):
                found.append(loop)
    return found


def container(ctx: Context, name: ast.Name, loops: list[ast.AST]) -> Scale:
    """How large the list or tuple ``name`` may get: what it was built from
    (``semantics.scale.iteration_scale`` follows its bindings), or the loops that grow it (a list
    filled per element of a parameter has the parameter's size)."""
    built = iteration_scale(name, ctx)
    grown = growth_loops(ctx, name.id, name)
    if grown:
        by_loops = repetition(ctx, grown)
        if by_loops.confidence.rank > built.confidence.rank:
            return Scale(by_loops.confidence, f"grows in a loop that {_loop_phrase(by_loops.evidence)}")
    return Scale(built.confidence, built.evidence.removeprefix("iterates "))


def searched(ctx: Context, name: ast.Name, loops: list[ast.AST], verb: str = "searches") -> Scale:
    """The scale of scanning the container ``name`` once per iteration of ``loops``: the weaker
    of the container's size and the loops' repetition, with both in the evidence."""
    size = container(ctx, name, loops)
    repeats = repetition(ctx, loops)
    low = weakest(size, repeats)
    phrase = _loop_phrase(repeats.evidence)
    if size.evidence == f"grows in a loop that {phrase}":  # the loop that scans it fills it: say it once
        evidence = f"{verb} `{name.id}`, which grows in the loop that {phrase}"
    else:
        evidence = f"{verb} `{name.id}` ({size.evidence}) in a loop that {phrase}"
    return on_error_path(ctx, name, Scale(low.confidence, evidence))


def repeated(ctx: Context, node: ast.AST, loops: list[ast.AST], what: str) -> Scale:
    """The scale of code repeated by ``loops``: ``what`` happens in a loop that ..."""
    repeats = repetition(ctx, loops)
    return on_error_path(ctx, node, Scale(repeats.confidence, f"{what} in a loop that {_loop_phrase(repeats.evidence)}"))


def on_error_path(ctx: Context, node: ast.AST, scale: Scale) -> Scale:
    """One level less sure when ``node`` is in an ``except`` handler of its function: it runs when
    an error happened (collecting messages, building a report), not on every pass of the loop."""
    for anc in ctx.ancestors(node):
        if isinstance(anc, (*FUNCTIONS, ast.Lambda, ast.ClassDef)):
            break
        if isinstance(anc, ast.ExceptHandler):
            return Scale(scale.confidence.lowered(), f"{scale.evidence}; on the error path (an `except` handler)")
    return scale


def once_note(ctx: Context, node: ast.AST) -> Scale | None:
    """``low`` when ``node`` runs once per process (at import, behind a lazy initialiser)."""
    why = runs_once(node, ctx)
    return Scale(Confidence.LOW, why) if why is not None else None


def _loop_phrase(evidence: str) -> str:
    """A loop's evidence as the end of "in a loop that ..."."""
    if evidence.startswith("iterates "):
        return evidence
    if evidence.startswith("a `while` loop: "):
        return "is a `while` loop, " + evidence.removeprefix("a `while` loop: ")
    return "runs: " + evidence
