"""Evidence of scale: does a loop run over something that grows with real inputs?

A finding of the ALG, MEM, VEC and IO families claims that a cost grows. This module says why it
would (or why nothing shows it does), as a :class:`Scale`: a confidence and a one-line evidence.

* :func:`iteration_scale` reads what a loop iterates. A parameter, or a query or read result, is
  evidence (``high``): its size comes from the caller or from the data. An attribute or a call's
  result is plausible but unproven (``medium``). A literal display, ``range(<const>)``, the
  fixed-size parts of one object (``__bases__``, ``.shape``, ``**kwargs``, ``sys.argv``) are not
  evidence (``low``). A local name follows its bindings in its scope (the strongest wins, since
  any of them may be what runs); a name bound to a literal and then grown (``append``,
  ``+=``...) grows with whatever fills it (``medium``).
* :func:`loop_scale` adds where the loop runs: at import (module level, a class body) or behind a
  lazy initialiser (``if x is None: x = ...``) it runs once, whatever it iterates (``low``). In a
  command-line entry point (a Django management command's ``handle``, a ``@click.command``, the
  function ``if __name__ == "__main__":`` calls) it runs once per run of the program: its data
  may still be large (a script's input), so the confidence is one level lower, not ``low``.

Nothing here runs user code; it reads the syntax tree and the module's I/O types.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from perfsquad.memo import MemoKey
from perfsquad.model import Confidence
from perfsquad.semantics.bindings import ANNOTATED, ASSIGN, KWARG, PARAM, VARARG, Binding, scope_bindings
from perfsquad.syntax import walk

LOW, MEDIUM, HIGH = Confidence.LOW, Confidence.MEDIUM, Confidence.HIGH


@dataclass(frozen=True, slots=True)
class Scale:
    confidence: Confidence
    evidence: str


FIXED_ATTRIBUTES = frozenset({
    "__bases__", "__mro__", "__slots__", "__annotations__", "__dict__", "__all__",
    "shape", "ndim", "strides", "dtype", "dtypes", "names", "argv", "_fields", "__members__", "rank",
    "fields",
})  # fmt: skip
"""Attributes whose size is fixed by one object's declaration, not by the data it holds."""

_PASS_THROUGH = frozenset({
    "enumerate", "reversed", "sorted", "list", "tuple", "set", "frozenset", "iter", "dict",
    "items", "keys", "values", "copy", "filter",
})  # fmt: skip
"""Calls whose result has the size of their (first, data) argument or receiver."""

_GROWERS = frozenset({"append", "extend", "add", "update", "insert", "appendleft", "extendleft", "setdefault"})

_MAX_DEPTH = 4


def strongest(*scales: Scale) -> Scale:
    """The most confident of ``scales`` (the first among equals)."""
    return max(scales, key=lambda s: s.confidence.rank)


def weakest(*scales: Scale) -> Scale:
    """The least confident of ``scales`` (the first among equals)."""
    return min(scales, key=lambda s: s.confidence.rank)


def iteration_scale(iterable: ast.expr, ctx: Any) -> Scale:
    """How sure we are that iterating ``iterable`` (an expression of ``ctx``'s module) runs over
    something that grows with real inputs, and why."""
    return _scale(iterable, ctx, 0)


def loop_scale(loop: ast.For | ast.AsyncFor | ast.While | ast.comprehension, ctx: Any) -> Scale:
    """The scale of ``loop``'s iterations and of how often it runs: what it iterates, lowered to
    ``low`` when it runs once (at import, or behind a lazy initialiser)."""
    if isinstance(loop, ast.While):
        what = Scale(MEDIUM, "a `while` loop: its iteration count is unknown")
    else:
        what = iteration_scale(loop.iter, ctx)
    once = runs_once(loop, ctx)
    if once is not None:
        return Scale(LOW, f"{what.evidence}; {once}")
    fn = ctx.function_of(loop)
    if fn is not None and what.confidence is not LOW:
        entry = command_entry_point(fn, ctx)
        if entry is not None:
            return Scale(what.confidence.lowered(), f"{what.evidence}; {entry}")
        return Scale(what.confidence, f"{what.evidence}, per call of `{fn.name}`")
    return what


