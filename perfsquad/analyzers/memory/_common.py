"""Facts shared by the memory rules: cache decorators and module-level containers that only grow.

A module-level container "only grows" when some function adds to it and nothing anywhere in the
module can take anything out. Every use of the name is classified; a use we cannot account for
(the container passed to an unknown function, aliased, returned, rebound through ``global``)
counts as a possible eviction, so the rules stay silent: precise before broad.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from perfsquad.analyzers.io._common import enclosing_function
from perfsquad.context import FUNCTIONS, Context
from perfsquad.memo import MemoKey
from perfsquad.model import Confidence, Fix, Severity, Span
from perfsquad.rule import Rule
from perfsquad.syntax import children, walk

CACHE_DECORATORS = frozenset({"functools.lru_cache", "functools.cache"})

MAPPING_TYPES = frozenset({"dict", "collections.defaultdict", "collections.OrderedDict", "collections.Counter"})
GROWABLE_TYPES = frozenset({"list", "set", "collections.deque", "bytearray"})

GROW_METHODS = frozenset({"append", "extend", "add", "insert", "appendleft", "extendleft", "update"})
STORE_METHODS = frozenset({"setdefault", "update", "__setitem__"})
EVICT_METHODS = frozenset({
    "pop", "popitem", "popleft", "clear", "remove", "discard", "__delitem__", "difference_update",
    "intersection_update", "symmetric_difference_update", "rotate",
})  # fmt: skip
READ_METHODS = frozenset({
    "get", "keys", "values", "items", "copy", "count", "index", "__contains__", "__len__", "__getitem__",
    "issubset", "issuperset", "isdisjoint", "union", "intersection", "difference", "most_common",
})  # fmt: skip
# Builtins that only read a container passed to them.
READING_CALLS = frozenset({
    "builtins.len", "builtins.list", "builtins.sorted", "builtins.tuple", "builtins.set", "builtins.frozenset",
    "builtins.iter", "builtins.sum", "builtins.min", "builtins.max", "builtins.any", "builtins.all",
    "builtins.enumerate", "builtins.reversed", "builtins.isinstance", "builtins.print", "builtins.repr",
    "builtins.str", "builtins.dict", "builtins.bool", "builtins.zip", "builtins.map", "builtins.filter",
})  # fmt: skip


HIGH, MEDIUM, LOW = Confidence.HIGH, Confidence.MEDIUM, Confidence.LOW


def report(
    rule: Rule,
    ctx: Context,
    node: ast.AST | Span,
    *,
    confidence: Confidence,
    evidence: str,
    message: str | None = None,
    notes: tuple[str, ...] = (),
    severity: Severity = Severity.WARNING,
    fix: Callable[[], Fix | None] | None = None,
) -> None:
    """Report a MEM finding with how sure we are that its cost grows, and why (one line)."""
    ctx.report(
        rule, node, message=message, fix=fix, notes=notes, severity=severity, confidence=confidence, evidence=evidence
    )


def cache_decorator(ctx: Context, dec: ast.expr) -> tuple[str, ast.expr | None] | None:
    """``("lru_cache", maxsize_expr_or_None)`` or ``("cache", None)`` for a caching decorator.

    ``maxsize`` is the expression given (``None`` when not given: lru_cache's default is 128);
    a bare ``@lru_cache`` gets the default too.
    """
    target = dec.func if isinstance(dec, ast.Call) else dec
    qualified = ctx.qualified_name(target)
    if qualified not in CACHE_DECORATORS:
        return None
    kind = qualified.rsplit(".", 1)[1]
    if kind == "cache":
        return kind, None
    if isinstance(dec, ast.Call):
        for kw in dec.keywords:
            if kw.arg == "maxsize":
                return kind, kw.value
        if dec.args and not isinstance(dec.args[0], ast.Lambda):
            return kind, dec.args[0]
    return kind, None


def is_unbounded(kind: str, maxsize: ast.expr | None) -> bool:
    if kind == "cache":
        return True
    return isinstance(maxsize, ast.Constant) and maxsize.value is None


def method_kind(func: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context) -> str | None:
    """``"method"``, ``"classmethod"`` or ``"staticmethod"`` when ``func`` is defined in a class body."""
    if not isinstance(ctx.parent(func), ast.ClassDef):
        return None
    for dec in func.decorator_list:
        name = ctx.qualified_name(dec)
        if name in ("builtins.staticmethod", "builtins.classmethod"):
            return name.split(".", 1)[1]
    return "method"


@dataclass
class ContainerUse:
    """How one module-level container is used across the module."""

    kind: str
    growth: list[ast.AST] = field(default_factory=list)
    """Statements/expressions inside functions that add to it."""
    evicted: bool = False
    """Something may remove from it (or we cannot tell)."""


_CONTAINERS: MemoKey[dict[str, ContainerUse]] = MemoKey("memory.containers")


def module_containers(ctx: Context) -> dict[str, ContainerUse]:
    """Module-level dicts/lists/sets/deques and how every function uses them (once per module)."""
    return ctx.memo(_CONTAINERS, lambda: _analyze_containers(ctx))


_CONTAINER_VALUES = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp, ast.Call)


def _module_container_types(ctx: Context) -> dict[str, str]:
    # Cheap screen: no module-level assignment of a display, comprehension or call, no container.
    if not any(
        isinstance(stmt, ast.Assign | ast.AnnAssign) and isinstance(stmt.value, _CONTAINER_VALUES)
        for stmt in ctx.tree.body
    ):
        return {}
    types = ctx.scope_types(ctx.tree)
    out = {name: kind for name, kind in types.items() if kind in MAPPING_TYPES or kind in GROWABLE_TYPES}
    # A deque with a maxlen is bounded by construction.
    for stmt in ctx.tree.body:
        value: ast.expr | None = None
        target: ast.expr | None = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Call)
            and out.get(target.id) == "collections.deque"
            and (len(value.args) > 1 or any(kw.arg == "maxlen" for kw in value.keywords))
        ):
            del out[target.id]
    return out


def _container_names_linked(
    ctx: Context, uses: dict[str, ContainerUse]
) -> tuple[dict[ast.AST, ast.AST], dict[ast.AST, ast.AST | None], set[str]]:
    """From the engine's buckets and parent links: the loads and stores of the containers' names,
    each with its innermost function or lambda (None at module level), and decorator names."""
    functions: dict[ast.AST, ast.AST | None] = {
        name: enclosing_function(ctx, name) for name in ctx.nodes(ast.Name) if name.id in uses
    }
    decorators: set[str] = set()
    defs: list[ast.FunctionDef | ast.AsyncFunctionDef] = [*ctx.nodes(ast.FunctionDef), *ctx.nodes(ast.AsyncFunctionDef)]
    for fn in defs:
        for dec in fn.decorator_list:
            decorators.update(n.id for n in walk(dec) if isinstance(n, ast.Name))
    return ctx.parent_links, functions, decorators


def _container_names_walked(
    ctx: Context,
) -> tuple[dict[ast.AST, ast.AST], dict[ast.AST, ast.AST | None], set[str]]:
    """:func:`_container_names_linked` for a context whose links cover only part of the tree (the
    editor's incremental contexts): the whole module is walked with parent links of our own."""
    parents: dict[ast.AST, ast.AST] = {}
    decorators: set[str] = set()
    stack: list[tuple[ast.AST, ast.AST | None]] = [(ctx.tree, None)]
    functions: dict[ast.AST, ast.AST | None] = {}
    while stack:
        node, func = stack.pop()
        if isinstance(node, _SCOPE_FUNCTIONS):
            inner: ast.AST | None = node
            if not isinstance(node, ast.Lambda):
                for dec in node.decorator_list:
                    for n in walk(dec):
                        if isinstance(n, ast.Name):
                            decorators.add(n.id)
        else:
            inner = func
        functions[node] = func
        for child in children(node):
            parents[child] = node
            stack.append((child, inner))
    return parents, functions, decorators


_SCOPE_FUNCTIONS = (*FUNCTIONS, ast.Lambda)


def _analyze_containers(ctx: Context) -> dict[str, ContainerUse]:
    kinds = _module_container_types(ctx)
    if not kinds:
        return {}
    uses = {name: ContainerUse(kind) for name, kind in kinds.items()}
    if ctx.links_whole_tree():
        parents, functions, decorators = _container_names_linked(ctx, uses)
    else:
        parents, functions, decorators = _container_names_walked(ctx)

    local_cache: dict[ast.AST, tuple[set[str], set[str]]] = {}
    module_names = set(_module_bindings(ctx))

    def locals_of(func: ast.AST) -> tuple[set[str], set[str]]:
        got = local_cache.get(func)
        if got is None:
            declared: set[str] = set()
            bound: set[str] = set()
            for n in _own_nodes(func):
                if isinstance(n, ast.Global):
                    declared.update(n.names)
                elif isinstance(n, ast.Nonlocal):
                    bound.update(n.names)
                elif isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                    bound.add(n.id)
                elif isinstance(n, ast.arg):
                    bound.add(n.arg)
                elif isinstance(n, (*FUNCTIONS, ast.ClassDef)) and n is not func:
                    bound.add(n.name)
                elif isinstance(n, ast.alias):
                    bound.add((n.asname or n.name).split(".", 1)[0])
            got = (declared, bound - declared)
            local_cache[func] = got
        return got

    for node, func in functions.items():
        if not isinstance(node, ast.Name) or node.id not in uses:
            continue
        use = uses[node.id]
        if func is None:
            # Module level: the definition itself and reads are fine; anything else is unknown.
            if not isinstance(node.ctx, ast.Load):
                parent = parents.get(node)
                if isinstance(parent, ast.Assign | ast.AnnAssign) and parents.get(parent) is ctx.tree:
                    continue
                use.evicted = True
                continue
            _classify_load(ctx, node, parents, use, in_function=None)
            continue
        _, local = locals_of(func)
        if node.id in local:
            continue  # a local of the same name
        if not isinstance(node.ctx, ast.Load):
            use.evicted = True  # `global X; X = ...` / `del X`
            continue
        if isinstance(func, FUNCTIONS) and (func.name in decorators or returns_its_argument(func)):
            # Registries filled by decorators run once per definition; a function that returns
            # its argument is a decorator even when it is applied in other modules.
            use.evicted = True
            continue
        before = len(use.growth)
        _classify_load(ctx, node, parents, use, in_function=func)
        if len(use.growth) > before and _guarded_by_emptiness(
            node.id, use.growth[-1], func, parents, lazy_names=module_names - local
        ):
            use.growth.pop()  # lazy one-time initialization: `if not X: X.extend(...)`
    return uses


def _guarded_by_emptiness(
    name: str, node: ast.AST, func: ast.AST, parents: dict[ast.AST, ast.AST], lazy_names: AbstractSet[str] = frozenset()
) -> bool:
    """Whether ``node`` only runs while the container is empty (``if not X:`` / ``if len(X) == 0:``)
    or shorter than asked (``if n >= len(X):``): a table filled once, or extended up to the largest
    ``n`` ever asked, whose size is set by that ``n`` and not by the number of calls. A lazy
    initialiser of another module-level name (``if not PATTERNS:`` / ``if _TABLE is None:``, one of
    ``lazy_names``) guards it too: it runs once."""
    child = node
    parent = parents.get(node)
    while parent is not None and parent is not func:
        if isinstance(parent, ast.If) and any(child is s for s in parent.body):
            test = parent.test
            if (
                isinstance(test, ast.UnaryOp)
                and isinstance(test.op, ast.Not)
                and isinstance(test.operand, ast.Name)
                and (test.operand.id == name or test.operand.id in lazy_names)
            ):
                return True
            if (
                isinstance(test, ast.Compare)
                and isinstance(test.left, ast.Name)
                and test.left.id in (lazy_names | {name})
                and isinstance(test.ops[0], ast.Is)
                and isinstance(test.comparators[0], ast.Constant)
                and test.comparators[0].value is None
            ):
                return True
            if (
                isinstance(test, ast.Compare)
                and isinstance(test.left, ast.Call)
                and isinstance(test.left.func, ast.Name)
                and test.left.func.id == "len"
                and len(test.left.args) == 1
                and isinstance(test.left.args[0], ast.Name)
                and test.left.args[0].id == name
                and isinstance(test.ops[0], ast.Eq)
                and isinstance(test.comparators[0], ast.Constant)
                and test.comparators[0].value == 0
            ):
                return True
            if (
                isinstance(test, ast.Compare)
                and any(
                    isinstance(side, ast.Call)
                    and isinstance(side.func, ast.Name)
                    and side.func.id == "len"
                    and len(side.args) == 1
                    and isinstance(side.args[0], ast.Name)
                    and side.args[0].id == name
                    for side in (test.left, *test.comparators)
                )
                and any(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in test.ops)
            ):
                return True
        child = parent
        parent = parents.get(parent)
    return False


def _own_nodes(func: ast.AST) -> list[ast.AST]:
    """Nodes of a function body that belong to its own scope (not nested defs' bodies)."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = []
    if isinstance(func, ast.Lambda):
        stack.append(func.args)
        stack.append(func.body)
    elif isinstance(func, FUNCTIONS):
        stack.append(func.args)
        stack.extend(func.body)
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(children(node))
    return out


def _classify_load(
    ctx: Context, node: ast.Name, parents: dict[ast.AST, ast.AST], use: ContainerUse, in_function: ast.AST | None
) -> None:
    parent = parents.get(node)
    grand = parents.get(parent) if parent is not None else None
    if isinstance(parent, ast.Attribute) and parent.value is node:
        attr = parent.attr
        called = isinstance(grand, ast.Call) and grand.func is parent
        if attr in EVICT_METHODS:
            use.evicted = True
        elif (
            called
            and in_function is not None
            and (
                (attr in GROW_METHODS and use.kind in GROWABLE_TYPES)
                or (attr in STORE_METHODS and use.kind in MAPPING_TYPES)
            )
        ):
            assert grand is not None
            use.growth.append(grand)
        elif called and attr not in READ_METHODS and attr not in GROW_METHODS and attr not in STORE_METHODS:
            use.evicted = True  # an unknown method: it may remove
        return
    if isinstance(parent, ast.Subscript) and parent.value is node:
        if isinstance(parent.ctx, ast.Del) or isinstance(parent.slice, ast.Slice):
            if not isinstance(parent.ctx, ast.Load):
                use.evicted = True
            return
        if isinstance(parent.ctx, ast.Store):
            if use.kind in MAPPING_TYPES and in_function is not None:
                use.growth.append(parent)
            return
        if use.kind == "collections.defaultdict" and in_function is not None:
            use.growth.append(parent)  # a missing key is created by reading it
        return
    if isinstance(parent, ast.Call) and node in parent.args:
        if ctx.qualified_name(parent.func) in READING_CALLS:
            return
        use.evicted = True
        return
    if isinstance(parent, ast.Compare) and (
        (node in parent.comparators and all(isinstance(op, ast.In | ast.NotIn) for op in parent.ops))
        or parent.left is node
    ):
        return
    if isinstance(parent, ast.For | ast.AsyncFor | ast.comprehension) and parent.iter is node:
        return
    if isinstance(parent, ast.If | ast.While | ast.IfExp | ast.Assert) and getattr(parent, "test", None) is node:
        return
    if isinstance(parent, ast.UnaryOp | ast.BoolOp | ast.FormattedValue):
        return
    use.evicted = True


class ReadsModuleContainers:
    """Mixin for rules reading :func:`module_containers`: a container's findings depend on every
    use of it in the module (an eviction anywhere clears them)."""

    @classmethod
    def module_facts(cls, unit: ast.stmt, ctx: Context) -> object:
        # Functions registered as option callbacks run once (`runs_once_per_process`), wherever
        # the registration is.
        callbacks = {
            ("callback", kw.value.id)
            for call in walk(unit)
            if isinstance(call, ast.Call)
            for kw in call.keywords
            if kw.arg == "callback" and isinstance(kw.value, ast.Name)
        }
        names = set(_module_container_types(ctx))
        if not names:
            return frozenset(callbacks) or None
        facts: set[tuple[object, ...]] = set(callbacks)
        Frame = tuple[ast.AST, ast.stmt | None, tuple[str, ...], str]
        stack: list[Frame] = [(unit, None, (), "")]
        while stack:
            node, stmt, guards, function = stack.pop()
            if isinstance(node, ast.stmt):
                stmt = node
            if isinstance(node, ast.Name) and node.id in names:
                facts.add(("use", ast.dump(stmt) if stmt is not None else node.id, guards, function))
                continue
            if isinstance(node, (*FUNCTIONS, ast.Lambda)):
                if not isinstance(node, ast.Lambda):
                    facts.add(("def", node.name))
                    for dec in node.decorator_list:
                        facts.update(("decorator", n.id) for n in walk(dec) if isinstance(n, ast.Name))
                function = getattr(node, "name", "<lambda>")
                facts.update(
                    ("arg", a.arg, function) for a in walk(node.args) if isinstance(a, ast.arg) and a.arg in names
                )
            elif isinstance(node, ast.Global | ast.Nonlocal):
                facts.add((type(node).__name__, tuple(node.names), function))
            elif isinstance(node, ast.alias) and (node.asname or node.name).split(".", 1)[0] in names:
                facts.add(("import", node.asname or node.name, function))
            if isinstance(node, ast.If):
                test = ast.dump(node.test)
                stack.append((node.test, stmt, guards, function))
                stack.extend((s, stmt, (*guards, "if " + test), function) for s in node.body)
                stack.extend((s, stmt, (*guards, "else " + test), function) for s in node.orelse)
                continue
            stack.extend((child, stmt, guards, function) for child in children(node))
        return frozenset(facts)


# -- where a cache's keys come from ----------------------------------------------------------------

_CLASS_WORDS = frozenset({"cls", "class", "klass", "type", "typ", "mcs", "metacls"})
# Names, settings and codes: a domain bounded by the code or the configuration that defines them.
_BOUNDED_WORDS = frozenset({
    "module", "modname", "mod", "import", "urlconf", "conf", "config", "setting", "settings", "option",
    "opt", "lang", "language", "locale", "alias", "name", "backend", "engine", "dialect", "encoding",
    "level", "dtype", "kind", "mode", "flag", "format", "fmt", "scheme", "protocol", "method", "how",
})  # fmt: skip
_FLAG_PREFIXES = frozenset({"is", "has", "use", "allow", "enable", "with"})
# Objects made at run time and data that arrives from outside: an open domain.
_FUNCTION_WORDS = frozenset({"func", "fn", "function", "callback", "callable", "udf"})
_UNBOUNDED_WORDS = frozenset({
    "self", "obj", "object", "instance", "inst",
    "request", "req", "text", "line", "path", "url", "uri", "query", "data", "payload", "msg", "message",
    "input", "user", "session", "content", "body", "row", "record", "document", "doc",
})  # fmt: skip
# A function named for one-time setup: called once per definition or option, not per request.
_SETUP_WORDS = frozenset({"register", "deprecate", "declare", "define", "configure", "setup"})


# String methods whose result ranges over the same domain as their receiver.
_SAME_DOMAIN_METHODS = frozenset({
    "lower", "upper", "casefold", "strip", "lstrip", "rstrip", "replace", "removeprefix", "removesuffix", "title",
})  # fmt: skip


@dataclass(frozen=True)
class KeyDomain:
    """How open the set of a cache's keys (or a set's elements) is: ``confidence`` that it grows
    without bound, with a few words naming the source (``None`` confidence: a literal, one key)."""

    confidence: Confidence | None
    source: str


def name_domain(identifier: str) -> KeyDomain:
    """What an identifier's words say about the values it holds."""
    words = [w for w in identifier.lower().strip("_").split("_") if w]
    if identifier == "self":
        return KeyDomain(HIGH, "instances (`self`)")
    if any(w in _CLASS_WORDS for w in words):
        return KeyDomain(LOW, f"`{identifier}`: classes, bounded by the code")
    if len(words) > 1 and words[0] in _FLAG_PREFIXES:
        return KeyDomain(LOW, f"`{identifier}`: a flag")
    if any(w in _BOUNDED_WORDS for w in words):
        return KeyDomain(LOW, f"`{identifier}`: names, settings or codes, bounded by the code or configuration")
    if any(w in _FUNCTION_WORDS for w in words):
        return KeyDomain(HIGH, f"`{identifier}`: functions, every new function object an entry")
    if any(w in _UNBOUNDED_WORDS for w in words):
        return KeyDomain(HIGH, f"`{identifier}`: objects or input data, an open set")
    return KeyDomain(MEDIUM, f"`{identifier}` (domain unknown)")


def expr_domain(ctx: Context, key: ast.expr, func: ast.AST | None) -> KeyDomain:
    """Where the values of ``key`` (a dict key, a set element) come from."""
    if isinstance(key, ast.Constant):
        return KeyDomain(None, f"the literal {ctx.text(key)}")
    if isinstance(key, ast.Tuple):
        parts = [expr_domain(ctx, e, func) for e in key.elts]
        return _combine(parts) if parts else KeyDomain(None, "the empty tuple")
    if isinstance(key, ast.Name):
        fixed = _loop_over_module_name(ctx, key, func)
        if fixed is not None:
            return KeyDomain(LOW, f"`{key.id}` from module-level `{fixed}`, fixed at import")
        return name_domain(key.id)
    if isinstance(key, ast.Attribute):
        if key.attr == "__class__":
            return KeyDomain(LOW, f"`{ctx.text(key)}`: classes, bounded by the code")
        return name_domain(key.attr)
    if isinstance(key, ast.Call):
        callee = ctx.qualified_name(key.func)
        if callee == "builtins.id":
            return KeyDomain(HIGH, "object identities (`id(...)`), an open set")
        if callee == "builtins.type":
            return KeyDomain(LOW, f"`{ctx.text(key)}`: classes, bounded by the code")
        if isinstance(key.func, ast.Attribute) and key.func.attr in _SAME_DOMAIN_METHODS:
            return expr_domain(ctx, key.func.value, func)  # `key.lower()` keeps the key's domain
    if isinstance(key, ast.Subscript):
        return expr_domain(ctx, key.value, func)
    return KeyDomain(MEDIUM, f"`{ctx.text(key)[:40]}` (domain unknown)")


def _combine(parts: list[KeyDomain]) -> KeyDomain:
    for want in (HIGH, MEDIUM):
        for p in parts:
            if p.confidence == want:
                return p
    bounded = [p for p in parts if p.confidence == LOW]
    return bounded[0] if bounded else parts[0]


def _loop_over_module_name(ctx: Context, name: ast.Name, func: ast.AST | None) -> str | None:
    """The module-level name a ``for`` loop of ``func`` iterates when it binds ``name``
    (``for k, v in TABLE.items():``), else None."""
    if func is None:
        return None
    module_names = _module_bindings(ctx)
    for loop in walk(func):
        if not isinstance(loop, ast.For | ast.AsyncFor):
            continue
        if not any(isinstance(t, ast.Name) and t.id == name.id for t in walk(loop.target)):
            continue
        source = loop.iter
        if isinstance(source, ast.Call) and isinstance(source.func, ast.Attribute):
            source = source.func.value  # TABLE.items()
        elif isinstance(source, ast.Call) and ctx.qualified_name(source.func) in (
            "builtins.enumerate",
            "builtins.sorted",
        ):
            source = source.args[0] if source.args else source
        if isinstance(source, ast.Name) and source.id in module_names and source.id not in _params(func):
            return source.id
    return None


_MODULE_BINDINGS: MemoKey[frozenset[str]] = MemoKey("memory.module_bindings")


def _module_bindings(ctx: Context) -> frozenset[str]:
    """Names bound by a module-level assignment."""

    def compute() -> frozenset[str]:
        out: set[str] = set()
        for stmt in ctx.tree.body:
            targets = (
                stmt.targets
                if isinstance(stmt, ast.Assign)
                else [stmt.target]
                if isinstance(stmt, ast.AnnAssign)
                else []
            )
            out.update(t.id for t in targets if isinstance(t, ast.Name))
        return frozenset(out)

    return ctx.memo(_MODULE_BINDINGS, compute)


def _params(func: ast.AST) -> set[str]:
    if not isinstance(func, (*FUNCTIONS, ast.Lambda)):
        return set()
    a = func.args
    return {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x is not None}


def param_domain(ctx: Context, arg: ast.arg, default: ast.expr | None) -> KeyDomain:
    """What a cached function's parameter (a part of its key) ranges over: its annotation, a
    boolean default, else its name."""
    note = ctx.text(arg.annotation) if arg.annotation is not None else ""
    if "Callable" in note:
        return KeyDomain(HIGH, f"`{arg.arg}`: functions, every new function object an entry")
    if note in ("bool", "type") or note.startswith(("Literal", "type[", "Type[")):
        return KeyDomain(LOW, f"`{arg.arg}: {note}`: a bounded set of values")
    if isinstance(default, ast.Constant) and isinstance(default.value, bool) and not note:
        return KeyDomain(LOW, f"`{arg.arg}`: a flag")
    return name_domain(arg.arg)


def runs_once_per_process(ctx: Context, func: ast.AST | None) -> str | None:
    """Why ``func`` runs once per definition rather than per request, else None: it is called at
    module level (import time), named for setup (``register_*``, ``deprecate_*``, ``configure``),
    or a command-line option callback (``callback=func`` given to ``add_option``/``make_option``)."""
    if not isinstance(func, FUNCTIONS):
        return None
    words = func.name.lower().strip("_").split("_")
    if not func.name.startswith("__") and words[0] in _SETUP_WORDS:
        return f"`{func.name}` is a setup function: it runs once per definition"
    for stmt in ctx.tree.body:
        if isinstance(stmt, ast.Expr | ast.Assign) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if isinstance(call.func, ast.Name) and call.func.id == func.name:
                return f"`{func.name}` runs at import (called at line {call.lineno})"
    for call in ctx.nodes(ast.Call):
        callee = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if callee.endswith(("option", "argument")) and any(
            kw.arg == "callback" and isinstance(kw.value, ast.Name) and kw.value.id == func.name for kw in call.keywords
        ):
            return f"`{func.name}` is a command-line option callback (line {call.lineno}): it runs once per option"
    return None


def returns_its_argument(func: ast.AST) -> bool:
    """A decorator's shape, so it runs once per decorated definition: the function returns its
    first parameter (``def reg(fn): ...; return fn``), a name bound to it, or a wrapper it defines
    around it (``def decorator(func): ... def wrapper(...): return func(...); return wrapper``)."""
    if not isinstance(func, FUNCTIONS):
        return False
    a = func.args
    positional = [*a.posonlyargs, *a.args]
    if not positional:
        return False
    own = _own_nodes(func)
    allowed = {positional[0].arg}
    # A wrapper: a function defined here that calls or reads the decorated argument.
    allowed.update(
        n.name
        for n in own
        if isinstance(n, FUNCTIONS)
        and n is not func
        and any(isinstance(x, ast.Name) and x.id == positional[0].arg for x in walk(n))
    )
    allowed.update(
        t.id
        for n in own
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name) and n.value.id == positional[0].arg
        for t in n.targets
        if isinstance(t, ast.Name)
    )
    returns = [n for n in own if isinstance(n, ast.Return)]
    return bool(returns) and all(isinstance(r.value, ast.Name) and r.value.id in allowed for r in returns)
