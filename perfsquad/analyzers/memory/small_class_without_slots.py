from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path

from perfsquad.analyzers.facts import calls_with_loop_flag
from perfsquad.analyzers.memory._common import LOW, MEDIUM, report
from perfsquad.context import FUNCTIONS, Context
from perfsquad.fixes import minimal_edit
from perfsquad.model import Fix, FixSafety, Position, Severity, Span
from perfsquad.rule import Bench, Invalid, Rule, fit
from perfsquad.semantics.scale import Scale, loop_scale, strongest
from perfsquad.syntax import walk

MAX_ATTRIBUTES = 8
"""A class with at most this many instance attributes counts as small."""

DEFAULT_TARGET_VERSION = (3, 10)
"""Assumed when the project does not say (the oldest Python perfsquad supports)."""


@functools.lru_cache(maxsize=64)
def _target_of_pyproject(pyproject: str) -> tuple[int, int] | None:
    """The oldest Python a project supports: ``[project] requires-python``'s lower bound, else
    ``[tool.ruff] target-version``; None when neither says."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib

    try:
        with open(pyproject, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError):
        return None
    project = data.get("project")
    requires = project.get("requires-python") if isinstance(project, dict) else None
    if isinstance(requires, str):
        bounds = re.findall(r"(>=|>|~=|==)\s*3\.(\d+)", requires)
        if bounds:
            return 3, min(int(minor) + (1 if op == ">" else 0) for op, minor in bounds)
    tool = data.get("tool")
    ruff = tool.get("ruff") if isinstance(tool, dict) else None
    target = ruff.get("target-version") if isinstance(ruff, dict) else None
    if isinstance(target, str) and (m := re.fullmatch(r"py3(\d+)", target)):
        return 3, int(m.group(1))
    return None


def target_version(path: str) -> tuple[int, int]:
    """The Python version the analyzed file must run on, from the nearest pyproject.toml."""
    from perfsquad.config import find_pyproject

    try:
        pyproject = find_pyproject(Path(path)) if path else None
    except (OSError, ValueError, RuntimeError):
        pyproject = None
    found = _target_of_pyproject(str(pyproject)) if pyproject is not None else None
    return found or DEFAULT_TARGET_VERSION


_DYNAMIC = frozenset({"__getattr__", "__setattr__", "__getattribute__", "__delattr__", "__dict__", "__weakref__"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

_KEEP_METHODS = frozenset({"append", "add", "insert", "appendleft", "extend", "setdefault"})
# A method named for storing what it is given (`tree.insert_node(n)`, `registry.add_item(x)`).
_STORE_WORDS = frozenset({"insert", "append", "add", "push", "put", "store", "register"})
_COLLECTING = (ast.ListComp, ast.SetComp, ast.DictComp)
_MATERIALIZE = frozenset({"list", "tuple", "set", "frozenset", "sorted", "dict"})


def _may_be_flagged(node: ast.ClassDef) -> bool:
    """The screens on the class statement alone: no keywords (a metaclass), no base but ``object``."""
    return not node.keywords and all(isinstance(b, ast.Name) and b.id == "object" for b in node.bases)


def _calls_in_loops(ctx: Context, name: str) -> list[tuple[ast.Call, ast.AST]]:
    """``name(...)`` calls that run once per iteration of a loop or comprehension (of their own
    function or of the module), each with its innermost loop, skipping calls where an enclosing
    function's parameter shadows the name.

    ``raise name(...)`` and ``return name(...)`` leave the loop: they build one instance per call,
    not one per element, so they are not instantiations in a loop.

    Uses the engine's buckets and parent links: no extra walk of the tree. (The caller has checked
    that the class statement is the module's only binding of ``name``, so only parameters can
    shadow it.)
    """
    found: list[tuple[ast.Call, ast.AST]] = []
    for call in ctx.nodes(ast.Call):
        func = call.func
        if not (isinstance(func, ast.Name) and func.id == name):
            continue
        loops = ctx.loops_around(call)
        if not loops or _leaves_loop(ctx, call, loops[0]):
            continue
        shadowed = any(
            isinstance(anc, (*FUNCTIONS, ast.Lambda))
            and any(a.arg == name for a in (*anc.args.posonlyargs, *anc.args.args, *anc.args.kwonlyargs,
                                             *(x for x in (anc.args.vararg, anc.args.kwarg) if x is not None)))
            for anc in ctx.ancestors(call)
        )  # fmt: skip
        if not shadowed:
            found.append((call, loops[0]))
    return found


def _leaves_loop(ctx: Context, call: ast.Call, loop: ast.AST) -> bool:
    """Whether ``call`` is (part of) what a ``raise`` or ``return`` statement inside ``loop``
    throws or returns (``return [C(x) for x in xs]`` builds one per element: it does not leave)."""
    for anc in ctx.ancestors(call):
        if anc is loop:
            return False
        if isinstance(anc, ast.Raise | ast.Return):
            return True
        if isinstance(anc, ast.stmt | ast.Lambda):
            return False
    return False


def _stores(node: ast.AST, value: ast.AST) -> bool:
    """Whether ``node`` puts ``value`` in a container: ``xs.append(value)`` (add, insert...) or
    ``table[key] = value`` on a local or ``self.<attr>`` container."""
    if isinstance(node, ast.Call):
        return (
            isinstance(node.func, ast.Attribute)
            and (node.func.attr in _KEEP_METHODS or not _STORE_WORDS.isdisjoint(node.func.attr.lower().split("_")))
            and any(a is value for a in node.args)
        )
    if isinstance(node, ast.Assign) and node.value is value:
        return any(
            isinstance(t, ast.Subscript)
            and (
                isinstance(t.value, ast.Name)
                or (isinstance(t.value, ast.Attribute) and isinstance(t.value.value, ast.Name)
                    and t.value.value.id == "self")
            )
            for t in node.targets
        )  # fmt: skip
    return False


def _kept(ctx: Context, call: ast.AST, loop: ast.AST) -> bool:
    """Whether the instance ``call`` builds outlives its iteration of ``loop``: collected by a
    list/set/dict comprehension (or a generator materialized by ``list()``...), stored in a
    container, or bound to a name that the loop then stores. An instance that is yielded, passed
    on, or overwritten by the next iteration is one object alive at a time: no `__dict__` piles up.
    """
    child: ast.AST = call
    for anc in ctx.ancestors(call):
        if isinstance(anc, _COLLECTING) and child is not anc.generators[0].iter:
            return not any(child is g for g in anc.generators)
        if isinstance(anc, ast.GeneratorExp) and child is not anc.generators[0].iter:
            holder = ctx.parent(anc)
            return isinstance(holder, ast.Call) and isinstance(holder.func, ast.Name) and holder.func.id in _MATERIALIZE
        if _stores(anc, child):
            return True
        if isinstance(anc, ast.Assign) and anc.value is child:
            names = {t.id for t in anc.targets if isinstance(t, ast.Name)}
            return bool(names) and _stored_in_loop(ctx, names, loop)
        if isinstance(anc, ast.stmt | ast.Lambda) or anc is loop:
            return False
        child = anc
    return False


def _stored_in_loop(ctx: Context, names: set[str], loop: ast.AST) -> bool:
    """Whether the body of ``loop`` stores one of ``names`` in a container."""
    body = loop.body if isinstance(loop, ast.For | ast.AsyncFor | ast.While) else []
    for n in (n for stmt in body for n in walk(stmt)):
        if isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, ast.Load):
            holder = ctx.parent(n)
            if holder is not None and _stores(holder, n):
                return True
    return False


def _scale_of(ctx: Context, loop: ast.AST) -> Scale:
    """The evidence that ``loop`` (a statement or a comprehension) runs at scale."""
    if isinstance(loop, ast.For | ast.AsyncFor | ast.While):
        return loop_scale(loop, ctx)
    if isinstance(loop, _COMPREHENSIONS):
        return strongest(*(loop_scale(g, ctx) for g in loop.generators))
    return Scale(MEDIUM, "a loop")


def _loop_words(evidence: str) -> str:
    """``loops over parameter `xs` ...`` read as the object of "per element of"."""
    if evidence.startswith("iterates "):
        return "a loop over " + evidence.removeprefix("iterates ")
    return f"a loop ({evidence})"


def _uses_cached_property(ctx: Context, node: ast.ClassDef) -> bool:
    """A ``functools.cached_property`` (or a look-alike named so) stores its value in the
    instance's ``__dict__``: with ``__slots__`` it raises ``TypeError``."""
    for stmt in node.body:
        if isinstance(stmt, FUNCTIONS):
            for dec in stmt.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                spelled = ctx.qualified_name(target) or ctx.text(target)
                if spelled.rsplit(".", 1)[-1] == "cached_property":
                    return True
    return False


