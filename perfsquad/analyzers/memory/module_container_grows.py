from __future__ import annotations

import ast

from perfsquad.analyzers.memory._common import (
    GROW_METHODS,
    GROWABLE_TYPES,
    LOW,
    MEDIUM,
    STORE_METHODS,
    KeyDomain,
    ReadsModuleContainers,
    expr_domain,
    module_containers,
    report,
    runs_once_per_process,
)
from perfsquad.context import Context
from perfsquad.rule import Invalid, Rule, fit


class ModuleContainerGrows(ReadsModuleContainers, Rule):
    """
    ## What it does
    Flags a module-level list, set, deque (without `maxlen`) or bytearray that a function adds to
    (`append`, `extend`, `add`, `insert`, `appendleft`, `update`...) when nothing in the module ever
    removes from it: no `pop`, `clear`, `remove`, `del X[...]`, slice assignment or rebinding, and
    the container is never handed to other code that might.

    Confidence follows what is added (the evidence names it): high for objects and input data
    (`request.path`, instances), medium when unknown. Not reported by default (only with
    `--confidence low`): elements from a bounded domain (classes, database aliases, names and
    settings) and additions that run once (at import, in a setup function, in a command-line
    option callback). Not reported at all: a registry filled by a decorator, including one applied
    from other modules (a function that returns its argument); a table filled behind a lazy
    initialiser (`if not X:`, `if X is None:`, also of a sibling module-level name) or extended
    only while shorter than asked (`if n >= len(X):`), whose size is set by the largest argument
    and not by the number of calls.

    ## Why is this bad?
    Each call leaves something behind for the life of the process: an audit trail, a "history" for
    debugging, a list of callbacks registered per request. In a server or a long batch job memory
    grows linearly with the number of calls, and the garbage collector cannot help because the
    module keeps the references.

    ## Example
    ```python
    _HISTORY = []

    def handle(request):
        _HISTORY.append(request)
        ...
    ```

    ## Use instead
    ```python
    _HISTORY = collections.deque(maxlen=1000)   # keeps the last 1000

    def handle(request):
        _HISTORY.append(request)
        ...
    ```
    or drop the module-level state and pass a collector where it is needed.

    ## Fix safety
    No automatic fix: whether old entries may be dropped (and how many to keep) is the author's
    call. A container filled by a decorator (a registry, bounded by the code that defines it) is
    not flagged.

    ## Speedup
    Not a speed rule: it is about memory retained per call. `perfsquad leakcheck` measures the
    growth per iteration of a workload and points at the line that allocates what is kept.

    ## References
    - [`collections.deque(maxlen=...)`](https://docs.python.org/3/library/collections.html#collections.deque)
    - [`tracemalloc`](https://docs.python.org/3/library/tracemalloc.html)
    """

    code = "MEM003"
    name = "module-container-grows"
    message = "Module-level container grows on every call and is never emptied"
    node_types = (ast.Call,)
    call_names = GROW_METHODS | STORE_METHODS  # what `module_containers` counts as growth
    effort_minutes = 10
    valid = (
        "import collections\nLOG = collections.deque(maxlen=100)\ndef f(x):\n    LOG.append(x)\n",
        "LOG = []\ndef f(x):\n    LOG.append(x)\n    if len(LOG) > 100:\n        LOG.pop(0)\n",
        "LOG = []\ndef f(x):\n    LOG.append(x)\ndef flush():\n    LOG.clear()\n",
        "LOG = []\ndef f(x):\n    LOG.append(x)\ndef flush():\n    global LOG\n    LOG = []\n",
        "LOG = []\ndef f(x):\n    LOG.append(x)\ndef flush():\n    del LOG[:]\n",
        "LOG = []\ndef f(x):\n    LOG.append(x)\natexit.register(drain, LOG)\n",
        "HOOKS = []\ndef hook(fn):\n    HOOKS.append(fn)\n    return fn\n@hook\ndef a():\n    pass\n",
        "NAMES = []\nfor n in 'abc':\n    NAMES.append(n)\n",
        "def f(x):\n    log = []\n    log.append(x)\n    return log\n",
        "LOG = []\ndef f(x, LOG):\n    LOG.append(x)\n",
        "LOG = ()\ndef f(x):\n    LOG.append(x)\n",
        "PATTERNS = []\ndef match(x):\n    if not PATTERNS:\n        PATTERNS.extend(build())\n"
        "    return any(p(x) for p in PATTERNS)\n",
        # Registries: a decorator applied in other modules (it returns its argument).
        "_LOGGED = set()\ndef class_logger(cls):\n    _LOGGED.add(cls)\n    return cls\n",
        "_COMMUTATIVE = set()\ndef commutative(fn):\n    _COMMUTATIVE.add(fn)\n    return fn\n",
        # Elements from a bounded domain (low): database aliases, classes.
        "_CHECKED = set()\nclass Conn:\n    def check(self):\n        _CHECKED.add(self.alias)\n",
        # A memo table extended up to the largest n asked: sized by n, not by the number of calls.
        "_FACT = [1]\ndef fact(n):\n    if n >= len(_FACT):\n        for i in range(len(_FACT), n + 1):\n"
        "            _FACT.append(_FACT[i - 1] * i)\n    return _FACT[n]\n",
        # A command-line option callback runs once per option given (low).
        "EXCLUDE = set()\ndef _exclude(opt, value, parser):\n    EXCLUDE.add(value)\n"
        "def setup_options(make_option):\n    make_option('--exclude', action='callback', callback=_exclude)\n",
        # Filled behind the lazy initialiser of a sibling table: once.
        "_PATTERNS = None\n_WILDS = []\ndef match(x):\n    global _PATTERNS\n    if _PATTERNS is None:\n"
        "        _WILDS.extend(make())\n    return x\n",
    )
    invalid = (
        Invalid("_HISTORY = []\n\ndef handle(request):\n    _HISTORY.append(request)\n    return len(_HISTORY)\n"),
        Invalid("SEEN = set()\ndef f(x):\n    SEEN.add(x)\n    return x in SEEN\n"),
        Invalid("import collections\nQ = collections.deque()\nclass A:\n    def m(self, xs):\n        Q.extend(xs)\n"),
        Invalid(
            "LOG: list[str] = []\ndef f(xs):\n    for x in xs:\n        LOG.append(x)\n        LOG.append(x)\n", count=2
        ),
        Invalid("_ENGINES = []\ndef compile_code(code):\n    eng = build(code)\n    _ENGINES.append(eng)\n"),
        Invalid("SEEN = set()\ndef f(request):\n    SEEN.add(request.path)\n"),
        # A guard on a parameter is not a lazy initialiser.
        Invalid("LOG = []\ndef f(x, quiet):\n    if not quiet:\n        LOG.append(x)\n"),
        # A cap below a length that is not the container's own does not bound it.
        Invalid("LOG = []\ndef f(x, other):\n    if len(other) < 10:\n        LOG.append(x)\n"),
    )

    def check(self, node: ast.Call, ctx: Context) -> None:
        func = node.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return
        name = func.value.id
        use = module_containers(ctx).get(name)
        if use is None or use.kind not in GROWABLE_TYPES or use.evicted or not any(g is node for g in use.growth):
            return
        kind = use.kind.rsplit(".", 1)[-1]
        owner = ctx.function_of(node)
        element = node.args[1] if func.attr == "insert" and len(node.args) > 1 else node.args[0] if node.args else None
        domain = expr_domain(ctx, element, owner) if element is not None else KeyDomain(MEDIUM, "nothing")
        if func.attr in ("extend", "extendleft", "update"):
            domain = KeyDomain(domain.confidence or LOW, f"the items of {domain.source}")
        once = runs_once_per_process(ctx, owner)
        confidence = LOW if once is not None else domain.confidence or LOW
        evidence = f"adds {domain.source}" + (f"; {once}" if once is not None else "")
        message = fit("Module-level {kind} `{name}` grows on every call here and is never emptied", kind=kind, name=name)
        report(self, ctx, node, confidence=confidence, evidence=evidence, message=message)
