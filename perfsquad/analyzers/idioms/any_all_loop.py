from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import following_statements, previous_statement
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Fix, FixSafety, Severity
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.flow import later_read
from perfsquad.syntax import walk

_FUNCTION_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SUSPENDING = (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)
# Builtins whose meaning depends on the frame they are called from: in a generator expression
# they would see the generator's frame, not the function's.
_FRAME_SENSITIVE = frozenset({"super", "locals", "vars", "dir", "eval", "exec"})


def bool_return(stmt: ast.stmt | None) -> bool | None:
    """``True``/``False`` for ``return True``/``return False``; None for anything else."""
    if (
        isinstance(stmt, ast.Return)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, bool)
    ):
        return stmt.value.value
    return None


def _bool_assign(stmt: ast.stmt | None) -> tuple[str, bool] | None:
    """``("found", False)`` for ``found = False``."""
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, bool)
    ):
        return stmt.targets[0].id, stmt.value.value
    return None


def target_names(target: ast.expr) -> set[str] | None:
    """Names bound by a loop target made of names and tuples/lists of names; None otherwise."""
    names: set[str] = set()
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Tuple | ast.List):
            stack.extend(node.elts)
        else:
            return None
    return names


def operand_text(ctx: Context, node: ast.expr) -> str:
    """Verbatim text of ``node``, parenthesized when it could not stand as a comprehension's
    element, iterable or condition as it is (conditional expressions, lambdas, bare tuples...)."""
    text = ctx.text(node)
    if isinstance(node, ast.IfExp | ast.Lambda | ast.NamedExpr | ast.Yield | ast.YieldFrom | ast.Starred) or (
        isinstance(node, ast.Tuple) and not text.startswith("(")
    ):
        return f"({text})"
    return text


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    args = node.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    names.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
    return names


def calls_frame_sensitive(ctx: Context, node: ast.AST) -> bool:
    """``super()``, ``locals()``, ``eval(...)``...: calls that would see another frame in a genexp."""
    for n in walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _FRAME_SENSITIVE:
            return True
        if isinstance(n, ast.Name) and n.id == "__class__":
            return True
    return False


