"""What the vectorization rules share: numeric type facts, libcst-built rewrites, the numpy import,
and the measured speedup for the nearest calibrated size (shown as a note on every finding).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from perfsquad.context import Context
from perfsquad.fixes import _import_insertion_line, _name_bound, replace_node, replace_statements
from perfsquad.fixes.cst import cst
from perfsquad.memo import MemoKey, keep
from perfsquad.model import Confidence, Edit, Fix, FixSafety, Position, Span, Speedup
from perfsquad.semantics.bindings import ASSIGN, PARAM, scope_bindings, scope_body_nodes
from perfsquad.semantics.scale import Scale, iteration_scale, loop_scale, runs_once, strongest
from perfsquad.semantics.types import (
    NDARRAY,
    NUMERIC_MATRICES,
    NUMERIC_VECTORS,
    UNKNOWN,
    function_return_types,
    infer_numeric_types,
    numeric_value_type,
)
from perfsquad.semantics.vectors import (
    SIMILARITY_CALLS,
    distance_operands,
    dot_operands,
    indexed,
    is_builtin,
    is_zip_pair,
    similarity_kind,
)
from perfsquad.syntax import names_in, walk

if TYPE_CHECKING:
    from perfsquad.rule import Rule

__all__ = [
    "NDARRAY", "NUMERIC_MATRICES", "NUMERIC_VECTORS", "SIMILARITY_CALLS", "UNKNOWN", "distance_operands",
    "dot_operands", "is_builtin", "is_zip_pair", "names_in", "similarity_kind",
]  # fmt: skip

VECTORS = NUMERIC_VECTORS | {NDARRAY}
"""Numeric types a 1-D NumPy rewrite accepts."""
MATRICES = NUMERIC_MATRICES | {NDARRAY}

# -- numeric types of expressions ------------------------------------------------------------------


_NUMERIC: MemoKey[dict[int, dict[str, str]]] = MemoKey("vectorize.numeric")
"""Numeric types of each scope's names, by the scope's id."""
_RETURNS: MemoKey[dict[str, str]] = MemoKey("vectorize.returns")
"""The module's functions' numeric return types: carried over an edit as they are (the rules'
``module_facts`` send any edit that could change them to a whole-file analysis)."""


def _scope_numeric(ctx: Context, scope: ast.AST) -> dict[str, str]:
    cache = ctx.memo(_NUMERIC, dict)
    types = cache.get(id(scope))
    if types is None:
        types = infer_numeric_types(scope, ctx.imports, _returns(ctx))
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            for name in numeric_by_use(ctx, scope):
                types.setdefault(name, "list[float]")
        cache[id(scope)] = types
    return types


_FLOAT_FUNCTIONS = frozenset({"math.sqrt", "math.exp", "math.log", "math.log1p", "math.expm1", "math.fsum"})
"""``math`` functions that convert their argument to a float: what reaches them is a number (a
symbolic or object value raises there)."""


def numeric_by_use(ctx: Context, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Unannotated parameters of ``fn`` that its own code proves are sequences of numbers.

    A parameter is numeric when it is an operand of a dot product or a squared distance of two
    different vectors (``sum(x * y for x, y in zip(a, b))``, also with ``strict=``) whose value, directly or
    through a local name bound once, is passed to ``math.sqrt``/``math.exp``/``math.log`` (they
    take floats only) or divided by (or divides) such a value: the cosine helper's
    ``dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(...))``. A dot product alone is not
    evidence (symbolic algebra multiplies and sums objects), nor a lone norm of one sequence (what is
    compared pairwise is what a matrix product replaces), nor an annotation of another kind or any
    other binding of the parameter.
    """
    params = {
        a.arg
        for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)
        if a.annotation is None or numeric_annotation_unknown(ctx, a.annotation)
    }
    if not params:
        return set()
    # (a screen: without a float function or a division there is no evidence to look for)
    sites = [
        node
        for node in walk(fn)
        if (isinstance(node, ast.Call) and node.args and ctx.qualified_name(node.func) in _FLOAT_FUNCTIONS)
        or (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div))
    ]
    if not sites:
        return set()
    bindings = scope_bindings(fn)
    rebound = {b.name for b in bindings if b.how != PARAM}
    params -= rebound
    if not params:
        return set()
    values: dict[str, ast.expr] = {}
    counts: dict[str, int] = {}
    for b in bindings:
        counts[b.name] = counts.get(b.name, 0) + 1
        if b.how == ASSIGN and isinstance(b.node, ast.Assign) and len(b.node.targets) == 1:
            values[b.name] = b.node.value
    single = {name: value for name, value in values.items() if counts[name] == 1}

    def operands_in(expr: ast.expr, depth: int = 0) -> list[ast.expr]:
        """The operands of the dot products / squared distances ``expr`` computes, through local names."""
        found: list[ast.expr] = []
        for node in walk(expr):
            if isinstance(node, ast.Call):
                pair = dot_operands(ctx, node) or distance_operands(ctx, node)
                if pair is not None and ctx.text(pair[0]) != ctx.text(pair[1]):
                    found.extend(pair)
            elif isinstance(node, ast.Name) and depth < 3 and node.id in single:
                found.extend(operands_in(single[node.id], depth + 1))
        return found

    def floats_in(expr: ast.expr, depth: int = 0) -> bool:
        """``expr`` holds a float function's result (directly or through a local name bound once)."""
        for node in walk(expr):
            if isinstance(node, ast.Call) and ctx.qualified_name(node.func) in _FLOAT_FUNCTIONS:
                return True
            if isinstance(node, ast.Name) and depth < 3 and node.id in single and floats_in(single[node.id], depth + 1):
                return True
        return False

    numeric: set[str] = set()
    for node in sites:
        proven: list[ast.expr] = []
        if isinstance(node, ast.Call) and node.args and ctx.qualified_name(node.func) in _FLOAT_FUNCTIONS:
            proven = operands_in(node.args[0])
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            if floats_in(node.right):
                proven = operands_in(node.left)
            if floats_in(node.left):
                proven += operands_in(node.right)
        numeric.update(op.id for op in proven if isinstance(op, ast.Name) and op.id in params)
    return numeric


