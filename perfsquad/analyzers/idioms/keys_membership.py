from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._scale import enclosing_confidence, loop_confidence
from perfsquad.context import Context
from perfsquad.fixes import replace_spans
from perfsquad.model import Confidence, Fix, FixSafety, Span
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.bindings import PARAM, scope_bindings
from perfsquad.semantics.scale import Scale
from perfsquad.semantics.types import MAPPINGS


def keys_call(node: ast.expr) -> ast.expr | None:
    """The receiver of ``receiver.keys()``."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "keys"
        and not node.args
        and not node.keywords
    ):
        return node.func.value
    return None


def receiver_class(ctx: Context, receiver: ast.expr) -> ast.ClassDef | None:
    """The class of this module that ``receiver`` is an instance of, when known: ``self`` in one
    of its methods, or a name typed by a constructor call or an annotation naming it."""
    if isinstance(receiver, ast.Name):
        function = ctx.function_of(receiver)
        if function is not None and ctx.scope_of(receiver) is function:
            params = [*function.args.posonlyargs, *function.args.args]
            owner = ctx.parent(function)
            static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in function.decorator_list)
            if params and params[0].arg == receiver.id and isinstance(owner, ast.ClassDef) and not static:
                rebound = any(
                    b.name == receiver.id and b.how != PARAM for b in scope_bindings(function)
                )
                return None if rebound else owner
    kind = ctx.io.type_of(receiver)
    if kind.startswith("@"):
        return ctx.io.local_class(kind[1:])
    if isinstance(receiver, ast.Name):
        return _constructed_before(ctx, receiver)
    return None


def _constructed_before(ctx: Context, name: ast.Name) -> ast.ClassDef | None:
    """``headers = Headers(headers)`` earlier in the function, on every path to ``name`` (a
    statement of an enclosing block, before it), and the name's only other binding is the
    parameter it replaces: the type a flow-insensitive inference gives up on."""
    function = ctx.function_of(name)
    if function is None or ctx.scope_of(name) is not function:
        return None
    bindings = [b for b in scope_bindings(function) if b.name == name.id and b.how != PARAM]
    if len(bindings) != 1 or not isinstance(bindings[0].node, ast.Assign):
        return None
    assign = bindings[0].node
    value = assign.value
    if not (len(assign.targets) == 1 and isinstance(value, ast.Call) and isinstance(value.func, ast.Name)):
        return None
    child: ast.AST = name
    for anc in ctx.ancestors(name):
        block = next(
            (b for f in ("body", "orelse", "finalbody") if isinstance(b := getattr(anc, f, None), list) and child in b),
            None,
        )
        if block is not None and any(s is assign for s in block[: block.index(child)]):
            return ctx.io.classes().get(value.func.id)
        if anc is function:
            break
        child = anc
    return None


def class_defines(ctx: Context, cls: ast.ClassDef, names: frozenset[str], depth: int = 0) -> bool:
    """``cls`` or one of its bases defined in this module defines one of ``names``."""
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and stmt.name in names:
            return True
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in stmt.targets):
            return True
    if depth > 8:
        return False
    local = ctx.io.classes()
    for base in cls.bases:
        found = local.get(base.id) if isinstance(base, ast.Name) else None
        if found is not None and found is not cls and class_defines(ctx, found, names, depth + 1):
            return True
    return False


_KEY_PROTOCOL = frozenset({"keys", "__iter__", "__contains__"})


def _plain_dict_subclass(ctx: Context, cls: ast.ClassDef | None, depth: int = 0) -> bool:
    """A class of this module whose bases are all ``dict`` or such classes (the caller has checked
    that none redefines the key protocol): its ``in``/iteration are dict's own."""
    if cls is None or not cls.bases or depth > 8:
        return False
    local = ctx.io.classes()
    for base in cls.bases:
        if ctx.qualified_name(base) == "builtins.dict":
            continue
        found = local.get(base.id) if isinstance(base, ast.Name) else None
        if found is None or found is cls or not _plain_dict_subclass(ctx, found, depth + 1):
            return False
    return True


