from __future__ import annotations

import ast

from perfsquad.analyzers.io._common import is_retry_loop, repeat_scale, repeating_loop
from perfsquad.context import Context
from perfsquad.rule import Invalid, Rule, fit
from perfsquad.semantics.io_catalog import op_names


class ConnectionInLoop(Rule):
    """
    ## What it does
    Flags, inside a `for` loop or comprehension, a call that opens a new connection or client on
    every iteration: `sqlite3.connect`, `psycopg.connect`, `pymysql.connect`, `asyncpg.connect`,
    `create_engine`, `requests.Session()`, `httpx.Client()`, `aiohttp.ClientSession()`,
    `QdrantClient(...)`, `OpenAI()`..., and module-level HTTP calls that have no session at all
    (`requests.get`, `httpx.post`, `urllib.request.urlopen`): each of those opens and closes
    its own connection.

    Not flagged: the same calls outside loops, calls on a `Session`/`Client` object, retry loops
    (reconnecting after a failure is their point).

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
    node_types = (ast.Call,)
    call_names = op_names(lambda op: op.sessionless or op.op in ("connect", "client"))
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
    )

    def check(self, call: ast.Call, ctx: Context) -> None:
        loop = repeating_loop(ctx, call)
        if loop is None:
            return
        found = ctx.io.op_of(call)
        if found is None:
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
