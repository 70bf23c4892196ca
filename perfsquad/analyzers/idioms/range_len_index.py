from __future__ import annotations

import ast
import bisect
import builtins
import keyword
from dataclasses import dataclass, field

from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.context import FUNCTIONS, LOOPS, Context
from perfsquad.fixes import replace_spans
from perfsquad.memo import MemoKey
from perfsquad.model import Fix, FixSafety, Span
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.types import MAPPINGS, SEQUENCES, UNKNOWN
from perfsquad.syntax import children, walk

_BUILTIN_NAMES = frozenset(dir(builtins))
_NESTED_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# Methods that only read their receiver (for the container types these rules consider).
_READ_ONLY_METHODS = frozenset(
    {"count", "index", "copy", "get", "keys", "values", "items", "most_common", "elements", "total",
     "startswith", "endswith", "find", "rfind", "split", "strip", "lower", "upper", "join", "format"}
)  # fmt: skip
# Builtins that only read (iterate, measure, print) the argument they are given.
_READ_ONLY_BUILTINS = frozenset(
    {"len", "sum", "min", "max", "sorted", "print", "repr", "str", "any", "all", "list", "tuple", "set",
     "frozenset", "dict", "enumerate", "zip", "isinstance", "id", "hash", "reversed", "bool", "iter"}
)  # fmt: skip
_NOT_INDEXED_BY_POSITION = MAPPINGS | {"set", "frozenset"}
_IES_WORDS = frozenset({"movies", "cookies", "ties", "pies", "lies", "dies", "series", "species"})


