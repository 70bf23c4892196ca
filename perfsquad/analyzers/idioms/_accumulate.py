"""The "accumulator loop" shape shared by the comprehension, join, sum and Counter rules::

    acc = <init>            # the statement right before the loop
    for target in iterable:
        [if condition:]
            <one statement that updates acc>

and the analysis of when replacing it by one expression keeps behaviour.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from perfsquad.context import FUNCTIONS, Context
from perfsquad.memo import MemoKey
from perfsquad.model import FixSafety
from perfsquad.semantics.flow import later_read
from perfsquad.syntax import names_in, walk

_BODY_FIELDS = ("body", "orelse", "finalbody")


def previous_statement(ctx: Context, stmt: ast.stmt) -> ast.stmt | None:
    parent = ctx.parent(stmt)
    if parent is None:
        return None
    for name in _BODY_FIELDS:
        block = getattr(parent, name, None)
        if isinstance(block, list):
            for i, s in enumerate(block):
                if s is stmt:
                    return block[i - 1] if i > 0 else None
    return None


def following_statements(ctx: Context, stmt: ast.stmt) -> list[ast.stmt]:
    parent = ctx.parent(stmt)
    for name in _BODY_FIELDS:
        block = getattr(parent, name, None)
        if isinstance(block, list):
            for i, s in enumerate(block):
                if s is stmt:
                    return block[i + 1 :]
    return []


@dataclass
class AccumulatorLoop:
    init: ast.Assign
    loop: ast.For
    name: str
    update: ast.stmt
    condition: ast.expr | None
    reasons: list[str] = field(default_factory=list)
    """Why a rewrite may change behaviour (empty: none known)."""

    @property
    def target_names(self) -> set[str]:
        return {n.id for n in walk(self.loop.target) if isinstance(n, ast.Name)}


def match_accumulator(ctx: Context, loop: ast.For) -> AccumulatorLoop | None:
    """Match the shape; None if it is not there (including when ``acc`` is read inside the loop)."""
    if loop.orelse or len(loop.body) != 1:
        return None
    if not all(isinstance(n, ast.Name | ast.Tuple | ast.List) for n in walk(loop.target)
               if not isinstance(n, ast.expr_context)):  # fmt: skip
        return None
    stmt = loop.body[0]
    condition: ast.expr | None = None
    if isinstance(stmt, ast.If):
        if stmt.orelse or len(stmt.body) != 1:
            return None
        condition = stmt.test
        stmt = stmt.body[0]
    init = previous_statement(ctx, loop)
    if not (isinstance(init, ast.Assign) and len(init.targets) == 1 and isinstance(init.targets[0], ast.Name)):
        return None
    name = init.targets[0].id
    if name in names_in(loop.target) or name in names_in(loop.iter):
        return None
    if condition is not None and name in names_in(condition):
        return None
    return AccumulatorLoop(init, loop, name, stmt, condition)


def loop_variable_escape(ctx: Context, acc: AccumulatorLoop) -> str | None:
    """Why no one-expression rewrite may replace the loop: the loop variable is read after it.

    A comprehension (or the generator given to ``join``/``sum``/``Counter``) binds its variable
    in its own scope, so after the rewrite nothing binds it in the function any more: a read
    that follows the loop on some path (its next statements, an ``except`` handler or
    ``finally`` around it, the next iteration of an enclosing loop, a closure) would raise
    ``NameError`` or see an older value. Rebinding the name first (``x = ...``, reusing it as the
    next loop's target) makes the read harmless: :func:`perfsquad.semantics.flow.later_read`
    follows every path. None when no read can see the loop's binding."""
    memo = ctx.memo(_ESCAPES, dict)
    if acc.loop in memo:
        return memo[acc.loop]
    message: str | None = None
    for name in sorted(acc.target_names):
        found = later_read(acc.loop, name, ctx.parent)
        if found is not None:
            line = getattr(found.node, "lineno", acc.loop.lineno)
            message = (
                f"no fix: the loop variable `{name}` is read {found.where} (line {line}); a comprehension"
                " does not bind it there, so the rewrite would raise NameError or change that value"
            )
            break
    memo[acc.loop] = message
    return message


_ESCAPES: MemoKey[dict[ast.AST, str | None]] = MemoKey("idioms.loop_variable_escape")


def rewrite_blockers(ctx: Context, acc: AccumulatorLoop, *exprs: ast.expr) -> bool:
    """True when no expression rewrite is possible at all (the finding stays, without a fix)."""
    parts: list[ast.AST] = [acc.loop.target, *exprs]
    if acc.condition is not None:
        parts.append(acc.condition)
    for part in parts:
        for n in walk(part):
            if isinstance(n, ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr):
                return True
    # Class bodies: a comprehension cannot see the class's own names.
    if isinstance(ctx.scope_of(acc.loop), ast.ClassDef):
        return True
    return loop_variable_escape(ctx, acc) is not None


def behaviour_reasons(ctx: Context, acc: AccumulatorLoop) -> list[str]:
    """Edge cases where the one-expression rewrite differs from the loop (a read of the loop
    variable after it blocks the rewrite instead: see :func:`loop_variable_escape`)."""
    reasons: list[str] = []
    scope = ctx.scope_of(acc.loop)
    for anc in ctx.ancestors(acc.loop):
        if isinstance(anc, (*FUNCTIONS, ast.Lambda)):
            break
        if isinstance(anc, ast.Try) or type(anc).__name__ == "TryStar":
            reasons.append(
                f"inside `try`: if the loop raises midway, `{acc.name}` would be left unbound"
                " instead of partially filled"
            )
            break
    if isinstance(scope, ast.Module):
        reasons.append("at module level the loop variable is a module attribute the comprehension would not define")
    for n in walk(scope):
        if isinstance(n, ast.Global | ast.Nonlocal) and acc.name in n.names:
            reasons.append(f"`{acc.name}` is declared {type(n).__name__.lower()}")
            break
    return reasons


def refusal_notes(ctx: Context, acc: AccumulatorLoop) -> tuple[str, ...]:
    """The finding's note when the rewrite is refused because the loop variable is read later."""
    escape = loop_variable_escape(ctx, acc)
    return (escape,) if escape is not None else ()


def safety_for(reasons: list[str], base: FixSafety = FixSafety.SAFE) -> FixSafety:
    return FixSafety.UNSAFE if reasons else base


def comprehension_clause(ctx: Context, acc: AccumulatorLoop) -> str:
    """`for target in iterable [if condition]`, from the verbatim source."""
    target = ctx.text(acc.loop.target)
    if isinstance(acc.loop.target, ast.Tuple) and not target.startswith("("):
        target = target  # a bare tuple target is fine in a comprehension
    iterable = ctx.text(acc.loop.iter)
    if isinstance(acc.loop.iter, ast.Lambda | ast.IfExp | ast.Tuple) and not iterable.startswith("("):
        iterable = f"({iterable})"
    clause = f"for {target} in {iterable}"
    if acc.condition is not None:
        cond = ctx.text(acc.condition)
        if isinstance(acc.condition, ast.Lambda | ast.IfExp):
            cond = f"({cond})"
        clause += f" if {cond}"
    return clause


def element(ctx: Context, expr: ast.expr) -> str:
    text = ctx.text(expr)
    if isinstance(expr, ast.Tuple) and not text.startswith("("):
        return f"({text})"
    return text


def is_simple(node: ast.expr) -> bool:
    """Evaluating it has no side effects we could reorder: names, constants, tuples of them."""
    if isinstance(node, ast.Name | ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(is_simple(e) for e in node.elts)
    return False
