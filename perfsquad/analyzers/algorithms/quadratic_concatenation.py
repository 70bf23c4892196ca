from __future__ import annotations

import ast

from perfsquad.analyzers.algorithms._evidence import once_note, repeated
from perfsquad.analyzers.algorithms._shared import hot_loops, local_kind, maybe_sequence, multi_edit_fix, rebuilt_in
from perfsquad.context import Context
from perfsquad.fixes import _import_insertion_line as import_insertion_line
from perfsquad.model import Confidence, Edit, Fix, FixSafety, Position, Span
from perfsquad.rule import Bench, Invalid, Rule, fit
from perfsquad.semantics.scale import FIXED_ATTRIBUTES, Scale, iteration_scale
from perfsquad.syntax import walk


def _empty_sequence(node: ast.expr) -> str | None:
    """``"list"``/``"tuple"`` for a literal ``[]``/``()``."""
    if isinstance(node, ast.List) and not node.elts:
        return "list"
    if isinstance(node, ast.Tuple) and not node.elts:
        return "tuple"
    return None


class QuadraticConcatenation(Rule):
    """
    ## What it does
    Flags `sum(lists, [])` (and `sum(tuples, ())`), and a list or tuple rebuilt by `+` on every
    iteration of a loop: `acc = acc + part` on a list, `acc += part` or `acc = acc + part` on a
    tuple.

    ## Why is this bad?
    `a + b` builds a new sequence and copies both operands. Doing it once per element copies the
    growing result again and again: O(n²) element copies for n elements in total. `sum()` with a
    list start does exactly that. `itertools.chain.from_iterable` walks the parts once (O(n)),
    and `list.extend` / `+=` on a list appends in place.

    **Confidence** (see `evidence`): the loop's repetition (or, for `sum(..., [])`, the number of
    parts): a parameter is `high`, an attribute or a call's result `medium`; a fixed few
    (`range(x.ndim)`, `.rank`, a literal), code run once (at import, behind a lazy initialiser)
    and a shape built from `.shape` parts (the dimensions of arrays) are `low`, hidden by default.

    ## Example
    ```python
    flat = sum(rows, [])
    ```

    ## Use instead
    ```python
    import itertools

    flat = list(itertools.chain.from_iterable(rows))
    ```

    ## Fix safety
    The `sum(..., [])` fix is **unsafe**: `sum` requires every part to be a list (adding a tuple
    or a generator raises `TypeError`), while `chain` accepts any iterable, so code that relied on
    the error changes; and a list subclass with its own `__add__` is no longer called. The
    rewrite of `sum(..., ())` builds a `tuple(...)` the same way. Loops that concatenate get no
    automatic fix (use `extend`, `+=` on a list, or collect the parts and chain them once).

    Not flagged: a tuple or list assigned a fresh value inside the loop (`opts = ()` per column,
    then a few `opts += ("desc",)`): it holds what one iteration adds and does not grow across the
    loop; a concatenation on a path that leaves the loop (`return`, `raise`, `break`); loops
    bounded by a small constant.

    ## Speedup
    Measured by `bench/calibrate.py` flattening `n` two-element lists; grows linearly with `n`.

    ## References
    - [`itertools.chain.from_iterable`](https://docs.python.org/3/library/itertools.html#itertools.chain.from_iterable)
    - [`sum()`: "to concatenate a series of iterables, consider using itertools.chain()"](https://docs.python.org/3/library/functions.html#sum)
    """

    code = "ALG005"
    name = "quadratic-concatenation"
    message = "Lists or tuples concatenated with `+` repeatedly (O(n²)); use `extend` or a list"
    template = "{what} copies the growing {kind} (O(n²)); use `extend`"
    fix_title = "Use `itertools.chain.from_iterable`"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.Call, ast.Assign, ast.AugAssign)
    call_names = frozenset({"sum"})
    effort_minutes = 3
    bench = Bench(
        setup="rows = [[i, i + 1] for i in range(min(n, 5_000))]",
        before="result = sum(rows, [])",
        after="import itertools\nresult = list(itertools.chain.from_iterable(rows))",
        scales_with="n = two-element lists joined, capped at 5,000 (quadratic before)",
    )
    valid = (
        "total = sum(xs)\n",
        "total = sum(xs, 10)\n",
        # += on a list extends in place: linear.
        "def f(xs):\n    acc = []\n    for x in xs:\n        acc += [x]\n    return acc\n",
        # Strings are IDM004's business.
        "def f(xs):\n    s = ''\n    for x in xs:\n        s = s + x\n    return s\n",
        # A constant number of times.
        "def f():\n    acc = ()\n    for i in range(3):\n        acc += (i,)\n    return acc\n",
        "def sum(a, b):\n    return a\nflat = sum(rows, [])\n",
        # The dimensions of arrays, a few per part (low confidence, hidden by default).
        "def f(arrays):\n    shape = ()\n    for a in arrays:\n        shape += a.shape\n    return shape\n",
        # Reset per iteration: a few flags per column, not a growing result.
        "def f(cols):\n    for c in cols:\n        o = ()\n        if c:\n            o += ('desc',)\n        print(o)\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    return sum(xs, [])\n",
            fixed="import itertools\ndef f(xs):\n    return list(itertools.chain.from_iterable(xs))\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import itertools\ndef f(pairs):\n    return sum((p for p in pairs), start=())\n",
            fixed="import itertools\ndef f(pairs):\n    return tuple(itertools.chain.from_iterable(p for p in pairs))\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid("def f(xs):\n    acc = []\n    for x in xs:\n        acc = acc + [x]\n    return acc\n"),
        Invalid("def f(xs):\n    acc = ()\n    for x in xs:\n        acc += (x,)\n    return acc\n"),
    )

    @classmethod
    def module_facts(cls, unit: ast.stmt, ctx: Context) -> object:
        """The fix imports ``itertools`` only when the name is free anywhere in the module."""
        return any(isinstance(n, ast.Name) and n.id == "itertools" for n in walk(unit))

    def check(self, node: ast.Call | ast.Assign | ast.AugAssign, ctx: Context) -> None:
        if isinstance(node, ast.Call):
            self._check_sum(node, ctx)
        elif isinstance(node, ast.Assign):
            self._check_assign(node, ctx)
        else:
            self._check_augassign(node, ctx)

    def _check_sum(self, node: ast.Call, ctx: Context) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id != "sum" or len(node.args) not in (1, 2):
            return
        start = node.args[1] if len(node.args) == 2 else None
        for kw in node.keywords:
            if kw.arg == "start":
                start = kw.value
            else:
                return
        if start is None or isinstance(node.args[0], ast.Starred):
            return
        kind = _empty_sequence(start)
        if kind is None or ctx.qualified_name(node.func) != "builtins.sum":
            return
        what = f"`sum(..., {'[]' if kind == 'list' else '()'})`"

        def fix() -> Fix | None:
            if ctx.imports.resolve_name(kind) != f"builtins.{kind}":
                return None
            extra = []
            if ctx.imports.resolve_name("itertools") == "itertools":
                head = "itertools.chain"
            elif ctx.imports.resolve_name("chain") == "itertools.chain":
                head = "chain"
            elif ctx.imports.resolve_name("itertools") is None and not any(
                n.id == "itertools" for n in ctx.nodes(ast.Name)
            ):
                head = "itertools.chain"
                line = import_insertion_line(ctx)
                if line > ctx.source.line_count:
                    return None
                where = Position(line, 0)
                extra.append(Edit(Span(where, where), f"import itertools{ctx.source.newline}"))
            else:
                return None
            arg = ctx.text(node.args[0])
            if isinstance(node.args[0], ast.GeneratorExp) and arg.startswith("(") and arg.endswith(")"):
                arg = arg[1:-1]  # the sole argument: its own parentheses are enough
            text = f"{kind}({head}.from_iterable({arg}))"
            return multi_edit_fix(ctx, [(node, text)], extra, self.fix_title, FixSafety.UNSAFE)

        parts = iteration_scale(node.args[0], ctx)
        scale = once_note(ctx, node) or Scale(parts.confidence, f"joins the parts: {parts.evidence}")
        ctx.report(
            self, node, self.template.format(what=what, kind=kind), fix=fix,
            confidence=scale.confidence, evidence=scale.evidence,
        )  # fmt: skip

    def _check_assign(self, node: ast.Assign, ctx: Context) -> None:
        # acc = acc + part
        if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            return
        value = node.value
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and isinstance(value.left, ast.Name)):
            return
        name = node.targets[0].id
        if value.left.id != name:
            return
        loops = hot_loops(ctx, node)
        if not loops or not maybe_sequence(ctx, name) or rebuilt_in(loops[0], name):
            return
        kind = local_kind(ctx, node.targets[0])
        if kind not in ("list", "tuple"):
            return
        scale = _growth_scale(ctx, node, loops, name, value.right)
        message = fit("`{name}` grows by `+` in a loop, copying the whole {kind} (O(n²)); use `extend`",
                      name=name, kind=kind)
        ctx.report(self, node, message, confidence=scale.confidence, evidence=scale.evidence)

    def _check_augassign(self, node: ast.AugAssign, ctx: Context) -> None:
        # acc += part on a tuple (on a list, += extends in place)
        if not (isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name)):
            return
        if isinstance(node.value, ast.Constant | ast.BinOp | ast.JoinedStr | ast.List):
            return  # counters (`i += 1`), strings, lists (+= extends in place)
        loops = hot_loops(ctx, node)
        if not loops or not maybe_sequence(ctx, node.target.id) or rebuilt_in(loops[0], node.target.id):
            return
        if local_kind(ctx, node.target) != "tuple":
            return
        name = node.target.id
        scale = _growth_scale(ctx, node, loops, name, node.value)
        message = fit("`{name} += …` in a loop copies the growing tuple (O(n²)); use `extend`", name=name)
        ctx.report(self, node, message, confidence=scale.confidence, evidence=scale.evidence)


def _growth_scale(ctx: Context, node: ast.AST, loops: list[ast.AST], name: str, part: ast.expr) -> Scale:
    """How sure the concatenation grows: the loops that repeat it; but the parts of a shape
    (`shape += v.shape`) are the dimensions of arrays, a few each."""
    if isinstance(part, ast.Attribute) and part.attr in FIXED_ATTRIBUTES:
        return Scale(Confidence.LOW, f"`{name}` joins `.{part.attr}` parts, fixed by each object's declaration")
    return repeated(ctx, node, loops, f"`{name}` grows")
