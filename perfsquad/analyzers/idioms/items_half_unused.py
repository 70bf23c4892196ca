from __future__ import annotations

import ast

from perfsquad.context import Context
from perfsquad.fixes import replace_spans
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.bindings import UNKNOWN, scope_bindings
from perfsquad.semantics.flow import later_read
from perfsquad.semantics.scale import Scale, loop_scale
from perfsquad.semantics.types import MAPPINGS
from perfsquad.syntax import names_in, walk

# Libraries whose objects have an `items()` but no `values()` method (pandas `Series.values` and
# `DataFrame.values` are arrays; `DataFrame.items()` yields columns).
_NOT_MAPPINGS = ("pandas.", "polars.", "numpy.", "xarray.")
_MUTATORS = frozenset({"pop", "popitem", "update", "setdefault", "clear", "__setitem__", "__delitem__"})


def _unused(ctx: Context, loop: ast.For, name: str) -> bool:
    """``name`` (one half of the unpacked pair) is never read: a dummy (``_``, ``_x``), or no read
    in the loop and none after it that could see the loop's binding."""
    reads = (n for part in (*loop.body, *loop.orelse) for n in walk(part))
    if any(isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Store) for n in reads):
        return False
    # A dummy is never read on purpose (a later `_(...)` is gettext, not the loop's binding).
    return name.startswith("_") or later_read(loop, name, ctx.parent) is None


def _array_like(ctx: Context, receiver: ast.expr, node: ast.AST) -> bool:
    """``receiver`` is a name bound in its scope to the result of a pandas/polars/NumPy call."""
    if not isinstance(receiver, ast.Name):
        return False
    for binding in scope_bindings(ctx.scope_of(node)):
        if binding.name == receiver.id and isinstance(binding.node, ast.Assign):
            value = binding.node.value
            called = ctx.qualified_name(value.func) if isinstance(value, ast.Call) else None
            if called is not None and called.startswith(_NOT_MAPPINGS):
                return True
    return False


def _strong_only(scale: Scale) -> Scale:
    """The rewrite saves little per element (1.0x-1.3x measured at n=1,000, see Speedup): worth a
    finding only over an input shown to be large (a parameter, a query result: ``high`` evidence,
    reported as ``medium``); an attribute, a local filled before the loop or a call's result of
    unknown size are usually the few entries of one object (``low``)."""
    if scale.confidence is Confidence.HIGH:
        return Scale(Confidence.MEDIUM, scale.evidence)
    if scale.confidence is Confidence.MEDIUM:
        return Scale(Confidence.LOW, f"{scale.evidence}; the rewrite saves little per entry, and nothing shows"
                                     " the mapping is large")  # fmt: skip
    return scale


def _imports_dataframes(ctx: Context) -> bool:
    """The module imports pandas, polars or xarray: a receiver of unknown type may be a frame,
    whose `items()` yields columns and whose `values` is an attribute."""
    for node in (*ctx.nodes(ast.Import), *ctx.nodes(ast.ImportFrom)):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        if any(m.split(".")[0] in ("pandas", "polars", "xarray", "geopandas", "modin") for m in modules):
            return True
    return False


def _looks_up(loop: ast.For, receiver: ast.expr, key: str) -> bool:
    """The body reads ``receiver[key]``: the value half *is* used, through a second lookup (the
    rewrite that helps is to use the unpacked value, not to drop it)."""
    text = ast.dump(receiver)
    return any(
        isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Name) and n.slice.id == key
        and ast.dump(n.value) == text
        for part in loop.body for n in walk(part)
    )  # fmt: skip


def _mutates(loop: ast.For, receiver: ast.expr) -> bool:
    """The loop body changes the mapping it iterates (or might: passes it to a call)."""
    text = ast.dump(receiver)
    for n in walk(loop):
        if isinstance(n, ast.Subscript) and not isinstance(n.ctx, ast.Load) and ast.dump(n.value) == text:
            return True
        if isinstance(n, ast.Call):
            func = n.func
            if isinstance(func, ast.Attribute) and func.attr in _MUTATORS and ast.dump(func.value) == text:
                return True
            if n is not loop.iter and any(ast.dump(a) == text for a in (*n.args, *(k.value for k in n.keywords))):
                return True
    return False


