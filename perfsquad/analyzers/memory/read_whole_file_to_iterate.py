from __future__ import annotations

import ast
import re

from perfsquad.analyzers.memory._common import HIGH, LOW, MEDIUM, report
from perfsquad.context import FUNCTIONS, Context
from perfsquad.fixes import replace_node
from perfsquad.memo import MemoKey
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.bindings import scope_bindings
from perfsquad.semantics.scale import runs_once
from perfsquad.syntax import walk

_OPENERS = frozenset({"builtins.open", "io.open", "codecs.open", "gzip.open", "bz2.open", "lzma.open"})
# Calls a "simple" loop body may make: builtins without side effects on anything outside.
_PURE_BUILTINS = frozenset({
    "len", "int", "float", "str", "bool", "abs", "min", "max", "sum", "sorted", "list", "tuple", "set",
    "dict", "isinstance", "repr", "range", "enumerate", "zip", "round", "ord", "chr", "hash",
})  # fmt: skip
_STR_METHODS = frozenset({
    "strip", "rstrip", "lstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "lower", "upper",
    "replace", "partition", "rpartition", "find", "rfind", "count", "isdigit", "isspace", "isalpha",
    "encode", "decode", "casefold", "removeprefix", "removesuffix", "join", "format",
})  # fmt: skip
_LOCAL_MUTATORS = frozenset({"append", "add", "extend", "update", "setdefault", "get"})


_PATHS = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})


def _is_path(ctx: Context, node: ast.expr) -> bool:
    """``node`` is a ``pathlib.Path``: a constructor call, or a name annotated or assigned as one."""
    if isinstance(node, ast.Call):
        return ctx.qualified_name(node.func) in _PATHS
    if not isinstance(node, ast.Name):
        return False
    scope = ctx.scope_of(node)
    kinds = set()
    for binding in scope_bindings(scope):
        if binding.name != node.id:
            continue
        if isinstance(binding.node, ast.arg):
            kinds.add(binding.node.annotation is not None and ctx.qualified_name(binding.node.annotation) in _PATHS)
        elif isinstance(binding.node, ast.Assign):
            kinds.add(_is_path(ctx, binding.node.value))
        else:
            kinds.add(False)
    return kinds == {True}


def _is_open_call(ctx: Context, node: ast.expr) -> bool:
    """``open(...)`` (and the other openers), or ``path.open()`` on a ``pathlib.Path``."""
    if not isinstance(node, ast.Call):
        return False
    if ctx.qualified_name(node.func) in _OPENERS:
        return True
    func = node.func
    return isinstance(func, ast.Attribute) and func.attr == "open" and _is_path(ctx, func.value)


