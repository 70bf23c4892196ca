from __future__ import annotations

import ast

from perfsquad.context import Context
from perfsquad.fixes import replace_spans
from perfsquad.model import Fix, FixSafety, Span
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.types import MAPPINGS


def keys_call(node: ast.expr) -> ast.expr | None:
    """The receiver of ``receiver.keys()``."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "keys"
        and not node.args
        and not node.keywords
    ):
        return node.func.value
    return None


class KeysMembership(Rule):
    """
    ## What it does
    Flags `key in d.keys()` / `key not in d.keys()` and `for key in d.keys():`.

    ## Why is this bad?
    `d.keys()` creates a view object only to ask the dict the same question it answers directly:
    `key in d` is one hash lookup with no extra call, and `for key in d` iterates the keys already.

    ## Example
    ```python
    if name in registry.keys():
        ...
    for name in registry.keys():
        ...
    ```

    ## Use instead
    ```python
    if name in registry:
        ...
    for name in registry:
        ...
    ```

    ## Fix safety
    Safe when the receiver is known to be a dict (or `defaultdict`, `Counter`, `OrderedDict`)
    from a literal, constructor or annotation: for those, `in d` and `in d.keys()` are the same
    lookup and iteration order is the same. Unsafe otherwise: a custom mapping's `__contains__`
    or `__iter__` may differ from its `keys()`.

    ## Speedup
    Measured by `bench/calibrate.py` (one membership test per iteration); see
    `perfsquad explain IDM006`.

    ## References
    - [Mapping types: dict](https://docs.python.org/3/library/stdtypes.html#mapping-types-dict)
    - [ruff SIM118](https://docs.astral.sh/ruff/rules/in-dict-keys/)
    """

    code = "IDM006"
    name = "dict-keys-membership"
    message = "`.keys()` is redundant here; test or iterate the dict itself"
    fix_title = "Remove `.keys()`"
    fix_safety = FixSafety.SAFE
    node_types = (ast.Compare, ast.For, ast.comprehension)
    effort_minutes = 1
    bench = Bench(
        setup="d = {i: i for i in range(1000)}\nxs = list(range(n))",
        before="result = 0\nfor x in xs:\n    if x in d.keys():\n        result += 1",
        after="result = 0\nfor x in xs:\n    if x in d:\n        result += 1",
        scales_with="n = membership tests",
    )
    valid = (
        "x in d\n",
        "x in d.keys(1)\n",
        "for k in d:\n    pass\n",
        "x == d.keys()\n",
        "x in d.values()\n",
    )
    invalid = (
        Invalid(
            "d = {}\nif k in d.keys():\n    pass\n",
            fixed="d = {}\nif k in d:\n    pass\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(d: dict[str, int]):\n    for k in d.keys():\n        print(k)\n",
            fixed="def f(d: dict[str, int]):\n    for k in d:\n        print(k)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid("if k not in obj.keys():\n    pass\n", fixed="if k not in obj:\n    pass\n", safety=FixSafety.UNSAFE),
        Invalid("ks = [k for k in d.keys() if k]\n", fixed="ks = [k for k in d if k]\n", safety=FixSafety.UNSAFE),
    )

    def check(self, node: ast.Compare | ast.For | ast.comprehension, ctx: Context) -> None:
        if isinstance(node, ast.Compare):
            calls = [
                c for op, c in zip(node.ops, node.comparators, strict=True) if isinstance(op, ast.In | ast.NotIn)
            ]
        else:
            calls = [node.iter]
        for call in calls:
            receiver = keys_call(call)
            if receiver is None:
                continue
            self._report(ctx, call, receiver)

    def _report(self, ctx: Context, call: ast.expr, receiver: ast.expr) -> None:
        def fix() -> Fix | None:
            known = ctx.type_of(receiver) in MAPPINGS
            title = self.fix_title or ""
            if not known:
                title += " (unsafe: the receiver is not known to be a dict)"
            # Delete from the end of the receiver to the end of the call: `.keys()`.
            span = Span(ctx.span(receiver).end, ctx.span(call).end)
            statement = next(a for a in ctx.ancestors(call) if isinstance(a, ast.stmt))
            return replace_spans(
                ctx, [(span, "")], title, FixSafety.SAFE if known else FixSafety.UNSAFE, statement
            )

        ctx.report(self, call, fix=fix)
