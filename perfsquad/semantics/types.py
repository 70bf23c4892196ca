"""Light, flow-insensitive type facts for local names.

A name has a type only if *every* binding of it in its scope agrees: ``xs = []`` and later
``xs = None`` leaves ``xs`` unknown. Types come from literals, constructors (resolved through
imports, so a shadowed ``list`` is not the builtin) and annotations. Types are spelled as
qualified class names without the ``builtins.`` prefix: ``list``, ``dict``, ``collections.deque``,
``numpy.ndarray``.
"""

from __future__ import annotations

import ast

from perfsquad.semantics.bindings import (
    ANNOTATED,
    ASSIGN,
    AUGMENTED,
    DELETED,
    IN_TARGET,
    KWARG,
    PARAM,
    VARARG,
    agree,
    scope_bindings,
)
from perfsquad.semantics.bindings import (
    UNKNOWN as UNKNOWN,  # re-exported: the spelling every module imports from here
)
from perfsquad.semantics.names import ImportMap
from perfsquad.syntax import walk

_CONSTRUCTORS: dict[str, str] = {
    "builtins.list": "list",
    "builtins.dict": "dict",
    "builtins.set": "set",
    "builtins.frozenset": "frozenset",
    "builtins.tuple": "tuple",
    "builtins.str": "str",
    "builtins.bytes": "bytes",
    "builtins.bytearray": "bytearray",
    "builtins.sorted": "list",
    "builtins.int": "int",
    "builtins.float": "float",
    "builtins.len": "int",
    "collections.deque": "collections.deque",
    "collections.defaultdict": "collections.defaultdict",
    "collections.Counter": "collections.Counter",
    "collections.OrderedDict": "collections.OrderedDict",
}
_NUMPY_ARRAY_FACTORIES = frozenset(
    {
        "array", "asarray", "zeros", "ones", "empty", "full", "arange", "linspace",
        "zeros_like", "ones_like", "empty_like", "full_like", "stack", "vstack", "hstack",
        "concatenate", "dot", "matmul", "outer",
    }
)  # fmt: skip
_ANNOTATIONS: dict[str, str] = {
    "builtins.list": "list",
    "builtins.dict": "dict",
    "builtins.set": "set",
    "builtins.frozenset": "frozenset",
    "builtins.tuple": "tuple",
    "builtins.str": "str",
    "builtins.bytes": "bytes",
    "builtins.int": "int",
    "builtins.float": "float",
    "typing.List": "list",
    "typing.Dict": "dict",
    "typing.Set": "set",
    "typing.Tuple": "tuple",
    "typing.Deque": "collections.deque",
    "collections.deque": "collections.deque",
    "collections.Counter": "collections.Counter",
    "collections.defaultdict": "collections.defaultdict",
    "numpy.ndarray": "numpy.ndarray",
    "numpy.typing.NDArray": "numpy.ndarray",
}

MAPPINGS = frozenset({"dict", "collections.defaultdict", "collections.Counter", "collections.OrderedDict"})
SEQUENCES = frozenset({"list", "tuple", "str", "bytes", "bytearray"})


def expr_type(node: ast.expr, imports: ImportMap) -> str:
    """The type an expression evaluates to, if it is evident from the expression alone."""
    if isinstance(node, ast.List | ast.ListComp):
        return "list"
    if isinstance(node, ast.Dict | ast.DictComp):
        return "dict"
    if isinstance(node, ast.Set | ast.SetComp):
        return "set"
    if isinstance(node, ast.Tuple):
        return "tuple"
    if isinstance(node, ast.JoinedStr):
        return "str"
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            return "bool"
        for kind in (str, bytes, int, float):
            if isinstance(value, kind):
                return kind.__name__
        return UNKNOWN
    if isinstance(node, ast.Call):
        qn = imports.qualified_name(node.func)
        if qn is None:
            return UNKNOWN
        if qn in _CONSTRUCTORS:
            return _CONSTRUCTORS[qn]
        head, _, tail = qn.rpartition(".")
        if head in ("numpy", "numpy.random") and tail in _NUMPY_ARRAY_FACTORIES:
            return "numpy.ndarray"
    return UNKNOWN


def annotation_type(node: ast.expr | None, imports: ImportMap) -> str:
    if node is None:
        return UNKNOWN
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return UNKNOWN
    if isinstance(node, ast.Subscript):
        node = node.value
    qn = imports.qualified_name(node)
    if qn is None:
        return UNKNOWN
    return _ANNOTATIONS.get(qn, UNKNOWN)