class KeysMembership(Rule):
    """
    ## What it does
    Flags `key in d.keys()` / `key not in d.keys()` and `for key in d.keys():`.

    Not flagged when the receiver's own class (`self` in a method, or an instance of a class of
    the module, `h = Headers(h)`) defines `keys`, `__iter__` or `__contains__` itself, or inherits
    them from a class of the module: there `.keys()` is not redundant (a `dict` subclass whose
    `__iter__` yields something else, a mapping whose `keys()` deduplicates or filters), and
    dropping it changes what the loop sees or recurses.

    Confidence: `medium` only when the receiver is known to be a dict (a literal, a constructor, an
    annotation, or a class of the module that only subclasses `dict`) and the test or loop runs
    per element of something of unknown size, or per call of a function; `low` (shown with
    `--confidence low`) for a receiver of unknown type (any mapping class may answer `in` and
    iteration differently from its `keys()`), a literal, or code run once at import.

    ## Why is this bad?
    `d.keys()` creates a view object only to ask the dict the same question it answers directly:
    `key in d` is one hash lookup with no extra call, and `for key in d` iterates the keys already.

    ## Example
    ```python
    if name in registry.keys():
        ...
    for name in registry.keys():
        ...
    ```

    ## Use instead
    ```python
    if name in registry:
        ...
    for name in registry:
        ...
    ```

    ## Fix safety
    Safe when the receiver is known to be a dict (or `defaultdict`, `Counter`, `OrderedDict`, or a
    class of the module that only subclasses `dict`) from a literal, constructor or annotation: for those, `in d` and `in d.keys()` are the same
    lookup and iteration order is the same. Unsafe otherwise: a custom mapping's `__contains__`
    or `__iter__` may differ from its `keys()`.

    ## Speedup
    Measured by `bench/calibrate.py` (one membership test per iteration); see
    `perfsquad explain IDM006`.

    ## References
    - [Mapping types: dict](https://docs.python.org/3/library/stdtypes.html#mapping-types-dict)
    - [ruff SIM118](https://docs.astral.sh/ruff/rules/in-dict-keys/)
    """

    code = "IDM006"
    name = "dict-keys-membership"
    message = "`.keys()` is redundant here; test or iterate the dict itself"
    fix_title = "Remove `.keys()`"
    fix_safety = FixSafety.SAFE
    node_types = (ast.Compare, ast.For, ast.comprehension)
    effort_minutes = 1
    bench = Bench(
        setup="d = {i: i for i in range(1000)}\nxs = list(range(n))",
        before="result = 0\nfor x in xs:\n    if x in d.keys():\n        result += 1",
        after="result = 0\nfor x in xs:\n    if x in d:\n        result += 1",
        scales_with="n = membership tests",
    )
    valid = (
        # A class whose own `keys()`, `__iter__` or `__contains__` differ: `.keys()` is not redundant.
        "class Cycle(dict):\n    def __iter__(self):\n        yield from self.list()\n"
        "    def size(self):\n        return max([i for i in self.keys() if self[i] != i] + [0])\n",
        "class Headers:\n    def keys(self):\n        return {k: None for k, _ in self._list}.keys()\n"
        "    def update(self, other):\n        other = Headers(other)\n        for key in other.keys():\n"
        "            self.pop(key)\n",
        "class Base:\n    def __contains__(self, k):\n        return False\nclass Sub(Base):\n"
        "    def has(self, k):\n        return k in self.keys()\n",
        # Reported only with `--confidence low` (see tests/rules/idioms): a receiver not known to be
        # a dict, one test not repeated by a loop, a loop run once at import or over a literal.
        "def f(obj, xs):\n    return [k for k in xs if k not in obj.keys()]\n",
        "D = {}\nFOUND = 'k' in D.keys()\n",
        "ks = [k for k in {'a': 1}.keys() if k]\n",
        "def f():\n    d = {'a': 1, 'b': 2}\n    for k in d.keys():\n        print(k)\n",
        "x in d\n",
        "x in d.keys(1)\n",
        "for k in d:\n    pass\n",
        "x == d.keys()\n",
        "x in d.values()\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    d = {}\n    for k in xs:\n        if k in d.keys():\n            d[k] = 2\n"
            "        d[k] = 1\n    return d\n",
            fixed="def f(xs):\n    d = {}\n    for k in xs:\n        if k in d:\n            d[k] = 2\n"
            "        d[k] = 1\n    return d\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(d: dict[str, int]):\n    for k in d.keys():\n        print(k)\n",
            fixed="def f(d: dict[str, int]):\n    for k in d:\n        print(k)\n",
            safety=FixSafety.SAFE,
        ),
        # Look-alikes: a class that keeps dict's protocol, or `self.keys()` of another object.
        Invalid(
            "class Registry(dict):\n    def names(self):\n        return [k for k in self.keys() if k]\n",
            fixed="class Registry(dict):\n    def names(self):\n        return [k for k in self if k]\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "class Cycle(dict):\n    def __iter__(self):\n        yield 1\n    def f(self, other: dict):\n"
            "        return [k for k in other.keys()]\n",
            fixed="class Cycle(dict):\n    def __iter__(self):\n        yield 1\n    def f(self, other: dict):\n"
            "        return [k for k in other]\n",
            safety=FixSafety.SAFE,
        ),
    )

    def check(self, node: ast.Compare | ast.For | ast.comprehension, ctx: Context) -> None:
        if isinstance(node, ast.Compare):
            calls = [
                c for op, c in zip(node.ops, node.comparators, strict=True) if isinstance(op, ast.In | ast.NotIn)
            ]
        else:
            calls = [node.iter]
        if not any(keys_call(call) is not None for call in calls):
            return
        if isinstance(node, ast.Compare):
            scale = enclosing_confidence(self, node, ctx, "one membership test")
        else:
            scale = loop_confidence(self, node, ctx)
        for call in calls:
            receiver = keys_call(call)
            if receiver is None:
                continue
            cls = receiver_class(ctx, receiver)
            if cls is not None and class_defines(ctx, cls, _KEY_PROTOCOL):
                continue  # its own `keys()` differs from its iteration or membership: not redundant
            self._report(ctx, call, receiver, scale)

    def _report(self, ctx: Context, call: ast.expr, receiver: ast.expr, scale: Scale) -> None:
        known = ctx.type_of(receiver) in MAPPINGS or _plain_dict_subclass(ctx, receiver_class(ctx, receiver))
        if not known:
            # A mapping of another class may answer `in`/iteration differently from its `keys()`.
            scale = Scale(
                Confidence.LOW,
                f"`{ctx.text(receiver)}` is not known to be a dict (its `keys()` may differ from its"
                f" iteration); {scale.evidence}",
            )

        def fix() -> Fix | None:
            title = self.fix_title or ""
            if not known:
                title += " (unsafe: the receiver is not known to be a dict)"
            # Delete from the end of the receiver to the end of the call: `.keys()`.
            span = Span(ctx.span(receiver).end, ctx.span(call).end)
            statement = next(a for a in ctx.ancestors(call) if isinstance(a, ast.stmt))
            return replace_spans(
                ctx, [(span, "")], title, FixSafety.SAFE if known else FixSafety.UNSAFE, statement
            )

        ctx.report(self, call, fix=fix, confidence=scale.confidence, evidence=scale.evidence)
