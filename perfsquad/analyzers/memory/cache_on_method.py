from __future__ import annotations

import ast

from perfsquad.analyzers.memory._common import HIGH, LOW, cache_decorator, is_unbounded, method_kind, report
from perfsquad.context import Context
from perfsquad.model import Confidence
from perfsquad.rule import Invalid, Rule
from perfsquad.syntax import walk


class CacheOnMethod(Rule):
    """
    ## What it does
    Flags `functools.lru_cache` and `functools.cache` applied to an instance method (a function
    defined in a class body, not a `staticmethod` or `classmethod`).

    Reported with high confidence when the cache is unbounded (`cache`, `maxsize=None`) and keyed
    by instances. Only with `--confidence low`: a bounded `lru_cache` (at most `maxsize` instances
    kept, typically on a long-lived object such as a dialect or a style), a cache keyed by classes
    (a `classproperty` over it, a first parameter named `cls`), and a cache the module empties with
    `cache_clear()`.

    ## Why is this bad?
    The cache lives on the class's function object, for as long as the class does, and its keys
    include `self`. Every instance the method was ever called on is kept alive by the cache (with
    everything it references) until it is evicted: never, with `maxsize=None` or `cache`; after
    `maxsize` newer calls otherwise. The cache is also shared by all instances, so one busy object
    evicts another's entries, and `self` must be hashable.

    ## Example
    ```python
    class Embedder:
        @functools.lru_cache(maxsize=None)
        def embed(self, text):
            ...
    ```

    ## Use instead
    A per-instance cache, freed with the instance:
    ```python
    class Embedder:
        def __init__(self):
            self._cache = {}

        def embed(self, text):
            if text not in self._cache:
                self._cache[text] = compute(text)
            return self._cache[text]
    ```
    or a module-level cached function of the arguments that matter (not `self`), or
    `functools.cached_property` for an argument-less method.

    ## Fix safety
    No automatic fix: where the cache should live (per instance, per text, bounded or not) is a
    design decision, and every alternative changes when entries are computed again.

    ## Speedup
    Not a speed rule: it is about memory retained (every `self` and its graph, per distinct call).
    `perfsquad leakcheck` measures the growth per iteration of a workload.

    ## References
    - [Python FAQ: How do I cache method calls?](https://docs.python.org/3/faq/programming.html#how-do-i-cache-method-calls)
    - [ruff B019 cached-instance-method](https://docs.astral.sh/ruff/rules/cached-instance-method/)
    """

    code = "MEM001"
    name = "cache-on-method"
    message = "A cache on a method keeps every `self` it is called on alive forever"
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    effort_minutes = 15
    valid = (
        "import functools\n@functools.lru_cache(maxsize=256)\ndef f(x):\n    return x\n",
        "import functools\nclass A:\n    @staticmethod\n    @functools.lru_cache(maxsize=None)\n"
        "    def f(x):\n        return x\n",
        "import functools\nclass A:\n    @classmethod\n    @functools.cache\n    def f(cls, x):\n        return x\n",
        "import functools\nclass A:\n    @functools.cached_property\n    def f(self):\n        return 1\n",
        "import functools\nclass A:\n    def m(self):\n        @functools.cache\n        def inner(x):\n"
        "            return x\n        return inner(1)\n",
        "class A:\n    @lru_cache\n    def f(self, x):\n        return x\n",  # not functools' (not imported)
        # Bounded: at most `maxsize` instances alive (low).
        "from functools import lru_cache\nclass A:\n    @lru_cache\n    def f(self, x):\n        return x\n",
        "import functools as ft\nclass A:\n    @ft.lru_cache(64)\n    async def f(self):\n        return 1\n",
        "import functools\nclass Dialect:\n    @functools.lru_cache()\n    def info(self, schema):\n"
        "        return schema\n",
        "from functools import lru_cache\nclass Style:\n    @lru_cache(maxsize=1024)\n    def combine(self, other):\n"
        "        return other\n",
        # Keyed by classes (a classproperty over the cache, a method taking `cls`): low.
        "import functools\nclass E:\n    @classproperty\n    @functools.lru_cache(maxsize=None)\n"
        "    def signature(cls):\n        return cls.__init__\n",
        "import functools\nclass Mixin:\n    @functools.cache\n    def lookups(cls):\n        return cls.__mro__\n"
        "    lookups = classmethod(lookups)\n",
        # Emptied by cache_clear() in the module: low.
        "import functools\nclass Registry:\n    @functools.cache\n    def get_models(self, flag=False):\n"
        "        return flag\n    def reset(self):\n        self.get_models.cache_clear()\n",
    )
    invalid = (
        Invalid(
            "import functools\nclass A:\n    @functools.lru_cache(maxsize=None)\n    def f(self, x):\n        return x\n"
        ),
        Invalid("from functools import cache\nclass A:\n    @cache\n    def f(self, x):\n        return x\n"),
        # Unbounded, keyed by the instances (one per command run, per request...): high.
        Invalid(
            "import functools\nclass Command:\n    @functools.cache\n    def find_fixtures(self, label):\n"
            "        return [label]\n"
        ),
        Invalid(
            "import functools\nclass Job:\n    @functools.lru_cache(maxsize=None)\n    def plan(self, *, kind=None):\n"
            "        return kind\n    def reset(self):\n        other.plan.cache_info()\n"
        ),
    )

    @classmethod
    def module_facts(cls, unit: ast.stmt, ctx: Context) -> object:
        """A finding depends on `<...>.name.cache_clear()` calls anywhere in the module."""
        return frozenset(
            ctx.text(call.func)
            for call in walk(unit)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "cache_clear"
        )

    def check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context) -> None:
        if method_kind(node, ctx) != "method" or not (node.args.posonlyargs or node.args.args):
            return
        for dec in node.decorator_list:
            found = cache_decorator(ctx, dec)
            if found is None:
                continue
            kind, maxsize = found
            confidence, evidence = _key_evidence(node, ctx, kind, maxsize)
            notes = (
                "Unbounded: entries (and the instances in their keys) are never evicted."
                if is_unbounded(kind, maxsize)
                else "Bounded, but an instance stays alive until `maxsize` newer calls evict its entries.",
            )
            message = f"`{kind}` on a method keeps every `self` it is called on alive forever"
            report(self, ctx, dec, confidence=confidence, evidence=evidence, message=message, notes=notes)
            return