def runs_once(node: ast.AST, ctx: Any) -> str | None:
    """Why ``node`` runs once per process (at import, behind a lazy initialiser), or None."""
    if ctx.function_of(node) is None:
        return "runs once, at import"
    child: ast.AST = node
    for anc in ctx.ancestors(node):
        if isinstance(anc, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            break
        if isinstance(anc, ast.If) and any(child is s for s in anc.body):
            guarded = _lazy_guard(anc, ctx.function_of(node))
            if guarded is not None:
                return f"runs once, behind the lazy initialiser `if {guarded} ...`"
        child = anc
    return None


_COMMAND_BASES = ("BaseCommand", "AppCommand", "LabelCommand")
_COMMAND_DECORATORS = frozenset({"command", "group"})


def command_entry_point(fn: ast.AST, ctx: Any) -> str | None:
    """Why ``fn`` is a command-line entry point, run once per process, else None:

    * ``handle`` of a Django management command (a class deriving from ``BaseCommand``,
      ``AppCommand`` or ``LabelCommand``): once per ``manage.py`` invocation;
    * a function decorated ``@click.command`` / ``@<group>.command(...)`` / ``@click.group``;
    * a module-level function called from the module's ``if __name__ == "__main__":`` block.

    Its loops still grow with the data (a script's input), but the cost is paid once per run:
    :func:`loop_scale` lowers the confidence one level and says why.
    """
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    owner = ctx.parent(fn)
    if fn.name == "handle" and isinstance(owner, ast.ClassDef):
        for base in owner.bases:
            text = ast.unparse(base)
            if text.endswith(_COMMAND_BASES):
                return f"runs once per command: `{owner.name}.handle` of a management command (`{text}`)"
    for deco in fn.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Attribute) and target.attr in _COMMAND_DECORATORS:
            return f"runs once per command: `{fn.name}` is a `@{ast.unparse(target)}` entry point"
    if owner is ctx.tree:
        for stmt in ctx.tree.body:
            if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
                for sub in walk(stmt):
                    if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == fn.name:
                        return f"runs once per process: `{fn.name}` is called from `if __name__ == \"__main__\":`"
    return None


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _lazy_guard(test_if: ast.If, fn: ast.AST | None) -> str | None:
    """``if x is None: ... x = ...`` / ``if not self._cache: ... self._cache = ...``: the guarded
    text when the body assigns what the test checks, and it outlives the call (an attribute, or a
    name ``fn`` declares ``global``/``nonlocal``): a function's own local, tested and set in the
    same call, is a per-call branch, not a lazy initialiser."""
    test = test_if.test
    target: ast.expr | None = None
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Is)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    ):
        target = test.left
    elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        target = test.operand
    if not isinstance(target, ast.Name | ast.Attribute):
        return None
    if isinstance(target, ast.Name) and fn is not None and not _declared_outer(fn, target.id):
        return None
    wanted = ast.dump(target.value if isinstance(target, ast.Attribute) else target) + getattr(target, "attr", "")
    for stmt in test_if.body:
        for sub in walk(stmt):
            if isinstance(sub, ast.Assign | ast.AnnAssign):
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                for t in targets:
                    if isinstance(t, ast.Name | ast.Attribute):
                        text = ast.dump(t.value if isinstance(t, ast.Attribute) else t) + getattr(t, "attr", "")
                        if text.replace("Store()", "Load()") == wanted:
                            return ast.unparse(test)
    return None


def _declared_outer(fn: ast.AST, name: str) -> bool:
    """``fn`` declares ``name`` ``global`` or ``nonlocal`` (its value outlives a call)."""
    return any(isinstance(sub, ast.Global | ast.Nonlocal) and name in sub.names for sub in walk(fn))


