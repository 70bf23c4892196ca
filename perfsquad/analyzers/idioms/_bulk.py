"""Shared by the rules that replace a loop of single-element calls by one bulk call (IDM016
``ys.extend(xs)``, IDM019 ``s.update(xs)``) and by IDM018 (repeated appends):

    for target in iterable:
        name.method(arg)

what the shape is, and why a rewrite may change behaviour.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfsquad.analyzers.idioms._accumulate import previous_statement
from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.context import FUNCTIONS, Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.semantics.flow import later_read
from perfsquad.semantics.scale import Scale
from perfsquad.syntax import names_in, walk


@dataclass(frozen=True)
class CallLoop:
    loop: ast.For
    receiver: ast.Name
    method: str
    arg: ast.expr


def single_call(stmt: ast.stmt, methods: frozenset[str]) -> tuple[ast.Name, str, ast.expr] | None:
    """``(name, method, arg)`` when ``stmt`` is exactly ``name.method(arg)`` for one of ``methods``."""
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return None
    call = stmt.value
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr in methods and isinstance(func.value, ast.Name)):
        return None
    if len(call.args) != 1 or call.keywords or isinstance(call.args[0], ast.Starred):
        return None
    return func.value, func.attr, call.args[0]


def match_call_loop(loop: ast.For, methods: frozenset[str]) -> CallLoop | None:
    """The loop whose whole body is one ``name.method(arg)`` (no ``if``, no ``else``), with
    ``name`` neither the loop's target nor read by its iterable (``for x in ys: ys.append(x)``
    never ends; ``ys.extend(ys)`` does)."""
    if loop.orelse or len(loop.body) != 1:
        return None
    found = single_call(loop.body[0], methods)
    if found is None:
        return None
    receiver, method, arg = found
    if receiver.id in names_in(loop.target) | names_in(loop.iter):
        return None
    if receiver.id in names_in(arg):
        return None  # the element depends on the container being filled
    return CallLoop(loop, receiver, method, arg)


def is_self(ctx: Context, name: ast.Name) -> bool:
    """``name`` is the first parameter of a method (``self``/``cls``): the class is a collection
    implementing its bulk method (``extend``, ``update``) by its single-element one, and the
    rewrite would call itself."""
    func = ctx.function_of(name)
    if func is None or not isinstance(func, FUNCTIONS):
        return False
    params = [*func.args.posonlyargs, *func.args.args]
    if not params or params[0].arg != name.id:
        return False
    # A method, or a function defined to become one (SQLAlchemy's `def extend(fn): def extend(self, ...)`).
    return isinstance(ctx.parent(func), ast.ClassDef) or name.id in ("self", "cls")


def known_scale(ctx: Context, receiver: ast.Name, kind: str, scale: Scale) -> Scale:
    """A receiver not known to be a ``kind`` may be any class with an ``append``/``add`` and no
    bulk method (an ``OGRGeometry``, a solution set): ``low``, shown with ``--confidence low``."""
    if ctx.type_of(receiver) == kind or scale.confidence is Confidence.LOW:
        return scale
    return Scale(Confidence.LOW, f"{scale.evidence}; `{receiver.id}` is not known to be a `{kind}` (its class may"
                                 f" have no bulk method)")  # fmt: skip


def created_empty_before(ctx: Context, loop: ast.For, name: str, empty: type[ast.expr] | str) -> bool:
    """The statement right before the loop creates ``name`` empty: the comprehension rules
    (IDM001, IDM002) report that shape, so the bulk-call rules leave it to them."""
    init = previous_statement(ctx, loop)
    if not (isinstance(init, ast.Assign) and len(init.targets) == 1 and isinstance(init.targets[0], ast.Name)):
        return False
    if init.targets[0].id != name:
        return False
    value = init.value
    if isinstance(empty, type):
        return isinstance(value, empty) and not getattr(value, "elts", getattr(value, "keys", [None]))
    return isinstance(value, ast.Call) and not value.args and not value.keywords and (
        ctx.qualified_name(value.func) == f"builtins.{empty}"
    )


def target_escape(ctx: Context, loop: ast.For) -> str | None:
    """Why the loop cannot disappear: its variable is read after it on some path (the bulk
    call binds nothing, so that read would raise ``NameError`` or see an older value)."""
    for name in sorted(names_in(loop.target)):
        found = later_read(loop, name, ctx.parent)
        if found is not None:
            line = getattr(found.node, "lineno", loop.lineno)
            return (
                f"no fix: the loop variable `{name}` is read {found.where} (line {line}); without the loop"
                " nothing binds it"
            )
    return None


def context_reasons(
    ctx: Context, node: ast.stmt, receiver: ast.Name, kind: str, loop_variable: bool = True
) -> list[str]:
    """What the rewrite cannot prove about its surroundings: the container's type (a custom
    ``append``/``add`` may do more than one element at a time), a ``try`` around it, module level."""
    reasons: list[str] = []
    name = receiver.id
    if ctx.type_of(receiver) != kind:
        reasons.append(f"`{name}` is not known to be a `{kind}` (its `{'extend' if kind == 'list' else 'update'}`"
                       " may differ from repeated single calls)")  # fmt: skip
    for anc in ctx.ancestors(node):
        if isinstance(anc, (*FUNCTIONS, ast.Lambda)):
            break
        if isinstance(anc, ast.Try) or type(anc).__name__ == "TryStar":
            reasons.append("inside `try`: an error midway is not proven to leave the same elements behind")
            break
    if loop_variable and isinstance(ctx.scope_of(node), ast.Module | ast.ClassDef):
        reasons.append("outside a function the loop variable is a module or class attribute the rewrite would not set")
    return reasons


def titled(rule: Any, reasons: list[str]) -> tuple[str, FixSafety]:
    """The fix title (with the reasons it is unsafe, if any) and its safety."""
    title = (rule.fix_title or "") + (" (unsafe: " + "; ".join(reasons) + ")" if reasons else "")
    return title, FixSafety.UNSAFE if reasons else FixSafety.SAFE


def report_bulk_loop(rule: Any, ctx: Context, found: CallLoop, kind: str, message: str,
                     new_code: Callable[[], str | None]) -> None:  # fmt: skip
    """Report ``found`` (a loop of single-element calls on a ``kind``) with the fix replacing it by
    ``new_code()``: refused when the loop variable is read later or the loop awaits, yields or
    binds with ``:=``; unsafe for the reasons of :func:`context_reasons`."""
    node = found.loop
    escape = target_escape(ctx, node)

    def fix() -> Fix | None:
        if escape is not None or any(isinstance(n, ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr)
                                     for n in walk(node)):  # fmt: skip
            return None
        code = new_code()
        if code is None:
            return None
        title, safety = titled(rule, context_reasons(ctx, node, found.receiver, kind))
        return replace_statements(ctx, node, node, code, title, safety)

    scale = known_scale(ctx, found.receiver, kind, loop_confidence(rule, node, ctx))
    ctx.report(
        rule,
        ctx.header_span(node),
        message,
        fix=fix,
        notes=(escape,) if escape else (),
        confidence=scale.confidence,
        evidence=scale.evidence,
    )