def _key_evidence(
    node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context, kind: str, maxsize: ast.expr | None
) -> tuple[Confidence, str]:
    """How sure we are that the cache keeps an open-ended set of instances alive, and why."""
    first = (node.args.posonlyargs or node.args.args)[0].arg
    wrapped = [ctx.text(d.func if isinstance(d, ast.Call) else d).rsplit(".", 1)[-1] for d in node.decorator_list]
    if first in ("cls", "klass", "mcs", "metacls") or any(w in _CLASS_WRAPPERS for w in wrapped):
        # `@classproperty` over the cache, or a method of a metaclass: the key is a class.
        return LOW, f"keyed by classes (first parameter `{first}`): bounded by the classes the code defines"
    cls = ctx.parent(node)
    owner = cls.name if isinstance(cls, ast.ClassDef) else "the class"
    if not is_unbounded(kind, maxsize):
        bound = ctx.text(maxsize) if maxsize is not None else "128"
        return LOW, f"bounded by `maxsize={bound}`: at most that many `{owner}` instances kept alive"
    cleared = _cache_clear_line(ctx, node.name)
    if cleared is not None:
        return LOW, f"emptied by `{node.name}.cache_clear()` (line {cleared}): instances are released with it"
    return HIGH, f"keys include `self`: every `{owner}` instance it is called on stays alive for the process"


_CLASS_WRAPPERS = frozenset({"classproperty", "class_property", "classmethod"})


def _cache_clear_line(ctx: Context, name: str) -> int | None:
    """The line of a ``<...>.name.cache_clear()`` call in the module, if there is one."""
    for call in ctx.nodes(ast.Call):
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "cache_clear"
            and (
                (isinstance(func.value, ast.Attribute) and func.value.attr == name)
                or (isinstance(func.value, ast.Name) and func.value.id == name)
            )
        ):
            return call.lineno
    return None
