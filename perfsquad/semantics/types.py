"""Light, flow-insensitive type facts for local names.

A name has a type only if *every* binding of it in its scope agrees: ``xs = []`` and later
``xs = None`` leaves ``xs`` unknown. Types come from literals, constructors (resolved through
imports, so a shadowed ``list`` is not the builtin) and annotations. Types are spelled as
qualified class names without the ``builtins.`` prefix: ``list``, ``dict``, ``collections.deque``,
``numpy.ndarray``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from perfsquad.semantics.names import ImportMap

UNKNOWN = "?"

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


def _scope_body_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``scope`` that belongs to it (not to nested functions, classes or lambdas)."""
    stack: list[ast.AST] = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            # The name, decorators and defaults belong to the enclosing scope; the body does not.
            if not isinstance(node, ast.Lambda):
                stack.extend(node.decorator_list)
            continue
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            # Only the first iterable is evaluated in the enclosing scope.
            stack.append(node.generators[0].iter)
            continue
        stack.extend(ast.iter_child_nodes(node))


def infer_scope_types(scope: ast.AST, imports: ImportMap) -> dict[str, str]:
    """Map each local name of ``scope`` to its type, or to ``UNKNOWN`` when bindings disagree."""
    types: dict[str, str] = {}

    def bind(name: str, kind: str) -> None:
        old = types.get(name)
        types[name] = kind if old is None or old == kind else UNKNOWN

    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        args = scope.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            bind(arg.arg, annotation_type(arg.annotation, imports))
        if args.vararg:
            bind(args.vararg.arg, "tuple")
        if args.kwarg:
            bind(args.kwarg.arg, "dict")

    for node in _scope_body_nodes(scope):
        if isinstance(node, ast.Assign):
            kind = expr_type(node.value, imports)
            for target in node.targets:
                if isinstance(target, ast.Name):
                    bind(target.id, kind)
                else:
                    for sub in ast.walk(target):
                        # Only names in Store context are bound: `d[k] = v` and `o.a = v` do not rebind `d`/`o`.
                        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                            bind(sub.id, UNKNOWN)
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name):
                kind = annotation_type(node.annotation, imports)
                if kind == UNKNOWN and node.value is not None:
                    kind = expr_type(node.value, imports)
                bind(node.target.id, kind)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name) and node.target.id not in types:
                bind(node.target.id, UNKNOWN)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            # Loop targets, with-as, walrus, del, unpacking: anything not seen above.
            parent_handled = node.id in types
            if not parent_handled:
                bind(node.id, UNKNOWN)
        elif isinstance(node, ast.NamedExpr):
            bind(node.target.id, UNKNOWN)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
            targets = (
                [node.target]
                if isinstance(node, ast.For | ast.AsyncFor)
                else [i.optional_vars for i in node.items if i.optional_vars is not None]
            )
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        bind(sub.id, UNKNOWN)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for name in node.names:
                types[name] = UNKNOWN
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bind((alias.asname or alias.name).split(".", 1)[0], UNKNOWN)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bind(node.name, UNKNOWN)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bind(node.name, UNKNOWN)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            bind(node.name, UNKNOWN)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bind(node.rest, UNKNOWN)
    return types
