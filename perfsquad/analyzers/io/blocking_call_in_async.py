from __future__ import annotations

import ast

from perfsquad.analyzers.io._common import chain_notes, enclosing_function, repeat_scale
from perfsquad.context import Context
from perfsquad.model import Confidence
from perfsquad.rule import Invalid, Rule, fit
from perfsquad.semantics.effects import BLOCKING, Chain, call_target
from perfsquad.semantics.io_catalog import FILE, PROCESS, SLEEP, call_label
from perfsquad.semantics.scale import Scale, runs_once, strongest

_SHORT = {
    SLEEP: "`asyncio.sleep`",
    "http": "an async HTTP client",
    "db": "an async driver",
    "vector": "its async client",
    "ai": "its async client",
    FILE: "`asyncio.to_thread`",
    PROCESS: "`asyncio.create_subprocess_exec`",
}
"""What the message names (short); the hover's note gives :data:`_ALTERNATIVES`."""
_ALTERNATIVES = {
    SLEEP: "`await asyncio.sleep(...)`",
    "http": "an async client (`httpx.AsyncClient`, `aiohttp`)",
    "db": "an async driver (asyncpg, psycopg's AsyncConnection, aiosqlite) or `asyncio.to_thread`",
    "vector": "the library's async client (e.g. `AsyncQdrantClient`) or `asyncio.to_thread`",
    "ai": "the async client (`AsyncOpenAI`)",
    FILE: "`asyncio.to_thread(path.read_text)` (or aiofiles) for large files",
    PROCESS: "`asyncio.create_subprocess_exec`",
}


class BlockingCallInAsync(Rule):
    """
    ## What it does
    Flags a blocking call made directly inside an `async def`: `time.sleep`, `requests` and other
    synchronous HTTP clients, synchronous database drivers (sqlite3, psycopg2, pymysql, a sync
    SQLAlchemy session...), synchronous vector-store and AI clients, `subprocess`, and reading a
    whole file (`open(...).read()`, `Path.read_text()`). Also flags a call to a project function
    that (transitively) blocks, with the chain.

    Not flagged: calls inside a nested `def` or `lambda` (e.g. passed to `asyncio.to_thread` or
    `run_in_executor`), async clients, and opening a file without reading it.

    The cost is latency for every other task, not growth: medium confidence, as sure as the
    loop's evidence when the call is in one, low behind a lazy initialiser (it runs once).

    ## Why is this bad?
    The event loop runs one thing at a time. A blocking call stops *every* task of the process
    until it returns: one `requests.get` of 200 ms delays all other requests a server is
    handling by 200 ms, and timers fire late.

    ## Example
    ```python
    async def handler(request):
        time.sleep(0.5)
        data = requests.get(URL).json()
    ```

    ## Use instead
    ```python
    async def handler(request):
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient() as client:
            data = (await client.get(URL)).json()
    ```

    ## Fix safety
    No automatic fix: the async equivalent is a different library or API (`httpx.AsyncClient`,
    asyncpg), and even `time.sleep` -> `await asyncio.sleep` lets other tasks run during the
    pause, which can change the order of their effects (shared state, locks held across the
    await).

    ## Speedup
    Not calibrated by `bench/calibrate.py` (no automatic fix). The gain is concurrency: other
    tasks progress during the wait instead of stalling for its whole duration.

    ## References
    - [asyncio: running blocking code](https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code)
    - [asyncio.to_thread](https://docs.python.org/3/library/asyncio-task.html#asyncio.to_thread)
    """

    code = "IO004"
    reads_project = True  # its findings follow calls into other modules (the workspace index)
    name = "blocking-call-in-async"
    message = "Blocking call inside async def; it stalls the event loop"
    node_types = (ast.Call,)
    effort_minutes = 15
    valid = (
        "import asyncio\nasync def f():\n    await asyncio.sleep(1)\n",
        "import asyncio, requests\nasync def f(url):\n    return await asyncio.to_thread(requests.get, url)\n",
        "import time\ndef f():\n    time.sleep(1)\n",
        "import requests\nasync def f(url):\n    def g():\n        return requests.get(url)\n    return g\n",
        "async def f(d):\n    return d.get('k')\n",
        "async def f(p):\n    with open(p, 'w') as fh:\n        return fh\n",
    )
    invalid = (
        Invalid("import time\nasync def f():\n    time.sleep(1)\n"),
        Invalid("import requests\nasync def f(url):\n    return requests.get(url).json()\n"),
        Invalid("import sqlite3\nasync def f(path):\n    conn = sqlite3.connect(path)\n    return conn.execute('SELECT 1').fetchone()\n", count=2),
        Invalid("async def f(p):\n    with open(p) as fh:\n        return fh.read()\n"),
        Invalid("import subprocess\ndef build():\n    subprocess.run(['make'])\nasync def f():\n    build()\n"),
    )

    def check(self, call: ast.Call, ctx: Context) -> None:
        if not ctx.nodes(ast.AsyncFunctionDef):
            return  # no `async def` in the module (most modules): no call to climb from
        if not isinstance(enclosing_function(ctx, call), ast.AsyncFunctionDef):
            return
        found = ctx.io.op_of(call)
        if found is not None:
            op = found.op
            if not op.blocking or (op.kind == FILE and op.op != "read") or op.op in ("client", "fetch"):
                return
            scale = _blocking_scale(ctx, call)
            ctx.report(
                self,
                call,
                message=fit("`{label}` blocks the event loop in `async def`; use {use}", label=found.label,
                            use=_SHORT[op.kind]),
                notes=(f"instead: {_ALTERNATIVES[op.kind]}",),
                confidence=scale.confidence,
                evidence=scale.evidence,
            )
            return
        target = call_target(ctx.io, call)
        if target is None:
            return
        callee = ctx.effects.lookup(target)
        if callee is None or callee.is_async:
            return
        chain = ctx.effects.chain(target, BLOCKING)
        if chain is None:
            return
        label = call_label(ctx, call)
        full = Chain((label, *chain.steps), (f"{ctx.path}:{call.lineno}", *chain.where), chain.kind)
        scale = _blocking_scale(ctx, call)
        ctx.report(
            self,
            call,
            message=fit("`{label}` blocks the event loop in `async def` (through its calls)", label=label),
            notes=(*chain_notes(full, "async def"),
                   f"instead: {_ALTERNATIVES.get(chain.kind, 'an async equivalent')} or `asyncio.to_thread`"),
            confidence=scale.confidence,
            evidence=scale.evidence,
        )


def _blocking_scale(ctx: Context, call: ast.Call) -> Scale:
    """The cost is latency for every other task, not growth: as sure as the default, unless the
    call runs once (behind a lazy initialiser); in a loop, as sure as the loop's evidence."""
    fn = enclosing_function(ctx, call)
    name = f"`{fn.name}`" if isinstance(fn, ast.AsyncFunctionDef) else "the coroutine"
    once = runs_once(call, ctx)
    if once is not None:
        return Scale(Confidence.LOW, f"blocks the event loop inside {name}, but {once}")
    base = Scale(Confidence.MEDIUM, f"every other task waits while it runs, on every call of {name}")
    if ctx.io.loops(call):
        loop = repeat_scale(ctx, call)
        return strongest(base, Scale(loop.confidence, f"{base.evidence}; in a loop: {loop.evidence}"))
    return base