def infer_scope_types(scope: ast.AST, imports: ImportMap) -> dict[str, str]:
    """Map each local name of ``scope`` to its type, or to ``UNKNOWN`` when bindings disagree.

    ``x += ...`` and ``del x`` count (as unknown) only when they are the first binding of ``x``
    met (the parameters, then the scope's nodes in ``scope_body_nodes`` order)."""
    kinds: dict[str, list[str]] = {}
    for name, how, node in scope_bindings(scope):
        seen = kinds.get(name)
        if how in (AUGMENTED, DELETED) and seen is not None:
            continue
        if how == ASSIGN:
            kind = expr_type(node.value, imports)  # type: ignore[attr-defined]
        elif how == ANNOTATED:
            assert isinstance(node, ast.AnnAssign)
            kind = annotation_type(node.annotation, imports)
            if kind == UNKNOWN and node.value is not None:
                kind = expr_type(node.value, imports)
        elif how == PARAM:
            kind = annotation_type(node.annotation, imports)  # type: ignore[attr-defined]
        elif how == VARARG:
            kind = "tuple"
        elif how == KWARG:
            kind = "dict"
        else:
            kind = UNKNOWN
        if seen is None:
            kinds[name] = [kind]
        else:
            seen.append(kind)
    return {name: agree(found) for name, found in kinds.items()}


# -- numeric facts (used by the vectorization rules) --------------------------------------------
# Spelled like the other types: ``numpy.ndarray``, ``list[float]``, ``list[int]``,
# ``list[list[float]]``, ``list[list[int]]``, ``float``, ``int``. Anything else is ``UNKNOWN``:
# strings, dicts and objects never get a numeric type, so no NumPy rewrite is suggested for them.

NDARRAY = "numpy.ndarray"
NUMERIC_VECTORS = frozenset({"list[float]", "list[int]"})
NUMERIC_MATRICES = frozenset({"list[list[float]]", "list[list[int]]"})
_SEQUENCE_ANNOTATIONS = frozenset(
    {
        "builtins.list", "typing.List", "typing.Sequence", "collections.abc.Sequence",
        "typing.MutableSequence", "collections.abc.MutableSequence",
    }
)  # fmt: skip
_SCALAR_ANNOTATIONS = {
    "builtins.float": "float", "builtins.int": "int",
    "numpy.float64": "float", "numpy.float32": "float", "numpy.float16": "float", "numpy.double": "float",
    "numpy.floating": "float", "numpy.int64": "int", "numpy.int32": "int", "numpy.integer": "int",
}  # fmt: skip


