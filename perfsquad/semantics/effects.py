"""Per-function effect summaries: which functions (transitively) do I/O, and through which calls.

A :class:`ModuleSummary` is extracted from one analyzed module: for every module-level function
and every method of a top-level class, the I/O operations it performs directly (from the
catalogue, :mod:`perfsquad.semantics.io_catalog`) and the calls it makes to other functions,
resolved statically (``helper()``, ``storage.delete_heuristic()`` through imports,
``self._delete_memory()``, ``self.store.load()`` through attribute types). Summaries are plain
data (they cross process boundaries and live in the on-disk cache).

An :class:`EffectView` answers "does calling this do a round trip / block?" with the *chain* that
proves it (``self._delete_memory -> storage.delete_heuristic -> cursor.execute``), looking in the
module under analysis first and then in the workspace's :class:`~perfsquad.semantics.index.ProjectIndex`.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from perfsquad.semantics.io_catalog import DB, DJANGO_RELATIONS, FILE, NONE, IOModule, IOOp, IOTypes, call_label, dotted
from perfsquad.semantics.names import ImportMap
from perfsquad.semantics.vectors import similarity_kind
from perfsquad.syntax import children, walk

ROUNDTRIP = "roundtrip"
BLOCKING = "blocking"
CONNECT = "connect"
"""Chains ending at a connection or client opened for the call alone (closed, or dropped, when the
call returns): ``save_note -> self._connection -> sqlite3.connect``."""

INTERFACE_BASES = frozenset({"abc.ABC", "abc.ABCMeta", "typing.Protocol", "typing_extensions.Protocol"})
"""Bases (and metaclasses) that make a class an interface: a call on it runs an implementation."""
PROTOCOL_BASES = frozenset({"typing.Protocol", "typing_extensions.Protocol"})
_DOUBLE_WORDS = frozenset({"fake", "mock", "stub", "dummy", "memory", "null", "noop", "test", "testing", "local"})
"""Words naming a test double, whose implementation of an interface does no I/O by design."""


@dataclass(frozen=True, slots=True)
class Site:
    """A direct I/O operation inside a function."""

    label: str
    qualified: str
    kind: str
    line: int
    roundtrip: bool
    blocking: bool
    per_call: bool = False
    """A connection or client opened here lives for this call only (not kept on an attribute, a
    global or by a cache): calling the function once per item opens one per item."""


@dataclass(frozen=True, slots=True)
class CallSite:
    target: str
    """``pkg.mod.func``, or ``@pkg.mod.Class.method`` (looked up in the class and its bases)."""
    label: str
    line: int
    in_loop: bool = True
    """Made on every iteration of a loop of its function (what the N+1 rules look at). True when
    unknown (summaries cached before the field existed): the cautious answer."""


@dataclass(frozen=True, slots=True)
class FunctionSummary:
    key: str
    is_async: bool
    line: int
    path: str
    sites: tuple[Site, ...]
    calls: tuple[CallSite, ...]
    similarity: str = ""
    """How the function compares its two vector parameters (``dot``, ``cosine``, ``distance``... of
    ``semantics.vectors.similarity_kind``), or "": a pair loop calling it in another module is an
    all-pairs similarity (VEC006)."""
    awaits: bool = True
    """An ``async def`` that awaits something (it may wait on I/O); False for a coroutine that
    never suspends, which gathering cannot speed up."""


@dataclass
class ModuleSummary:
    module: str
    path: str
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Class key -> qualified names of its bases."""
    aliases: dict[str, str] = field(default_factory=dict)
    """Imported names -> what they are (for re-exports: ``from .store import Store``)."""
    models: dict[str, dict[str, str]] = field(default_factory=dict)
    """Django model class key -> {field name: "fk" | "m2m"}."""

    def to_data(self) -> Any:
        return (
            self.module,
            self.path,
            [
                (
                    f.key,
                    f.is_async,
                    f.line,
                    [tuple(_site_data(s)) for s in f.sites],
                    [(c.target, c.label, c.line, c.in_loop) for c in f.calls],
                    f.similarity,
                    f.awaits,
                )
                for f in self.functions.values()
            ],
            {k: list(v) for k, v in self.classes.items()},
            dict(self.aliases),
            {k: dict(v) for k, v in self.models.items()},
        )

    @classmethod
    def from_data(cls, data: Any) -> ModuleSummary:
        module, path, functions, classes, aliases, models = data
        summary = cls(module, path)
        for key, is_async, line, sites, calls, *rest in functions:
            # (a summary cached before functions recorded their vector comparison or whether they
            # suspend has fewer fields: no similarity, and the cautious answer for awaits)
            similarity = rest[0] if rest else ""
            awaits = rest[1] if len(rest) > 1 else True
            summary.functions[key] = FunctionSummary(
                key,
                bool(is_async),
                int(line),
                path,
                tuple(Site(*s) for s in sites),
                tuple(CallSite(*c) for c in calls),
                str(similarity),
                bool(awaits),
            )
        summary.classes = {k: tuple(v) for k, v in classes.items()}
        summary.aliases = dict(aliases)
        summary.models = {k: dict(v) for k, v in models.items()}
        return summary


