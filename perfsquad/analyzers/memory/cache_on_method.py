from __future__ import annotations

import ast

from perfsquad.analyzers.memory._common import cache_decorator, method_kind
from perfsquad.context import Context
from perfsquad.rule import Invalid, Rule


class CacheOnMethod(Rule):
    """
    ## What it does
    Flags `functools.lru_cache` and `functools.cache` applied to an instance method (a function
    defined in a class body, not a `staticmethod` or `classmethod`).

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
    message = "A cache on a method keeps every `self` it is called on alive for the life of the class"
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
    )
    invalid = (
        Invalid(
            "import functools\nclass A:\n    @functools.lru_cache(maxsize=None)\n    def f(self, x):\n        return x\n"
        ),
        Invalid("from functools import cache\nclass A:\n    @cache\n    def f(self, x):\n        return x\n"),
        Invalid("from functools import lru_cache\nclass A:\n    @lru_cache\n    def f(self, x):\n        return x\n"),
        Invalid("import functools as ft\nclass A:\n    @ft.lru_cache(64)\n    async def f(self):\n        return 1\n"),
    )

    def check(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context) -> None:
        if method_kind(node, ctx) != "method" or not (node.args.posonlyargs or node.args.args):
            return
        for dec in node.decorator_list:
            found = cache_decorator(ctx, dec)
            if found is None:
                continue
            kind, _ = found
            notes = (
                "Unbounded: entries (and the instances in their keys) are never evicted."
                if kind == "cache" or (isinstance(found[1], ast.Constant) and found[1].value is None)
                else "Bounded, but an instance stays alive until `maxsize` newer calls evict its entries.",
            )
            message = f"`{kind}` on a method keeps every `self` it is called on alive for the life of the class"
            ctx.report(self, dec, message=message, notes=notes)
            return
