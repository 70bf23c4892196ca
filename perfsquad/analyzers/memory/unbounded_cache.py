from __future__ import annotations

import ast

from perfsquad.analyzers.memory._common import (
    GROW_METHODS,
    MAPPING_TYPES,
    STORE_METHODS,
    ReadsModuleContainers,
    cache_decorator,
    is_unbounded,
    method_kind,
    module_containers,
)
from perfsquad.context import Context
from perfsquad.model import Severity
from perfsquad.rule import Invalid, Rule


class UnboundedCache(ReadsModuleContainers, Rule):
    """
    ## What it does
    Flags caches that can only grow:

    - `functools.lru_cache(maxsize=None)` or `functools.cache` on a function that takes arguments
      (on an instance method this is MEM001 instead);
    - a module-level dict filled inside a function (`CACHE[key] = value`, `CACHE.setdefault(...)`,
      `CACHE.update(...)`) when nothing in the module ever removes from it (no `pop`, `popitem`,
      `clear`, `del CACHE[key]`, rebinding, and the dict is never handed to other code).

    ## Why is this bad?
    Every distinct key stays in memory for the life of the process. With keys drawn from an open
    set (user input, request ids, texts, timestamps) memory grows with every call: a leak that
    only shows in long-running processes, and that `gc` cannot collect because the module holds
    the references.

    ## Example
    ```python
    _CACHE = {}

    def embed(text):
        vec = compute(text)
        _CACHE[(next(ids), text)] = vec
        return vec

    @functools.lru_cache(maxsize=None)
    def parse(line):
        ...
    ```

    ## Use instead
    Bound the cache (`functools.lru_cache(maxsize=1024)`, an `OrderedDict` with `popitem(last=False)`
    past a size), key it only by what determines the value, or scope it to an object with a
    shorter life.

    ## Fix safety
    No automatic fix: the right bound depends on the working set, and a bound changes when values
    are recomputed (and object identity for callers that rely on getting the same object back).

    ## Speedup
    Not a speed rule: it is about memory retained per call. `perfsquad leakcheck` measures the
    growth per iteration of a workload and points at the line that allocates what is kept.

    ## References
    - [`functools.lru_cache`](https://docs.python.org/3/library/functools.html#functools.lru_cache)
    - [`tracemalloc`: compute differences between snapshots](https://docs.python.org/3/library/tracemalloc.html#compute-differences)
    """

    code = "MEM002"
    name = "unbounded-cache"
    message = "Unbounded cache: entries are never evicted, so memory grows with every distinct key"
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Subscript, ast.Call)
    call_names = GROW_METHODS | STORE_METHODS  # what `module_containers` counts as growth
    effort_minutes = 10
    valid = (
        "import functools\n@functools.lru_cache(maxsize=256)\ndef f(x):\n    return x\n",
        "import functools\n@functools.lru_cache\ndef f(x):\n    return x\n",
        "import functools\n@functools.cache\ndef settings():\n    return load()\n",
        # Evicted somewhere in the module.
        "CACHE = {}\ndef put(k, v):\n    CACHE[k] = v\ndef drop(k):\n    CACHE.pop(k, None)\n",
        "CACHE = {}\ndef put(k, v):\n    if len(CACHE) > 100:\n        CACHE.clear()\n    CACHE[k] = v\n",
        "CACHE = {}\ndef put(k, v):\n    CACHE[k] = v\ndef drop(k):\n    del CACHE[k]\n",
        # Handed to other code, which may evict.
        "CACHE = {}\ndef put(k, v):\n    CACHE[k] = v\nregister_cleanup(CACHE)\n",
        # Filled at import time only, or by a decorator (a registry, bounded by the code).
        "TABLE = {}\nfor k in 'abc':\n    TABLE[k] = 1\n",
        "HANDLERS = {}\ndef handler(fn):\n    HANDLERS[fn.__name__] = fn\n    return fn\n@handler\ndef a():\n    pass\n",
        # A local of the same name.
        "CACHE = {}\ndef f(k):\n    CACHE = {}\n    CACHE[k] = 1\n    return CACHE\n",
        # Counting existing keys does not grow a dict... but storing does: this one only reads.
        "CACHE = {}\ndef f(k):\n    return CACHE.get(k)\n",
    )
    invalid = (
        Invalid("import functools\n@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x\n"),
        Invalid("from functools import cache\n@cache\ndef f(x):\n    return x\n"),
        Invalid(
            "_CACHE: dict[str, int] = {}\n\ndef f(text):\n    if text not in _CACHE:\n"
            "        _CACHE[text] = len(text)\n    return _CACHE[text]\n"
        ),
        Invalid("import collections\nSEEN = collections.defaultdict(list)\ndef f(k, v):\n    SEEN[k].append(v)\n"),
        Invalid("SEEN = dict()\ndef f(k, v):\n    SEEN.setdefault(k, v)\n"),
    )

    def check(self, node: ast.AST, ctx: Context) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self._check_decorators(node, ctx)
            return
        if isinstance(node, ast.Subscript):
            if isinstance(node.ctx, ast.Del) or not isinstance(node.value, ast.Name):
                return
            name = node.value.id
        elif isinstance(node, ast.Call):
            func = node.func
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
                return
            name = func.value.id
        else:
            return
        use = module_containers(ctx).get(name)
        if use is None or use.kind not in MAPPING_TYPES or use.evicted or not any(g is node for g in use.growth):
            return
        if ctx.function_of(node) is None:
            return
        message = f"Module-level `{name}` is filled here and nothing removes from it: it grows with every new key"
        ctx.report(self, ctx.span(node), message=message)

    def _check_decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context) -> None:
        if method_kind(node, ctx) == "method":
            return  # MEM001
        args = node.args
        if not (args.posonlyargs or args.args or args.kwonlyargs or args.vararg or args.kwarg):
            return  # one entry at most
        if (
            method_kind(node, ctx) == "classmethod"
            and len(args.posonlyargs) + len(args.args) <= 1
            and not (args.kwonlyargs or args.vararg or args.kwarg)
        ):
            return
        for dec in node.decorator_list:
            found = cache_decorator(ctx, dec)
            if found is not None and is_unbounded(*found):
                spelled = "cache" if found[0] == "cache" else "lru_cache(maxsize=None)"
                ctx.report(
                    self,
                    dec,
                    message=f"`{spelled}` never evicts: memory grows with every distinct argument",
                    notes=("Fine when the arguments come from a small fixed set; bound it otherwise.",),
                    severity=Severity.INFO,
                )
                return
