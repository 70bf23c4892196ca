from __future__ import annotations

import ast

from perfsquad.analyzers.io._common import KIND_WORDS, gather_candidate, repeat_scale
from perfsquad.context import Context
from perfsquad.fixes import insert_import, replace_statements
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule, fit
from perfsquad.semantics.effects import ROUNDTRIP, call_target
from perfsquad.semantics.io_catalog import call_label
from perfsquad.syntax import walk

ARROW = " \u2192 "


class AwaitInLoop(Rule):
    """
    ## What it does
    Flags `await` of an I/O call (an HTTP request on an async client, a query on a connection
    *pool*, an async vector-store or AI call, or a project coroutine that makes one) inside a
    `for` loop of an `async def`, when the calls are independent: nothing the call reads is
    produced by an earlier iteration, and the loop neither sleeps (rate limiting, backoff) nor
    leaves early (`break`/`return`).

    A project coroutine whose own I/O cannot be proven (it awaits a client held untyped, e.g.
    `self.client.post(...)` with `self.client = client`) is flagged at `medium` confidence when it
    is the loop's only await and its name is not an ordered step (`send`, `write`, `flush`,
    `publish`, `acquire`...); a coroutine that never suspends is not flagged.

    Not flagged: `async for` (the iterator decides the pace), a loop over `asyncio.as_completed`
    (already concurrent), retry loops, and awaits on a single connection (asyncpg/psycopg
    connections run one query at a time: batch instead, see IO001).

    Evidence of scale: high when the loop runs over a parameter or a query result; low (shown
    only with `--confidence low`) over a literal, `range(<const>)`, at import, behind a lazy
    initialiser, or in a migration (Django, Alembic), which runs once per database.

    ## Why is this bad?
    Each iteration waits for its response before sending the next request: the loop takes the
    *sum* of the latencies. `asyncio.gather` (or a `TaskGroup`) sends them all and waits once: it
    takes about the *longest* latency.

    ## Example
    ```python
    async def fetch_all(client, urls):
        pages = []
        for url in urls:
            pages.append(await client.get(url))
        return pages
    ```

    ## Use instead
    ```python
    async def fetch_all(client, urls):
        limit = asyncio.Semaphore(10)          # a concurrency bound

        async def fetch(url):
            async with limit:
                return await client.get(url)

        return await asyncio.gather(*(fetch(url) for url in urls))
    ```

    ## Fix safety
    Always unsafe. The fix rewrites the two mechanical shapes, `for x in xs: await f(x)` and
    `for x in xs: acc.append(await f(x))`, into one `asyncio.gather` over a generator; it does
    not add a concurrency bound (add a `Semaphore` for large inputs). What can change:
    - **ordering**: the calls now *run* concurrently and may complete in any order (`gather`
      still returns results in input order);
    - **errors**: the first exception propagates while the other calls keep running (use
      `return_exceptions=True` or a `TaskGroup` to cancel them), and the calls after a failing
      one now run too;
    - **rate limits**: all requests start at once; servers may answer 429 (bound concurrency);
    - **shared connections**: a client or connection that is not safe for concurrent use breaks;
    - the loop variable is no longer set after the loop.

    ## Speedup
    Measured by `bench/calibrate.py` with calls that wait 1 ms each (`n` = awaited calls): the
    sequential loop takes n x latency, `gather` about one latency plus scheduling.

    ## References
    - [asyncio.gather](https://docs.python.org/3/library/asyncio-task.html#asyncio.gather)
    - [asyncio.TaskGroup](https://docs.python.org/3/library/asyncio-task.html#task-groups)
    - [asyncio.Semaphore](https://docs.python.org/3/library/asyncio-sync.html#asyncio.Semaphore)
    """

    code = "IO002"
    reads_project = True  # its findings follow calls into other modules (the workspace index)
    name = "await-in-loop"
    message = "Independent awaits run one after another; gather them"
    fix_title = "Run the calls concurrently with asyncio.gather"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.Await,)
    effort_minutes = 15
    bench = Bench(
        setup=(
            "import asyncio\n"
            "async def fetch(i):\n    await asyncio.sleep(0.001)\n    return i * 2\n"
            "xs = list(range(n))"
        ),
        before=(
            "async def main():\n    out = []\n    for x in xs:\n        out.append(await fetch(x))\n    return out\n"
            "result = asyncio.run(main())"
        ),
        after=(
            "async def main():\n    out = []\n    out.extend(await asyncio.gather(*(fetch(x) for x in xs)))\n    return out\n"
            "result = asyncio.run(main())"
        ),
        scales_with="n = awaited calls of 1 ms each",
    )
    valid = (
        "import asyncio, httpx\nasync def f(client: httpx.AsyncClient, url):\n    for attempt in range(5):\n        try:\n            return await client.get(url)\n        except httpx.HTTPError:\n            await asyncio.sleep(2 ** attempt)\n",
        "import asyncio\nasync def f(tasks):\n    for fut in asyncio.as_completed(tasks):\n        print(await fut)\n",
        "import httpx\nasync def f(client: httpx.AsyncClient, url):\n    while url:\n        r = await client.get(url)\n        url = r.json()['next']\n",
        "import httpx\nasync def f(client: httpx.AsyncClient, urls):\n    cursor = None\n    for u in urls:\n        cursor = await client.get(u, params={'after': cursor})\n",
        "import asyncio\nasync def f(queue, n):\n    for _ in range(n):\n        await queue.get()\n",
        "import asyncpg\nasync def f(conn: asyncpg.Connection, ids):\n    for i in ids:\n        await conn.fetchrow('SELECT 1 WHERE $1', i)\n",
    )
    invalid = (
        Invalid(
            "import asyncio\nimport httpx\nasync def f(client: httpx.AsyncClient, urls):\n    pages = []\n    for url in urls:\n        pages.append(await client.get(url))\n    return pages\n",
            fixed="import asyncio\nimport httpx\nasync def f(client: httpx.AsyncClient, urls):\n    pages = []\n    pages.extend(await asyncio.gather(*(client.get(url) for url in urls)))\n    return pages\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import aiohttp\nasync def notify(session: aiohttp.ClientSession, hooks):\n    for hook in hooks:\n        await session.post(hook, json={})\n",
            fixed="import aiohttp\nfrom asyncio import gather\nasync def notify(session: aiohttp.ClientSession, hooks):\n    await gather(*(session.post(hook, json={}) for hook in hooks))\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import httpx\nclient = httpx.AsyncClient()\nasync def load(i):\n    return await client.get(f'/items/{i}')\nasync def f(ids):\n    out = {}\n    for i in ids:\n        out[i] = await load(i)\n    return out\n"
        ),
    )

    def check(self, node: ast.Await, ctx: Context) -> None:
        call = node.value
        if not isinstance(call, ast.Call):
            return
        loop = gather_candidate(ctx, call)
        if loop is None:
            return
        found = ctx.io.op_of(call)
        label = call_label(ctx, call)
        proven = True
        if found is not None:
            what = KIND_WORDS.get(found.op.kind, "I/O call")
            notes: tuple[str, ...] = ()
        else:
            target = call_target(ctx.io, call)
            chain = ctx.effects.chain(target, ROUNDTRIP) if target else None
            what = KIND_WORDS.get(chain.kind, "I/O call") if chain else "awaited call"
            notes = (f"chain: loop{ARROW}{label}{ARROW}{ARROW.join(chain.steps)}",) if chain else ()
            proven = chain is not None

        def fix() -> Fix | None:
            return self._fix(ctx, loop, node, call)

        scale = repeat_scale(ctx, node)
        confidence, evidence = scale.confidence, scale.evidence
        if not proven:
            # A project coroutine that awaits something untyped: it waits, but on what is not proven.
            if confidence == Confidence.HIGH:
                confidence = Confidence.MEDIUM
            evidence = f"{evidence}; `{label}` awaits inside, but its I/O is not proven (an untyped client?)"
        ctx.report(
            self,
            node,
            message=fit("`await {label}`: one {what} at a time in this loop; gather them", label=label, what=what),
            fix=fix,
            notes=(*notes, "concurrently: asyncio.gather or a TaskGroup, with a Semaphore as a concurrency bound"),
            confidence=confidence,
            evidence=evidence,
        )

    def _fix(self, ctx: Context, loop: ast.For, node: ast.Await, call: ast.Call) -> Fix | None:
        if len(loop.body) != 1 or loop.orelse or not isinstance(loop.body[0], ast.Expr):
            return None
        expr = loop.body[0].value
        acc: str | None = None
        if expr is node:
            pass
        elif (
            isinstance(expr, ast.Call)
            and isinstance(expr.func, ast.Attribute)
            and expr.func.attr == "append"
            and isinstance(expr.func.value, ast.Name)
            and len(expr.args) == 1
            and not expr.keywords
            and expr.args[0] is node
            and expr.func.value.id not in {n.id for n in walk(call) if isinstance(n, ast.Name)}
        ):
            acc = expr.func.value.id
        else:
            return None
        if any(isinstance(n, ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr) for n in walk(call)):
            return None
        spelling = insert_import(ctx, "asyncio", "gather")
        if spelling is None:
            return None
        gather, import_edit = spelling
        iterable = ctx.text(loop.iter)
        if isinstance(loop.iter, ast.Lambda | ast.IfExp | ast.Tuple | ast.NamedExpr):
            iterable = f"({iterable})"
        generator = f"{ctx.text(call)} for {ctx.text(loop.target)} in {iterable}"
        code = f"await {gather}(*({generator}))"
        if acc is not None:
            code = f"{acc}.extend({code})"
        if "\n" in code or "\r" in code:
            return None
        title = (
            f"{self.fix_title} (unsafe: calls run concurrently with no bound; the first error no longer"
            " stops the rest; rate limits and shared connections)"
        )
        extra = (import_edit,) if import_edit is not None else ()
        return replace_statements(ctx, loop, loop, code, title, FixSafety.UNSAFE, extra_edits=extra)
