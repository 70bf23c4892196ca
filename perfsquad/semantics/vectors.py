"""Shapes of vector arithmetic written in Python, recognized on the syntax tree: a dot product
(``sum(x * y for x, y in zip(a, b))`` and its spellings), a squared distance, and functions that
compare two vectors (a dot product of their two parameters, a cosine with ``math.sqrt`` norms, a
distance). Read by the vectorization rules and by the effect summaries (``semantics.effects``),
which record each function's comparison so a pair loop in another module can be judged
(VEC006 across modules through the workspace index)."""

from __future__ import annotations

import ast

from perfsquad.semantics.view import ModuleView
from perfsquad.syntax import names_in, walk


def is_builtin(ctx: ModuleView, func: ast.expr, name: str) -> bool:
    return isinstance(func, ast.Name) and func.id == name and ctx.imports.resolve_name(name) == f"builtins.{name}"


def _is_square(elt: ast.expr, name: str) -> bool:
    """``x * x`` or ``x ** 2`` for the name ``x``."""
    if not isinstance(elt, ast.BinOp):
        return False
    if isinstance(elt.op, ast.Mult):
        return all(isinstance(side, ast.Name) and side.id == name for side in (elt.left, elt.right))
    if isinstance(elt.op, ast.Pow):
        return (
            isinstance(elt.left, ast.Name)
            and elt.left.id == name
            and isinstance(elt.right, ast.Constant)
            and type(elt.right.value) is int
            and elt.right.value == 2
        )
    return False


