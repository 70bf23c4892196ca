from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import previous_statement
from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.analyzers.idioms.any_all_loop import calls_frame_sensitive, operand_text
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.flow import later_read
from perfsquad.syntax import walk

_SUSPENDING = (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)
# (comparison, the running value on its left) -> the builtin the loop computes
_KEEPS = {(ast.Gt, False): "max", (ast.Lt, True): "max", (ast.Lt, False): "min", (ast.Gt, True): "min"}


def _name(node: ast.expr | None) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _is_pure(node: ast.expr) -> bool:
    """Evaluating it twice is the same as once: a constant, a name, ``-x``, an attribute of a name,
    ``float("-inf")``."""
    if isinstance(node, ast.Constant | ast.Name):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _is_pure(node.operand)
    if isinstance(node, ast.Attribute):
        return _is_pure(node.value)
    if isinstance(node, ast.Call) and _name(node.func) == "float" and len(node.args) == 1:
        return isinstance(node.args[0], ast.Constant) and not node.keywords
    return False


def _infinite(node: ast.expr, sign: str) -> bool:
    """``float("-inf")`` / ``-math.inf`` (``sign`` "-"), ``float("inf")`` / ``math.inf`` ("+")."""
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    inner = node.operand if isinstance(node, ast.UnaryOp) and negative else node
    if isinstance(inner, ast.Call) and _name(inner.func) == "float" and len(inner.args) == 1:
        arg = inner.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            return False
        text = arg.value.strip().lower()
        if text.startswith("-"):
            negative, text = not negative, text[1:]
        ok = text.lstrip("+") in ("inf", "infinity")
    else:
        ok = isinstance(inner, ast.Attribute) and inner.attr == "inf" and _name(inner.value) in ("math", "np", "numpy")
    return ok and negative == (sign == "-")