def numeric_annotation_unknown(ctx: Context, annotation: ast.expr) -> bool:
    """An annotation that says nothing about the elements (``list``, ``Sequence``, ``Iterable``)."""
    qn = ctx.qualified_name(annotation)
    return qn in _BARE_SEQUENCES


_BARE_SEQUENCES = frozenset({
    "builtins.list", "builtins.tuple", "typing.List", "typing.Sequence", "collections.abc.Sequence",
    "typing.Tuple",
})  # fmt: skip


def _returns(ctx: Context) -> dict[str, str]:
    return ctx.memo(_RETURNS, lambda: function_return_types(ctx.tree, ctx.imports), keep)


def name_type(ctx: Context, node: ast.Name) -> str:
    """The numeric type of a name, looked up through enclosing function scopes to the module."""
    scope: ast.AST | None = ctx.scope_of(node)
    first = True
    while scope is not None:
        if first or not isinstance(scope, ast.ClassDef):
            types = _scope_numeric(ctx, scope)
            if node.id in types:
                return types[node.id]
            # A local binding of another kind hides outer ones: then the type is unknown.
            if node.id in ctx.scope_types(scope):
                return UNKNOWN
        first = False
        scope = None if isinstance(scope, ast.Module) else ctx.scope_of(scope)
    return UNKNOWN


def numeric_type(ctx: Context, node: ast.expr) -> str:
    """``numpy.ndarray``, ``list[float]``, ``list[list[int]]``, ``float``... or ``UNKNOWN``."""
    if isinstance(node, ast.Name):
        return name_type(ctx, node)
    if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice | ast.Tuple):
        outer = numeric_type(ctx, node.value)
        if outer in NUMERIC_MATRICES:
            return outer[len("list[") : -1]
        if outer in NUMERIC_VECTORS:
            return outer[len("list[") : -1]
        if outer == NDARRAY:
            return NDARRAY  # a row of a 2-D array, or a scalar of a 1-D one
        return UNKNOWN
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        kind = _returns(ctx).get(node.func.id)
        if kind is not None and ctx.imports.resolve_name(node.func.id) is None:
            return kind
    return numeric_value_type(node, ctx.imports)


def element_kind(kind: str) -> str:
    """``float``/``int`` for the elements of a numeric list; ``numpy`` for arrays."""
    if kind == NDARRAY:
        return "numpy"
    if kind in NUMERIC_VECTORS:
        return kind[len("list[") : -1]
    return UNKNOWN