class ItemsHalfUnused(Rule):
    """
    ## What it does
    Flags `for k, v in d.items():` where the key or the value is never used: neither in the loop
    nor after it (a dummy name like `_` counts as unused).

    Not flagged: both halves used, a target that is not two plain names, a receiver of a known type
    that is not a mapping (a pandas `Series.items()`: its `values` is an attribute), a loop that
    changes the mapping or hands it to a call (`d.pop(k)`, `d[k] = ...`, `f(d)`), and a loop that
    reads `d[k]` (the value is used, through a second lookup).

    Confidence: the rewrite saves little per entry (see Speedup), so a finding is `medium` only
    where the loop shows strong evidence of a large mapping (a parameter, a query result), and `low`
    (shown with `--confidence low`) over an attribute, a local filled before the loop or a call's
    result of unknown size (usually the few entries of one object), a literal, or code run once
    at import; `low` too for a receiver of unknown type in a module that imports pandas, polars or xarray (a DataFrame's `items()` yields
    columns, and its `values` is not a method).

    ## Why is this bad?
    `.items()` builds a `(key, value)` tuple per element (or refills a recycled one) and the loop
    unpacks it, only to throw one half away. Iterating the dict (keys) or `.values()` yields the
    element directly.

    ## Example
    ```python
    for name, _ in registry.items():
        print(name)
    for _, user in users.items():
        notify(user)
    ```

    ## Use instead
    ```python
    for name in registry:
        print(name)
    for user in users.values():
        notify(user)
    ```

    ## Fix safety
    **Safe** when the receiver is known to be a `dict` (or `defaultdict`, `Counter`, `OrderedDict`):
    for those, iteration yields the keys of `.items()` and `.values()` its values, in the same order.
    Keys are then iterated directly (`for k in d`, so IDM006 has nothing to say). **Unsafe** for a
    receiver of unknown type, rewritten to `d.keys()` / `d.values()`: a custom mapping (or a
    pandas object) may define `keys()`/`values()` differently from `items()`, or not as methods.
    The loop variable dropped is unbound after the rewrite; the rule reports only when nothing can
    read it.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = entries of the dict; the benchmark sums `.values()`).

    ## References
    - [ruff PERF102 incorrect-dict-iterator](https://docs.astral.sh/ruff/rules/incorrect-dict-iterator/)
    - [perflint W8102 incorrect-dictionary-iterator](https://github.com/tonybaloney/perflint)
    - [Dictionary view objects](https://docs.python.org/3/library/stdtypes.html#dictionary-view-objects)
    """

    code = "IDM015"
    name = "items-half-unused"
    message = "`.items()` unpacked but the {half} `{name}` is never used; iterate {suggestion}"
    fix_title = "Iterate only the half that is used"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 1
    bench = Bench(
        setup="d = {i: i for i in range(n)}",
        before="result = 0\nfor _, v in d.items():\n    result += v",
        after="result = 0\nfor v in d.values():\n    result += v",
        scales_with="n = entries iterated",
    )
    valid = (
        "def f(d):\n    for k, v in d.items():\n        print(k, v)\n",
        "def f(d):\n    for k, v in d.items():\n        print(v)\n    return k\n",
        "def f(d):\n    for k, v in d.items():\n        d[k] = 1\n",
        "def f(d):\n    for k, v in d.items():\n        d.pop(k)\n",
        "def f(d):\n    for k, v in d.items():\n        g(d, k)\n",
        "def f(d):\n    for (k, v), w in d.items():\n        print(k)\n",
        "def f(d):\n    for k, v in d.items(1):\n        print(k)\n",
        "def f(d):\n    for _, _ in d.items():\n        print(1)\n",
        "def f(d):\n    for k, v in d.items():\n        print(d[k])\n",
        "import pandas as pd\ndef f(p):\n    s = pd.Series(p)\n    for i, _ in s.items():\n        print(i)\n",
    )
    invalid = (
        Invalid(
            "def f(xs):\n    d = dict(xs)\n    total = 0\n    for _, v in d.items():\n        total += v\n    return total\n",
            fixed="def f(xs):\n    d = dict(xs)\n    total = 0\n    for v in d.values():\n        total += v\n    return total\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(xs):\n    d = dict(xs)\n    out = []\n    for k, v in d.items():\n        out.append(k)\n    return out\n",
            fixed="def f(xs):\n    d = dict(xs)\n    out = []\n    for k in d:\n        out.append(k)\n    return out\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(obj):\n    for key, value in obj.items():\n        print(value)\n",
            fixed="def f(obj):\n    for value in obj.values():\n        print(value)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(obj):\n    for key, value in obj.items():\n        print(key)\n",
            fixed="def f(obj):\n    for key in obj.keys():\n        print(key)\n",
            safety=FixSafety.UNSAFE,
        ),
    )

    def check(self, node: ast.For, ctx: Context) -> None:
        it = node.iter
        target = node.target
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr == "items"):
            return
        if it.args or it.keywords or not isinstance(target, ast.Tuple | ast.List) or len(target.elts) != 2:
            return
        key, value = target.elts
        if not (isinstance(key, ast.Name) and isinstance(value, ast.Name)) or key.id == value.id:
            return
        receiver = it.func.value
        kind = ctx.type_of(receiver)
        if (kind != UNKNOWN and kind not in MAPPINGS) or _array_like(ctx, receiver, node):
            return
        key_unused, value_unused = _unused(ctx, node, key.id), _unused(ctx, node, value.id)
        if key_unused == value_unused or _mutates(node, receiver) or _looks_up(node, receiver, key.id):
            return
        known = kind in MAPPINGS
        recv = ctx.text(receiver)
        if isinstance(receiver, ast.Name | ast.Attribute | ast.Subscript | ast.Call):
            shown = recv
        else:
            shown = f"({recv})"
        if value_unused:
            kept, dropped, half = key, value, "value"
            new_iter = shown if known else f"{shown}.keys()"
        else:
            kept, dropped, half = value, key, "key"
            new_iter = f"{shown}.values()"

        def fix() -> Fix | None:
            if dropped.id in names_in(it):
                return None
            title = self.fix_title or ""
            safety = FixSafety.SAFE
            if not known:
                safety = FixSafety.UNSAFE
                title += f" (unsafe: `{recv}` is not known to be a dict: its `keys()`/`values()` may differ from `items()`)"
            return replace_spans(
                ctx, [(ctx.span(target), kept.id), (ctx.span(it), new_iter)], title, safety, node
            )

        scale = _strong_only(loop_scale(node, ctx))
        if not known and scale.confidence is not Confidence.LOW and _imports_dataframes(ctx):
            scale = Scale(Confidence.LOW, f"{scale.evidence}; `{recv}` may be a DataFrame (the module uses pandas or"
                                          " polars), whose `items()` yields columns")  # fmt: skip
        ctx.report(
            self,
            ctx.header_span(node),
            self.message.format(half=half, name=dropped.id, suggestion=f"`{new_iter}`"),
            fix=fix,
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