def _scale(node: ast.expr, ctx: Any, depth: int) -> Scale:
    if depth > _MAX_DEPTH:
        return Scale(MEDIUM, "size unknown")
    if isinstance(node, ast.Constant):
        return Scale(LOW, "iterates a literal")
    if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
        elements = node.keys if isinstance(node, ast.Dict) else node.elts
        starred = [e.value for e in elements if isinstance(e, ast.Starred)]
        if isinstance(node, ast.Dict):
            starred = [v for k, v in zip(node.keys, node.values, strict=True) if k is None]
        if starred:
            return strongest(*(_scale(s, ctx, depth + 1) for s in starred))
        return Scale(LOW, f"iterates a literal of {len(elements)} items")
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        return _scale(node.generators[0].iter, ctx, depth + 1)
    if isinstance(node, ast.BinOp):
        return strongest(_scale(node.left, ctx, depth + 1), _scale(node.right, ctx, depth + 1))
    if isinstance(node, ast.IfExp):
        return strongest(_scale(node.body, ctx, depth + 1), _scale(node.orelse, ctx, depth + 1))
    if isinstance(node, ast.BoolOp):
        return strongest(*(_scale(v, ctx, depth + 1) for v in node.values))
    if isinstance(node, ast.Attribute):
        return _attribute_scale(node, ctx, depth)
    if isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Slice):
            return _scale(node.value, ctx, depth + 1)
        return Scale(MEDIUM, f"iterates `{_short(node)}`, of unknown size")
    if isinstance(node, ast.Call):
        return _call_scale(node, ctx, depth)
    if isinstance(node, ast.Name):
        return _name_scale(node, ctx, depth)
    if isinstance(node, ast.Starred):
        return _scale(node.value, ctx, depth + 1)
    return Scale(MEDIUM, f"iterates `{_short(node)}`, of unknown size")


def _attribute_scale(node: ast.Attribute, ctx: Any, depth: int) -> Scale:
    if node.attr in FIXED_ATTRIBUTES:
        return Scale(LOW, f"iterates `{_short(node)}`, fixed by one object's declaration")
    return Scale(MEDIUM, f"iterates attribute `{_short(node)}`, of unknown size")


def _call_scale(node: ast.Call, ctx: Any, depth: int) -> Scale:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name == "range" and isinstance(func, ast.Name):
        sizes = [a for a in node.args if not _is_int_constant(a)]
        if not sizes:
            return Scale(LOW, f"iterates `{_short(node)}`, a fixed size")
        return strongest(*(_size_scale(a, ctx, depth + 1) for a in sizes))
    if isinstance(func, ast.Attribute) and name in ("items", "keys", "values", "copy"):
        return _scale(func.value, ctx, depth + 1)
    if name in ("zip", "map", "itertools.product", "product", "chain") and node.args:
        data = node.args[1:] if name == "map" else node.args
        if data:
            return strongest(*(_scale(a, ctx, depth + 1) for a in data))
    if name in _PASS_THROUGH and isinstance(func, ast.Name) and node.args:
        return _scale(node.args[-1] if name == "filter" else node.args[0], ctx, depth + 1)
    if _is_io_result(node, ctx):
        return Scale(HIGH, f"iterates the result of `{_short(node)}`, read from outside the program")
    data = [*node.args, *(k.value for k in node.keywords)]
    if data and all(_is_display(a) for a in data):
        # `frozenset({...})`, `immutabledict({...})`, `np.array([1, 2])`: a container built from a
        # literal has the literal's size (a bare constant argument, a path or a URL, proves nothing).
        return Scale(LOW, f"iterates `{_short(node)}`, built from a literal")
    return Scale(MEDIUM, f"iterates the result of `{_short(node)}`, of unknown size")