def is_pure(node: ast.expr) -> bool:
    """Evaluating it twice is the same as once: names, constants, attributes and subscripts of them."""
    if isinstance(node, ast.Name | ast.Constant):
        return True
    if isinstance(node, ast.Attribute):
        return is_pure(node.value)
    if isinstance(node, ast.Subscript):
        return is_pure(node.value) and isinstance(node.slice, ast.expr) and is_pure(node.slice)
    return False


# -- building rewrites with libcst -----------------------------------------------------------------


def cst_expr(ctx: Context, node: ast.expr) -> cst.BaseExpression:
    """The verbatim source of ``node`` as a libcst expression (comments and formatting kept)."""
    text = ctx.text(node)
    try:
        return cst.parse_expression(text)
    except cst.ParserSyntaxError:
        return cst.parse_expression(f"({text})")


def cst_dotted(dotted: str) -> cst.BaseExpression:
    parts = dotted.split(".")
    expr: cst.BaseExpression = cst.Name(parts[0])
    for part in parts[1:]:
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


def cst_call(func: str, *args: cst.BaseExpression, **kwargs: cst.BaseExpression) -> cst.Call:
    arguments = [cst.Arg(value=a) for a in args]
    arguments += [
        cst.Arg(
            value=v,
            keyword=cst.Name(k),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )
        for k, v in kwargs.items()
    ]
    return cst.Call(func=cst_dotted(func), args=arguments)


def cst_method(receiver: cst.BaseExpression, method: str, *args: cst.BaseExpression) -> cst.Call:
    if not isinstance(receiver, cst.Name | cst.Attribute | cst.Call | cst.Subscript):
        receiver = receiver.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name(method)), args=[cst.Arg(a) for a in args])


def code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


# -- numpy spelling and import ---------------------------------------------------------------------


def numpy_name(ctx: Context) -> tuple[str, Edit | None] | None:
    """How ``numpy`` is spelled here and the edit adding ``import numpy as np`` when it is missing.

    None when no spelling is available (``np`` bound to something else and numpy not imported).
    """
    for alias in ("np", "numpy"):
        if ctx.imports.resolve_name(alias) == "numpy":
            return alias, None
    if ctx.imports.resolve_name("np") is not None or _name_bound(ctx, "np"):
        return None
    line = _import_insertion_line(ctx)
    if line > ctx.source.line_count:
        pos = Position(ctx.source.line_count, len(ctx.source.line(ctx.source.line_count)))
        return "np", Edit(Span(pos, pos), f"{ctx.source.newline}import numpy as np")
    pos = Position(line, 0)
    return "np", Edit(Span(pos, pos), f"import numpy as np{ctx.source.newline}")


def with_import(fix: Fix | None, edit: Edit | None) -> Fix | None:
    if fix is None or edit is None:
        return fix
    return Fix(fix.title, fix.safety, (*fix.edits, edit))


def replace_expression(
    ctx: Context, node: ast.expr, new: cst.CSTNode, title: str, import_edit: Edit | None
) -> Fix | None:
    return with_import(replace_node(ctx, node, code(new), title, FixSafety.UNSAFE), import_edit)


def replace_block(
    ctx: Context,
    first: ast.stmt,
    last: ast.stmt,
    new: Sequence[cst.BaseSmallStatement],
    title: str,
    import_edit: Edit | None,
) -> Fix | None:
    text = "\n".join(code(cst.SimpleStatementLine(body=[s])).rstrip("\n") for s in new)
    return with_import(replace_statements(ctx, first, last, text, title, FixSafety.UNSAFE), import_edit)


def unsafe_title(base: str, reasons: Sequence[str]) -> str:
    return f"{base} (unsafe: " + "; ".join(reasons) + ")"


# -- the measured speedup for the nearest calibrated size ------------------------------------------


def speedup_note(speedup: Speedup | None, n: int | None) -> str | None:
    """The measured figure at the calibrated size nearest to ``n`` (all sizes when ``n`` is unknown)."""
    if speedup is None or not speedup.sizes:
        return None
    below = speedup.break_even
    tail = f"; NumPy is slower below n ≈ {below:,}" if below else ""
    if speedup.high < 1.0:
        tail += " (slower at every measured size)"
    hit = speedup.at(n) if n is not None else None
    if hit is not None and n is not None:
        size, ratio = hit
        return f"Measured speedup at n = {size:,} (nearest calibrated size to n = {n:,}): {ratio:.1f}x{tail}"
    figures = ", ".join(f"{ratio:.1f}x at n = {size:,}" for size, ratio in speedup.sizes)
    return f"Measured speedup (size unknown here): {figures}{tail}"


