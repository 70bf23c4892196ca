from __future__ import annotations

import ast

from perfsquad.analyzers.idioms._scale import loop_confidence
from perfsquad.analyzers.idioms.keys_membership import class_defines, keys_call, receiver_class
from perfsquad.analyzers.idioms.range_len_index import (
    IndexedReads,
    analyze_indexed_loop,
    chain_parts,
    fresh_name,
    replacement_reasons,
    singular,
)
from perfsquad.context import Context
from perfsquad.fixes import replace_spans
from perfsquad.model import Fix, FixSafety, Span
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.semantics.types import MAPPINGS, UNKNOWN

_EXITS = (ast.Return, ast.Raise)


def _without_items(ctx: Context, cls: ast.ClassDef | None, depth: int = 0) -> bool:
    """``cls`` is a class of this module that has no ``items()``: neither it nor its bases define
    one, and every base is a class of the module too (an imported base, ``Mapping`` or ``dict``,
    may provide it)."""
    if cls is None or depth > 8 or class_defines(ctx, cls, _ITEMS):
        return False
    local = ctx.io.classes()
    for base in cls.bases:
        found = local.get(base.id) if isinstance(base, ast.Name) else None
        if found is None or found is cls or not _without_items(ctx, found, depth + 1):
            return False
    return True


_ITEMS = frozenset({"items"})