def _site_data(s: Site) -> tuple[str, str, str, int, bool, bool, bool]:
    return (s.label, s.qualified, s.kind, s.line, s.roundtrip, s.blocking, s.per_call)


# -- module naming ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _package_parts(directory: str) -> tuple[str, ...]:
    """Package path of a directory: walk up while ``__init__.py`` exists."""
    parts: list[str] = []
    current = directory
    for _ in range(64):
        if not os.path.isfile(os.path.join(current, "__init__.py")):
            break
        parts.append(os.path.basename(current))
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return tuple(reversed(parts))


def module_name_for(path: str) -> str:
    """``demo/memoria/store.py`` -> ``memoria.store`` (``memoria`` has an ``__init__.py``)."""
    directory, filename = os.path.split(os.path.abspath(path))
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    parts = list(_package_parts(directory))
    if stem != "__init__":
        parts.append(stem)
    return ".".join(parts) or stem


def package_of(module: str, path: str) -> str:
    return module if path.endswith("__init__.py") or path.endswith("__init__.pyi") else module.rpartition(".")[0]


def project_imports(ctx: IOModule, package: str) -> ImportMap:
    """The module's imports resolved with its real package (relative imports included)."""
    imports = ImportMap()
    nodes: list[ast.Import | ast.ImportFrom] = [*ctx.nodes(ast.Import), *ctx.nodes(ast.ImportFrom)]
    for node in nodes:
        imports.add_import(node, package or None)
    for name in getattr(ctx.imports, "_rebound", ()):
        imports.add_rebinding(name)
    return imports


def io_types_for(module: IOModule, previous: IOTypes | None = None) -> IOTypes:
    """A module's I/O types: named after its module path, with its imports resolved in its real
    package. ``previous``: the I/O types of the text an edit replaced; when they are of the same
    module, their imports are taken as they are (the editor re-analyzes only edits that change no
    import)."""
    io = IOTypes(module)
    io.module = module_name_for(module.path)
    if previous is not None and previous.module == io.module:
        io.imports = previous.imports
    else:
        io.imports = project_imports(module, package_of(io.module, module.path))
    return io


# -- extraction -------------------------------------------------------------------------------------
_SKIP = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def body_calls(fn: ast.AST) -> list[ast.Call]:
    """Calls executed by ``fn`` itself (not by nested functions, lambdas or classes)."""
    calls: list[ast.Call] = []
    stack: list[ast.AST] = [*getattr(fn, "body", [])]
    while stack:
        node = stack.pop()
        if isinstance(node, _SKIP):
            continue
        if isinstance(node, ast.Call):
            calls.append(node)
        stack.extend(children(node))
    calls.sort(key=lambda c: (c.lineno, c.col_offset))
    return calls


def call_target(io: IOTypes, call: ast.Call) -> str | None:
    """The function a call runs, as a key candidate for the summaries, or None."""
    func = call.func
    module = io.module
    if isinstance(func, ast.Name):
        if func.id in _module_defs(io):
            return f"{module}.{func.id}"
        if func.id in io.classes():
            return f"@{module}.{func.id}.__init__"
        qn = io.imports.qualified_name(func)
        if qn is None or qn.startswith("builtins."):
            return None
        return qn
    if isinstance(func, ast.Attribute):
        owner = io.type_of(func.value)
        if owner.startswith("@"):
            return f"{owner}.{func.attr}"
        if isinstance(func.value, ast.Name | ast.Attribute):
            qn = io.imports.qualified_name(func)
            if qn is not None and not qn.startswith("builtins."):
                return qn
    return None