# -- sizes fixed by the code: literals, range/arange of a constant --------------------------------------

_GROWING = frozenset({"append", "extend", "insert", "resize", "add", "update", "__iadd__"})
"""Methods that change a container's length in place: a name they are called on has no fixed size."""
_MAKERS_SHAPE = frozenset({"numpy.zeros", "numpy.ones", "numpy.empty", "numpy.full", "numpy.identity", "numpy.eye"})
_MAKERS_COPY = frozenset({
    "numpy.array", "numpy.asarray", "numpy.asanyarray", "numpy.ascontiguousarray", "numpy.copy",
    "numpy.zeros_like", "numpy.ones_like", "numpy.empty_like", "numpy.full_like", "numpy.sort",
    "builtins.list", "builtins.tuple", "builtins.sorted", "builtins.reversed",
})  # fmt: skip
_MAKERS_JOIN = frozenset({"numpy.hstack", "numpy.concatenate", "numpy.vstack", "numpy.stack", "numpy.r_"})
_DEPTH = 8
"""How many names deep a size is followed (``x = np.arange(len(y))``, ``y = np.array([...])``)."""


def _bound_values(ctx: Context, name: ast.Name) -> list[ast.expr] | None:
    """The values ``name`` is assigned in the nearest scope that binds it, when every binding there is
    a plain ``name = value`` and nothing grows it in place; None otherwise (a parameter, a loop
    target, ``+=``, ``.append``...)."""
    scope: ast.AST | None = ctx.scope_of(name)
    first = True
    while scope is not None:
        # A function's body does not see the names of the class around it.
        bindings = (
            [b for b in scope_bindings(scope) if b.name == name.id]
            if first or not isinstance(scope, ast.ClassDef)
            else []
        )
        first = False
        if bindings:
            if any(b.how != ASSIGN for b in bindings):
                return None
            for node in scope_body_nodes(scope):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in _GROWING
                    and isinstance(node.value, ast.Name)
                    and node.value.id == name.id
                ):
                    return None
            return [b.node.value for b in bindings if isinstance(b.node, ast.Assign)]
        scope = None if isinstance(scope, ast.Module) else ctx.scope_of(scope)
    return None


def int_value(ctx: Context, node: ast.expr, depth: int = 0) -> int | None:
    """An ``int`` the code fixes: a literal, a name only ever bound to one, ``len`` of something of
    known size, and ``+ - * // **`` of those (the largest value when a name has several)."""
    if depth > _DEPTH:
        return None
    if isinstance(node, ast.Constant):
        return node.value if type(node.value) is int else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = int_value(ctx, node.operand, depth + 1)
        return None if inner is None else -inner
    if isinstance(node, ast.Name):
        values = _bound_values(ctx, node)
        if not values:
            return None
        found = [int_value(ctx, v, depth + 1) for v in values]
        return None if None in found else max(v for v in found if v is not None)
    if isinstance(node, ast.BinOp):
        left, right = int_value(ctx, node.left, depth + 1), int_value(ctx, node.right, depth + 1)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.FloorDiv) and right:
            return left // right
        if isinstance(node.op, ast.Pow) and 0 <= right <= 64 and abs(left) < 1 << 16:
            return int(left**right)
        return None
    if isinstance(node, ast.Call) and is_builtin(ctx, node.func, "len") and len(node.args) == 1:
        return known_size(ctx, node.args[0], depth + 1)
    return None


