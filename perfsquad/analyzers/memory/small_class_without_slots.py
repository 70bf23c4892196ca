from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path

from perfsquad.analyzers.facts import calls_with_loop_flag
from perfsquad.context import FUNCTIONS, Context
from perfsquad.fixes import minimal_edit
from perfsquad.model import Fix, FixSafety, Position, Severity, Span
from perfsquad.rule import Bench, Invalid, Rule
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

def _calls_in_loops(ctx: Context, name: str) -> list[int]:
    """Lines where ``name(...)`` is called inside a loop or comprehension (of its own function or of
    the module), skipping calls where an enclosing function's parameter shadows the name.

    Uses the engine's buckets and parent links: no extra walk of the tree. (The caller has checked
    that the class statement is the module's only binding of ``name``, so only parameters can
    shadow it.)
    """
    lines: list[int] = []
    for call in ctx.nodes(ast.Call):
        func = call.func
        if not (isinstance(func, ast.Name) and func.id == name) or not ctx.loops_around(call):
            continue
        shadowed = any(
            isinstance(anc, (*FUNCTIONS, ast.Lambda))
            and any(a.arg == name for a in (*anc.args.posonlyargs, *anc.args.args, *anc.args.kwonlyargs,
                                             *(x for x in (anc.args.vararg, anc.args.kwarg) if x is not None)))
            for anc in ctx.ancestors(call)
        )  # fmt: skip
        if not shadowed:
            lines.append(call.lineno)
    return lines


class SmallClassWithoutSlots(Rule):
    """
    ## What it does
    Flags a small class (at most 8 instance attributes, no base class, no `__slots__`, no
    `slots=True`) that the module instantiates inside a loop or comprehension.

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
    message = "Small class without `__slots__` is instantiated in a loop: each instance carries a `__dict__`"
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
        "@register\nclass P:\n    def __init__(self, x):\n        self.x = x\npts = [P(i) for i in range(3)]\n",
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
            "        return super().__repr__()\nps = [P(i) for i in range(3)]\n",
        ),
    )

    @classmethod
    def module_facts(cls, unit: ast.stmt, ctx: Context) -> object:
        """A class's finding depends on its instantiations anywhere in the module, on the bindings
        of its name, and on what its methods do with attributes."""
        classes = {s.name for s in ctx.tree.body if isinstance(s, ast.ClassDef)}
        facts: set[tuple[str, ...]] = set()
        for call, looped in calls_with_loop_flag(unit):
            func = call.func
            if isinstance(func, ast.Name) and func.id in classes:
                facts.add(("call", func.id, str(looped)))
            elif isinstance(func, ast.Name) and func.id == "super" and not call.args:
                facts.add(("super",))
        for n in walk(unit):
            if isinstance(n, ast.Name):
                if n.id in classes and not isinstance(n.ctx, ast.Load):
                    facts.add(("bind", n.id))
                elif n.id in ("vars", "__dict__"):
                    facts.add(("dynamic", n.id))
            elif isinstance(n, ast.arg) and n.arg in classes:
                facts.add(("param", n.arg))
            elif isinstance(n, (*FUNCTIONS, ast.ClassDef)) and (n.name in classes or n.name in _DYNAMIC):
                facts.add(("def", n.name))
            elif isinstance(n, ast.Attribute) and (n.attr in _DYNAMIC or not isinstance(n.ctx, ast.Load)):
                facts.add(("attribute", n.attr, type(n.ctx).__name__))
        return frozenset(facts)

    def check(self, node: ast.ClassDef, ctx: Context) -> None:
        if not isinstance(ctx.parent(node), ast.Module) or node.keywords:
            return
        if any(not (isinstance(b, ast.Name) and b.id == "object") for b in node.bases):
            return
        lines = _calls_in_loops(ctx, node.name)
        if not lines:
            return  # cheap screen first: most classes are not instantiated in a loop
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
            *ctx.nodes(ast.FunctionDef), *ctx.nodes(ast.AsyncFunctionDef), *ctx.nodes(ast.ClassDef)
        ]
        bindings += sum(1 for d in defs if d.name == name)
        if bindings != 1:
            return
        line_text = ctx.source.line(node.lineno)
        col = line_text.find(node.name, ctx.source.char_column(node.lineno, node.col_offset))
        start = ctx.span(node).start
        span = Span(start, Position(node.lineno, col + len(node.name))) if col >= 0 else ctx.span(node)
        message = (
            f"Small class `{node.name}` has no `__slots__` and is instantiated in a loop (line {min(lines)}):"
            " each instance carries a `__dict__`"
        )
        slots_allowed = target_version(ctx.path) >= (3, 10)
        if dataclass_dec is None or not slots_allowed:
            ctx.report(
                self,
                span,
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

        ctx.report(self, span, message=message, fix=fix, severity=Severity.INFO)


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