class AnyAllLoop(Rule):
    """
    ## What it does
    Flags a `for` loop whose body is a single `if` that returns `True` (or `False`) on the first
    match, directly followed by `return False` (or `return True`):
    `any()`, `all()` or `not any()` written out by hand. Also the same search kept in a flag:
    `found = False` right before `for x in xs: if cond: found = True; break` (an `any()`; starting
    from `True` and setting `False`, a `not any()`), when the `if` does nothing else (a body with
    other statements, an `else` clause or a condition that reads the flag is not flagged).

    ## Why is this bad?
    Five lines and two exits say what one expression says: `return any(cond for x in xs)`
    short-circuits on the same element and tests the same truthiness. This is a *clarity* rule
    first: on CPython 3.11 the explicit loop is usually **faster** than `any()` over a generator
    expression (resuming a generator costs more than a loop iteration), so it is reported with
    `info` severity and is not worth changing in a hot loop. Where speed matters and the condition
    is a plain function of the element, `any(map(pred, xs))` avoids the generator.

    ## Example
    ```python
    def has_admin(users):
        for user in users:
            if user.is_admin:
                return True
        return False

    def all_valid(rows):
        for row in rows:
            if not row.valid:
                return False
        return True
    ```

    ## Use instead
    ```python
    def has_admin(users):
        return any(user.is_admin for user in users)

    def all_valid(rows):
        return all(row.valid for row in rows)
    ```

    ## Fix safety
    Safe when `any`/`all` are the builtins: they stop at the same element, use the same `bool()`
    of the condition, and return the same `True`/`False`; the loop variable cannot be observed
    afterwards because the function returns either way. The four shapes map to `any(c)`,
    `all(c)` (`if not c: return False`), `not any(c)` (`if c: return False`) and `not all(c)`
    (`if not c: return True`).
    Unsafe when the loop variable *can* still be observed: it is declared `global`/`nonlocal`,
    or an enclosing `try`'s `except`/`finally` reads it (after an exception or the return, the
    loop leaves it bound to the current element, the generator expression does not).
    No fix when the loop has an `else` clause, the condition or target contain `await`, `yield`
    or `:=` (a generator expression would change their meaning), the condition calls `super()`,
    `locals()`, `vars()`, `dir()`, `eval()` or `exec()` (they would see the generator's frame),
    the loop variable is captured by a nested function or lambda, or `any`/`all` are shadowed.

    ## Speedup
    Measured by `bench/calibrate.py` on this rule's benchmark (`n` = elements scanned before the
    match, the last one). Expect a ratio *below* 1 (a slowdown) on CPython 3.11: the rewrite is
    for readability.

    ## References
    - [`any()`](https://docs.python.org/3/library/functions.html#any) and
      [`all()`](https://docs.python.org/3/library/functions.html#all)
    - [ruff SIM110 / SIM111](https://docs.astral.sh/ruff/rules/reimplemented-builtin/)
    """

    code = "IDM008"
    name = "any-all-loop"
    message = "Loop returns on the first match; write `return {call}(...)`"
    fix_title = "Replace the loop with `any()`/`all()`"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 2
    bench = Bench(
        setup="xs = list(range(n))\nlimit = n - 1",
        before=(
            "def f(xs, limit):\n    for x in xs:\n        if x >= limit:\n            return True\n"
            "    return False\nresult = f(xs, limit)"
        ),
        after="def f(xs, limit):\n    return any(x >= limit for x in xs)\nresult = f(xs, limit)",
        scales_with="n = elements scanned",
    )
    valid = (
        # Not followed by the opposite return.
        "def f(xs):\n    for x in xs:\n        if x:\n            return True\n    return True\n",
        "def f(xs):\n    for x in xs:\n        if x:\n            return True\n    print('none')\n    return False\n",
        # Returns something other than a bool constant.
        "def f(xs):\n    for x in xs:\n        if x:\n            return x\n    return None\n",
        "def f(xs):\n    for x in xs:\n        if x:\n            return 1\n    return 0\n",
        # More than one statement in the loop or in the `if`.
        "def f(xs):\n    for x in xs:\n        log(x)\n        if x:\n            return True\n    return False\n",
        "def f(xs):\n    for x in xs:\n        if x:\n            log(x)\n            return True\n    return False\n",
        "def f(xs):\n    for x in xs:\n        if x:\n            return True\n        else:\n            continue\n"
        "    return False\n",
        # Attribute target: the loop stores into an object.
        "def f(self, xs):\n    for self.x in xs:\n        if self.x:\n            return True\n    return False\n",
        "async def f(xs):\n    async for x in xs:\n        if x:\n            return True\n    return False\n",
        # A flag loop with a side effect before the break: not a plain search.
        "def f(xs):\n    found = False\n    for x in xs:\n        if x:\n            log(x)\n            found = True\n"
        "            break\n    return found\n",
        # The flag is not set to the opposite value, or the condition reads it.
        "def f(xs):\n    found = False\n    for x in xs:\n        if x:\n            found = False\n            break\n",
        "def f(xs):\n    found = False\n    for x in xs:\n        if x or found:\n            found = True\n"
        "            break\n",
    )
    invalid = (
        Invalid(
            "def f(users):\n    for user in users:\n        if user.is_admin:\n            return True\n"
            "    return False\n",
            fixed="def f(users):\n    return any(user.is_admin for user in users)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(rows):\n    for row in rows:\n        if not row.valid:  # stop early\n            return False\n"
            "    return True\n",
            fixed="def f(rows):\n    # stop early\n    return all(row.valid for row in rows)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(pairs):\n    for a, b in pairs:\n        if a > b:\n            return False\n    return True\n",
            fixed="def f(pairs):\n    return not any(a > b for a, b in pairs)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    for x in xs:\n        if not x:\n            return True\n    return False\n",
            fixed="def f(xs):\n    return not all(x for x in xs)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    for x in a, b:\n        if x if y else z:\n            return True\n    return False\n",
            fixed="def f(xs):\n    return any((x if y else z) for x in (a, b))\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    global x\n    for x in xs:\n        if x:\n            return True\n    return False\n",
            fixed="def f(xs):\n    global x\n    return any(x for x in xs)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(xs):\n    try:\n        for x in xs:\n            if check(x):\n                return True\n"
            "        return False\n    finally:\n        print(x)\n",
            fixed="def f(xs):\n    try:\n        return any(check(x) for x in xs)\n    finally:\n        print(x)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(users, k):\n    found = False\n    for user in users:\n        if user.name == k:\n"
            "            found = True\n            break\n    return found\n",
            fixed="def f(users, k):\n    found = any(user.name == k for user in users)\n    return found\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(rows):\n    ok = True\n    for row in rows:\n        if row.bad:\n            ok = False\n"
            "            break\n    print(row)\n    return ok\n",
            fixed="def f(rows):\n    ok = not any(row.bad for row in rows)\n    print(row)\n    return ok\n",
            safety=FixSafety.UNSAFE,
        ),
        # Flagged, but no fix: the loop has an `else`.
        Invalid(
            "def f(xs):\n    for x in xs:\n        if x:\n            return True\n    else:\n        log()\n"
            "    return False\n"
        ),
        # Flagged, but no fix: `any` is not the builtin here.
        Invalid(
            "from mylib import any\ndef f(xs):\n    for x in xs:\n        if x:\n            return True\n"
            "    return False\n"
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        if len(node.body) != 1 or not isinstance(node.body[0], ast.If):
            return
        branch = node.body[0]
        if not branch.orelse and len(branch.body) == 2:
            self._check_flag(node, branch, ctx)
            return
        if branch.orelse or len(branch.body) != 1:
            return
        on_match = bool_return(branch.body[0])
        if on_match is None:
            return
        following = following_statements(ctx, node)
        if not following or bool_return(following[0]) is not (not on_match):
            return
        names = target_names(node.target)
        if names is None:
            return
        final = following[0]
        cond = branch.test
        negated = isinstance(cond, ast.UnaryOp) and isinstance(cond.op, ast.Not)
        # (returns True on match, condition negated) -> the expression that replaces the loop.
        func, prefix = {
            (True, False): ("any", ""),
            (False, True): ("all", ""),
            (False, False): ("any", "not "),
            (True, True): ("all", "not "),
        }[(on_match, negated)]
        tested = cond.operand if isinstance(cond, ast.UnaryOp) and negated else cond
        call = f"{prefix}{func}"

        def fix() -> Fix | None:
            if node.orelse or ctx.imports.resolve_name(func) != f"builtins.{func}":
                return None
            if self._generator_changes_meaning(ctx, node, cond, names):
                return None
            reasons = self._observers(ctx, node, names)
            code = f"return {call}({operand_text(ctx, tested)} for {ctx.text(node.target)}"
            code += f" in {operand_text(ctx, node.iter)})"
            title = f"Replace the loop with `return {call}(...)`"
            if reasons:
                title += " (unsafe: " + "; ".join(reasons) + ")"
            safety = FixSafety.UNSAFE if reasons else FixSafety.SAFE
            return replace_statements(ctx, node, final, code, title, safety)

        ctx.report(
            self, ctx.header_span(node), self.message.format(call=call), fix=fix, severity=Severity.INFO
        )

    def _check_flag(self, node: ast.For, branch: ast.If, ctx: Context) -> None:
        """``found = False`` right before ``for x in xs: if cond: found = True; break``: an ``any()``
        kept in a flag (``ok = True`` ... ``ok = False; break``: a ``not any()``). The loop may do
        nothing else: a body with side effects, an ``else`` clause or a flag read in the condition
        is another algorithm."""
        init = previous_statement(ctx, node)
        flag = _bool_assign(init)
        found = _bool_assign(branch.body[0])
        if flag is None or found is None or not isinstance(branch.body[1], ast.Break) or node.orelse:
            return
        (name, start), (set_name, on_match) = flag, found
        names = target_names(node.target)
        if name != set_name or start == on_match or names is None or name in names:
            return
        cond = branch.test
        if any(isinstance(n, ast.Name) and n.id == name for part in (cond, node.iter) for n in walk(part)):
            return
        call = "any" if on_match else "not any"
        assert init is not None

        def fix() -> Fix | None:
            if ctx.imports.resolve_name("any") != "builtins.any":
                return None
            if self._generator_changes_meaning(ctx, node, cond, names):
                return None
            reasons = self._observers(ctx, node, names)
            reasons += [
                f"`{var}` is read after the loop, where it would no longer be bound to the matching element"
                for var in sorted(names)
                if later_read(node, var, ctx.parent) is not None
            ]
            code = f"{name} = {call}({operand_text(ctx, cond)} for {ctx.text(node.target)}"
            code += f" in {operand_text(ctx, node.iter)})"
            title = f"Replace the flag loop with `{name} = {call}(...)`"
            if reasons:
                title += " (unsafe: " + "; ".join(reasons) + ")"
            return replace_statements(ctx, init, node, code, title, FixSafety.UNSAFE if reasons else FixSafety.SAFE)

        ctx.report(
            self,
            ctx.header_span(node),
            f"Flag set and `break` on the first match; write `{name} = {call}(...)`",
            fix=fix,
            severity=Severity.INFO,
        )

    @classmethod
    def _generator_changes_meaning(cls, ctx: Context, node: ast.For, cond: ast.expr, names: set[str]) -> bool:
        """A generator expression would not mean what the loop does: `await`/`yield`/`:=` in it,
        frame-sensitive calls, or a loop variable captured by a nested function."""
        if any(isinstance(n, _SUSPENDING) for part in (node.target, node.iter, cond) for n in walk(part)):
            return True
        return calls_frame_sensitive(ctx, cond) or cls._captured(ctx, node, cond, names)

    @staticmethod
    def _captured(ctx: Context, loop: ast.For, cond: ast.expr, names: set[str]) -> bool:
        """A nested function or lambda (outside the condition) mentions a loop variable: it would
        see the function's variable, which the generator expression no longer assigns."""
        function = ctx.function_of(loop)
        if function is None:
            return True
        inside_cond = {id(n) for n in walk(cond)}
        for n in walk(function):
            if n is function or id(n) in inside_cond or not isinstance(n, _FUNCTION_SCOPES):
                continue
            mentioned = {m.id for m in walk(n) if isinstance(m, ast.Name)} & names
            if mentioned - _parameters(n):
                return True
        return False

    @staticmethod
    def _observers(ctx: Context, loop: ast.For, names: set[str]) -> list[str]:
        reasons: list[str] = []
        function = ctx.function_of(loop)
        shown = ", ".join(f"`{n}`" for n in sorted(names))
        for n in walk(function) if function is not None else ():
            if isinstance(n, ast.Global | ast.Nonlocal) and names & set(n.names):
                reasons.append(f"{shown} is declared {type(n).__name__.lower()}: the loop leaves it assigned")
                break
        for anc in ctx.ancestors(loop):
            if isinstance(anc, _FUNCTION_SCOPES):
                break
            if isinstance(anc, ast.Try) or type(anc).__name__ == "TryStar":
                handlers: list[ast.AST] = [*anc.handlers, *anc.finalbody]  # type: ignore[attr-defined]
                if any(isinstance(m, ast.Name) and m.id in names for h in handlers for m in walk(h)):
                    reasons.append(
                        f"an enclosing `try` reads {shown} in `except`/`finally`, where the loop"
                        " leaves it bound to the current element"
                    )
                    break
        return reasons