def indexed(node: ast.expr, index: str) -> ast.expr | None:
    """``a`` for ``a[i]`` (``i`` the given name)."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Name) and node.slice.id == index:
        return node.value
    return None


def is_zip_pair(ctx: ModuleView, it: ast.expr) -> bool:
    """``zip(a, b)`` of two sequences, also with ``strict=`` (which only adds a length check)."""
    return (
        isinstance(it, ast.Call)
        and is_builtin(ctx, it.func, "zip")
        and len(it.args) == 2
        and not any(isinstance(a, ast.Starred) for a in it.args)
        and all(kw.arg == "strict" for kw in it.keywords)
    )


def _summed_generator(ctx: ModuleView, call: ast.Call) -> tuple[ast.GeneratorExp | ast.ListComp, ast.comprehension] | None:
    """``(gen, its one generator)`` for ``sum(<gen>)`` with nothing else passed."""
    if not is_builtin(ctx, call.func, "sum") or len(call.args) != 1 or call.keywords:
        return None
    gen = call.args[0]
    if not isinstance(gen, ast.GeneratorExp | ast.ListComp) or len(gen.generators) != 1:
        return None
    return gen, gen.generators[0]


def dot_operands(ctx: ModuleView, call: ast.Call) -> tuple[ast.expr, ast.expr] | None:
    """``(a, b)`` when ``call`` is a pure-Python dot product of ``a`` and ``b``; ``(a, a)`` for a sum of squares.

    Spellings: ``sum(x * y for x, y in zip(a, b))``, ``sum(x * x for x in a)``, ``sum(x ** 2 for x in a)``,
    ``sum(a[i] * b[i] for i in range(len(a)))`` (also with a list comprehension). No filter, no other arguments.
    """
    found = _summed_generator(ctx, call)
    if found is None:
        return None
    gen, comp = found
    if comp.ifs or comp.is_async:
        return None
    elt, target, it = gen.elt, comp.target, comp.iter
    if isinstance(target, ast.Tuple) and len(target.elts) == 2:
        x, y = target.elts
        if not (isinstance(x, ast.Name) and isinstance(y, ast.Name)) or x.id == y.id:
            return None
        if not is_zip_pair(ctx, it):
            return None
        assert isinstance(it, ast.Call)
        if not (isinstance(elt, ast.BinOp) and isinstance(elt.op, ast.Mult)):
            return None
        sides = {getattr(elt.left, "id", None), getattr(elt.right, "id", None)}
        if sides != {x.id, y.id} or not all(isinstance(s, ast.Name) for s in (elt.left, elt.right)):
            return None
        return it.args[0], it.args[1]
    if not isinstance(target, ast.Name):
        return None
    if _is_square(elt, target.id):
        if target.id in names_in(it):
            return None
        return it, it
    # sum(a[i] * b[i] for i in range(len(a)))
    if not (
        isinstance(it, ast.Call)
        and is_builtin(ctx, it.func, "range")
        and len(it.args) == 1
        and isinstance(it.args[0], ast.Call)
        and is_builtin(ctx, it.args[0].func, "len")
        and len(it.args[0].args) == 1
    ):
        return None
    measured = it.args[0].args[0]
    if isinstance(elt, ast.BinOp) and isinstance(elt.op, ast.Mult):
        a, b = indexed(elt.left, target.id), indexed(elt.right, target.id)
    elif (
        isinstance(elt, ast.BinOp)
        and isinstance(elt.op, ast.Pow)
        and isinstance(elt.right, ast.Constant)
        and type(elt.right.value) is int
        and elt.right.value == 2
    ):
        a = b = indexed(elt.left, target.id)
    else:
        return None
    if a is None or b is None or target.id in names_in(a) | names_in(b):
        return None
    if ctx.text(measured) not in (ctx.text(a), ctx.text(b)):
        return None
    return a, b


def distance_operands(ctx: ModuleView, call: ast.Call) -> tuple[ast.expr, ast.expr] | None:
    """``(a, b)`` for a squared Euclidean distance: ``sum((x - y) ** 2 for x, y in zip(a, b))``
    (also ``(x - y) * (x - y)``)."""
    found = _summed_generator(ctx, call)
    if found is None:
        return None
    gen, comp = found
    target, it, elt = comp.target, comp.iter, gen.elt
    if comp.ifs or comp.is_async or not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
        return None
    x, y = target.elts
    if not (isinstance(x, ast.Name) and isinstance(y, ast.Name)) or x.id == y.id:
        return None
    if not is_zip_pair(ctx, it):
        return None

    def is_diff(node: ast.expr) -> bool:
        return (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Sub)
            and {getattr(node.left, "id", None), getattr(node.right, "id", None)} == {x.id, y.id}
        )

    if isinstance(elt, ast.BinOp) and isinstance(elt.op, ast.Pow):
        ok = is_diff(elt.left) and isinstance(elt.right, ast.Constant) and elt.right.value == 2
    elif isinstance(elt, ast.BinOp) and isinstance(elt.op, ast.Mult):
        ok = is_diff(elt.left) and is_diff(elt.right)
    else:
        ok = False
    if not ok:
        return None
    assert isinstance(it, ast.Call)
    return it.args[0], it.args[1]


SIMILARITY_CALLS = {
    "numpy.dot": "dot",
    "numpy.inner": "dot",
    "numpy.vdot": "dot",
    "math.dist": "distance",
    "scipy.spatial.distance.cosine": "cosine-distance",
    "scipy.spatial.distance.euclidean": "distance",
    "scipy.spatial.distance.sqeuclidean": "distance",
}
"""Library functions that compare two vectors: a pair loop around them is a matrix product / cdist."""

_ROOTS = frozenset({"math.sqrt", "numpy.sqrt", "numpy.linalg.norm", "math.hypot"})


_COMPARING = frozenset({"sum", *(qn.rpartition(".")[2] for qn in SIMILARITY_CALLS)})
"""The last names of the calls a comparison is made of (a screen before the exact shapes)."""


def _may_compare(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in _COMPARING
    return isinstance(func, ast.Attribute) and func.attr in _COMPARING


def similarity_kind(
    ctx: ModuleView,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    skip: int = 0,
    calls: list[ast.Call] | None = None,
) -> str | None:
    """How ``fn`` compares its first two parameters (``dot``, ``cosine``, ``distance``...), if it does
    (``skip``: leading parameters that are not the vectors, ``self`` of a method; ``calls``: the
    calls its body makes, when the caller has them, else they are found by walking it)."""
    positional = [*fn.args.posonlyargs, *fn.args.args][skip:]
    if len(positional) < 2:
        return None
    params = {a.arg for a in positional[:2]}
    kind: str | None = None
    roots = 0
    found = [node for node in (walk(fn) if calls is None else calls) if isinstance(node, ast.Call)]
    if not any(_may_compare(node.func) for node in found):
        return None
    for node in found:
        if isinstance(node, ast.Call):
            operands = dot_operands(ctx, node)
            qn = ctx.imports.qualified_name(node.func)
            distance = distance_operands(ctx, node) if operands is None else None
            if operands is not None and {ctx.text(o) for o in operands} == params:
                kind = kind or "dot"
            elif distance is not None and {ctx.text(o) for o in distance} == params:
                kind = kind or "distance"
            elif qn in SIMILARITY_CALLS and {ctx.text(a) for a in node.args} == params:
                kind = kind or SIMILARITY_CALLS[qn]
            if qn in _ROOTS:
                roots += 1
    if kind == "dot" and roots:
        kind = "cosine"
    elif kind == "distance" and not roots:
        kind = "squared-distance"
    return kind