def _module_defs(io: IOTypes) -> frozenset[str]:
    cached: frozenset[str] | None = getattr(io, "_defs", None)
    if cached is None:
        cached = frozenset(
            s.name for s in io.ctx.tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
        )
        io._defs = cached  # type: ignore[attr-defined]
    return cached


def _calls_by_function(ctx: IOModule) -> dict[ast.AST, list[ast.Call]] | None:
    """Calls grouped by the function that executes them, from the engine's buckets (None when
    the context does not cover the whole module, e.g. an incremental one)."""
    if not ctx.links_whole_tree():
        return None
    parents = ctx.parent_links
    grouped: dict[ast.AST, list[ast.Call]] = {}
    owners: dict[ast.AST, ast.AST] = {}  # node -> its function (the tree itself: none), found once
    tree = ctx.tree
    for call in ctx.nodes(ast.Call):
        climbed: list[ast.AST] = []
        node: ast.AST | None = parents.get(call)
        owner: ast.AST | None = None
        while node is not None:
            if isinstance(node, _SKIP):
                owner = node
                break
            owner = owners.get(node)
            if owner is not None:
                break
            climbed.append(node)
            node = parents.get(node)
        if owner is None:
            owner = tree
        for passed in climbed:
            owners[passed] = owner
        if owner is not tree:
            grouped.setdefault(owner, []).append(call)
    return grouped


def summarize(ctx: IOModule) -> ModuleSummary:
    io = ctx.io
    module = io.module
    summary = ModuleSummary(module, ctx.path)
    grouped = _calls_by_function(ctx)
    for stmt in ctx.tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            key = f"{module}.{stmt.name}"
            summary.functions[key] = _summarize_function(ctx, io, stmt, key, grouped)
        elif isinstance(stmt, ast.ClassDef):
            cls_key = f"{module}.{stmt.name}"
            bases = []
            metaclasses = [kw.value for kw in stmt.keywords if kw.arg == "metaclass"]
            for base in [*stmt.bases, *metaclasses]:
                if isinstance(base, ast.Subscript):  # Protocol[T], Generic[T]
                    base = base.value
                if isinstance(base, ast.Name) and base.id in io.classes():
                    bases.append(f"{module}.{base.id}")
                else:
                    qn = io.imports.qualified_name(base)
                    if qn is not None:
                        bases.append(qn)
            summary.classes[cls_key] = tuple(bases)
            fields = _django_fields(io, stmt)
            if fields:
                summary.models[cls_key] = fields
            for item in stmt.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    key = f"{cls_key}.{item.name}"
                    summary.functions[key] = _summarize_function(ctx, io, item, key, grouped)
    imports_nodes: list[ast.Import | ast.ImportFrom] = [*ctx.nodes(ast.Import), *ctx.nodes(ast.ImportFrom)]
    for node in imports_nodes:
        if ctx.parent(node) is not ctx.tree:
            continue
        for alias in node.names:
            if alias.name == "*":
                continue
            local = alias.asname or alias.name.split(".", 1)[0]
            qn = io.imports.resolve_name(local)
            if qn is not None:
                summary.aliases[local] = qn
    return summary


def _summarize_function(
    ctx: IOModule,
    io: IOTypes,
    fn: ast.FunctionDef | ast.AsyncFunctionDef,
    key: str,
    grouped: dict[ast.AST, list[ast.Call]] | None,
) -> FunctionSummary:
    sites: list[Site] = []
    calls: list[CallSite] = []
    io.scope_hint = fn if grouped is not None else None
    cached = any("cache" in (dotted(d.func if isinstance(d, ast.Call) else d) or "") for d in fn.decorator_list)
    found = body_calls(fn) if grouped is None else grouped.get(fn, [])
    try:
        _summarize_calls(ctx, io, found, sites, calls, cached)
    finally:
        io.scope_hint = None
    similarity = similarity_kind(ctx, fn, skip=_leading_receiver(ctx, fn), calls=found) or ""
    is_async = isinstance(fn, ast.AsyncFunctionDef)
    awaits = is_async and _suspends(fn)
    return FunctionSummary(key, is_async, fn.lineno, ctx.path, tuple(sites), tuple(calls), similarity, awaits)