def known_size(ctx: Context, node: ast.expr, depth: int = 0) -> int | None:
    """The number of elements of a sequence or array whose size the code fixes, else None.

    Followed: displays (``[3, 7, 5]``), ``[0.0] * 8``, ``range``/``np.arange``/``np.linspace`` of
    constants, ``np.zeros((3, 4))`` and the other shape makers, ``np.random.rand(5)`` and
    ``np.random.*(size=...)``, copies (``np.array(x)``, ``list(x)``,
    ``np.zeros_like(x)``), joins (``np.hstack([...])``, of a comprehension too), comprehensions over a
    fixed range, ``x[:k]``, and local or module names bound only to such values. Elements of nested
    displays count one by one (the total the rewrite works through).
    """
    if depth > _DEPTH:
        return None
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        if any(isinstance(e, ast.Starred) for e in node.elts):
            return None
        inner = [known_size(ctx, e, depth + 1) if isinstance(e, ast.List | ast.Tuple) else 1 for e in node.elts]
        return None if None in inner else sum(n for n in inner if n is not None)
    if isinstance(node, ast.Name):
        values = _bound_values(ctx, node)
        if not values:
            return None
        sizes = [known_size(ctx, v, depth + 1) for v in values]
        return None if None in sizes else max(n for n in sizes if n is not None)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        for seq, count in ((node.left, node.right), (node.right, node.left)):
            if isinstance(seq, ast.List | ast.Tuple):
                length, times = known_size(ctx, seq, depth + 1), int_value(ctx, count, depth + 1)
                if length is not None and times is not None:
                    return length * max(times, 0)
        return None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        piece = node.slice
        if piece.lower is None and piece.step is None and piece.upper is not None:
            upper = int_value(ctx, piece.upper, depth + 1)
            whole = known_size(ctx, node.value, depth + 1)
            if upper is not None and upper >= 0:
                return upper if whole is None else min(upper, whole)
        return None
    if isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
        if len(node.generators) != 1 or node.generators[0].ifs:
            return None
        times = known_size(ctx, node.generators[0].iter, depth + 1)
        elt = node.elt
        repeated = isinstance(elt, ast.BinOp) and any(
            isinstance(side, ast.List | ast.Tuple) for side in (elt.left, elt.right)
        )
        each = known_size(ctx, elt, depth + 1) if isinstance(elt, ast.List | ast.Tuple) or repeated else 1
        return None if times is None or each is None else times * each
    if not isinstance(node, ast.Call):
        return None
    qn = ctx.qualified_name(node.func) or ""
    args = node.args
    if any(isinstance(a, ast.Starred) for a in args):
        return None
    if qn in ("builtins.range", "numpy.arange"):
        if not 1 <= len(args) <= 3 or node.keywords:
            return None
        bounds = [int_value(ctx, a, depth + 1) for a in args]
        if None in bounds:
            return None
        return len(range(*(b for b in bounds if b is not None)))
    if qn == "numpy.linspace" or qn == "numpy.logspace":
        num: ast.expr | None = args[2] if len(args) > 2 else None
        num = next((k.value for k in node.keywords if k.arg == "num"), num)
        return 50 if num is None else int_value(ctx, num, depth + 1)
    if qn in _MAKERS_SHAPE and args:
        shape = args[0]
        if qn in ("numpy.identity", "numpy.eye"):
            side = int_value(ctx, shape, depth + 1)
            return None if side is None else side * side
        dims = (
            [int_value(ctx, d, depth + 1) for d in shape.elts]
            if isinstance(shape, ast.Tuple | ast.List)
            else [int_value(ctx, shape, depth + 1)]
        )
        return _product(dims)
    if qn in ("numpy.random.rand", "numpy.random.randn"):
        dims = [int_value(ctx, d, depth + 1) for d in args]
        return _product(dims) if args and not node.keywords else None
    if qn.startswith("numpy.random."):
        drawn = next((k.value for k in node.keywords if k.arg == "size"), None)
        if drawn is None:
            return None
        sides: list[ast.expr] = drawn.elts if isinstance(drawn, ast.Tuple | ast.List) else [drawn]
        return _product([int_value(ctx, d, depth + 1) for d in sides])
    if qn in _MAKERS_COPY and args:
        return known_size(ctx, args[0], depth + 1)
    if qn in _MAKERS_JOIN and args:
        parts = args[0]
        if isinstance(parts, ast.List | ast.Tuple):
            sizes = [known_size(ctx, p, depth + 1) for p in parts.elts]
            return None if None in sizes else sum(n for n in sizes if n is not None)
        return known_size(ctx, parts, depth + 1)
    return None


def _product(dims: Sequence[int | None]) -> int | None:
    """The number of elements of an array of these dimensions (None when one is unknown)."""
    total = 1
    for d in dims:
        if d is None:
            return None
        total *= max(d, 0)
    return total


def slower_below(speedup: Speedup | None) -> int | None:
    """The size below which the rewrite is measured slower: the calibrated break-even, else the
    largest calibrated size still slower than the original (None when it wins at every size)."""
    if speedup is None:
        return None
    if speedup.break_even is not None:
        return speedup.break_even
    slower = [n for n, ratio in speedup.sizes if ratio < 1.0]
    return max(slower) + 1 if slower else None


