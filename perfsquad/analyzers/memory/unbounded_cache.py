from __future__ import annotations

import ast

from perfsquad.analyzers.memory._common import (
    GROW_METHODS,
    HIGH,
    LOW,
    MAPPING_TYPES,
    MEDIUM,
    STORE_METHODS,
    KeyDomain,
    ReadsModuleContainers,
    cache_decorator,
    expr_domain,
    is_unbounded,
    method_kind,
    module_containers,
    param_domain,
    report,
    runs_once_per_process,
)
from perfsquad.context import Context
from perfsquad.model import Severity
from perfsquad.rule import Invalid, Rule, fit


class UnboundedCache(ReadsModuleContainers, Rule):
    """
    ## What it does
    Flags caches that can only grow:

    - `functools.lru_cache(maxsize=None)` or `functools.cache` on a function that takes arguments
      (on an instance method this is MEM001 instead);
    - a module-level dict filled inside a function (`CACHE[key] = value`, `CACHE.setdefault(...)`,
      `CACHE.update(...)`) when nothing in the module ever removes from it (no `pop`, `popitem`,
      `clear`, `del CACHE[key]`, rebinding, and the dict is never handed to other code).

    How sure the finding is depends on where the keys come from (the evidence names it): high for
    an open domain (instances, `id(obj)`, user functions, a parameter annotated `Callable`,
    request data, texts, paths); medium when the domain is unknown. Not reported by default (only
    with `--confidence low`): keys from a bounded domain (classes and `type(x)`, module paths,
    setting/option names, language codes, aliases, flags and `bool` parameters, the keys of a
    module-level table fixed at import) and stores that run once (a function called at module
    level, one named for setup such as `register_*`/`deprecate_*`/`configure`, a decorator that
    returns its argument, a command-line option callback). A store under one literal key is not
    reported at all: the dict cannot grow there.

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
    message = "Unbounded cache: entries are never evicted, memory grows with every distinct key"
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
        # One literal key: the dict cannot grow.
        "_ERR = {'divide': 0}\ndef on_divide(v):\n    _ERR['divide'] = v\n",
        # Keys from a bounded domain (low): classes, language codes, names from configuration.
        "_ANNOTATED = {}\ndef annotated(cls):\n    if cls not in _ANNOTATED:\n"
        "        _ANNOTATED[cls] = type('A' + cls.__name__, (cls,), {})\n    return _ANNOTATED[cls]\n",
        "_HANDLERS = {}\ndef handle(obj):\n    _HANDLERS[type(obj)] = pick(obj)\n",
        "_TRANS = {}\ndef translation(language):\n    if language not in _TRANS:\n"
        "        _TRANS[language] = load(language)\n    return _TRANS[language]\n",
        "_LOCKS = {}\nclass LocMem:\n    def __init__(self, name):\n        self.lock = _LOCKS.setdefault(name, object())\n",
        # Runs once (low): at import, a setup function, a decorator applied in other modules.
        "_DEFAULTS = {'A': 1}\n_CONFIG = {}\ndef configure():\n    for key, default in _DEFAULTS.items():\n"
        "        _CONFIG[key.upper()] = default\nconfigure()\n",
        "_DEPRECATED = {}\ndef deprecate_option(key, msg):\n    _DEPRECATED[key] = msg\n",
        "_TAGS = {}\ndef tag(fn):\n    _TAGS[fn.__code__] = 1\n    return fn\n",
        "_SENSITIVE = {}\ndef decorator(func):\n    _SENSITIVE[hash(func)] = 1\n"
        "    def wrapper(*args):\n        return func(*args)\n    return wrapper\n",
        # A cached function whose arguments are module paths, names or flags (low).
        "import functools\n@functools.cache\ndef get_finder(import_path):\n    return load(import_path)\n",
        "import functools\n@functools.cache\ndef resolver(urlconf=None):\n    return urlconf\n",
        "import functools\n@functools.cache\ndef kernel(kind: str, how: str, is_numeric: bool):\n    return kind\n",
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
        # Keys from an open domain (high): user functions, object identities, input data.
        Invalid(
            "import functools\n@functools.cache\ndef compile_udf(func, nogil=True, parallel=False):\n"
            "    return jit(func)\n"
        ),
        Invalid(
            "from typing import Callable\nimport functools\n@functools.cache\n"
            "def looper(f: Callable[..., int], nogil: bool):\n    return f\n"
        ),
        Invalid("_BY_ID = {}\ndef remember(obj):\n    _BY_ID[id(obj)] = obj\n"),
        # Returns something else than its argument or a function it defines: not a decorator.
        Invalid("_BY_ID = {}\ndef remember(obj):\n    _BY_ID[id(obj)] = obj\n    return obj.name\n"),
        # A factory that builds a new function per call (not around its argument): not a decorator.
        Invalid(
            "_MADE = {}\ndef make(spec):\n    _MADE[id(spec)] = spec\n    def run():\n        return 1\n    return run\n"
        ),
        Invalid("_SEEN = {}\ndef visit(request, user):\n    _SEEN[(user, request.path)] = 1\n"),
        # A name that only looks like setup: `registered` is not `register`.
        Invalid("_ROWS = {}\ndef registered_rows(row):\n    _ROWS[row] = 1\n"),
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
        owner = ctx.function_of(node)
        if owner is None:
            return
        domain = _stored_key_domain(ctx, node, owner)
        if domain.confidence is None:
            return  # one literal key: the dict cannot grow here
        once = runs_once_per_process(ctx, owner)
        confidence = LOW if once is not None else domain.confidence
        evidence = f"keyed by {domain.source}" + (f"; {once}" if once is not None else "")
        message = fit("Module-level `{name}` is filled here, never emptied: grows with every key", name=name)
        report(self, ctx, node, confidence=confidence, evidence=evidence, message=message)

    def _check_decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context) -> None:
        kind_of_method = method_kind(node, ctx)
        if kind_of_method == "method":
            return  # MEM001
        args = node.args
        if not (args.posonlyargs or args.args or args.kwonlyargs or args.vararg or args.kwarg):
            return  # one entry at most
        if (
            kind_of_method == "classmethod"
            and len(args.posonlyargs) + len(args.args) <= 1
            and not (args.kwonlyargs or args.vararg or args.kwarg)
        ):
            return
        for dec in node.decorator_list:
            found = cache_decorator(ctx, dec)
            if found is not None and is_unbounded(*found):
                domain = _arguments_domain(ctx, node, skip_first=kind_of_method == "classmethod")
                once = runs_once_per_process(ctx, node)
                confidence = LOW if once is not None else domain.confidence or LOW
                evidence = f"keyed by {domain.source}" + (f"; {once}" if once is not None else "")
                spelled = "cache" if found[0] == "cache" else "lru_cache(maxsize=None)"
                report(
                    self,
                    ctx,
                    dec,
                    confidence=confidence,
                    evidence=evidence,
                    message=fit("`{spelled}` never evicts: memory grows with every new argument", spelled=spelled),
                    notes=("Fine when the arguments come from a small fixed set; bound it otherwise.",),
                    severity=Severity.INFO,
                )
                return


def _stored_key_domain(ctx: Context, node: ast.Subscript | ast.Call, func: ast.AST) -> KeyDomain:
    """Where the keys stored by ``TABLE[key] = ...`` / ``TABLE.setdefault(key, ...)`` come from."""
    if isinstance(node, ast.Subscript):
        return expr_domain(ctx, node.slice, func)
    if node.args and isinstance(node.func, ast.Attribute) and node.func.attr in ("setdefault", "__setitem__"):
        return expr_domain(ctx, node.args[0], func)
    if node.args:  # update(other): the keys of `other`
        inner = expr_domain(ctx, node.args[0], func)
        return KeyDomain(inner.confidence or LOW, f"the keys of {inner.source}")
    return KeyDomain(MEDIUM, "keyword arguments of `update` (domain unknown)")


def _arguments_domain(ctx: Context, node: ast.FunctionDef | ast.AsyncFunctionDef, skip_first: bool) -> KeyDomain:
    """Where a cached function's arguments (its keys) come from: the most open of its parameters."""
    a = node.args
    positional = [*a.posonlyargs, *a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    pairs: list[tuple[ast.arg, ast.expr | None]] = list(zip(positional, defaults, strict=True))
    if skip_first:
        pairs = pairs[1:]
    pairs += list(zip(a.kwonlyargs, a.kw_defaults, strict=True))
    parts = [param_domain(ctx, arg, default) for arg, default in pairs]
    parts += [KeyDomain(MEDIUM, f"`*{x.arg}` (domain unknown)") for x in (a.vararg, a.kwarg) if x is not None]
    if not parts:
        return KeyDomain(LOW, "no arguments")
    for want in (HIGH, MEDIUM):
        for p in parts:
            if p.confidence == want:
                return p
    if len(parts) == 1:
        return parts[0]
    named = ", ".join(f"`{arg.arg}`" for arg, _ in pairs)
    return KeyDomain(LOW, f"{named}, each from a bounded set (names, settings, codes, flags or classes)")
