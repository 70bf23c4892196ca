from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._accumulate import following_statements
from perfsquad.analyzers.idioms.counter_by_hand import same_expr
from perfsquad.analyzers.idioms.list_comprehension_loop import is_empty_constructor
from perfsquad.analyzers.idioms.range_len_index import chain_parts
from perfsquad.context import Context
from perfsquad.fixes import replace_statements
from perfsquad.model import Fix, FixSafety, Span
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.syntax import walk

# The empty container the `if` creates -> the methods that may then add to it.
_METHODS = {"list": ("append", "extend"), "set": ("add", "update")}


class SetdefaultByHand(Rule):
    """
    ## What it does
    Flags `if key not in d: d[key] = []` directly followed by `d[key].append(value)` (and the
    same with `set()` and `.add(...)`, or `.extend(...)`/`.update(...)`).

    ## Why is this bad?
    The key is hashed and looked up three times (`in`, the store, the load) for one append.
    `d.setdefault(key, []).append(value)` does a single lookup and says "group by key" in one
    statement. In a hot loop, a `collections.defaultdict(list)` is faster still: `d[key].append(v)`
    with no test and no throwaway empty list.

    ## Example
    ```python
    groups = {}
    for user in users:
        if user.team not in groups:
            groups[user.team] = []
        groups[user.team].append(user)
    ```

    ## Use instead
    ```python
    groups = {}
    for user in users:
        groups.setdefault(user.team, []).append(user)
    ```
    or, when `groups` is yours to create, `groups = collections.defaultdict(list)` and
    `groups[user.team].append(user)`.

    ## Fix safety
    Safe when `d` is known to be a plain `dict` (a literal, `dict()` or an annotation) and the key
    is a name or a constant: the three lookups then see the same key and the same dict, and
    `dict.setdefault` inserts exactly when `in` was false. Unsafe otherwise: a dict subclass or
    custom mapping may override `__contains__`/`__setitem__`/`__getitem__` without overriding
    `setdefault` (a `defaultdict` or `Counter` also invents values in `[]`), and a key expression
    with side effects (a call, a property) would be evaluated once instead of three times.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = values appended, to `n // 4` distinct keys). Depends on
    the data: when most keys are new, one lookup instead of three wins; when keys repeat many times,
    `setdefault` pays for building an empty list on every call and can be a little slower. Prefer
    `defaultdict` in hot loops with repeated keys.

    ## References
    - [`dict.setdefault`](https://docs.python.org/3/library/stdtypes.html#dict.setdefault)
    - [`collections.defaultdict`](https://docs.python.org/3/library/collections.html#collections.defaultdict)
    """

    code = "IDM011"
    name = "setdefault-by-hand"
    message = "Key looked up three times to group values; use `setdefault` or a `defaultdict`"
    fix_title = "Use `setdefault()`"
    fix_safety = FixSafety.SAFE
    node_types = (ast.If,)
    effort_minutes = 2
    bench = Bench(
        setup="pairs = [(i % max(1, n // 4), i) for i in range(n)]",
        before=(
            "result = {}\nfor k, v in pairs:\n    if k not in result:\n        result[k] = []\n"
            "    result[k].append(v)"
        ),
        after="result = {}\nfor k, v in pairs:\n    result.setdefault(k, []).append(v)",
        scales_with="n = values appended",
    )
    valid = (
        # Not followed by the append, or a different container/key.
        "d = {}\nif k not in d:\n    d[k] = []\nprint(d)\n",
        "d = {}\nif k not in d:\n    d[k] = []\nd[j].append(v)\n",
        "d = {}\nif k not in d:\n    d[k] = []\ne[k].append(v)\n",
        "d = {}\nif k in d:\n    d[k] = []\nd[k].append(v)\n",
        # Not empty, or the wrong method for the container.
        "d = {}\nif k not in d:\n    d[k] = [0]\nd[k].append(v)\n",
        "d = {}\nif k not in d:\n    d[k] = []\nd[k].add(v)\n",
        "d = {}\nif k not in d:\n    d[k] = set()\nd[k].append(v)\n",
        # More in the `if`, or an `else`.
        "d = {}\nif k not in d:\n    d[k] = []\n    log(k)\nd[k].append(v)\n",
        "d = {}\nif k not in d:\n    d[k] = []\nelse:\n    pass\nd[k].append(v)\n",
        # `list`/`set` is not the builtin.
        "def f(d, k, v, set):\n    if k not in d:\n        d[k] = set()\n    d[k].add(v)\n",
        # The key reads the dict: it changes once the empty list is stored.
        "d = {}\nif len(d) not in d:\n    d[len(d)] = []\nd[len(d)].append(v)\n",
    )
    invalid = (
        Invalid(
            "def f(pairs):\n    groups = {}\n    for k, v in pairs:\n        if k not in groups:\n"
            "            groups[k] = []\n        groups[k].append(v)\n    return groups\n",
            fixed="def f(pairs):\n    groups = {}\n    for k, v in pairs:\n        groups.setdefault(k, []).append(v)\n"
            "    return groups\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(d: dict, v):\n    if 'seen' not in d:\n        d['seen'] = set()  # first time\n"
            "    d['seen'].add(v)\n",
            fixed="def f(d: dict, v):\n    # first time\n    d.setdefault('seen', set()).add(v)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(d, k, vs):\n    if k not in d:\n        d[k] = list()\n    d[k].extend(vs)\n",
            fixed="def f(d, k, vs):\n    d.setdefault(k, list()).extend(vs)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(self, user):\n    if user.team not in self.groups:\n        self.groups[user.team] = []\n"
            "    self.groups[user.team].append(user)\n",
            fixed="def f(self, user):\n    self.groups.setdefault(user.team, []).append(user)\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.If, ctx: Context) -> None:
        test = node.test
        if node.orelse or len(node.body) != 1:
            return
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.NotIn)
            and chain_parts(test.comparators[0]) is not None
        ):
            return
        key, mapping = test.left, test.comparators[0]
        create = node.body[0]
        if not (
            isinstance(create, ast.Assign)
            and len(create.targets) == 1
            and isinstance(create.targets[0], ast.Subscript)
            and same_expr(create.targets[0].value, mapping)
            and same_expr(create.targets[0].slice, key)
        ):
            return
        kind = next((k for k in _METHODS if is_empty_constructor(ctx, create.value, k)), None)
        if kind is None:
            return
        following = following_statements(ctx, node)
        if not following:
            return
        add = following[0]
        if not (isinstance(add, ast.Expr) and isinstance(add.value, ast.Call)):
            return
        call = add.value
        func = call.func
        if not (
            isinstance(func, ast.Attribute)
            and func.attr in _METHODS[kind]
            and isinstance(func.value, ast.Subscript)
            and same_expr(func.value.value, mapping)
            and same_expr(func.value.slice, key)
            and isinstance(func.value.ctx, ast.Load)
        ):
            return
        # A key that reads the mapping would change once the empty container is stored.
        root = (chain_parts(mapping) or ("",))[0]
        if any(isinstance(n, ast.Name) and n.id == root for n in walk(key)):
            return

        def fix() -> Fix | None:
            reasons: list[str] = []
            shown = ctx.text(mapping)
            if ctx.type_of(mapping) != "dict":
                reasons.append(
                    f"`{shown}` is not known to be a plain dict; a subclass or custom mapping may"
                    " implement `in`/`[]` and `setdefault` differently"
                )
            if not isinstance(key, ast.Name | ast.Constant):
                reasons.append("the key expression is evaluated once instead of three times")
            arguments = ctx.source.segment(Span(ctx.span(func).end, ctx.span(call).end))
            code = f"{shown}.setdefault({ctx.text(key)}, {ctx.text(create.value)}).{func.attr}{arguments}"
            title = self.fix_title or ""
            if reasons:
                title += " (unsafe: " + "; ".join(reasons) + ")"
            safety = FixSafety.UNSAFE if reasons else FixSafety.SAFE
            return replace_statements(ctx, node, add, code, title, safety)

        ctx.report(self, ctx.header_span(node), fix=fix)