def chain_parts(node: ast.expr) -> tuple[str, ...] | None:
    """``self.items`` -> ``("self", "items")``; None unless a name or a chain of attributes on one."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))


def singular(name: str) -> str | None:
    """``items`` -> ``item``, ``entries`` -> ``entry``, ``xs`` -> ``x``; None when not a plural."""
    if not name.endswith("s") or name.endswith(("ss", "us", "is")) or name[-2:-1] == "_":
        return None
    if name.endswith("ies") and len(name) > 4 and name not in _IES_WORDS:
        result = name[:-3] + "y"
    elif name.endswith(("sses", "xes", "ches", "shes", "zzes")):
        result = name[:-2]
    else:
        result = name[:-1]
    return result if result.isidentifier() else None


def used_names(ctx: Context, node: ast.AST) -> set[str]:
    """Every identifier mentioned in the function around ``node`` (or the module, at top level)."""
    root: ast.AST = ctx.function_of(node) or ctx.tree
    names: set[str] = set()
    for n in walk(root):
        if isinstance(n, ast.Name):
            names.add(n.id)
        elif isinstance(n, ast.arg):
            names.add(n.arg)
        elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(n.name)
        elif isinstance(n, ast.alias):
            names.add((n.asname or n.name).split(".", 1)[0])
        elif isinstance(n, ast.Global | ast.Nonlocal):
            names.update(n.names)
        elif isinstance(n, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and n.name:
            names.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            names.add(n.rest)
    return names


def fresh_name(ctx: Context, node: ast.AST, candidates: list[str]) -> str:
    """The first candidate not used in the function (nor a keyword or a builtin), else a variant
    with trailing underscores/numbers."""
    taken = used_names(ctx, node)

    def ok(name: str) -> bool:
        return (
            name.isidentifier()
            and not keyword.iskeyword(name)
            and name not in _BUILTIN_NAMES
            and name not in taken
        )

    for name in candidates:
        if ok(name):
            return name
    base = candidates[0]
    for suffix in ["_", *(f"_{i}" for i in range(2, 100))]:
        if ok(base + suffix):
            return base + suffix
    raise ValueError("no fresh name")  # pragma: no cover - a hundred variants all taken


@dataclass
class IndexedLoop:
    """How a loop body uses ``container[index]``, where ``index`` is the loop variable."""

    loads: list[ast.Subscript] = field(default_factory=list)
    """The ``container[index]`` reads that belong to this loop (the ones a rewrite replaces)."""
    index_used_otherwise: bool = False
    """``index`` is read somewhere other than those subscripts (body, ``else``, later code)."""
    stores: list[ast.Subscript] = field(default_factory=list)
    """Assignments or deletions ``container[...] = ...`` in the body."""
    mutators: list[str] = field(default_factory=list)
    """Calls in the body that receive the container (or an object it hangs from)."""
    blockers: list[str] = field(default_factory=list)
    """Why no rewrite is offered at all."""


def _binds(scope: ast.AST, names: set[str]) -> bool:
    """A lambda's parameters or a comprehension's targets rebind one of ``names``."""
    if isinstance(scope, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
        args = scope.args
        params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
        params.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
        return bool(params & names)
    if isinstance(scope, _COMPREHENSIONS):
        return any(
            isinstance(n, ast.Name) and n.id in names for gen in scope.generators for n in walk(gen.target)
        )
    return False


def _statement_of(ctx: Context, node: ast.AST) -> ast.stmt:
    for anc in ctx.ancestors(node):
        if isinstance(anc, ast.stmt):
            return anc
    raise ValueError("not inside a statement")


def _before_store(ctx: Context, load: ast.expr, store: ast.expr, loop: ast.stmt) -> bool:
    """``load`` surely runs before ``store`` in every iteration (textually before it, or in the
    value of the assignment that stores, and no inner loop repeats both)."""
    stmt = _statement_of(ctx, store)
    for anc in ctx.ancestors(load):
        if anc is loop:
            break
        if isinstance(anc, LOOPS) and any(a is anc for a in ctx.ancestors(store)):
            return False
    value = getattr(stmt, "value", None) if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign) else None
    if value is not None and (load is value or any(a is value for a in ctx.ancestors(load))):
        return True
    return (load.lineno, load.col_offset) < (stmt.lineno, stmt.col_offset)


class IndexedReads:
    """Where a module reads ``something[name]`` with a plain name as the index: the lines, by name.
    A screen before :func:`analyze_indexed_loop`, which walks a loop's whole body: a loop with no
    such read of its variable within its lines has nothing to find (built once per module from
    the engine's buckets)."""

    def __init__(self) -> None:
        self._lines: dict[str, list[int]] | None = None

    def within(self, ctx: Context, index: str, loop: ast.For) -> bool:
        if self._lines is None:
            lines: dict[str, list[int]] = {}
            for sub in ctx.nodes(ast.Subscript):
                if isinstance(sub.slice, ast.Name) and isinstance(sub.ctx, ast.Load):
                    lines.setdefault(sub.slice.id, []).append(sub.lineno)
            for numbers in lines.values():
                numbers.sort()
            self._lines = lines
        found = self._lines.get(index)
        if not found or not loop.body:
            return False
        i = bisect.bisect_left(found, loop.body[0].lineno)
        return i < len(found) and found[i] <= (loop.end_lineno or loop.lineno)


def analyze_indexed_loop(ctx: Context, loop: ast.For, container: ast.expr, index: str) -> IndexedLoop:
    """Find the reads of ``container[index]`` in ``loop``'s body and what could make replacing
    them by a second loop variable change behaviour."""
    result = IndexedLoop()
    parts = chain_parts(container)
    assert parts is not None
    prefixes = {parts[:i] for i in range(1, len(parts) + 1)}
    watched = {index, parts[0]}
    shown = ".".join(parts)
    counted_index_reads: set[int] = set()

    # (node, inside a nested function/lambda, rebound by a nested scope)
    stack: list[tuple[ast.AST, bool, bool]] = [(stmt, False, False) for stmt in loop.body]
    index_reads: list[ast.Name] = []
    while stack:
        node, nested, shadowed = stack.pop()
        if isinstance(node, (*_NESTED_FUNCTIONS, *_COMPREHENSIONS)):
            nested = nested or isinstance(node, _NESTED_FUNCTIONS)
            shadowed = shadowed or _binds(node, watched)
        if isinstance(node, ast.Subscript) and chain_parts(node.value) == parts and not shadowed:
            if isinstance(node.ctx, ast.Load):
                if isinstance(node.slice, ast.Name) and node.slice.id == index:
                    result.loads.append(node)
                    counted_index_reads.add(id(node.slice))
                    if nested:
                        result.blockers.append(f"`{shown}[{index}]` is read inside a nested function or lambda")
            else:
                result.stores.append(node)
        elif isinstance(node, ast.Name) and node.id == index and not shadowed:
            if isinstance(node.ctx, ast.Load):
                index_reads.append(node)
            else:
                result.blockers.append(f"`{index}` is reassigned in the loop body")
        elif (
            isinstance(node, ast.Name | ast.Attribute)
            and not isinstance(node.ctx, ast.Load)
            and chain_parts(node) in prefixes
            and not shadowed
        ):
            result.blockers.append(f"`{shown}` is reassigned in the loop body")
        elif isinstance(node, ast.Call) and not shadowed:
            mutator = mutating_call(ctx, node, prefixes)
            if mutator is not None:
                result.mutators.append(mutator)
        stack.extend((child, nested, shadowed) for child in children(node))

    if any(id(n) not in counted_index_reads for n in index_reads):
        result.index_used_otherwise = True
    elif not isinstance(ctx.scope_of(loop), FUNCTIONS):
        result.index_used_otherwise = True  # a module or class attribute: keep defining it
    else:
        result.index_used_otherwise = _index_read_elsewhere(ctx, loop, index)

    if result.stores and any(
        not _before_store(ctx, load, store, loop) for load in result.loads for store in result.stores
    ):
        result.blockers.append(
            f"`{shown}[{index}]` is read after the body assigns to `{shown}[...]`; a loop variable"
            " would keep the value read when the iteration started"
        )
    return result


def mutating_call(ctx: Context, call: ast.Call, prefixes: set[tuple[str, ...]]) -> str | None:
    """``xs.append(...)`` or ``f(xs)``: a call that could change the container; None if not."""
    func = call.func
    if isinstance(func, ast.Attribute) and chain_parts(func.value) in prefixes:
        if func.attr in _READ_ONLY_METHODS and chain_parts(func.value) == max(prefixes, key=len):
            return None
        return f"`{ctx.text(func)}()`"
    args = [a.value if isinstance(a, ast.Starred) else a for a in call.args]
    args += [kw.value for kw in call.keywords]
    if any(chain_parts(a) in prefixes for a in args):
        qualified = ctx.qualified_name(func)
        if qualified is not None and qualified.removeprefix("builtins.") in _READ_ONLY_BUILTINS:
            return None
        return f"`{ctx.text(func)}()`"
    return None


def _index_read_elsewhere(ctx: Context, loop: ast.For, index: str) -> bool:
    """``index`` is read outside ``loop`` in its function (other than inside another loop that
    binds ``index`` itself), or declared global/nonlocal there."""
    function = ctx.function_of(loop)
    if function is None:
        return True
    inside = {id(n) for n in walk(loop)}
    outer = {id(a) for a in ctx.ancestors(loop)}
    rebinding_loops = [
        n
        for n in walk(function)
        if isinstance(n, ast.For | ast.AsyncFor)
        and n is not loop
        and id(n) not in outer
        and isinstance(n.target, ast.Name)
        and n.target.id == index
    ]
    for n in walk(function):
        if isinstance(n, ast.Global | ast.Nonlocal) and index in n.names:
            return True
        if not (isinstance(n, ast.Name) and n.id == index and not isinstance(n.ctx, ast.Store)):
            continue
        if id(n) in inside:
            continue
        if any(any(a is s for s in other.body) for other in rebinding_loops for a in ctx.ancestors(n)):
            continue
        return True
    return False


def replacement_reasons(ctx: Context, loop: ast.For, info: IndexedLoop, container: ast.expr) -> list[str]:
    """Why a rewrite (given the container's type is right) may still change behaviour."""
    shown = ctx.text(container)
    reasons: list[str] = []
    if info.stores:
        reasons.append(
            f"the body assigns to `{shown}[...]`; the loop variable holds the value read when the"
            " iteration started"
        )
    if info.mutators:
        reasons.append(
            f"the body calls {', '.join(sorted(set(info.mutators)))}, which may change `{shown}`"
            " while it is iterated (indexing evaluates it anew, iteration sees the changes differently)"
        )
    if isinstance(ctx.scope_of(loop), ast.ClassDef):
        reasons.append("in a class body the new loop variable becomes a class attribute")
    return reasons


def _iterates_itself(ctx: Context, loop: ast.For, container: ast.expr) -> bool:
    """``for i in range(len(self)): yield self[i]`` in the class's own ``__iter__``: iterating
    ``self`` there would call that very ``__iter__`` again (endless recursion); indexing through
    ``__getitem__`` is the only way."""
    function = ctx.function_of(loop)
    if function is None or function.name != "__iter__" or not isinstance(container, ast.Name):
        return False
    params = [*function.args.posonlyargs, *function.args.args]
    return bool(params) and params[0].arg == container.id and isinstance(ctx.parent(function), ast.ClassDef)


def is_cython_module(ctx: Context) -> bool:
    """A module compiled by Cython in pure-Python mode (it imports ``cython``, or says ``# cython:``
    in its first lines): there ``for i in range(len(xs))`` with a C-typed index is a C loop and
    ``xs[i]`` a direct list access, so CPython's measured costs of indexing do not apply."""
    return ctx.memo(_CYTHON, lambda: _imports_cython(ctx))


def _imports_cython(ctx: Context) -> bool:
    if ctx.path.endswith((".pyx", ".pxd")):
        return True
    for node in ctx.nodes(ast.Import):
        if any(alias.name == "cython" or alias.name.startswith("cython.") for alias in node.names):
            return True
    for imported in ctx.nodes(ast.ImportFrom):
        if imported.level == 0 and imported.module is not None and imported.module.split(".", 1)[0] == "cython":
            return True
    head = ctx.source.text[:2000]
    return any(line.startswith("# cython:") for line in head.splitlines()[:10])


_CYTHON: MemoKey[bool] = MemoKey("idioms.cython_module")


def _range_len_arg(ctx: Context, iterable: ast.expr) -> ast.expr | None:
    """``xs`` from ``range(len(xs))`` or ``range(0, len(xs))``, with both builtins real."""
    if not (isinstance(iterable, ast.Call) and not iterable.keywords and iterable.args):
        return None
    args = iterable.args
    if len(args) == 2 and isinstance(args[0], ast.Constant) and args[0].value == 0 and type(args[0].value) is int:
        args = args[1:]
    if len(args) != 1 or ctx.qualified_name(iterable.func) != "builtins.range":
        return None
    inner = args[0]
    if not (
        isinstance(inner, ast.Call)
        and len(inner.args) == 1
        and not inner.keywords
        and ctx.qualified_name(inner.func) == "builtins.len"
    ):
        return None
    return inner.args[0]


class RangeLenIndex(Rule):
    """
    ## What it does
    Flags `for i in range(len(xs)):` loops whose body reads `xs[i]`.

    Not flagged in the class's own `__iter__` when `xs` is `self` (iterating `self` there would
    call that `__iter__` again: indexing is the only way), nor in modules compiled by Cython in
    pure-Python mode (they import `cython`, or say `# cython:`): there the loop with a C-typed
    index is a C loop, and CPython's measured costs do not apply.

    Confidence: the rewrite saves a constant per element, so a finding is at most `medium`:
    `medium` where `xs` is of unknown size (a parameter, an attribute, a call's result), `low`
    (shown with `--confidence low`) for a literal, or code that runs once at import.

    ## Why is this bad?
    Every `xs[i]` is an extra lookup of `xs`, of `i` and a subscript call per use, on top of the
    `range` iteration; iterating `xs` directly hands over each element once, with no indexing.
    When the index is needed too, `enumerate(xs)` gives both. The result is shorter and cannot go
    wrong with off-by-one edits.

    ## Example
    ```python
    for i in range(len(names)):
        print(names[i].title())

    for i in range(len(names)):
        print(i, names[i])
    ```

    ## Use instead
    ```python
    for name in names:
        print(name.title())

    for i, name in enumerate(names):
        print(i, name)
    ```

    ## Fix safety
    The fix uses `for x in xs:` when `i` is only ever used as `xs[i]` (and not after the loop),
    else `for i, x in enumerate(xs):`; every read of `xs[i]` becomes the new variable, named after
    the singular of `xs` (`names` -> `name`) or `item`, never a name the function already uses.
    Safe when `xs` is known to be a `list`, `tuple`, `str`, `bytes` or `bytearray` (from a literal,
    constructor or annotation) and the body neither assigns to `xs[...]` nor calls anything
    that receives `xs` (`xs.append(...)`, `f(xs)`). Unsafe otherwise:
    - `xs` of unknown type: `xs[i]` and iteration are different protocols (a mapping's
      `__getitem__` takes keys but its iteration yields keys; some objects iterate differently);
    - the body may mutate `xs`: `range(len(xs))` is evaluated once, while iteration sees the list
      grow or shrink (an `append` can even make it endless), and `xs[i]` re-reads a value the
      loop variable read once;
    - in a class body, the new loop variable becomes a class attribute.
    No fix when the body reassigns `i` or `xs`, reads `xs[i]` after assigning to `xs[...]`, or
    reads `xs[i]` inside a nested function or lambda.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = elements iterated); see `perfsquad explain IDM009`.

    ## References
    - [`enumerate()`](https://docs.python.org/3/library/functions.html#enumerate)
    - [pylint C0200 consider-using-enumerate](https://pylint.readthedocs.io/en/stable/user_guide/messages/convention/consider-using-enumerate.html)
    """

    code = "IDM009"
    name = "range-len-index"
    message = "`range(len(...))` only to index the sequence; iterate it or use `enumerate()`"
    fix_title = "Iterate the sequence directly"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 2
    bench = Bench(
        setup="xs = list(range(n))",
        before="result = 0\nfor i in range(len(xs)):\n    result += xs[i] * 2",
        after="result = 0\nfor x in xs:\n    result += x * 2",
        scales_with="n = elements iterated",
    )
    valid = (
        # The index is used, but never to read xs[i].
        "def f(xs):\n    for i in range(len(xs)):\n        print(i)\n",
        "def f(xs, ys):\n    for i in range(len(xs)):\n        print(ys[i])\n",
        # Writes only: an in-place update is what range(len()) is for.
        "def f(xs: list):\n    for i in range(len(xs)):\n        xs[i] += 1\n",
        # Not a plain name or attribute chain.
        "def f(g):\n    for i in range(len(g())):\n        print(g()[i])\n",
        "def f(xs):\n    for i in range(1, len(xs)):\n        print(xs[i])\n",
        "def f(xs):\n    for i in range(len(xs) - 1):\n        print(xs[i])\n",
        "def f(xs):\n    for i in range(len(xs)):\n        print(xs[i + 1])\n",
        # `range`/`len` are not the builtins.
        "from mylib import range\ndef f(xs):\n    for i in range(len(xs)):\n        print(xs[i])\n",
        "def f(xs, len):\n    for i in range(len(xs)):\n        print(xs[i])\n",
        # Reported only with `--confidence low`: a literal, a constant range, once at import.
        "def f():\n    xs = [1, 2]\n    for i in range(len(xs)):\n        print(i, xs[i])\n",
        "xs = load()\nfor i in range(len(xs)):\n    print(xs[i])\n",
        # The class's own __iter__: iterating self would recurse.
        "class Ring:\n    def __iter__(self):\n        for i in range(len(self)):\n            yield self[i]\n",
        # Compiled by Cython (pure-Python mode): a C loop with a C index.
        "import cython\ndef f(rows: list):\n    i: cython.Py_ssize_t\n    for i in range(len(rows)):\n"
        "        print(rows[i])\n",
        "try:\n    import cython\nexcept ImportError:\n    from mylib import cython\n"
        "def f(rows: list):\n    for i in range(len(rows)):\n        print(rows[i])\n",
        # xs[i] only inside a comprehension that rebinds i.
        "def f(xs):\n    for i in range(len(xs)):\n        print([xs[i] for i in (0, 1)])\n",
    )
    invalid = (
        Invalid(
            "def f(items: list[str]):\n    for i in range(len(items)):\n        print(items[i].title())\n",
            fixed="def f(items: list[str]):\n    for item in items:\n        print(item.title())\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs: list):\n    for i in range(len(xs)):\n        print(i, xs[i])\n",
            fixed="def f(xs: list):\n    for i, x in enumerate(xs):\n        print(i, x)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(words: tuple, v):\n    found = []\n    for i in range(0, len(words)):\n"
            "        found.append((words[i], v))\n    return i, found\n",
            fixed="def f(words: tuple, v):\n    found = []\n    for i, word in enumerate(words):\n"
            "        found.append((word, v))\n    return i, found\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(key: str):\n    total = 0\n    for i in range(len(key)):\n        if key[i] == 'a':\n"
            "            total += 1\n    return total\n",
            fixed="def f(key: str):\n    total = 0\n    for char in key:\n        if char == 'a':\n"
            "            total += 1\n    return total\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    for i in range(len(xs)):\n        print(xs[i])\n",
            fixed="def f(xs):\n    for x in xs:\n        print(x)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs: list):\n    for i in range(len(xs)):\n        xs[i] = xs[i] * 2\n",
            fixed="def f(xs: list):\n    for i, x in enumerate(xs):\n        xs[i] = x * 2\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(self):\n    for i in range(len(self.items)):\n        use(self.items[i])\n",
            fixed="def f(self):\n    for item in self.items:\n        use(item)\n",
            safety=FixSafety.UNSAFE,
        ),
        # Look-alikes: `self` outside `__iter__`, another sequence inside `__iter__`.
        Invalid(
            "class Ring:\n    def total(self):\n        for i in range(len(self)):\n            use(self[i])\n",
            fixed="class Ring:\n    def total(self):\n        for item in self:\n            use(item)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "class Ring:\n    def __iter__(self):\n        for i in range(len(self.points)):\n"
            "            yield self.points[i]\n",
            fixed="class Ring:\n    def __iter__(self):\n        for point in self.points:\n            yield point\n",
            safety=FixSafety.UNSAFE,
        ),
        # Flagged, no fix: the list is read after an element is replaced.
        Invalid("def f(xs: list):\n    for i in range(len(xs)):\n        xs[i] = 0\n        print(xs[i])\n"),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        container = _range_len_arg(ctx, node.iter)
        if container is None or chain_parts(container) is None or not isinstance(node.target, ast.Name):
            return
        index = node.target.id
        if index in (chain_parts(container) or ()) or ctx.type_of(container) in _NOT_INDEXED_BY_POSITION:
            return
        if _iterates_itself(ctx, node, container) or is_cython_module(ctx):
            return
        info = analyze_indexed_loop(ctx, node, container, index)
        if not info.loads:
            return

        def fix() -> Fix | None:
            if info.blockers:
                return None
            if info.index_used_otherwise and ctx.imports.resolve_name("enumerate") != "builtins.enumerate":
                return None
            kind = ctx.type_of(container)
            reasons = replacement_reasons(ctx, node, info, container)
            if kind not in SEQUENCES:
                what = "of unknown type" if kind == UNKNOWN else f"a `{kind}`"
                reasons.insert(
                    0,
                    f"`{ctx.text(container)}` is {what}, not known to be a list, tuple or str: indexing"
                    " and iteration may differ (a mapping's `[]` takes keys, its iteration yields keys)",
                )
            parts = chain_parts(container) or ("item",)
            candidates = [c for c in (singular(parts[-1]),) if c]
            candidates.append("char" if kind == "str" else "item")
            new = fresh_name(ctx, node, candidates)
            shown = ctx.text(container)
            if info.index_used_otherwise:
                target, iterable = f"{index}, {new}", f"enumerate({shown})"
            else:
                target, iterable = new, shown
            replacements: list[tuple[Span, str]] = [
                (ctx.span(node.target), target),
                (ctx.span(node.iter), iterable),
                *((ctx.span(load), new) for load in info.loads),
            ]
            title = f"Iterate `{shown}` directly" if not info.index_used_otherwise else "Use `enumerate()`"
            if reasons:
                title += " (unsafe: " + "; ".join(reasons) + ")"
            safety = FixSafety.UNSAFE if reasons else FixSafety.SAFE
            return replace_spans(ctx, replacements, title, safety, node)

        scale = loop_confidence(self, node, ctx)
        ctx.report(self, ctx.header_span(node), fix=fix, confidence=scale.confidence, evidence=scale.evidence)
