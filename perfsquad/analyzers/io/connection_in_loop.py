from __future__ import annotations

import ast

from perfsquad.analyzers.io._common import chain_notes, is_retry_loop, makes_coroutine, repeat_scale, repeating_loop
from perfsquad.context import Context
from perfsquad.model import Confidence
from perfsquad.rule import Invalid, Rule, fit
from perfsquad.semantics.effects import (
    CONNECT,
    Chain,
    body_calls,
    call_target,
    kept_result,
    opens_connection,
    per_item_writer,
)
from perfsquad.semantics.io_catalog import call_label

_WHAT = {"db": "database", "http": "HTTP", "vector": "vector-store", "ai": "API"}


_ADVICE = (
    "open one long-lived connection (one per thread, or a pool) and reuse it; commit once per batch,"
    " not once per item"
)
_SQLITE_ADVICE = "SQLite: open it once with `PRAGMA journal_mode=WAL` and `PRAGMA synchronous=NORMAL`"


class ConnectionInLoop(Rule):
    """
    ## What it does
    Flags, inside a `for` loop or comprehension, a call that opens a new connection or client on
    every iteration: `sqlite3.connect`, `psycopg.connect`, `pymysql.connect`, `asyncpg.connect`,
    `create_engine`, `requests.Session()`, `httpx.Client()`, `aiohttp.ClientSession()`,
    `QdrantClient(...)`, `OpenAI()`..., and module-level HTTP calls that have no session at all
    (`requests.get`, `httpx.post`, `urllib.request.urlopen`): each of those opens and closes
    its own connection.

    The same across functions: a loop calling a function (or a method, or a `@contextmanager`)
    that opens a connection or client *for that call alone* and commits or closes it before
    returning, directly or through any chain of project functions; the finding shows the chain,
    e.g. `loop → store.save_note → self._connection → sqlite3.connect`. And a public per-item
    method (`save_x`, `add_x`, `update_x`, `delete_x`...) whose every call opens such a
    connection, at `medium` confidence: its callers write one item per connection and per commit.

    Not flagged: the same calls outside loops, calls on a `Session`/`Client` object, retry loops
    (reconnecting after a failure is their point), a connection kept once opened (assigned to
    `self._conn`, a global, a container, or returned by a `functools.cache`d factory), a
    connection opened once before the loop, batch methods (`save_all`, `add_notes`).

    Evidence of scale: high when the loop runs over a parameter or a query result; low (shown
    only with `--confidence low`) over a literal, `range(<const>)`, at import, behind a lazy
    initialiser, or in a migration (Django, Alembic), which runs once per database.

    ## Why is this bad?
    Opening a connection costs a TCP handshake, usually a TLS handshake, and for databases
    authentication and session setup: often more than the query or request itself.
    `requests.get` creates a throw-away `Session` per call, so no connection is ever reused;
    a `requests.Session` keeps a pool of open connections (HTTP keep-alive).

    ## Example
    ```python
    for user_id in user_ids:
        profile = requests.get(f"{API}/users/{user_id}").json()
    ```

    ## Use instead
    ```python
    with requests.Session() as session:
        for user_id in user_ids:
            profile = session.get(f"{API}/users/{user_id}").json()
    ```

    For a store whose every `save_x` runs `with self._connection() as conn:` (connect, commit,
    close), open the connection once per thread (`threading.local`) and commit per batch;
    for SQLite also set `PRAGMA journal_mode=WAL` and `PRAGMA synchronous=NORMAL` (a commit then
    no longer waits for a full fsync). `bench/n_plus_one.py` measures it on a SQLite file.

    ## Fix safety
    No automatic fix: hoisting a connection changes its lifetime (who closes it, what happens
    when it drops midway, whether it is shared across threads), and a `Session` keeps cookies
    and default headers between requests, which a loop of `requests.get` does not.

    ## Speedup
    Not calibrated by `bench/calibrate.py` (no automatic fix, and the cost is network latency:
    one handshake per iteration saved, typically 1-3 round trips, plus TLS).

    ## References
    - [requests: Session objects](https://requests.readthedocs.io/en/latest/user/advanced/#session-objects)
    - [httpx: Clients](https://www.python-httpx.org/advanced/clients/)
    - [SQLAlchemy: connection pooling](https://docs.sqlalchemy.org/en/20/core/pooling.html)
    """

    code = "IO003"
    reads_project = True  # its findings follow calls into other modules (the workspace index)
    name = "connection-in-loop"
    message = "New connection on every iteration; open it once"
    node_types = (ast.Call, ast.FunctionDef, ast.AsyncFunctionDef)
    effort_minutes = 10
    valid = (
        "import requests\ndef f(ids):\n    with requests.Session() as s:\n        return [s.get(f'/u/{i}') for i in ids]\n",
        "import sqlite3\ndef f(path, ids):\n    conn = sqlite3.connect(path)\n    for i in ids:\n        conn.execute('SELECT 1 WHERE ? = 1', (i,))\n",
        "import requests, time\ndef f(url):\n    for attempt in range(3):\n        try:\n            return requests.get(url)\n        except OSError:\n            time.sleep(1)\n",
        "def get(url):\n    return url\ndef f(urls):\n    return [get(u) for u in urls]\n",
    )
    invalid = (
        Invalid("import requests\ndef f(ids):\n    for i in ids:\n        print(requests.get(f'/u/{i}').json())\n"),
        Invalid("import sqlite3\ndef f(paths):\n    for p in paths:\n        conn = sqlite3.connect(p)\n        conn.close()\n"),
        Invalid("from httpx import Client\ndef f(urls):\n    return [Client().get(u) for u in urls]\n"),
        Invalid("import urllib.request\ndef f(urls):\n    for u in urls:\n        urllib.request.urlopen(u).read()\n"),
        Invalid(
            "import sqlite3\ndef bump(path, name):\n    conn = sqlite3.connect(path)\n    conn.execute('UPDATE t SET n = n + 1 WHERE k = ?', (name,))\n    conn.commit()\n    conn.close()\ndef bump_all(path, names):\n    for name in names:\n        bump(path, name)\n"
        ),
    )

    def check(self, node: ast.AST, ctx: Context) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self._check_per_item_method(node, ctx)
            return
        assert isinstance(node, ast.Call)
        call = node
        loop = repeating_loop(ctx, call)
        if loop is None:
            return
        found = ctx.io.op_of(call)
        if found is None:
            self._check_chain(call, ctx, loop)
            return
        op = found.op
        if op.sessionless:
            message = fit("`{label}` opens a connection per call in this loop; use one Session", label=found.label)
        elif op.op in ("connect", "client"):
            message = fit("`{label}` connects on every iteration; create it once before the loop", label=found.label)
        else:
            return
        if is_retry_loop(ctx, loop, call):
            return
        scale = repeat_scale(ctx, call)
        ctx.report(self, call, message=message, confidence=scale.confidence, evidence=scale.evidence)

    def _connect_chain(self, call: ast.Call, ctx: Context) -> Chain | None:
        """How calling ``call``'s target opens a connection for that call alone, or None."""
        if not ctx.effects.may_chain():
            return None
        target = call_target(ctx.io, call)
        return ctx.effects.chain(target, CONNECT) if target is not None else None

    def _check_chain(self, call: ast.Call, ctx: Context, loop: ast.AST) -> None:
        """A loop calling a function that opens (and closes) its own connection per call."""
        chain = self._connect_chain(call, ctx)
        if chain is None or is_retry_loop(ctx, loop, call) or makes_coroutine(ctx, call, None):
            return
        label = call_label(ctx, call)
        full = Chain((label, *chain.steps), (f"{ctx.path}:{call.lineno}", *chain.where), chain.kind)
        what = _WHAT.get(chain.kind, "I/O")
        scale = repeat_scale(ctx, call)
        ctx.report(
            self,
            call,
            message=fit(f"`{{label}}` opens and closes a {what} connection per iteration", label=label),
            notes=(_ADVICE, *self._notes(full)),
            confidence=scale.confidence,
            evidence=scale.evidence,
        )

    def _check_per_item_method(self, fn: ast.FunctionDef | ast.AsyncFunctionDef, ctx: Context) -> None:
        """``def save_note(self, ...): with self._connection() as conn: ...``: one connection and
        one commit per saved item, whoever calls it (reported once, at the first such call)."""
        if not per_item_writer(fn.name) or ctx.function_of(fn) is not None:
            return
        for call in body_calls(fn):
            if ctx.io.loops(call):
                continue  # IO003 in a loop is the other shape
            chain = self._own_connection(call, ctx)
            if chain is None:
                continue
            full = Chain((call_label(ctx, call), *chain.steps[1:]), chain.where, chain.kind)
            what = _WHAT.get(chain.kind, "I/O")
            ctx.report(
                self,
                call,
                message=fit(f"Every call of `{{fn}}` opens and closes its own {what} connection", fn=fn.name),
                notes=(
                    f"saving many items costs one connection and one commit each; {_ADVICE}",
                    *self._notes(full, fn.name),
                ),
                confidence=Confidence.MEDIUM,
                evidence=f"`{fn.name}` writes one item per call; its connection lives for that call only",
            )
            return

    def _own_connection(self, call: ast.Call, ctx: Context) -> Chain | None:
        found = ctx.io.op_of(call)
        if found is not None:
            if opens_connection(found.op) and not kept_result(ctx, call):
                return Chain((found.label, found.label), (f"{ctx.path}:{call.lineno}",), found.op.kind)
            return None
        chain = self._connect_chain(call, ctx)
        if chain is None:
            return None
        return Chain((call_label(ctx, call), *chain.steps), (f"{ctx.path}:{call.lineno}", *chain.where), chain.kind)

    @staticmethod
    def _notes(chain: Chain, start: str = "loop") -> tuple[str, ...]:
        notes = list(chain_notes(chain, start))
        if any("sqlite3" in step for step in chain.steps):
            notes.append(_SQLITE_ADVICE)
        return tuple(notes)