def leaves_loop(ctx: Context, node: ast.AST, loop: ast.For) -> bool:
    """``node`` runs at most once per execution of ``loop``: its statement (or one after it in
    the same block, unconditionally) returns, raises or breaks out of ``loop`` (a ``break``
    of an inner loop only leaves that one)."""
    child: ast.AST = node
    inner_loop = False
    for anc in ctx.ancestors(node):
        if isinstance(anc, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            return False
        if anc is not loop and isinstance(anc, ast.For | ast.AsyncFor | ast.While) and any(s is child for s in anc.body):
            inner_loop = True  # a `break` here leaves this inner loop only
        for field in ("body", "orelse", "finalbody"):
            block = getattr(anc, field, None)
            if not isinstance(block, list) or not any(s is child for s in block):
                continue
            if isinstance(anc, ast.Try) and field == "finalbody":
                break
            rest = block[next(i for i, s in enumerate(block) if s is child) :]
            for stmt in rest:
                if isinstance(stmt, _EXITS) or (isinstance(stmt, ast.Break) and not inner_loop):
                    return True
        if anc is loop:
            return False
        child = anc
    return False


class DictLookupInKeyLoop(Rule):
    """
    ## What it does
    Flags `for k in d:` (or `for k in d.keys():`) loops whose body reads `d[k]`.

    Not flagged when `d` is an instance of a class of the module (`self`, or built by a call of
    that class before the loop) that has no `items()` (none defined, and no base from elsewhere
    that could provide one): `d[k]` may create or compute what iteration does not hold, and there
    is no `items()` to iterate. Nor when every read of `d[k]` is on the way out of the loop (its
    statement, or one after it in the same block, returns, raises or breaks out):
    `for cls in handlers: if ...: return handlers[cls]` looks up once per call, not per key.

    Confidence: the rewrite saves a hash lookup per key, so a finding is at most `medium`:
    `medium` where `d` is of unknown size (a parameter, an attribute, a call's result), `low`
    (shown with `--confidence low`) for a literal or a container built from one
    (`immutabledict({...})`), `**kwargs`, or code that runs once at import.

    ## Why is this bad?
    Every `d[k]` hashes the key and searches the dict again for a value the iteration already
    passed over. `for k, v in d.items():` hands over key and value together; `for v in d.values():`
    when the key is not needed at all.

    ## Example
    ```python
    for user_id in users:
        send(user_id, users[user_id].email)
    ```

    ## Use instead
    ```python
    for user_id, user in users.items():
        send(user_id, user.email)
    ```

    ## Fix safety
    The fix iterates `d.items()`, or `d.values()` when `k` is only ever used as `d[k]` (and not
    after the loop); every read of `d[k]` becomes the value variable, named after the singular of
    `d` (`users` -> `user`) or `value`, never a name the function already uses.
    Safe when `d` is known to be a `dict` (or `defaultdict`, `Counter`, `OrderedDict`) from a
    literal, constructor or annotation, and the body neither assigns to nor deletes `d[...]` nor
    calls anything that receives `d`. Unsafe otherwise:
    - `d` of unknown type: a custom mapping's `__getitem__` may compute values that `items()` does
      not return, and an object that is not a mapping at all (a list of indices) has no `items()`;
    - the body may change `d`: `d[k]` reads the current value where the loop variable holds the
      value seen when the iteration reached `k`;
    - in a class body, the new loop variable becomes a class attribute.
    No fix when the body reassigns `k` or `d`, reads `d[k]` after assigning to `d[...]`, or reads
    `d[k]` inside a nested function or lambda. Never flagged when `d` is known to be a list, tuple,
    string, set or array, or when `d[k]` is only assigned to.

    ## Speedup
    Measured by `bench/calibrate.py` (`n` = entries iterated); see `perfsquad explain IDM012`.

    ## References
    - [`dict.items()`](https://docs.python.org/3/library/stdtypes.html#dict.items)
    - [pylint C0206 consider-using-dict-items](https://pylint.readthedocs.io/en/stable/user_guide/messages/convention/consider-using-dict-items.html)
    """

    code = "IDM012"
    name = "dict-lookup-in-key-loop"
    message = "Looking up `d[key]` for each key iterated; iterate `.items()` (or `.values()`)"
    fix_title = "Iterate `.items()`"
    fix_safety = FixSafety.SAFE
    node_types = (ast.For,)
    effort_minutes = 2
    bench = Bench(
        setup="d = {i: i * 2 for i in range(n)}",
        before="result = 0\nfor k in d:\n    result += k * d[k]",
        after="result = 0\nfor k, v in d.items():\n    result += k * v",
        scales_with="n = entries iterated",
    )
    valid = (
        # Read only on the way out of the loop: once per call, not per key.
        "def f(d, x):\n    for k in d:\n        if k.match(x):\n            return d[k]\n",
        "def f(d, x):\n    for k in d:\n        if k.match(x):\n            found = d[k]\n            break\n"
        "    return found\n",
        "def f(d, x):\n    for k in d:\n        if k == x:\n            raise KeyError(d[k])\n",
        "def f(d, x):\n    for k in d:\n        if k == x:\n            log(d[k])\n            return None\n",
        # A class of the module with `[]` and iteration but no `items()` (a lazy registry).
        "class Handler:\n    def __iter__(self):\n        return iter(self._aliases)\n"
        "    def __getitem__(self, alias):\n        return self._create(alias)\n"
        "    def close_all(self):\n        for alias in self:\n            self[alias].close()\n",
        # Only stored to.
        "def f(d: dict):\n    for k in d:\n        d[k] = 0\n",
        # Another dict, another key, or not a plain name.
        "def f(d, e):\n    for k in d:\n        print(e[k])\n",
        "def f(d):\n    for k in d:\n        print(d[k + 1])\n",
        "def f(g):\n    for k in g():\n        print(g()[k])\n",
        "def f(d):\n    for k in sorted(d):\n        print(d[k])\n",
        "def f(d):\n    for k in d.values():\n        print(d[k])\n",
        # Known not to be a mapping: a permutation followed through a list.
        "def f():\n    perm = [2, 0, 1]\n    for i in perm:\n        print(perm[i])\n",
        "def f(s: set):\n    for k in s:\n        print(s[k])\n",
        # A tuple target, or the key rebound by an inner comprehension.
        "def f(d):\n    for k, j in d:\n        print(d[k])\n",
        "def f(d):\n    for k in d:\n        print([d[k] for k in 'ab'])\n",
    )
    invalid = (
        Invalid(
            "def f(d: dict):\n    for k in d:\n        print(k, d[k] + 1)\n",
            fixed="def f(d: dict):\n    for k, value in d.items():\n        print(k, value + 1)\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(d: dict[str, int]):\n    total = 0\n    for k in d.keys():\n        total += d[k] * 2\n"
            "    return total\n",
            fixed="def f(d: dict[str, int]):\n    total = 0\n    for value in d.values():\n        total += value * 2\n"
            "    return total\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(d: dict, value):\n    out = []\n    for k in d:\n        out.append((k, d[k], value))\n"
            "    return out\n",
            fixed="def f(d: dict, value):\n    out = []\n    for k, d_value in d.items():\n"
            "        out.append((k, d_value, value))\n    return out\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(users):\n    for user_id in users:\n        send(user_id, users[user_id].email)\n",
            fixed="def f(users):\n    for user_id, user in users.items():\n        send(user_id, user.email)\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(d: dict):\n    for k in d:\n        d[k] = d[k] + 1\n",
            fixed="def f(d: dict):\n    for k, value in d.items():\n        d[k] = value + 1\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def f(self):\n    for k in self.cache.keys():\n        use(self.cache[k])\n",
            fixed="def f(self):\n    for value in self.cache.values():\n        use(value)\n",
            safety=FixSafety.UNSAFE,
        ),
        # Look-alikes: a `return` after a lookup that runs per key, a `break` of an inner loop.
        Invalid(
            "def f(d: dict, key):\n    for k in d:\n        print(d[k])\n        if k == key:\n            return None\n",
            fixed="def f(d: dict, key):\n    for k, value in d.items():\n        print(value)\n        if k == key:\n"
            "            return None\n",
            safety=FixSafety.SAFE,
        ),
        Invalid(
            "def f(d: dict, xs):\n    for k in d:\n        for _ in xs:\n            print(d[k])\n            break\n",
            fixed="def f(d: dict, xs):\n    for value in d.values():\n        for _ in xs:\n            print(value)\n"
            "            break\n",
            safety=FixSafety.SAFE,
        ),
        # Look-alike: a class of the module that subclasses an imported mapping may have `items()`.
        Invalid(
            "from collections.abc import Mapping\nclass Row(Mapping):\n    def __iter__(self):\n"
            "        return iter(self._keys)\n    def dump(self):\n        for k in self:\n            print(k, self[k])\n",
            fixed="from collections.abc import Mapping\nclass Row(Mapping):\n    def __iter__(self):\n"
            "        return iter(self._keys)\n    def dump(self):\n        for k, value in self.items():\n"
            "            print(k, value)\n",
            safety=FixSafety.UNSAFE,
        ),
        # Flagged, no fix: the key is reassigned in the body.
        Invalid("def f(d):\n    for k in d:\n        print(d[k])\n        k = 0\n"),
    )

    def __init__(self) -> None:
        self._reads = IndexedReads()  # a rule instance serves one context

    def check(self, node: ast.For, ctx: Context) -> None:
        mapping = keys_call(node.iter) or node.iter
        parts = chain_parts(mapping)
        if parts is None or not isinstance(node.target, ast.Name) or node.target.id in parts:
            return
        key = node.target.id
        # (An editor's incremental context checks one unit's loops: walking them beats indexing.)
        if ctx.whole and not self._reads.within(ctx, key, node):
            return  # no `...[key]` anywhere in the loop: nothing to walk it for
        info = analyze_indexed_loop(ctx, node, mapping, key)
        if not info.loads or all(leaves_loop(ctx, load, node) for load in info.loads):
            return  # a lookup on the way out of the loop runs once, not per key
        # Only now the scope's types (inferred for the whole function): most loops never index.
        kind = ctx.type_of(mapping)
        if kind != UNKNOWN and kind not in MAPPINGS:
            return
        if kind == UNKNOWN and _without_items(ctx, receiver_class(ctx, mapping)):
            return  # a class of the module with `[]` and iteration but no `items()`: not a mapping to rewrite

        def fix() -> Fix | None:
            if info.blockers:
                return None
            reasons = replacement_reasons(ctx, node, info, mapping)
            shown = ctx.text(mapping)
            if kind not in MAPPINGS:
                reasons.insert(
                    0,
                    f"`{shown}` is not known to be a dict: a custom mapping's `[]` may differ from"
                    " `items()`, and a sequence has no `items()`",
                )
            candidates = [c for c in (singular(parts[-1]),) if c and c != key]
            candidates += ["value", f"{parts[-1]}_value"]
            new = fresh_name(ctx, node, candidates)
            if info.index_used_otherwise:
                target, iterable, view = f"{key}, {new}", f"{shown}.items()", "items"
            else:
                target, iterable, view = new, f"{shown}.values()", "values"
            replacements: list[tuple[Span, str]] = [
                (ctx.span(node.target), target),
                (ctx.span(node.iter), iterable),
                *((ctx.span(load), new) for load in info.loads),
            ]
            title = f"Iterate `.{view}()`"
            if reasons:
                title += " (unsafe: " + "; ".join(reasons) + ")"
            safety = FixSafety.UNSAFE if reasons else FixSafety.SAFE
            return replace_spans(ctx, replacements, title, safety, node)

        scale = loop_confidence(self, node, ctx)
        ctx.report(self, ctx.header_span(node), fix=fix, confidence=scale.confidence, evidence=scale.evidence)