LARGE_FIXED = 1_000
"""A size fixed in the code from which the work is worth vectorizing although it does not grow: the
n at which the issue's and the calibration tables' reference ratios are read (every VEC rewrite wins
there by 5x or more)."""


def data_scale(ctx: Context, operands: Sequence[ast.expr], loop: ast.AST | None, size: int | None) -> Scale:
    """How sure we are that the data the rewrite would vectorize is large, and why.

    Code that runs once (at import, behind a lazy initialiser) is low. A size the code fixes does
    not grow: low when small (below :data:`LARGE_FIXED`: a literal, ``np.arange(7)``, a fixture of a
    hundred labels), medium when large (``np.zeros(80_000)`` costs as much on every call). Otherwise
    the loop's scale when there is one (what it iterates), else the operands' (a parameter is high).
    """
    anchor = loop if loop is not None else operands[0] if operands else None
    once = runs_once(anchor, ctx) if anchor is not None else None
    if size is not None:
        fixed = f"a fixed size: {size:,} elements, set in the code"
        if once is not None:
            return Scale(Confidence.LOW, f"{fixed}; {once}")
        if size < LARGE_FIXED:
            return Scale(Confidence.LOW, f"{fixed}; it does not grow")
        return Scale(Confidence.MEDIUM, f"{fixed}; it does not grow, but is large enough to gain")
    if isinstance(loop, ast.For | ast.AsyncFor | ast.While | ast.comprehension):
        return loop_scale(loop, ctx)
    if isinstance(loop, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        return strongest(*(loop_scale(g, ctx) for g in loop.generators))
    if not operands:
        return Scale(Confidence.MEDIUM, "size unknown")
    scale = strongest(*(iteration_scale(op, ctx) for op in operands))
    if once is not None:
        return Scale(Confidence.LOW, f"{scale.evidence}; {once}")
    fn = ctx.function_of(operands[0])
    if fn is not None and scale.confidence is not Confidence.LOW:
        return Scale(scale.confidence, f"{scale.evidence}, per call of `{fn.name}`")
    return scale


def report(
    ctx: Context,
    rule: type[Rule] | Rule,
    node: ast.AST | Span,
    fix: Callable[[], Fix | None] | None = None,
    notes: Sequence[str] = (),
    message: str | None = None,
    on_lists: bool = False,
    operands: Sequence[ast.expr] = (),
    loop: ast.AST | None = None,
    size: int | None = None,
) -> None:
    """Report with the measured speedup for the nearest calibrated size as the last note.

    ``operands``: the sequences or arrays whose length is the ``n`` of the rule's calibration. When
    the code fixes that length (:func:`known_size`) below the size where the rewrite was measured
    slower (:func:`slower_below`), nothing is reported: the advice would slow the code down.
    ``loop``: the loop that does the work, when there is one (its scale is the finding's evidence).
    ``size``: the calibration's ``n`` when the rule computes it itself (VEC007: the multiply-adds).

    ``on_lists``: the operands are Python lists, where the rule's array calibration does not apply;
    the finding carries the ratio measured on lists instead (when calibrated).
    """
    speedup = ctx.calibration.list_speedup(rule.code) if on_lists else ctx.calibration.speedup(rule.code)
    if size is None:
        size = next((n for op in operands if (n := known_size(ctx, op)) is not None), None)
    below = slower_below(speedup)
    if size is not None and below is not None and size < below:
        return
    note = speedup_note(speedup, size)
    scale = data_scale(ctx, operands, loop, size)
    ctx.report(
        rule,  # type: ignore[arg-type]
        node,
        message=message,
        fix=fix,
        notes=(*notes, *([note] if note else [])),
        confidence=scale.confidence,
        evidence=scale.evidence,
    )
    if on_lists and ctx.findings and ctx.findings[-1].code == rule.code:
        ctx.findings[-1] = dataclasses.replace(ctx.findings[-1], speedup=speedup)


# -- the dot-product shape: sum(x * y for x, y in zip(a, b)) and its spellings -----------------------


def operand_kinds(ctx: Context, *operands: ast.expr) -> list[str] | None:
    """The element kinds (``float``, ``int``, ``numpy``) of 1-D numeric operands; None if any is not one."""
    kinds = [element_kind(numeric_type(ctx, op)) for op in operands]
    if UNKNOWN in kinds:
        return None
    return kinds


ON_LISTS = (
    "no fix on lists: the NumPy rewrite would convert them to arrays every time it runs, which costs"
    " about as much as the loop or more (measured on lists below); hold the vectors as NumPy arrays"
    " (np.asarray once, where they are made) or vectorize the caller (see VEC006)"
)
INT_OVERFLOW = "fix withheld: these are Python ints, which never overflow; NumPy's int64 would wrap around"


# -- element-wise expressions: a[i] * b[i] + c, math.f(x) --------------------------------------------

MATH_UFUNCS = {
    "math.sqrt": "sqrt", "math.exp": "exp", "math.log": "log", "math.log10": "log10", "math.log2": "log2",
    "math.log1p": "log1p", "math.expm1": "expm1", "math.sin": "sin", "math.cos": "cos", "math.tan": "tan",
    "math.asin": "arcsin", "math.acos": "arccos", "math.atan": "arctan", "math.sinh": "sinh",
    "math.cosh": "cosh", "math.tanh": "tanh", "math.fabs": "fabs", "math.degrees": "degrees",
    "math.radians": "radians",
}  # fmt: skip
"""One-argument ``math`` functions and their NumPy ufuncs (``floor``/``ceil`` return ints in math: excluded)."""

_ELEMENTWISE_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


class ElementwiseExpr:
    """Checks that an expression is element-wise in the loop index (on ``ast``), then rewrites it into
    an array expression with libcst: ``a[i]`` -> ``a``, ``math.f(...)`` -> ``np.f(...)``; everything
    else (parentheses, spacing, comments) is kept as written."""

    def __init__(self, ctx: Context, index: str, out: str | None) -> None:
        self.ctx = ctx
        self.index = index
        self.out = out
        self.arrays: list[ast.expr] = []
        """The indexed sequences (``a`` of ``a[i]``) in order of appearance."""
        self.kinds: set[str] = set()
        self._ufuncs: dict[str, str] = {}

    def check(self, node: ast.expr) -> bool:
        ctx = self.ctx
        if isinstance(node, ast.Subscript):
            base = indexed(node, self.index)
            if base is None or not isinstance(base, ast.Name):
                return False
            kind = element_kind(numeric_type(ctx, base))
            if kind == UNKNOWN:
                return False
            self.kinds.add(kind)
            self.arrays.append(base)
            return True
        if isinstance(node, ast.Name):
            return node.id not in (self.index, self.out)  # loop-invariant: broadcast
        if isinstance(node, ast.Constant):
            return _numeric_value(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return self.check(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ELEMENTWISE_OPS):
            return self.check(node.left) and self.check(node.right)
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
            ufunc = MATH_UFUNCS.get(ctx.qualified_name(node.func) or "")
            if ufunc is None or not self.check(node.args[0]):
                return False
            self._ufuncs[ctx.text(node.func)] = ufunc
            return True
        return False

    def rewrite(self, node: ast.expr, np: str) -> cst.BaseExpression:
        index, ufuncs = self.index, self._ufuncs

        class _ToArrays(cst.CSTTransformer):
            def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
                if len(updated.slice) == 1:
                    element = updated.slice[0].slice
                    if (
                        isinstance(element, cst.Index)
                        and isinstance(element.value, cst.Name)
                        and element.value.value == index
                    ):
                        return updated.value
                return updated

            def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
                ufunc = ufuncs.get(code(updated.func))
                if ufunc is not None:
                    return updated.with_changes(func=cst_dotted(f"{np}.{ufunc}"))
                return updated

        result = cst_expr(self.ctx, node).visit(_ToArrays())
        assert isinstance(result, cst.BaseExpression)
        return result


def _numeric_value(node: ast.Constant) -> bool:
    return isinstance(node.value, int | float) and not isinstance(node.value, bool)


def range_len_of(ctx: Context, it: ast.expr) -> ast.expr | None:
    """``a`` for ``range(len(a))``."""
    if (
        isinstance(it, ast.Call)
        and is_builtin(ctx, it.func, "range")
        and len(it.args) == 1
        and not it.keywords
        and isinstance(it.args[0], ast.Call)
        and is_builtin(ctx, it.args[0].func, "len")
        and len(it.args[0].args) == 1
    ):
        return it.args[0].args[0]
    return None