def _opened_path(call: ast.Call) -> ast.expr | None:
    """The path an opener call opens: its first argument, or the ``Path(...)`` it is called on."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "open" and not isinstance(func.value, ast.Name | ast.Attribute):
        inner = func.value
        return inner.args[0] if isinstance(inner, ast.Call) and inner.args else None
    if isinstance(func, ast.Attribute) and func.attr == "open" and isinstance(func.value, ast.Name):
        return func.value
    return call.args[0] if call.args else None


def _file_scale(ctx: Context, loop: ast.For | ast.comprehension, binding: ast.AST) -> tuple[Confidence, str]:
    """How sure we are that the file read whole can be large: its size is the data's, unless the
    loop runs once (at import, behind a lazy initialiser) or the path is a literal (a fixed file)."""
    once = runs_once(loop, ctx)
    if once is not None:
        return LOW, f"holds the whole file in memory at once; {once}"
    opener = next((n for n in walk(binding) if isinstance(n, ast.Call) and _is_open_call(ctx, n)), None)
    path = _opened_path(opener) if opener is not None else None
    if isinstance(path, ast.Constant):
        return MEDIUM, f"holds the whole file {path.value!r} in memory at once (a fixed file: its size is unknown)"
    shown = f" `{ctx.text(path)[:40]}`" if path is not None else ""
    return HIGH, f"holds the whole file{shown} in memory at once: its size is the data's, read from outside the program"


class ReadWholeFileToIterate(Rule):
    """
    ## What it does
    Flags loops and comprehensions over `f.readlines()`, `f.read().splitlines()` or
    `f.read().split("\\n")` where `f` is a file object (bound by `with open(...) as f`,
    `f = open(...)`, or an `open(...)` call itself; `path.open()` on a `pathlib.Path` built by
    `Path(...)`, or a parameter annotated `Path`, counts as `open(path)`). Also the same in two
    statements: `data = f.read()` then `for line in data.splitlines()` (or `.split("\\n")`), and `lines =
    f.readlines()` (or `f.read().splitlines()`) then `for line in lines`, when the name is bound once
    and read only by that loop (the text kept for anything else, `len(data)`, is not flagged); these
    are reported without a fix (the loop may sit outside the `with` that reads the file).

    Confidence: high when the path comes from the program's data (a parameter, a computed path);
    medium for a literal path (a fixed file of unknown size); low (not shown by default) when the
    loop runs once, at import or behind a lazy initialiser.

    ## Why is this bad?
    The whole file is read into memory (the text plus a list of every line) before the first line
    is processed, so peak memory grows with the file size. A file object is already an iterator
    over its lines: it reads a buffer at a time, and the loop holds one line at a time.

    ## Example
    ```python
    with open(path) as f:
        for line in f.readlines():
            total += len(line)
    ```

    ## Use instead
    ```python
    with open(path) as f:
        for line in f:
            total += len(line)
    ```

    ## Fix safety
    Offered for `readlines()` only (`read().splitlines()` strips line endings and splits on more
    characters than `\\n`, so its lines are not the file's lines; the finding is reported without
    a fix). The fix is **safe** when all of these hold, and **unsafe** otherwise:

    - `f` is bound by a `with open(...) as f` around the loop, is not used in the loop body and not
      used after the loop inside the `with` (its position after the loop is then unobservable);
    - the body only calls side-effect-free builtins, string methods on the line, and
      `append`/`add`/`extend`/`update` on containers created in the same function, and does not
      `break`, `return`, `yield` or `await`; and no `try` around it in the function.

    Otherwise reading lazily can change behaviour: the body (or another process) writing to the
    same file is seen by the loop; an early exit leaves the file positioned after the lines
    consumed instead of at the end; a decoding error in a later line surfaces after the body
    already processed earlier lines instead of before any; and `open(p).readlines()` closes the
    file right away where iterating `open(p)` keeps it open during the loop.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = lines in the file, read from an in-memory `StringIO`):
    iterating is also faster, since no list of every line is built; the main saving is memory:
    peak goes from the whole file to one buffer.

    ## References
    - [Reading and writing files: looping over the file object](https://docs.python.org/3/tutorial/inputoutput.html#methods-of-file-objects)
    - [`io.IOBase.readlines`](https://docs.python.org/3/library/io.html#io.IOBase.readlines)
    - [ruff FURB129 readlines-in-for](https://docs.astral.sh/ruff/rules/readlines-in-for/)
    """

    code = "MEM004"
    name = "read-whole-file-to-iterate"
    message = "The whole file is read only to iterate its lines; iterate the file object"
    fix_title = "Iterate the file object directly"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For, ast.comprehension)
    effort_minutes = 1
    bench = Bench(
        setup="import io\ntext = 'some line of text\\n' * n\n",
        before="result = 0\nfor line in io.StringIO(text).readlines():\n    result += len(line)",
        after="result = 0\nfor line in io.StringIO(text):\n    result += len(line)",
        scales_with="n = lines in the file",
    )
    valid = (
        "with open(p) as f:\n    for line in f:\n        print(line)\n",
        "with open(p) as f:\n    lines = f.readlines()\n",
        "for line in reader.readlines():\n    print(line)\n",  # not known to be a file
        "with open(p) as f:\n    for line in f.readlines(100):\n        print(line)\n",
        "from mylib import open\nwith open(p) as f:\n    for line in f.readlines():\n        print(line)\n",
        "f = open(p)\nf = other\nfor line in f.readlines():\n    print(line)\n",
        "def f(p):\n    with p.open() as fh:\n        for line in fh.readlines():\n            print(line)\n",  # p: unknown type
        # The file object is read again by other code (a snapshot compared with it).
        "def f(p, other):\n    with open(p) as fh:\n        lines = fh.readlines()\n        other(fh)\n"
        "        for line in lines:\n            print(line)\n",
        # The whole text is used for something else too.
        "def f(p):\n    with open(p) as fh:\n        data = fh.read()\n    return len(data), [x for x in data.splitlines()]\n",
    )
    invalid = (
        # /dev/null: the safe examples are also run on generated inputs (tests/rules/test_fix_equivalence.py).
        Invalid(
            "def f(xs):\n    n = len(xs)\n    with open('/dev/null') as fh:\n"
            "        for line in fh.readlines():\n            n += len(line.strip())\n    return n\n",
            fixed="def f(xs):\n    n = len(xs)\n    with open('/dev/null') as fh:\n"
            "        for line in fh:\n            n += len(line.strip())\n    return n\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    with open('/dev/null', encoding='utf-8') as fh:\n"
            "        return [ln.rstrip() for ln in fh.readlines()] + xs  # all lines\n",
            fixed="def f(xs):\n    with open('/dev/null', encoding='utf-8') as fh:\n"
            "        return [ln.rstrip() for ln in fh] + xs  # all lines\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(p):\n    with open(p) as fh:\n        for line in fh.readlines():\n"
            "            if not line:\n                break\n            print(line)\n",
            fixed="def f(p):\n    with open(p) as fh:\n        for line in fh:\n"
            "            if not line:\n                break\n            print(line)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def show():\n    for line in open('x.txt').readlines():\n        print(line)\n",
            fixed="def show():\n    for line in open('x.txt'):\n        print(line)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def words(path):\n    fh = open(path)\n    return [w for w in fh.read().splitlines()]\n",
        ),
        Invalid(
            "def f(xs):\n    import pathlib\n    with pathlib.Path('/dev/null').open() as fh:\n        return [ln.strip() for ln in fh.readlines()] + xs\n",
            fixed="def f(xs):\n    import pathlib\n    with pathlib.Path('/dev/null').open() as fh:\n        return [ln.strip() for ln in fh] + xs\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "from pathlib import Path\ndef f(p: Path):\n    with p.open() as fh:\n        for ln in fh.readlines():\n            print(ln)\n",
            fixed="from pathlib import Path\ndef f(p: Path):\n    with p.open() as fh:\n        for ln in fh:\n            print(ln)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def words(path):\n    with open(path) as fh:\n        data = fh.read()\n"
            "    return [w for w in data.splitlines()]\n",
        ),
    )

    def check(self, node: ast.For | ast.comprehension, ctx: Context) -> None:
        it = node.iter
        if isinstance(it, ast.Name) or (
            isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and isinstance(it.func.value, ast.Name)
        ):
            self._check_read_then_split(node, ctx)
            if isinstance(it, ast.Name):
                return
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute)):
            return
        method = it.func.attr
        receiver: ast.expr
        fixable = False
        if method == "readlines" and not it.args and not it.keywords:
            receiver = it.func.value
            fixable = True
        elif method in ("splitlines", "split") and isinstance(it.func.value, ast.Call):
            read = it.func.value
            if not (isinstance(read.func, ast.Attribute) and read.func.attr == "read" and not read.args
                    and not read.keywords):  # fmt: skip
                return
            if method == "split" and not (
                len(it.args) == 1 and isinstance(it.args[0], ast.Constant) and it.args[0].value == "\n"
            ):
                return
            if method == "splitlines" and (it.args or it.keywords):
                return
            receiver = read.func.value
        else:
            return
        binding = self._file_binding(receiver, node, ctx)
        if binding is None:
            return
        if not fixable:
            self._report_unfixable(
                ctx, node, binding, "The whole file is read and split only to iterate its lines; iterate the file"
            )
            return
        confidence, evidence = _file_scale(ctx, node, binding)

        def fix() -> Fix | None:
            reasons = self._unsafe_reasons(receiver, node, binding, ctx)
            title = self.fix_title or ""
            if reasons:
                title += " (unsafe: " + "; ".join(reasons) + ")"
            return replace_node(ctx, it, ctx.text(receiver), title, FixSafety.UNSAFE if reasons else FixSafety.SAFE)

        report(self, ctx, it, confidence=confidence, evidence=evidence, fix=fix)

    def _check_read_then_split(self, node: ast.For | ast.comprehension, ctx: Context) -> None:
        """``data = f.read()`` then ``for line in data.splitlines()`` in a later statement (also
        ``lines = f.readlines()`` / ``f.read().splitlines()`` then ``for line in lines``), when the
        name is read nowhere else: the text is kept whole only to be split into lines."""
        it = node.iter
        wants: tuple[str, ...]
        if isinstance(it, ast.Name):
            name, wants = it, ("readlines", "read.splitlines", "read.split")
        else:
            assert isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute)
            if not _splits_lines(it):
                return
            assert isinstance(it.func.value, ast.Name)
            name, wants = it.func.value, ("read",)
        if name.id not in ctx.memo(_READ_INTO, lambda: _names_read_into(ctx.source.text)):
            return  # (a screen: the module never binds this name to a `.read()`/`.readlines()` result)
        value = _single_value(ctx, name)
        if value is None:
            return
        read = _read_call(value)
        if read is None or read[1] not in wants:
            return
        binding = self._file_binding(read[0], value, ctx)
        if binding is None or _file_read_elsewhere(ctx, read[0], value):
            return
        self._report_unfixable(
            ctx,
            node,
            binding,
            f"`{name.id}` holds the whole file (read at line {value.lineno}) only to iterate its lines;"
            " iterate the file object",
        )

    def _report_unfixable(self, ctx: Context, node: ast.For | ast.comprehension, binding: ast.AST, message: str) -> None:
        confidence, evidence = _file_scale(ctx, node, binding)
        report(self, ctx, node.iter, confidence=confidence, evidence=evidence, message=message)

    @staticmethod
    def _file_binding(receiver: ast.expr, node: ast.AST, ctx: Context) -> ast.AST | None:
        """The `with` statement, assignment or call that makes ``receiver`` a file; None if unknown."""
        if _is_open_call(ctx, receiver):
            return receiver
        if not isinstance(receiver, ast.Name):
            return None
        scope = ctx.scope_of(node)
        bindings: list[ast.AST] = []
        for n in walk(scope):
            if isinstance(n, ast.Name) and n.id == receiver.id and not isinstance(n.ctx, ast.Load):
                if ctx.scope_of(n) is not scope:
                    continue
                parent = ctx.parent(n)
                if isinstance(parent, ast.withitem) and _is_open_call(ctx, parent.context_expr):
                    with_stmt = ctx.parent(parent)
                    if with_stmt is not None:
                        bindings.append(with_stmt)
                        continue
                if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and _is_open_call(ctx, parent.value):
                    bindings.append(parent)
                    continue
                return None
            elif isinstance(n, ast.Global | ast.Nonlocal) and receiver.id in n.names:
                return None
            elif isinstance(n, ast.arg) and n.arg == receiver.id and ctx.scope_of(n) is scope:
                return None
        if len(bindings) != 1:
            return None
        return bindings[0]

    @staticmethod
    def _unsafe_reasons(
        receiver: ast.expr, node: ast.For | ast.comprehension, binding: ast.AST, ctx: Context
    ) -> list[str]:
        if not isinstance(binding, ast.With | ast.AsyncWith) or not isinstance(receiver, ast.Name):
            if isinstance(binding, ast.Call):
                return ["the file would stay open during the loop instead of being closed right after reading"]
            return ["the file is not scoped by a `with` around the loop: later reads would see a different position"]
        name = receiver.id
        loop: ast.AST = node if isinstance(node, ast.For) else ctx.parent(node) or node
        if not any(a is binding for a in ctx.ancestors(loop)):
            return ["the loop is not inside the `with` that opens the file"]
        body: list[ast.AST] = list(node.body) if isinstance(node, ast.For) else []
        if isinstance(node, ast.comprehension):
            comp = ctx.parent(node)
            if isinstance(comp, ast.ListComp | ast.SetComp | ast.GeneratorExp):
                body = [comp.elt, *node.ifs]
            elif isinstance(comp, ast.DictComp):
                body = [comp.key, comp.value, *node.ifs]
            if isinstance(comp, ast.GeneratorExp) or (comp is not None and len(getattr(comp, "generators", [])) != 1):
                return ["a lazy or nested comprehension interleaves its reads with other code"]
        for n in (x for b in body for x in walk(b)):
            if isinstance(n, ast.Name) and n.id == name:
                return [f"the body uses `{name}` itself"]
            if isinstance(n, ast.Break | ast.Return | ast.Yield | ast.YieldFrom | ast.Await | ast.Raise):
                return ["the loop can exit early, leaving the file at a different position"]
            if isinstance(n, ast.Call) and not _harmless_call(n, node, ctx):
                return ["the body calls code that could read or write the same file while the loop reads it lazily"]
        func = ctx.function_of(loop)
        for anc in ctx.ancestors(loop):
            if anc is func:
                break
            if isinstance(anc, ast.Try) or type(anc).__name__ == "TryStar":
                return ["inside `try`: an error in a later line would surface after earlier lines were processed"]
        end = (getattr(loop, "end_lineno", 0) or 0, getattr(loop, "end_col_offset", 0) or 0)
        for n in walk(binding):
            if isinstance(n, ast.Name) and n.id == name and (n.lineno, n.col_offset) > end:
                return [f"`{name}` is used after the loop, where its position would differ"]
        return []


def _harmless_call(call: ast.Call, loop: ast.For | ast.comprehension, ctx: Context) -> bool:
    qualified = ctx.qualified_name(call.func)
    if qualified is not None and qualified.startswith("builtins.") and qualified[9:] in _PURE_BUILTINS:
        return True
    if not isinstance(call.func, ast.Attribute):
        return False
    attr = call.func.attr
    base = call.func.value
    targets = {n.id for n in walk(loop.target) if isinstance(n, ast.Name)}
    if attr in _STR_METHODS and (
        (isinstance(base, ast.Name) and base.id in targets) or isinstance(base, ast.Constant | ast.Call | ast.Subscript)
    ):
        return not (isinstance(base, ast.Call) and not _harmless_call(base, loop, ctx))
    if attr in _LOCAL_MUTATORS and isinstance(base, ast.Name):
        func = ctx.function_of(call)
        if func is None or not isinstance(func, FUNCTIONS):
            return False
        params = {a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)}
        kind = ctx.type_of(base)
        return base.id not in params and kind in ("list", "set", "dict") and ctx.scope_of(base) is func
    return False


_READ_INTO: MemoKey[frozenset[str]] = MemoKey("mem.read_into")
"""Names the module's text assigns from a ``.read(``/``.readlines(`` call (a superset: textual)."""
_READ_CALL = re.compile(r"\.read(?:lines)?\(")
_ASSIGNED = re.compile(r"\s*([A-Za-z_]\w*)\s*=\s*[\w.]+$")


def _names_read_into(text: str) -> frozenset[str]:
    """Each ``.read(``/``.readlines(`` call, and the name assigned on its line before it (found from
    the calls: scanning for the assignments would try every identifier of the module)."""
    names: set[str] = set()
    for m in _READ_CALL.finditer(text):
        start = text.rfind("\n", 0, m.start()) + 1
        assigned = _ASSIGNED.match(text, start, m.start())
        if assigned is not None:
            names.add(assigned.group(1))
    return frozenset(names)


def _splits_lines(call: ast.Call) -> bool:
    """``x.splitlines()`` or ``x.split("\\n")``."""
    assert isinstance(call.func, ast.Attribute)
    if call.func.attr == "splitlines":
        return not call.args and not call.keywords
    return (
        call.func.attr == "split"
        and len(call.args) == 1
        and not call.keywords
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value == "\n"
    )


def _read_call(value: ast.expr) -> tuple[ast.expr, str] | None:
    """``(f, "read")`` for ``f.read()``, ``"readlines"`` for ``f.readlines()``, ``"read.splitlines"``
    for ``f.read().splitlines()`` (``"read.split"`` for ``.split("\\n")``)."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
        return None
    if (value.args or value.keywords) and not _splits_lines(value):
        return None
    attr = value.func.attr
    if attr in ("read", "readlines") and not value.args and not value.keywords:
        return value.func.value, attr
    if attr in ("splitlines", "split") and _splits_lines(value):
        inner = _read_call(value.func.value)
        if inner is not None and inner[1] == "read":
            return inner[0], f"read.{attr}"
    return None


def _file_read_elsewhere(ctx: Context, receiver: ast.expr, read: ast.expr) -> bool:
    """The file object is used again after the read (passed on, read by other code): the lines
    kept are a snapshot the loop compares with what others read, not a copy it could skip."""
    if not isinstance(receiver, ast.Name):
        return False
    fn = ctx.function_of(read)
    if fn is None:
        return True
    inside = {id(n) for n in walk(read)}
    return any(
        isinstance(n, ast.Name) and n.id == receiver.id and isinstance(n.ctx, ast.Load) and id(n) not in inside
        for n in walk(fn)
    )


def _single_value(ctx: Context, name: ast.Name) -> ast.expr | None:
    """The value of ``name``'s only binding in its function (a plain ``name = value`` before the
    loop), when ``name`` is read exactly once there: by the loop (the text is used for nothing else)."""
    fn = ctx.function_of(name)
    if fn is None:
        return None
    assigned: list[ast.Assign] = []
    loads = 0
    for n in walk(fn):
        if isinstance(n, ast.Name) and n.id == name.id:
            if isinstance(n.ctx, ast.Load):
                loads += 1
                continue
            parent = ctx.parent(n)
            if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and parent.targets[0] is n):
                return None
            assigned.append(parent)
        elif isinstance(n, ast.arg) and n.arg == name.id:
            return None
        elif isinstance(n, ast.Global | ast.Nonlocal) and name.id in n.names:
            return None
    if len(assigned) != 1 or loads != 1 or assigned[0].lineno >= name.lineno:
        return None
    return assigned[0].value
