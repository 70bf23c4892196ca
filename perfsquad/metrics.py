"""Per-function metrics for hover and code lens: cyclomatic complexity (radon) and loop depth."""

from __future__ import annotations

import ast

from perfsquad.context import COMPREHENSIONS, LOOPS, Context
from perfsquad.model import FunctionMetrics, Position, Span


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


def loop_depth(fn: ast.AST, ctx: Context) -> int:
    """The deepest nesting of loops (statements and comprehensions) inside ``fn``."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(fn, 0)]
    while stack:
        node, depth = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                continue
            d = depth + 1 if isinstance(child, (*LOOPS, *COMPREHENSIONS)) else depth
            deepest = max(deepest, d)
            stack.append((child, d))
    return deepest


def function_metrics(fn: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context) -> FunctionMetrics:
    span = ctx.span(fn)
    line = fn.lineno
    text = ctx.source.line(line)
    col = text.find(fn.name, text.find("def") + 3 if "def" in text else 0)
    name_span = Span(Position(line, max(col, 0)), Position(line, max(col, 0) + len(fn.name)))
    return FunctionMetrics(
        name=fn.name,
        qualname=_qualname(fn, ctx),
        span=span,
        name_span=name_span,
        cyclomatic=cyclomatic(fn),
        loop_depth=loop_depth(fn, ctx),
    )