def _size_scale(node: ast.expr, ctx: Any, depth: int) -> Scale:
    """The scale of a size: ``len(x)`` has ``x``'s; a name or expression, its own."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" and node.args:
        return _scale(node.args[0], ctx, depth)
    if isinstance(node, ast.BinOp):
        return strongest(_size_scale(node.left, ctx, depth + 1), _size_scale(node.right, ctx, depth + 1))
    if isinstance(node, ast.Constant):
        return Scale(LOW, f"a fixed size {node.value!r}")
    return _scale(node, ctx, depth)


def _is_display(node: ast.expr) -> bool:
    """A list, tuple, set or dict display without unpacking: its size is in the source."""
    if isinstance(node, ast.Dict):
        return all(k is not None for k in node.keys)
    return isinstance(node, ast.List | ast.Tuple | ast.Set) and not any(isinstance(e, ast.Starred) for e in node.elts)


def _is_int_constant(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def _is_io_result(call: ast.Call, ctx: Any) -> bool:
    io = getattr(ctx, "io", None)
    if io is None:
        return False
    try:
        found = io.op_of(call)
    except (AttributeError, KeyError, TypeError):
        return False
    return found is not None and found.op.op in ("query", "fetch", "request")


_BINDINGS: MemoKey[dict[ast.AST, dict[str, list[Binding]]]] = MemoKey("scale.bindings")


def _bindings(scope: ast.AST, ctx: Any) -> dict[str, list[Binding]]:
    by_scope = ctx.memo(_BINDINGS, dict)
    found: dict[str, list[Binding]] | None = by_scope.get(scope)
    if found is None:
        found = {}
        for b in scope_bindings(scope):
            found.setdefault(b.name, []).append(b)
        by_scope[scope] = found
    return found


def _name_scale(node: ast.Name, ctx: Any, depth: int) -> Scale:
    scope = ctx.scope_of(node)
    bindings = _bindings(scope, ctx).get(node.id)
    if not bindings:
        module = ctx.tree
        if scope is not module:
            bindings = _bindings(module, ctx).get(node.id)
            scope = module
        if not bindings:
            return Scale(MEDIUM, f"iterates `{node.id}`, of unknown size")
    scales = [_binding_scale(node.id, b, scope, ctx, depth) for b in bindings]
    return strongest(*scales)


def _binding_scale(name: str, b: Binding, scope: ast.AST, ctx: Any, depth: int) -> Scale:
    if b.how == PARAM:
        default = _int_default(scope, b.node)
        if default is not None:
            return Scale(LOW, f"iterates up to parameter `{name}`, which defaults to {default}: a fixed size by default")
        return Scale(HIGH, f"iterates parameter `{name}`, whose size the caller decides")
    if b.how == VARARG:
        return Scale(LOW, f"iterates `*{name}`, the arguments of one call")
    if b.how == KWARG:
        return Scale(LOW, f"iterates `**{name}`, the keyword arguments of one call")
    if b.how in (ASSIGN, ANNOTATED):
        value = b.node.value if isinstance(b.node, ast.Assign | ast.AnnAssign) else None
        if value is None:
            return Scale(MEDIUM, f"iterates `{name}`, of unknown size")
        scale = _scale(value, ctx, depth + 1)
        if scale.confidence is LOW and _grown(name, scope):
            return Scale(MEDIUM, f"iterates `{name}`, filled in the code before the loop")
        if scale.confidence is not LOW or not isinstance(value, ast.List | ast.Tuple | ast.Set | ast.Dict):
            return scale
        return Scale(LOW, f"iterates `{name}`, {scale.evidence.removeprefix('iterates ')}")
    return Scale(MEDIUM, f"iterates `{name}`, of unknown size")


SMALL_DEFAULT = 1000
"""A parameter whose default is an int up to this is a size knob with a small usual value
(``W=55`` columns of a text plot), not evidence that the size grows with the data."""


def _int_default(scope: ast.AST, arg: ast.AST) -> int | None:
    """The int literal (0..``SMALL_DEFAULT``) that parameter ``arg`` of ``scope`` defaults to."""
    args = getattr(scope, "args", None)
    if not isinstance(args, ast.arguments):
        return None
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
    for a, default in pairs:
        if a is arg and isinstance(default, ast.Constant) and type(default.value) is int:
            return default.value if 0 <= default.value <= SMALL_DEFAULT else None
    return None


def _grown(name: str, scope: ast.AST) -> bool:
    """Whether ``name`` is grown in ``scope`` (``name.append(...)``, ``name += ...``,
    ``name[k] = ...``, or handed to a call that may fill it): a literal it started as says
    nothing of its size."""
    for sub in walk(scope):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in _GROWERS:
            if isinstance(sub.func.value, ast.Name) and sub.func.value.id == name:
                return True
        elif isinstance(sub, ast.AugAssign) and isinstance(sub.target, ast.Name) and sub.target.id == name:
            return True
        elif (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.ctx, ast.Store)
            and isinstance(sub.value, ast.Name)
            and sub.value.id == name
        ):
            return True
        elif (
            isinstance(sub, ast.Call)
            and any(isinstance(a, ast.Name) and a.id == name for a in sub.args)
            and not (isinstance(sub.func, ast.Name) and sub.func.id in _READERS)
        ):
            return True  # handed to a callee, which may fill it (`self.merge(a, b, queue)`)
    return False


_READERS = frozenset({"len", "list", "tuple", "set", "frozenset", "sorted", "sum", "min", "max", "any", "all",
                      "iter", "enumerate", "reversed", "print", "repr", "str", "isinstance", "id", "bool"})  # fmt: skip
"""Builtins that read a container passed to them and never fill it."""


def _short(node: ast.AST, limit: int = 40) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else text[: limit - 3] + "..."