class RunningMaxLoop(Rule):
    """
    ## What it does
    Flags a maximum (or minimum) kept by hand: a running value set right before a `for` loop whose
    whole body is `if x > best: best = x` (also `best < x`, `<` for a minimum, or
    `best = max(best, x)`), where `x` is the loop's element itself.

    Not flagged: a loop that does anything else (records the position, counts, logs), compares a
    key of the element (`x.score > best`: the rewrite needs a `key=` function, whose call per
    element is not measured faster), starts from `None`, or updates the running value to something
    other than the element.

    ## Why is this bad?
    Every element costs an interpreted iteration, a comparison and a branch; `max()` runs the same
    comparisons (`x > best`, in the same order) in C.

    ## Example
    ```python
    def peak(readings):
        best = float("-inf")
        for r in readings:
            if r > best:
                best = r
        return best
    ```

    ## Use instead
    ```python
    def peak(readings):
        best = max(readings, default=float("-inf"))
        return best
    ```
    With another start value, `max(start, max(readings, default=start))` keeps the start when no
    element exceeds it.

    ## Fix safety
    Always unsafe. `max()` compares with the same `>` and keeps the first of equal elements like
    the loop, but with a start value other than minus infinity the start is compared after the
    elements instead of before: with a partial order (NaN, sets) the result can differ (a start of
    minus infinity, `float("-inf")` or `-math.inf`, is only the answer for an empty input:
    `max(xs, default=float("-inf"))`). The loop
    variable is no longer bound after the rewrite (reported as a reason when it is read later).
    No fix when the start value is not a constant or a name (it would be evaluated twice), when
    `max`/`min` are shadowed, or when the loop has an `else`.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = elements compared).

    ## References
    - [`max()`](https://docs.python.org/3/library/functions.html#max) and
      [`min()`](https://docs.python.org/3/library/functions.html#min)
    """

    code = "IDM020"
    name = "running-max-loop"
    message = "Maximum kept by hand in a loop; use `{call}()`"
    fix_title = "Replace the loop with max()/min()"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.For,)
    effort_minutes = 2
    bench = Bench(
        setup="xs = [(i * 7919) % (n + 1) for i in range(n)]",
        before="best = -1\nfor x in xs:\n    if x > best:\n        best = x\nresult = best",
        after="result = max(-1, max(xs, default=-1))",
        scales_with="n = elements compared",
    )
    valid = (
        # A key of the element: needs `key=`, not measured faster.
        "def f(xs):\n    best = 0\n    for x in xs:\n        if x.score > best:\n            best = x.score\n    return best\n",
        # Something else happens in the loop (the position is recorded).
        "def f(xs):\n    best = 0\n    where = -1\n    for i, x in enumerate(xs):\n        if x > best:\n"
        "            best = x\n            where = i\n    return where\n",
        "def f(xs):\n    best = 0\n    for x in xs:\n        log(x)\n        if x > best:\n            best = x\n    return best\n",
        # Starts from None: the first comparison would raise in max().
        "def f(xs):\n    best = None\n    for x in xs:\n        if best is None or x > best:\n            best = x\n    return best\n",
        # Not set right before the loop.
        "def f(xs, best):\n    for x in xs:\n        if x > best:\n            best = x\n    return best\n",
    )
    invalid = (
        Invalid(
            "def f(readings):\n    best = float('-inf')\n    for r in readings:\n        if r > best:\n"
            "            best = r\n    return best\n",
            fixed="def f(readings):\n    best = max(readings, default=float('-inf'))\n    return best\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs, cap):\n    low = cap\n    for x in xs:\n        if x < low:\n            low = x\n    return low\n",
            fixed="def f(xs, cap):\n    low = min(cap, min(xs, default=cap))\n    return low\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    top = 0\n    for x in xs:\n        top = max(top, x)\n    return top\n",
            fixed="def f(xs):\n    top = max(0, max(xs, default=0))\n    return top\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        element = _name(node.target)
        if element is None or len(node.body) != 1 or node.orelse:
            return
        found = self._running(node.body[0], element)
        if found is None:
            return
        name, call = found
        init = previous_statement(ctx, node)
        if not (
            isinstance(init, ast.Assign)
            and len(init.targets) == 1
            and _name(init.targets[0]) == name
            and not (isinstance(init.value, ast.Constant) and init.value.value is None)
        ):
            return
        start = init.value
        if name == element or any(_name(n) in (name, element) for n in walk(node.iter) if isinstance(n, ast.Name)):
            return

        def fix() -> Fix | None:
            if ctx.imports.resolve_name(call) != f"builtins.{call}" or not _is_pure(start):
                return None
            if any(isinstance(n, _SUSPENDING) for n in walk(node.iter)) or calls_frame_sensitive(ctx, node.iter):
                return None
            reasons = ["with a partial order (NaN, sets) the start value is compared after the elements, not before"]
            if later_read(node, element, ctx.parent) is not None:
                reasons.append(f"`{element}` is read after the loop, where it would no longer be bound")
            first = ctx.text(start)
            code = f"{name} = {call}({first}, {call}({operand_text(ctx, node.iter)}, default={first}))"
            if _infinite(start, "-" if call == "max" else "+"):
                # Nothing is below minus infinity: the start only answers an empty input.
                code = f"{name} = {call}({operand_text(ctx, node.iter)}, default={first})"
            title = f"Replace the loop with `{call}()` (unsafe: " + "; ".join(reasons) + ")"
            return replace_statements(ctx, init, node, code, title, FixSafety.UNSAFE)

        scale = loop_confidence(self, node, ctx)
        ctx.report(
            self,
            ctx.header_span(node),
            self.message.format(call=call),
            fix=fix,
            confidence=scale.confidence,
            evidence=scale.evidence,
        )

    @staticmethod
    def _running(stmt: ast.stmt, element: str) -> tuple[str, str] | None:
        """``(best, "max")`` for ``if x > best: best = x`` or ``best = max(best, x)``."""
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and (name := _name(stmt.targets[0])):
            value = stmt.value
            if (
                isinstance(value, ast.Call)
                and _name(value.func) in ("max", "min")
                and not value.keywords
                and len(value.args) == 2
                and {_name(a) for a in value.args} == {name, element}
            ):
                return name, str(_name(value.func))
            return None
        if not (isinstance(stmt, ast.If) and not stmt.orelse and len(stmt.body) == 1):
            return None
        update, test = stmt.body[0], stmt.test
        if not (
            isinstance(update, ast.Assign)
            and len(update.targets) == 1
            and (name := _name(update.targets[0])) is not None
            and _name(update.value) == element
        ):
            return None
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Gt | ast.Lt)):
            return None
        left, right = _name(test.left), _name(test.comparators[0])
        if (left, right) == (element, name):
            running_left = False
        elif (left, right) == (name, element):
            running_left = True
        else:
            return None
        return name, _KEEPS[(type(test.ops[0]), running_left)]