def _dict_keeping_subclasses(ctx: Context, name: str) -> list[str]:
    """Classes of the module derived from ``name`` without their own ``__slots__``: their
    instances keep a ``__dict__`` whatever the base declares."""
    return [
        cls.name
        for cls in ctx.nodes(ast.ClassDef)
        if any(isinstance(b, ast.Name) and b.id == name for b in cls.bases) and not _declares_slots(cls)
    ]


def _declares_slots(cls: ast.ClassDef) -> bool:
    for stmt in cls.body:
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id == "__slots__" for t in targets):
            return True
    return False


class SmallClassWithoutSlots(Rule):
    """
    ## What it does
    Flags a small class (at most 8 instance attributes, no base class, no `__slots__`, no
    `slots=True`) that the module instantiates once per element of a loop or comprehension and
    keeps past the iteration: collected by a list/set/dict comprehension, stored with
    `append`/`add`/`table[key] = ...`, or bound to a name the loop then stores.

    Confidence is one level below the evidence that the loop runs at scale (the evidence names
    the loop): medium for a loop over a parameter or a query result, low (hidden by default) for
    an attribute, a `while` loop or a call result of unknown size, and for loops that run once (at
    import, behind a lazy initialiser): ~100 bytes saved per instance matter only for many.

    Not reported (or only with `--confidence low`):
    - `raise C(...)` and `return C(...)` inside a loop: they leave the loop, one instance per call;
    - an instance that is yielded, passed on or overwritten by the next iteration: one is alive at
      a time, so no `__dict__`s pile up (low);
    - a class with a `functools.cached_property`: its value lives in the instance `__dict__`, and
      `__slots__` would make it raise `TypeError` (not reported);
    - a class whose subclasses in the module declare no `__slots__` of their own: their instances
      keep a `__dict__` whatever the base declares (low).

    ## Why is this bad?
    Each instance of an ordinary class carries a `__dict__` (and a `__weakref__` slot): for a
    two-attribute object that is roughly 100-200 extra bytes per instance, often more than the
    data itself. Creating one per element of a large input multiplies that by the input size.
    With `__slots__` the attributes live in fixed slots of the object itself.

    ## Example
    ```python
    @dataclass
    class Point:
        x: float
        y: float

    points = [Point(x, y) for x, y in pairs]
    ```

    ## Use instead
    ```python
    @dataclass(slots=True)
    class Point:
        x: float
        y: float
    ```
    For a plain class, or when the project supports Python older than 3.10 (where
    `dataclass(slots=True)` does not exist), declare `__slots__ = ("x", "y")` instead. The target
    version is the lower bound of `requires-python` in the nearest `pyproject.toml`, else its
    `[tool.ruff] target-version`, else 3.10.

    ## Fix safety
    Offered for `@dataclass` classes only, always **unsafe**: instances no longer have a `__dict__`,
    so assigning an attribute that is not a field raises `AttributeError`, and `vars(obj)`,
    `obj.__dict__` and `weakref.ref(obj)` stop working; `slots=True` also returns a new class
    object, which breaks zero-argument `super()` in its methods on Python 3.10-3.13 (no fix is
    offered when the class uses it). Not flagged: classes with a base class (slots would not remove
    the base's `__dict__`), with `__getattr__`/`__setattr__`/`__dict__` tricks, or with decorators
    other than `dataclass`.

    ## Speedup
    Measured by `bench/calibrate.py`: creating `n` two-field dataclass instances, with and without
    `slots=True` (`n` = instances). Creation is slightly faster; the main gain is memory per
    instance (measured here: 48-56 bytes with slots against 150-200 without, on CPython 3.11).

    ## References
    - [`__slots__`](https://docs.python.org/3/reference/datamodel.html#slots)
    - [`dataclasses.dataclass(slots=True)`](https://docs.python.org/3/library/dataclasses.html#dataclasses.dataclass)
    """

    code = "MEM006"
    name = "small-class-without-slots"
    message = "Small class without `__slots__` instantiated in a loop: each has a `__dict__`"
    fix_title = "Add `slots=True` to the dataclass"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.ClassDef,)
    effort_minutes = 5
    bench = Bench(
        setup=(
            "from dataclasses import dataclass\n"
            "@dataclass\nclass P:\n    x: int\n    y: int\n"
            "@dataclass(slots=True)\nclass Q:\n    x: int\n    y: int\n"
        ),
        before="items = [P(i, i) for i in range(n)]\nresult = len(items)",
        after="items = [Q(i, i) for i in range(n)]\nresult = len(items)",
        scales_with="n = instances created",
    )
    valid = (
        "class P:\n    __slots__ = ('x', 'y')\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n"
        "pts = [P(i, i) for i in range(10)]\n",
        "from dataclasses import dataclass\n@dataclass(slots=True)\nclass P:\n    x: int\n"
        "pts = [P(i) for i in range(10)]\n",
        "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\np = P(1)\n",  # not in a loop
        "class E(Exception):\n    pass\nfor i in range(3):\n    x = E(i)\n",
        "class P:\n    def __init__(self, x):\n        self.x = x\n    def __getattr__(self, name):\n        return 0\n"
        "pts = [P(i) for i in range(10)]\n",
        "class P:\n    def __init__(self):\n"
        + "".join(f"        self.a{i} = {i}\n" for i in range(9))
        + "pts = [P() for i in range(10)]\n",
        "class P:\n    pass\ndef f(P):\n    return [P() for i in range(3)]\n",
        # Slots on the base would save nothing for the subclass's instances (low).
        "class Pict:\n    def __init__(self, s):\n        self.s = s\nclass Form(Pict):\n    pass\n"
        "def build(xs):\n    return [Pict(x) for x in xs]\n",
        "@register\nclass P:\n    def __init__(self, x):\n        self.x = x\npts = [P(i) for i in range(3)]\n",
        # `raise` and `return` leave the loop: one instance per call, not per element.
        "class Problem:\n    def __init__(self, msg):\n        self.msg = msg\n"
        "def check(items):\n    for x in items:\n        if not x:\n            raise Problem(x)\n",
        "class Found:\n    def __init__(self, x):\n        self.x = x\n"
        "def find(items):\n    for x in items:\n        if x.ok:\n            return Found(x)\n",
        # Built per iteration but not kept: yielded, passed on, or overwritten by the next one.
        "class Field:\n    def __init__(self, f):\n        self.f = f\n"
        "def fields(names):\n    for n in names:\n        yield Field(n)\n",
        "class Grid:\n    def __init__(self, w):\n        self.w = w\n"
        "def grow(sizes):\n    for w in sizes:\n        cur = Grid(w)\n        cur.fill()\n        render(cur)\n",
        # cached_property keeps its value in the instance `__dict__`: slots would break it.
        "import functools\nclass Row:\n    def __init__(self, x):\n        self.x = x\n"
        "    @functools.cached_property\n    def key(self):\n        return self.x\n"
        "def rows(xs):\n    return [Row(x) for x in xs]\n",
        "from functools import cached_property\nclass Row:\n    def __init__(self, x):\n        self.x = x\n"
        "    @cached_property\n    def key(self):\n        return self.x\n"
        "def rows(xs):\n    return [Row(x) for x in xs]\n",
    )
    invalid = (
        Invalid(
            "from dataclasses import dataclass\n\n@dataclass\nclass Point:\n    x: float\n    y: float\n\n"
            "def build(pairs):\n    return [Point(x, y) for x, y in pairs]\n",
            fixed="from dataclasses import dataclass\n\n@dataclass(slots=True)\nclass Point:\n    x: float\n"
            "    y: float\n\ndef build(pairs):\n    return [Point(x, y) for x, y in pairs]\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import dataclasses\n@dataclasses.dataclass(frozen=True)\nclass P:\n    x: int\n"
            "def f(n):\n    out = []\n    for i in range(n):\n        out.append(P(i))\n    return out\n",
            fixed="import dataclasses\n@dataclasses.dataclass(frozen=True, slots=True)\nclass P:\n    x: int\n"
            "def f(n):\n    out = []\n    for i in range(n):\n        out.append(P(i))\n    return out\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "class Node:\n    def __init__(self, value):\n        self.value = value\n        self.next = None\n"
            "def chain(xs):\n    return [Node(x) for x in xs]\n",
        ),
        Invalid(
            "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n    def total(self):\n"
            "        return super().__repr__()\ndef build(xs):\n    return [P(i) for i in xs]\n",
        ),
        # Kept past the iteration: bound to a name the loop stores, put in a table, materialized.
        Invalid(
            "class Pair:\n    def __init__(self, row):\n        self.row = row\n"
            "def pairs(rows):\n    out = []\n    for row in rows:\n        p = Pair(row)\n        out.append(p)\n"
            "    return out\n"
        ),
        Invalid(
            "class Box:\n    def __init__(self, v):\n        self.v = v\n"
            "def index(items):\n    table = {}\n    for k, v in items:\n        table[k] = Box(v)\n    return table\n"
        ),
        Invalid(
            "class Node:\n    def __init__(self, x):\n        self.x = x\n"
            "def nodes(xs):\n    return list(Node(x) for x in xs)\n"
        ),
        Invalid(
            "class Leaf:\n    def __init__(self, x):\n        self.x = x\n"
            "def fit(tree, samples):\n    for s in samples:\n        leaf = Leaf(s)\n        tree.insert_leaf(leaf)\n"
        ),
        # A plain property needs no `__dict__`.
        Invalid(
            "class Row:\n    def __init__(self, x):\n        self.x = x\n    @property\n    def key(self):\n"
            "        return self.x\ndef rows(xs):\n    return [Row(x) for x in xs]\n"
        ),
    )

    @classmethod
    def module_facts(cls, unit: ast.stmt, ctx: Context) -> object:
        """A class's finding depends on its instantiations anywhere in the module, on the bindings
        of its name, and on what its methods do with attributes."""
        classes = {s.name for s in ctx.tree.body if isinstance(s, ast.ClassDef) and _may_be_flagged(s)}
        if not classes:
            return None  # no class of the module can be flagged: nothing to depend on
        # What a flaggable class's own statement does with attributes, `super()` and `vars()`
        # decides its finding: that matters from the class and its methods only.
        owner = unit if isinstance(unit, ast.ClassDef) else ctx.parent(unit)
        inside = isinstance(owner, ast.ClassDef) and owner.name in classes
        if inside and isinstance(owner, ast.ClassDef):
            # ... when the class is instantiated in a loop somewhere (else it has no finding,
            # whatever its statement does): a method of a class built once per call can change.
            counts = ctx.looped_name_calls()
            inside = counts is None or counts[owner.name] > 0
        facts: set[tuple[str, ...]] = set()
        for call, looped in calls_with_loop_flag(unit):
            func = call.func
            if isinstance(func, ast.Name) and func.id in classes and looped:
                facts.add(("call", func.id))  # only instantiations in a loop make a finding
            elif inside and isinstance(func, ast.Name) and func.id == "super" and not call.args:
                facts.add(("super",))
        for n in walk(unit):
            if isinstance(n, ast.Name):
                if n.id in classes and not isinstance(n.ctx, ast.Load):
                    facts.add(("bind", n.id))
                elif inside and n.id in ("vars", "__dict__"):
                    facts.add(("dynamic", n.id))
            elif isinstance(n, ast.arg) and n.arg in classes:
                facts.add(("param", n.arg))
            elif isinstance(n, (*FUNCTIONS, ast.ClassDef)):
                if n.name in classes or (inside and n.name in _DYNAMIC):
                    facts.add(("def", n.name))
                if isinstance(n, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id in classes for b in n.bases):
                    # A subclass without slots of its own lowers its base's finding.
                    facts.add(("bases", n.name, *(ast.dump(b) for b in n.bases), str(_declares_slots(n))))
            elif inside and isinstance(n, ast.Attribute) and (n.attr in _DYNAMIC or not isinstance(n.ctx, ast.Load)):
                facts.add(("attribute", n.attr, type(n.ctx).__name__))
        return frozenset(facts)

    def check(self, node: ast.ClassDef, ctx: Context) -> None:
        if not isinstance(ctx.parent(node), ast.Module) or not _may_be_flagged(node):
            return
        calls = _calls_in_loops(ctx, node.name)
        if not calls:
            return  # cheap screen first: most classes are not instantiated in a loop
        if _uses_cached_property(ctx, node):
            return  # its descriptors need the instance `__dict__`
        dataclass_dec: ast.expr | None = None
        for dec in node.decorator_list:
            target = dec.func if isinstance(dec, ast.Call) else dec
            if ctx.qualified_name(target) != "dataclasses.dataclass" or dataclass_dec is not None:
                return
            if isinstance(dec, ast.Call) and any(kw.arg in ("slots", None) for kw in dec.keywords):
                return  # slots given (either way), or **options we cannot read
            dataclass_dec = dec
        attributes: set[str] = set()
        uses_super = False
        for stmt in node.body:
            if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if any(isinstance(t, ast.Name) and t.id == "__slots__" for t in targets):
                    return
                if (
                    dataclass_dec is not None
                    and isinstance(stmt, ast.AnnAssign)
                    and isinstance(stmt.target, ast.Name)
                    and "ClassVar" not in ctx.text(stmt.annotation)
                ):
                    attributes.add(stmt.target.id)
        for n in walk(node):
            if isinstance(n, FUNCTIONS) and n.name in _DYNAMIC:
                return
            if isinstance(n, ast.Attribute):
                if n.attr in _DYNAMIC:
                    return
                if isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name) and n.value.id == "self":
                    attributes.add(n.attr)
            elif isinstance(n, ast.Name) and n.id in ("vars", "__dict__"):
                return
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "super" and not n.args:
                uses_super = True
        if len(attributes) > MAX_ATTRIBUTES:
            return
        name = node.name
        bindings = sum(1 for n in ctx.nodes(ast.Name) if n.id == name and not isinstance(n.ctx, ast.Load))
        defs: list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = [
            *ctx.nodes(ast.FunctionDef),
            *ctx.nodes(ast.AsyncFunctionDef),
            *ctx.nodes(ast.ClassDef),
        ]
        bindings += sum(1 for d in defs if d.name == name)
        if bindings != 1:
            return
        line_text = ctx.source.line(node.lineno)
        col = line_text.find(node.name, ctx.source.char_column(node.lineno, node.col_offset))
        start = ctx.span(node).start
        span = Span(start, Position(node.lineno, col + len(node.name))) if col >= 0 else ctx.span(node)
        kept = [(call, _scale_of(ctx, loop)) for call, loop in calls if _kept(ctx, call, loop)]
        subclasses = _dict_keeping_subclasses(ctx, name)
        if kept:
            # The instantiation with the strongest evidence that its loop runs at scale.
            shown, scale = max(kept, key=lambda k: (k[1].confidence.rank, -k[0].lineno))
            # One level below the loop's scale: ~100 bytes saved per instance matters only for
            # many live instances, so a loop of unknown size (an attribute, a `while`) is not
            # enough evidence; a parameter or a query result is (medium).
            confidence = scale.confidence.lowered()
            evidence = f"instantiated per element of {_loop_words(scale.evidence)} and kept past it"
        else:
            shown = min((c for c, _ in calls), key=lambda c: (c.lineno, c.col_offset))
            confidence = LOW
            evidence = (
                f"instantiated per iteration (line {shown.lineno}) but not kept past it: one instance alive at a time"
            )
        if subclasses:
            confidence = LOW
            evidence = f"subclass `{subclasses[0]}` keeps a `__dict__`: `__slots__` on `{name}` saves nothing for its instances"
        message = fit("Small class `{name}` without `__slots__` instantiated in a loop (line {line})", name=node.name,
                      line=shown.lineno)
        slots_allowed = target_version(ctx.path) >= (3, 10)
        if dataclass_dec is None or not slots_allowed:
            report(
                self,
                ctx,
                span,
                confidence=confidence,
                evidence=evidence,
                message=message,
                notes=("Declare `__slots__` with its attribute names.",),
                severity=Severity.INFO,
            )
            return
        dec = dataclass_dec

        def fix() -> Fix | None:
            if uses_super or not slots_allowed:
                return None
            title = (
                f"{self.fix_title} (unsafe: instances lose `__dict__`: undeclared attributes, `vars()` and"
                " weak references stop working)"
            )
            if isinstance(dec, ast.Call):
                text = ctx.text(dec)
                inner = text[text.index("(") + 1 : text.rindex(")")]
                sep = ", " if inner.strip() else ""
                head = text[: text.rindex(")")].rstrip()
                if inner.strip().endswith(","):
                    sep = " "
                return _replace_decorator(ctx, dec, f"{head}{sep}slots=True)", title)
            return _replace_decorator(ctx, dec, f"{ctx.text(dec)}(slots=True)", title)

        report(
            self, ctx, span, confidence=confidence, evidence=evidence, message=message, fix=fix, severity=Severity.INFO
        )


def _replace_decorator(ctx: Context, dec: ast.expr, new_text: str, title: str) -> Fix | None:
    """Replace a decorator expression; the decorator line must still parse as one."""
    try:
        ast.parse(f"@{new_text}\ndef _(): pass\n")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    src = ctx.source
    span = ctx.span(dec)
    edit = minimal_edit(src, src.offset(span.start), src.offset(span.end), new_text)
    return Fix(title, FixSafety.UNSAFE, (edit,))