def _without_none(node: ast.expr, imports: ImportMap) -> ast.expr | None:
    """``X`` for ``Optional[X]``, ``X | None``, ``None | X`` and ``Union[X, None]``; None otherwise."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        for kept, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(other, ast.Constant) and other.value is None:
                return kept
        return None
    if isinstance(node, ast.Subscript):
        qn = imports.qualified_name(node.value)
        if qn == "typing.Optional":
            return node.slice
        if qn == "typing.Union" and isinstance(node.slice, ast.Tuple) and len(node.slice.elts) == 2:
            for kept, other in ((node.slice.elts[0], node.slice.elts[1]), (node.slice.elts[1], node.slice.elts[0])):
                if isinstance(other, ast.Constant) and other.value is None:
                    return kept
    return None


def numeric_annotation(node: ast.expr | None, imports: ImportMap) -> str:
    """The numeric type an annotation declares (``list[float]``, ``numpy.ndarray``...) or ``UNKNOWN``."""
    if node is None:
        return UNKNOWN
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return UNKNOWN
    optional = _without_none(node, imports)
    if optional is not None:
        # ``Optional[list[float]]``: numeric where it is used as a vector (a None would raise there).
        return numeric_annotation(optional, imports)
    if isinstance(node, ast.Subscript):
        qn = imports.qualified_name(node.value)
        if qn in ("numpy.ndarray", "numpy.typing.NDArray"):
            return NDARRAY
        if qn not in _SEQUENCE_ANNOTATIONS and qn not in ("builtins.tuple", "typing.Tuple"):
            return UNKNOWN
        args = node.slice
        if qn in ("builtins.tuple", "typing.Tuple"):
            # Only the homogeneous ``tuple[float, ...]``.
            if not (isinstance(args, ast.Tuple) and len(args.elts) == 2):
                return UNKNOWN
            if not (isinstance(args.elts[1], ast.Constant) and args.elts[1].value is Ellipsis):
                return UNKNOWN
            args = args.elts[0]
        inner = numeric_annotation(args, imports)
        if inner in ("float", "int"):
            return f"list[{inner}]"
        if inner in NUMERIC_VECTORS:
            return f"list[{inner}]"
        return UNKNOWN
    qn = imports.qualified_name(node)
    if qn in ("numpy.ndarray", "numpy.typing.NDArray"):
        return NDARRAY
    return _SCALAR_ANNOTATIONS.get(qn or "", UNKNOWN)


def _numeric_constant(node: ast.expr) -> str:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
        if isinstance(node.value, float):
            return "float"
        if isinstance(node.value, int):
            return "int"
    return UNKNOWN


def numeric_value_type(node: ast.expr, imports: ImportMap) -> str:
    """The numeric type of an expression evident from the expression alone, or ``UNKNOWN``."""
    scalar = _numeric_constant(node)
    if scalar != UNKNOWN:
        return scalar
    if expr_type(node, imports) == NDARRAY or _numpy_random_array(node, imports):
        return NDARRAY if _numeric_dtype(node, imports) else UNKNOWN
    if isinstance(node, ast.List) and node.elts:
        kinds = {_numeric_constant(e) for e in node.elts}
        if UNKNOWN not in kinds:
            return "list[float]" if "float" in kinds else "list[int]"
        rows = {numeric_value_type(e, imports) for e in node.elts}
        if len(rows) == 1 and (row := rows.pop()) in NUMERIC_VECTORS:
            return f"list[{row}]"
        return UNKNOWN
    if isinstance(node, ast.ListComp) and len(node.generators) == 1:
        # ``[[0.0] * n for _ in range(m)]``: a preallocated numeric matrix.
        row = numeric_value_type(node.elt, imports)
        if row in NUMERIC_VECTORS:
            return f"list[{row}]"
        return UNKNOWN
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        # ``[0.0] * n`` / ``n * [0.0]``: a preallocated numeric list.
        for seq in (node.left, node.right):
            if isinstance(seq, ast.List) and len(seq.elts) == 1:
                kind = _numeric_constant(seq.elts[0])
                if kind != UNKNOWN:
                    return f"list[{kind}]"
    return UNKNOWN


_NUMPY_RANDOM = frozenset({"rand", "randn", "random", "uniform", "normal", "standard_normal", "randint"})
_NON_NUMERIC_DTYPES = frozenset({"builtins.str", "builtins.object", "builtins.bytes", "numpy.str_", "numpy.object_"})


def _numpy_random_array(node: ast.expr, imports: ImportMap) -> bool:
    """``np.random.rand(n)`` and friends (the legacy module functions) return arrays."""
    if not isinstance(node, ast.Call):
        return False
    qn = imports.qualified_name(node.func) or ""
    head, _, tail = qn.rpartition(".")
    return head == "numpy.random" and tail in _NUMPY_RANDOM


def _numeric_dtype(node: ast.expr, imports: ImportMap) -> bool:
    """False for arrays of strings or objects: ``np.array(["a"])``, ``dtype=str``, ``dtype="U8"``."""
    if not isinstance(node, ast.Call):
        return True
    for kw in node.keywords:
        if kw.arg != "dtype":
            continue
        value = kw.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value.lstrip("<>|=")[:1] not in ("U", "S", "O", "a") and value.value not in ("str", "object")
        if imports.qualified_name(value) in _NON_NUMERIC_DTYPES:
            return False
    for arg in node.args[:1]:
        if isinstance(arg, ast.List | ast.Tuple):
            for element in walk(arg):
                if isinstance(element, ast.Constant) and isinstance(element.value, str | bytes):
                    return False
    return True


def infer_numeric_types(scope: ast.AST, imports: ImportMap, returns: dict[str, str] | None = None) -> dict[str, str]:
    """Names of ``scope`` whose every binding has the same numeric type (others are absent).

    ``returns`` maps this module's functions to their numeric return annotations (the index of
    :func:`function_return_types`), so ``x = load()`` is typed by ``def load() -> np.ndarray``.

    ``x += ...`` does not change a name's type here (numeric in-place updates keep the container);
    any other kind of binding (loop target, ``with``, unpacking, import, ``global``) makes it unknown.
    """
    kinds: dict[str, list[str]] = {}
    for name, how, node in scope_bindings(scope):
        if how == ASSIGN:
            assert isinstance(node, ast.Assign)
            kind = numeric_value_type(node.value, imports)
            call = node.value
            if (
                kind == UNKNOWN
                and returns
                and isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and imports.resolve_name(call.func.id) is None
            ):
                # ``x = load()`` where ``def load() -> np.ndarray`` is a function of this module.
                kind = returns.get(call.func.id, UNKNOWN)
        elif how == ANNOTATED:
            assert isinstance(node, ast.AnnAssign)
            kind = numeric_annotation(node.annotation, imports)
            if kind == UNKNOWN and node.value is not None:
                kind = numeric_value_type(node.value, imports)
        elif how == PARAM:
            kind = numeric_annotation(node.annotation, imports)  # type: ignore[attr-defined]
        elif how in (AUGMENTED, IN_TARGET):
            continue
        else:
            kind = UNKNOWN
        kinds.setdefault(name, []).append(kind)
    return {name: kind for name, found in kinds.items() if (kind := agree(found)) != UNKNOWN}


def function_return_types(tree: ast.Module, imports: ImportMap) -> dict[str, str]:
    """Module-level functions whose return annotation is numeric (``-> list[list[float]]``)."""
    result: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            kind = numeric_annotation(node.returns, imports)
            if kind != UNKNOWN and not isinstance(node, ast.AsyncFunctionDef):
                result[node.name] = kind
    return result
