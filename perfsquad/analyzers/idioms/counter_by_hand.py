from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import (
    AccumulatorLoop,
    behaviour_reasons,
    comprehension_clause,
    element,
    is_simple,
    loop_variable_escape,
    previous_statement,
    refusal_notes,
    rewrite_blockers,
)
from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.analyzers.idioms.list_comprehension_loop import is_empty_constructor
from perfsquad.context import Context
from perfsquad.fixes import insert_import, replace_statements
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.types import SEQUENCES
from perfsquad.syntax import walk


def same_expr(a: ast.AST, b: ast.AST) -> bool:
    """Structurally equal expressions (ignoring positions and load/store context)."""
    strip = {"ctx"}

    def fields(node: object) -> object:
        if isinstance(node, ast.AST):
            return (type(node).__name__, *((f, fields(getattr(node, f, None))) for f in node._fields if f not in strip))
        if isinstance(node, list):
            return tuple(fields(x) for x in node)
        return node

    return fields(a) == fields(b)


def _is_one(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == 1


def _subscript_key(node: ast.expr, name: str) -> ast.expr | None:
    """``key`` from ``name[key]``."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
        return node.slice
    return None


def _increment_key(stmt: ast.stmt, name: str) -> ast.expr | None:
    """``key`` from ``name[key] += 1``."""
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, ast.Add) and _is_one(stmt.value):
        return _subscript_key(stmt.target, name)
    return None


def _first_count_key(stmt: ast.stmt, name: str) -> ast.expr | None:
    """``key`` from ``name[key] = 1``."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and _is_one(stmt.value):
        return _subscript_key(stmt.targets[0], name)
    return None


def _get_increment_key(stmt: ast.stmt, name: str) -> ast.expr | None:
    """``key`` from ``name[key] = name.get(key, 0) + 1``."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
        return None
    key = _subscript_key(stmt.targets[0], name)
    value = stmt.value
    if key is None or not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add) and _is_one(value.right)):
        return None
    call = value.left
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "get"
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == name
        and len(call.args) == 2
        and not call.keywords
        and isinstance(call.args[1], ast.Constant)
        and type(call.args[1].value) is int
        and call.args[1].value == 0
        and same_expr(call.args[0], key)
    ):
        return None
    return key


def _membership_key(test: ast.expr, name: str) -> tuple[ast.expr, bool] | None:
    """``(key, True)`` for ``key in name``, ``(key, False)`` for ``key not in name``."""
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.In | ast.NotIn)
        and isinstance(test.comparators[0], ast.Name)
        and test.comparators[0].id == name
    ):
        return test.left, isinstance(test.ops[0], ast.In)
    return None


def match_counting(stmt: ast.stmt, name: str) -> tuple[ast.expr, ast.expr | None] | None:
    """The counted key (and an optional condition) of one of the hand-written counting bodies."""
    if isinstance(stmt, ast.If) and len(stmt.body) == 1 and len(stmt.orelse) == 1:
        membership = _membership_key(stmt.test, name)
        if membership is None:
            return None
        key, present = membership
        seen, first = (stmt.body[0], stmt.orelse[0]) if present else (stmt.orelse[0], stmt.body[0])
        inc, one = _increment_key(seen, name), _first_count_key(first, name)
        if inc is None or one is None or not (same_expr(key, inc) and same_expr(key, one)):
            return None
        return key, None
    condition = None
    if isinstance(stmt, ast.If) and len(stmt.body) == 1 and not stmt.orelse:
        condition, stmt = stmt.test, stmt.body[0]
    counted = _get_increment_key(stmt, name)
    return (counted, condition) if counted is not None else None


class CounterByHand(Rule):
    """
    ## What it does
    Flags a dict of counts built by hand in a `for` loop, right after the dict is created empty:
    `if w in counts: counts[w] += 1 else: counts[w] = 1` (or the `not in` form), or
    `counts[w] = counts.get(w, 0) + 1`.

    Confidence: the rewrite saves a constant per element and is measured slower on a few
    elements (see Speedup), so a finding is `medium` only where the loop shows strong evidence
    of a large input (a parameter, a query result), and `low` (shown with `--confidence low`)
    over an attribute or a call's result of unknown size, a literal, `range(<const>)`, or at
    import. The evidence names what the loop iterates.

    ## Why is this bad?
    Each element costs two or three dict lookups run by the interpreter loop.
    `collections.Counter(iterable)` counts in C (one lookup per element, no bytecode per element)
    and names what the dict is.

    ## Example
    ```python
    counts = {}
    for word in words:
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1
    ```

    ## Use instead
    ```python
    from collections import Counter

    counts = Counter(words)
    ```

    ## Fix safety
    Always unsafe: a `Counter` is a `dict` subclass, not a `dict`. `type(counts) is dict` becomes
    false, its `repr` reads `Counter({...})`, and a missing key returns `0` instead of raising
    `KeyError`, so code that relies on that `KeyError` changes behaviour. When the key is an
    expression of the element (`Counter(w.lower() for w in words)`), it is evaluated once per
    element instead of two or three times. The accumulator caveats of IDM001 apply too (loop
    inside `try`, module level, `global`); no fix (a note says why) when the loop variable may be
    read after the loop, as for IDM001. The fix adds
    `from collections import Counter` when needed (and is not offered when the name `Counter` is
    already used for something else).

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = elements counted). The gain grows with `n`; for a
    handful of elements `Counter`'s constructor overhead makes it slower.

    ## References
    - [`collections.Counter`](https://docs.python.org/3/library/collections.html#collections.Counter)
    - [refurb FURB174 / pylint R6101](https://pylint.readthedocs.io/en/stable/user_guide/messages/refactor/consider-using-augmented-assign.html)
    """

    code = "IDM010"
    name = "counter-by-hand"
    message = "Counting with a dict by hand; use `collections.Counter`"
    fix_title = "Replace the loop with `Counter(...)`"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.For,)
    effort_minutes = 3
    bench = Bench(
        setup="from collections import Counter\nwords = [str(i % 50) for i in range(n)]",
        before=(
            "result = {}\nfor w in words:\n    if w in result:\n        result[w] += 1\n"
            "    else:\n        result[w] = 1"
        ),
        after="result = Counter(words)",
        scales_with="n = elements counted",
    )
    valid = (
        # Not created empty right before the loop.
        "counts = {'a': 0}\nfor w in words:\n    counts[w] = counts.get(w, 0) + 1\n",
        "counts = {}\nprint(counts)\nfor w in words:\n    counts[w] = counts.get(w, 0) + 1\n",
        # Counting by something other than 1, or different keys.
        "counts = {}\nfor w in words:\n    counts[w] = counts.get(w, 0) + 2\n",
        "counts = {}\nfor w in words:\n    counts[w] = counts.get(w, 1) + 1\n",
        "counts = {}\nfor w in words:\n    if w in counts:\n        counts[w] += 1\n    else:\n        counts[w] = 0\n",
        "counts = {}\nfor w in words:\n    if w in counts:\n        counts[w.lower()] += 1\n    else:\n"
        "        counts[w] = 1\n",
        # The key reads the counts themselves, or the loop does more.
        "counts = {}\nfor w in words:\n    counts[w] = counts.get(w, 0) + 1\n    print(counts)\n",
        "counts = {}\nfor w in words:\n    k = len(counts)\n    counts[k] = counts.get(k, 0) + 1\n",
        "def f(dict):\n    counts = dict()\n    for w in words:\n        counts[w] = counts.get(w, 0) + 1\n",
        "counts = {}\nfor w in words:\n    counts[w] = counts.get(w, 0) + 1\nelse:\n    pass\n",
    )
    invalid = (
        Invalid(
            "def f(words):\n    counts = {}\n    for w in words:\n        if w in counts:\n            counts[w] += 1\n"
            "        else:\n            counts[w] = 1\n    return counts\n",
            fixed="from collections import Counter\ndef f(words):\n    counts = Counter(words)\n    return counts\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import collections\n\ndef f(words):\n    seen = dict()\n    for w in words:\n        if w.lower() not in seen:\n"
            "            seen[w.lower()] = 1\n        else:\n            seen[w.lower()] += 1\n    return seen\n",
            fixed="import collections\n\ndef f(words):\n    seen = collections.Counter(w.lower() for w in words)\n"
            "    return seen\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            '"""Doc."""\nfrom collections import Counter\n\ndef f(rows):\n    c = {}\n    for a, b in rows:\n'
            "        if b:\n            c[a] = c.get(a, 0) + 1\n    return c\n",
            fixed='"""Doc."""\nfrom collections import Counter\n\ndef f(rows):\n'
            "    c = Counter(a for a, b in rows if b)\n    return c\n",
            safety=FixSafety.UNSAFE,
        ),
        # Flagged, no fix: `Counter` is already something else here.
        Invalid(
            "from mylib import Counter\ndef f(words):\n    counts = {}\n    for w in words:\n"
            "        counts[w] = counts.get(w, 0) + 1\n    return counts\n",
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        if node.orelse or len(node.body) != 1:
            return
        init = previous_statement(ctx, node)
        if not (
            isinstance(init, ast.Assign)
            and len(init.targets) == 1
            and isinstance(init.targets[0], ast.Name)
            and is_empty_constructor(ctx, init.value, "dict")
        ):
            return
        name = init.targets[0].id
        matched = match_counting(node.body[0], name)
        if matched is None:
            return
        key, condition = matched
        mentioned = [node.target, node.iter, key, *([condition] if condition is not None else [])]
        if any(isinstance(n, ast.Name) and n.id == name for part in mentioned for n in walk(part)):
            return
        acc = AccumulatorLoop(init, node, name, node.body[0], condition)

        def fix() -> Fix | None:
            direct = condition is None and isinstance(key, ast.Name) and same_expr(key, node.target)
            if loop_variable_escape(ctx, acc) is not None or (not direct and rewrite_blockers(ctx, acc, key)):
                return None
            spelled = insert_import(ctx, "collections", "Counter")
            if spelled is None:
                return None
            counter, import_edit = spelled
            reasons = ["a Counter is a dict subclass (type, repr, and 0 instead of KeyError for missing keys)"]
            if not direct and not is_simple(key):
                reasons.append("the key expression is evaluated once per element instead of twice")
            reasons += behaviour_reasons(ctx, acc)
            if direct:
                if ctx.type_of(node.iter) not in SEQUENCES | {"set", "frozenset"}:
                    reasons.append(
                        f"if `{ctx.text(node.iter)}` is a mapping, `Counter()` takes its values as counts"
                        " instead of counting its keys"
                    )
                argument = ctx.text(node.iter)
                if isinstance(node.iter, ast.Tuple | ast.Starred | ast.NamedExpr) and not argument.startswith("("):
                    argument = f"({argument})"
            else:
                argument = f"{element(ctx, key)} {comprehension_clause(ctx, acc)}"
            code = f"{name} = {counter}({argument})"
            title = f"{self.fix_title} (unsafe: " + "; ".join(reasons) + ")"
            extra = (import_edit,) if import_edit is not None else ()
            return replace_statements(ctx, init, node, code, title, FixSafety.UNSAFE, extra_edits=extra)

        scale = loop_confidence(self, node, ctx)
        ctx.report(
            self,
            ctx.header_span(node),
            fix=fix,
            notes=refusal_notes(ctx, acc),
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
