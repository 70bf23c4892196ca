"""Per-function metrics for hover, code lens and JSON: cyclomatic complexity and maintainability
index (radon), loop depth, and the estimated Big-O (:mod:`perfsquad.semantics.complexity`)."""

from __future__ import annotations

import ast

from perfsquad.context import COMPREHENSIONS, LOOPS, Context
from perfsquad.model import FunctionMetrics, Position, Span
from perfsquad.syntax import children


def _qualname(fn: ast.AST, ctx: Context) -> str:
    parts = [fn.name]  # type: ignore[attr-defined]
    parts.extend(
        anc.name for anc in ctx.ancestors(fn) if isinstance(anc, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )
    return ".".join(reversed(parts))


def cyclomatic(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """radon's cyclomatic complexity of one function (its own body, closures included)."""
    from radon.visitors import ComplexityVisitor

    try:
        visitor = ComplexityVisitor.from_ast(fn)
    except RecursionError:
        return -1
    return int(sum(f.complexity for f in visitor.functions) or visitor.complexity)


def maintainability(fn: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context, complexity: int) -> float | None:
    """radon's maintainability index (0-100, higher is easier to maintain) of one function.

    Halstead volume from radon's visitor on the function's tree; source and comment line counts
    from the function's own lines (radon's ``mi_visit`` would re-tokenize the whole module)."""
    from radon.metrics import h_visit_ast, mi_compute

    try:
        volume = float(h_visit_ast(fn).total.volume)
    except (RecursionError, ZeroDivisionError, ValueError):
        return None
    first = min([fn.lineno, *(d.lineno for d in fn.decorator_list)])
    last = fn.end_lineno or fn.lineno
    sloc = comments = 0
    for line in range(first, last + 1):
        text = ctx.source.line(line).strip()
        if not text:
            continue
        if text.startswith("#"):
            comments += 1
        else:
            sloc += 1
    try:
        return round(float(mi_compute(volume, max(complexity, 1), sloc, comments)), 2)
    except (ValueError, ZeroDivisionError):
        return None


def loop_depth(fn: ast.AST, ctx: Context) -> int:
    """The deepest nesting of loops (statements and comprehensions) inside ``fn``."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(fn, 0)]
    while stack:
        node, depth = stack.pop()
        for child in children(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                continue
            d = depth + 1 if isinstance(child, (*LOOPS, *COMPREHENSIONS)) else depth
            deepest = max(deepest, d)
            stack.append((child, d))
    return deepest


def function_metrics(fn: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context) -> FunctionMetrics:
    from perfsquad.semantics.complexity import estimate

    span = ctx.span(fn)
    line = fn.lineno
    text = ctx.source.line(line)
    col = text.find(fn.name, text.find("def") + 3 if "def" in text else 0)
    name_span = Span(Position(line, max(col, 0)), Position(line, max(col, 0) + len(fn.name)))
    cc = cyclomatic(fn)
    big_o, reason = estimate(fn, ctx)
    return FunctionMetrics(
        name=fn.name,
        qualname=_qualname(fn, ctx),
        span=span,
        name_span=name_span,
        cyclomatic=cc,
        loop_depth=loop_depth(fn, ctx),
        complexity=big_o,
        complexity_reason=reason,
        maintainability=maintainability(fn, ctx, cc),
    )