def _leading_receiver(ctx: IOModule, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """1 for a method's ``self``/``cls`` (not a ``staticmethod``), 0 for a function."""
    if not isinstance(ctx.parent(fn), ast.ClassDef):
        return 0
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
    return 0 if static else 1


def _suspends(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether the coroutine itself awaits (``await``, ``async for``, ``async with``)."""
    stack: list[ast.AST] = [*fn.body]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Await | ast.AsyncFor | ast.AsyncWith):
            return True
        if not isinstance(node, _SKIP):
            stack.extend(children(node))
    return False


def opens_connection(op: IOOp) -> bool:
    """A connect (``sqlite3.connect``, ``create_engine``) or a client owning its own pool
    (``httpx.Client()``); not an ORM session, which checks a connection out of its engine's pool."""
    return op.op == "connect" or (op.op == "client" and op.kind != DB)


def kept_result(ctx: IOModule, call: ast.Call) -> bool:
    """The call's result outlives the call of its function: stored on an attribute, in a
    container, or in a global (``self._conn = sqlite3.connect(p)``, ``_pool[k] = ...``)."""
    node: ast.AST = call
    parent = ctx.parent(node)
    while isinstance(parent, ast.Assign | ast.AnnAssign | ast.NamedExpr):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        if any(isinstance(t, ast.Attribute | ast.Subscript) for t in targets):
            return True
        fn = ctx.parent(parent)
        while fn is not None and not isinstance(fn, _SKIP):
            fn = ctx.parent(fn)
        names = {t.id for t in targets if isinstance(t, ast.Name)}
        if fn is not None and names and any(
            isinstance(n, ast.Global | ast.Nonlocal) and names & set(n.names) for n in walk(fn)
        ):
            return True
        if not isinstance(parent, ast.NamedExpr):
            return False
        node, parent = parent, ctx.parent(parent)
    return False


def _summarize_calls(
    ctx: IOModule,
    io: IOTypes,
    found_calls: list[ast.Call],
    sites: list[Site],
    calls: list[CallSite],
    cached: bool = False,
) -> None:
    for call in found_calls:
        found = io.op_of(call)
        if found is not None:
            if found.op.kind != NONE:
                sites.append(
                    Site(
                        found.label,
                        found.qualified,
                        found.op.kind,
                        call.lineno,
                        found.op.roundtrip,
                        # Reading a file is judged where it happens (IO004), not through callers.
                        found.op.blocking and found.op.kind != FILE,
                        opens_connection(found.op) and not cached and not kept_result(ctx, call),
                    )
                )
            continue
        target = call_target(io, call)
        if target is not None:
            calls.append(CallSite(target, call_label(ctx, call), call.lineno, bool(io.loops(call))))


_SA_RELATIONSHIPS = frozenset({"sqlalchemy.orm.relationship", "sqlalchemy.orm.relation"})
SA_LAZY = "sa"
"""A SQLAlchemy ``relationship()`` loaded lazily (``lazy="select"``, the default): one query per
object on first access. ``selectin``/``joined``/``subquery``/``immediate`` load with the query,
``raise``/``noload``/``dynamic``/``write_only`` never load on access: not recorded."""


def _django_fields(io: IOTypes, cls: ast.ClassDef) -> dict[str, str]:
    """Relation fields of a model class: Django ``ForeignKey``/``OneToOneField`` (``fk``) and
    ``ManyToManyField`` (``m2m``), SQLAlchemy lazy ``relationship()`` attributes (``sa``)."""
    fields: dict[str, str] = {}
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            target, value = stmt.target, stmt.value
        else:
            continue
        if not isinstance(value, ast.Call):
            continue
        if io.imports.qualified_name(value.func) in _SA_RELATIONSHIPS:
            lazy = next((kw.value for kw in value.keywords if kw.arg == "lazy"), None)
            if lazy is None or (isinstance(lazy, ast.Constant) and lazy.value in ("select", True)):
                fields[target.id] = SA_LAZY
            continue
        if isinstance(stmt, ast.Assign):
            name = dotted(value.func) or ""
            kind = DJANGO_RELATIONS.get(name.rpartition(".")[2])
            if kind is not None:
                fields[target.id] = kind
    return fields


def block_fingerprint(stmt: ast.stmt) -> tuple[str, ...]:
    """A cheap, conservative stand-in for :func:`block_effects`: the names of the calls a block
    makes, its annotations and simple assignments. Equal fingerprints imply equal effects."""
    parts: set[str] = set()
    for node in walk(stmt):
        if isinstance(node, ast.Call):
            parts.add("c:" + (dotted(node.func) or type(node.func).__name__))
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                parts.add("s:" + node.args[0].value[:16].upper())
        elif isinstance(node, ast.arg) and node.annotation is not None:
            parts.add(f"a:{node.arg}:{ast.dump(node.annotation)}")
        elif isinstance(node, ast.AnnAssign):
            parts.add(f"n:{ast.dump(node.target)}:{ast.dump(node.annotation)}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            parts.add(f"f:{getattr(node, 'name', '')}:{type(node).__name__}:{len(getattr(node, 'decorator_list', ()))}")
        elif isinstance(node, ast.Assign):
            targets = ",".join(dotted(t) or ast.dump(t) for t in node.targets)
            value = node.value.func if isinstance(node.value, ast.Call) else node.value
            parts.add(f"=:{targets}:{type(node.value).__name__}:{dotted(value) or type(value).__name__}")
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            expr = node.context_expr.func if isinstance(node.context_expr, ast.Call) else node.context_expr
            parts.add(f"w:{ast.dump(node.optional_vars)}:{dotted(expr) or ast.dump(expr)}")
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension | ast.NamedExpr | ast.Global | ast.Nonlocal):
            parts.add(f"b:{ast.dump(getattr(node, 'target', node))}")
    return tuple(sorted(parts))


def reaches_io(
    ctx: Any, fn: ast.FunctionDef | ast.AsyncFunctionDef, owner: str | None = None, view: EffectView | None = None
) -> bool:
    """Whether a call of ``fn`` (a top-level function, or a method of the top-level class
    ``owner``) can wait on I/O, per ``ctx``'s effect view (``ctx``: a module's context): it is a
    coroutine, or a chain from it reaches I/O, or (for a method) the same name on a base class,
    which calls would reach without it, does. False: no caller's I/O findings depend on whether
    ``fn`` exists, so an edit may add or remove it without re-analyzing its callers. ``view``:
    the module's effect view to follow chains in (default ``ctx.effects``; the editor passes its
    long-lived context's, whose module summary later contexts inherit)."""
    io = ctx.io
    key = f"{io.module}.{owner}.{fn.name}" if owner is not None else f"{io.module}.{fn.name}"
    fs = _summarize_function(ctx, io, fn, key, None)
    if fs.is_async:
        return True
    view = view if view is not None else ctx.effects
    bases = view.local.classes.get(f"{io.module}.{owner}", ()) if owner is not None else ()
    for mode in (ROUNDTRIP, BLOCKING, CONNECT):
        if view._chain_of(fs, mode, 0) is not None:
            return True
        if any(view.chain(f"{base}.{fn.name}", mode) is not None for base in bases):
            return True
    return False


def block_effects(ctx: IOModule, stmt: ast.stmt, owner: str | None = None) -> tuple[Any, ...]:
    """What a top-level ``def``/``class`` (or, with ``owner``, a method of that top-level class)
    contributes to the module's effect facts (line numbers aside). Equal before and after an
    edit: no other block's I/O findings can change."""
    io = ctx.io
    module = io.module
    out: list[Any] = []
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        key = f"{module}.{owner}.{stmt.name}" if owner is not None else f"{module}.{stmt.name}"
        functions: list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = [(key, stmt)]
    elif isinstance(stmt, ast.ClassDef):
        functions = [
            (f"{module}.{stmt.name}.{item.name}", item)
            for item in stmt.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        bases = tuple(ast.dump(b) for b in stmt.bases)
        out.append(("class", tuple(sorted(io.class_attrs(stmt).items())), bases, tuple(sorted(_django_fields(io, stmt).items()))))
    else:
        return ()
    for key, fn in functions:
        fs = _summarize_function(ctx, io, fn, key, None)
        out.append(
            (
                key,
                fs.is_async,
                tuple((s.label, s.qualified, s.kind, s.roundtrip, s.blocking) for s in fs.sites),
                tuple((c.target, c.label) for c in fs.calls),
            )
        )
    return tuple(out)


# -- answering questions ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Chain:
    """How a call reaches I/O: the labels of each step, ending with the I/O call itself."""

    steps: tuple[str, ...]
    where: tuple[str, ...]
    """``path:line`` of each step's call."""
    kind: str

    def describe(self, start: str = "loop") -> str:
        return " \u2192 ".join((start, *self.steps))


class ProjectLookup(Protocol):
    """The workspace's summaries of other modules, as :class:`EffectView` asks for them
    (``perfsquad.semantics.index.ProjectIndex`` is the one; it builds on this module)."""

    def knows_modules(self) -> bool: ...

    def function(self, key: str) -> FunctionSummary | None: ...

    def bases(self, cls: str) -> tuple[str, ...] | None: ...

    def module(self, name: str) -> ModuleSummary | None: ...

    def model_fields(self, model: str) -> dict[str, str] | None: ...

    def subclasses(self, cls: str) -> tuple[str, ...]: ...

    def classes_defining(self, method: str) -> tuple[str, ...]: ...


_PER_ITEM = re.compile(r"^(save|add|insert|update|delete|remove|store|put|upsert|record|log|track|touch)_[a-z0-9_]*$")
_BATCH_WORDS = frozenset({"all", "many", "batch", "bulk", "items", "once"})


def per_item_writer(name: str) -> bool:
    """A public function that writes one item per call (``save_note``, ``delete_memory``), not a
    batch (``save_all``, ``add_notes``): IO003 reports the connection each of its calls opens."""
    if not _PER_ITEM.match(name):
        return False
    words = name.split("_")
    return not (set(words) & _BATCH_WORDS) and not (words[-1].endswith("s") and not words[-1].endswith("ss"))


def site_matches(site: Site, mode: str) -> bool:
    if mode == ROUNDTRIP:
        return site.roundtrip
    if mode == CONNECT:
        return site.per_call
    return site.blocking


_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")


def _is_double(cls: str) -> bool:
    """``InMemoryStore``, ``FakeClient``, ``tests.fakes.Store``: a test double by its words."""
    module, _, name = cls.rpartition(".")
    words = {w.lower() for w in _WORD.findall(name)}
    return bool(words & _DOUBLE_WORDS) or any(part.startswith(("test", "fake", "mock")) for part in module.split("."))


class EffectView:
    """Effects seen from one module: its own fresh summary first, then the project index."""

    def __init__(
        self,
        local: ModuleSummary,
        project: ProjectLookup | None,
        memo: dict[tuple[str, str], Chain | None] | None = None,
    ) -> None:
        self.local = local
        self.project = project
        self._memo: dict[tuple[str, str], Chain | None] = memo if memo is not None else {}
        """Shareable between views that agree on every summary (the CLI's linking pass)."""
        self.used = False
        """Whether an answer relied on a chain (findings citing other functions' lines)."""
        self._may_chain: bool | None = None

    def may_chain(self) -> bool:
        """Whether a chain to I/O can be found at all: a function of this module does I/O itself,
        or the project index knows other modules (an empty one: the CLI's first pass)."""
        if self._may_chain is None:
            project = self.project
            self._may_chain = (project is not None and project.knows_modules()) or any(
                fs.sites for fs in self.local.functions.values()
            )
        return self._may_chain

    def lookup(self, target: str) -> FunctionSummary | None:
        key = target[1:] if target.startswith("@") else target
        for _ in range(8):
            found = self.local.functions.get(key)
            if found is not None:
                return found
            if self.project is not None:
                module_of_key = key.rpartition(".")[0]
                if not (module_of_key == self.local.module or key.startswith(self.local.module + ".")):
                    found = self.project.function(key)
                    if found is not None:
                        return found
            # A method inherited from a base class, or a re-exported name.
            owner, _, name = key.rpartition(".")
            bases = self.local.classes.get(owner)
            if bases is None and self.project is not None:
                bases = self.project.bases(owner)
            if bases:
                for base in bases:
                    hit = self.lookup(f"{base}.{name}")
                    if hit is not None:
                        return hit
                return None
            alias = self._alias(owner, name)
            if alias is None or alias == key:
                return None
            key = alias
        return None

    def similarity(self, target: str) -> FunctionSummary | None:
        """The function ``target`` runs when it compares two vectors (its ``similarity`` is set)."""
        found = self.lookup(target)
        if found is None or not found.similarity:
            return None
        self.used = True
        return found

    def _alias(self, owner: str, name: str) -> str | None:
        """``pkg.Store`` re-exported by ``pkg/__init__.py`` -> ``pkg.store.Store``."""
        module, _, head = owner.rpartition(".")
        for mod, rest in ((owner, name), (module, f"{head}.{name}")):
            summary = self.local if mod == self.local.module else (self.project.module(mod) if self.project else None)
            if summary is None:
                continue
            first, _, tail = rest.partition(".")
            target = summary.aliases.get(first)
            if target is not None:
                return f"{target}.{tail}" if tail else target
        return None

    def chain(self, target: str, mode: str = ROUNDTRIP) -> Chain | None:
        fs = self.lookup(target)
        found = self._chain_of(fs, mode, 0) if fs is not None else None
        if found is None:
            found = self._dispatch(target, mode, 0)
        self.used = self.used or found is not None
        return found

    # -- class-hierarchy dispatch: a call on an interface runs one of its implementations ----------
    def _bases_of(self, cls: str) -> tuple[str, ...]:
        bases = self.local.classes.get(cls)
        if bases is None and self.project is not None:
            bases = self.project.bases(cls)
        return bases or ()

    def _ancestry(self, cls: str) -> set[str]:
        seen: set[str] = set()
        stack = [cls]
        while stack and len(seen) < 64:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self._bases_of(current))
        return seen

    def is_interface(self, cls: str) -> bool:
        """``cls`` is an ABC (``abc.ABC`` or ``ABCMeta`` among its ancestors) or a ``Protocol``."""
        return bool(self._ancestry(cls) & INTERFACE_BASES)

    def _class_methods(self, cls: str) -> set[str]:
        summary = self.local if cls.rpartition(".")[0] == self.local.module else None
        if summary is None and self.project is not None:
            summary = self.project.module(cls.rpartition(".")[0])
        if summary is None:
            return set()
        return {k.rpartition(".")[2] for k in summary.functions if k.rpartition(".")[0] == cls}

    def implementations(self, iface: str, method: str) -> list[tuple[str, FunctionSummary]]:
        """The classes of the workspace implementing ``iface.method`` (subclasses, and for a
        ``Protocol`` the classes defining all of its methods), with the function each one runs."""
        own = self.lookup(f"{iface}.{method}")
        subs: list[str] = []
        local_subs = {c: b for c, b in self.local.classes.items()}
        stack = [iface]
        seen = {iface}
        while stack and len(seen) < 256:
            current = stack.pop()
            direct = [c for c, bases in local_subs.items() if current in bases]
            if self.project is not None:
                direct += [c for c in self.project.subclasses(current) if not c.startswith(self.local.module + ".")]
            for sub in direct:
                if sub not in seen:
                    seen.add(sub)
                    subs.append(sub)
                    stack.append(sub)
        if PROTOCOL_BASES & set(self._bases_of(iface)):
            required = {m for m in self._class_methods(iface) if not m.startswith("__")} | {method}
            candidates = [c for c, _ in local_subs.items() if method in self._class_methods(c)]
            if self.project is not None:
                candidates += [
                    c for c in self.project.classes_defining(method) if not c.startswith(self.local.module + ".")
                ]
            for cls in candidates:
                if cls not in seen and not self.is_interface(cls) and required <= self._class_methods(cls):
                    seen.add(cls)
                    subs.append(cls)
        found: list[tuple[str, FunctionSummary]] = []
        keys = {own.key} if own is not None else set()
        for cls in subs:
            fs = self.lookup(f"{cls}.{method}")
            if fs is not None and fs.key not in keys:
                keys.add(fs.key)
                found.append((cls, fs))
        return found

    def _dispatch(self, target: str, mode: str, depth: int) -> Chain | None:
        """A call on a receiver typed as an interface: I/O when all or most of its implementations
        in the workspace do I/O (test doubles set aside), with the chain of one of them."""
        if not target.startswith("@") or depth >= 12:
            return None
        iface, _, method = target[1:].rpartition(".")
        memo_key = (f"dispatch:{target}", mode)
        if memo_key in self._memo:
            return self._memo[memo_key]
        self._memo[memo_key] = None
        if not iface or not self.is_interface(iface):
            return None
        impls = self.implementations(iface, method)
        doing: list[tuple[str, Chain]] = []
        quiet: list[str] = []
        for cls, fs in impls:
            if mode == BLOCKING and fs.is_async:
                continue
            sub = self._chain_of(fs, mode, depth + 1)
            if sub is not None:
                doing.append((cls, sub))
            else:
                quiet.append(cls)
        aside = [c for c in quiet if _is_double(c)]
        counted = len(impls) - len(aside)
        if not doing or 2 * len(doing) <= counted:
            return None
        cls, sub = min(doing, key=lambda item: len(item[1].steps))
        impl = dict(impls)[cls]
        short = iface.rpartition(".")[2]
        names = ", ".join(c.rpartition(".")[2] for c, _ in doing)
        extra = f"; {', '.join(c.rpartition('.')[2] for c in aside)} aside" if aside else ""
        step = (
            f"{cls.rpartition('.')[2]}.{method} ({len(doing)} of {len(impls)} implementations of"
            f" {short}.{method} {'open a connection per call' if mode == CONNECT else 'do I/O'}: {names}{extra})"
        )
        found = Chain((step, *sub.steps), (f"{impl.path}:{impl.line}", *sub.where), sub.kind)
        self._memo[memo_key] = found
        return found

    def _chain_of(self, fs: FunctionSummary, mode: str, depth: int) -> Chain | None:
        memo_key = (fs.key, mode)
        if memo_key in self._memo:
            return self._memo[memo_key]
        self._memo[memo_key] = None  # cycle guard: a function in a cycle is judged by its other paths
        best: Chain | None = None
        for site in fs.sites:
            if site_matches(site, mode):
                best = Chain((site.label,), (f"{fs.path}:{site.line}",), site.kind)
                break
        if best is None and depth < 12:
            for call in fs.calls:
                callee = self.lookup(call.target)
                if callee is not None and mode == BLOCKING and callee.is_async:
                    continue
                sub = self._chain_of(callee, mode, depth + 1) if callee is not None else None
                if sub is None:
                    sub = self._dispatch(call.target, mode, depth + 1)
                if sub is not None and (best is None or len(sub.steps) + 1 < len(best.steps)):
                    best = Chain((call.label, *sub.steps), (f"{fs.path}:{call.line}", *sub.where), sub.kind)
        self._memo[memo_key] = best
        return best

    def external_signature(self) -> str:
        """What this module's findings depend on in other modules (the effects of what it calls)."""
        if self.project is None:
            return ""
        parts: list[str] = []
        seen: set[str] = set()
        for call in self._reachable_from_hot_calls():
            target = call.target[1:] if call.target.startswith("@") else call.target
            if target in seen:
                continue
            if target.startswith(self.local.module + ".") and not (
                # a call on a local interface runs implementations that may live elsewhere
                call.target.startswith("@") and self.is_interface(target.rpartition(".")[0])
            ):
                continue
            seen.add(target)
            callee = self.lookup(call.target)
            if callee is not None and callee.similarity:
                parts.append(f"{target}|similarity|{callee.similarity}")
            for mode in (ROUNDTRIP, BLOCKING, CONNECT):
                found = self.chain(call.target, mode)
                if found is not None:
                    callee = self.lookup(call.target)
                    parts.append(f"{target}|{mode}|{callee.is_async if callee else ''}|{'/'.join(found.steps)}")
        # Model classes imported from other modules: their relations decide the N+1 of rows read
        # in a loop (``for b in Book.objects.all(): b.author``).
        for qualified in sorted(set(self.local.aliases.values())):
            if qualified.startswith(self.local.module + "."):
                continue
            fields = self.project.model_fields(qualified)
            if fields:
                parts.append(f"{qualified}|model|{sorted(fields.items())}")
        return "\n".join(sorted(parts))

    def _reachable_from_hot_calls(self) -> list[CallSite]:
        """The call sites whose effects the I/O rules can report on: those made in a loop or by an
        ``async def`` (N+1 chains, awaits in loops, blocking calls in async code), and every call
        of this module's functions they reach. A call elsewhere never shows in a finding, so the
        effects of its callee in other modules cannot change this module's report."""
        functions = self.local.functions
        queue = [
            call
            for fs in functions.values()
            for call in fs.calls
            if call.in_loop or fs.is_async or per_item_writer(fs.key.rpartition(".")[2])
        ]
        reached: list[CallSite] = []
        seen: set[CallSite] = set()
        expanded: set[str] = set()
        while queue:
            call = queue.pop()
            if call in seen:
                continue
            seen.add(call)
            reached.append(call)
            key = call.target[1:] if call.target.startswith("@") else call.target
            local = functions.get(key)
            if local is not None and key not in expanded:
                expanded.add(key)
                queue.extend(local.calls)
        return reached

    def model_fields(self, model: str) -> dict[str, str] | None:
        """Django relation fields of a model class (by qualified name)."""
        fields = self.local.models.get(model)
        if fields is None and self.project is not None:
            fields = self.project.model_fields(model)
        return fields
