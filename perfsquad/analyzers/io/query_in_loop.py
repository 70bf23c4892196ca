from __future__ import annotations

import ast

from perfsquad.analyzers.io._common import (
    BATCH_HINTS,
    KIND_WORDS,
    carried_names,
    chain_notes,
    gather_candidate,
    insert_execute,
    is_chunked,
    is_retry_loop,
    makes_coroutine,
    one_off_module,
    repeat_scale,
    repeating_loop,
    unbatched_path,
)
from perfsquad.analyzers.io._orm import RowSource, relation_reads, row_loops, row_source
from perfsquad.context import COMPREHENSIONS, Context
from perfsquad.fixes import insert_import, replace_node
from perfsquad.model import Confidence, Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule, fit
from perfsquad.semantics.effects import ROUNDTRIP, SA_LAZY, Chain, call_target
from perfsquad.semantics.io_catalog import call_label
from perfsquad.semantics.scale import Scale, runs_once


class QueryInLoop(Rule):
    """
    ## What it does
    Flags a database query, HTTP request, vector-store search or embeddings call made once per
    item of a `for` loop or comprehension (the "N+1" pattern), directly or through any chain of
    functions in the workspace: the finding shows the chain, e.g.
    `loop → self._delete_memory → storage.delete_heuristic → cursor.execute`.

    Calls are recognised by what they really are: receivers are typed from their assignments
    (`conn = sqlite3.connect(...)`, `cur = conn.cursor()`, `with engine.connect() as c`,
    `self.conn = ...` in `__init__`, annotations), so `dict.get` is never `requests.get`.
    Covered: DB-API drivers (sqlite3, psycopg 2/3 including pgvector queries, pymysql, asyncpg),
    SQLAlchemy (`Session.execute/get/scalars`, `Query`), Django (`Model.objects...` and lazy
    related access on the rows of a queryset without `select_related`/`prefetch_related`), HTTP
    clients (requests/httpx sessions, aiohttp), qdrant-client, pinecone, chromadb and OpenAI
    embeddings, and `x.execute("SELECT ...")` with a literal SQL statement on any receiver.

    Not flagged: a query outside the loop, iterating over a cursor's rows, `executemany` (already
    batched), retry/backoff/polling loops (the loop sleeps, its variable is `attempt`/`retry`, or
    the call sits in a `try` that leaves the loop on success), `while` loops (usually pagination
    or polling), calls the more specific rules report (IO002 for awaits that can be gathered,
    IO003 for session-less requests, IO006 for `INSERT` executed row by row), and async calls
    that are not awaited in the loop: `asyncio.gather(*(client.get(u) for u in urls))`,
    `tg.create_task(...)`, `asyncio.create_task(...)`, `asyncio.as_completed([...])` only build
    coroutines there, which then run concurrently (a coroutine handed to `asyncio.run` or
    `run_until_complete` per item still waits for each round trip, and is flagged).

    Each finding carries its evidence of scale: high when the loop runs over a parameter or a
    query result, low (shown only with `--confidence low`) when nothing shows the loop grows —
    a literal, `range(<const>)`, code run once at import or behind a lazy initialiser — and for:
    - page-following: the call's arguments read what an earlier iteration set from the call's
      own response (`url = resp.json()["next"]`, a cursor or offset token). Each request needs
      the previous response, so nothing can be batched: the message says so instead of "batch
      it". A counter updated after the call (`n += 1`) is not a response: still N+1;
    - the code's explicit one-at-a-time path: the loop under `if not batch:` / `if x.batch is
      False:` / the `else` of `if batch:`, or a call passing `batch=False`/`single=True`. The
      author chose one statement per item (per-row events, per-row error handling);
    - migrations (a Django `Migration` module, an Alembic revision): they run once per database.

    ORM relations read per row, in a `for` loop or a comprehension, when the rows come from a
    query written in the loop or assigned once to a name in the same function:
    - Django: a `ForeignKey`/`OneToOneField` (`select_related`) or `ManyToManyField`
      (`prefetch_related`) of the model, on a queryset without either;
    - SQLAlchemy: a `relationship()` of the workspace's model class loaded lazily (no `lazy=`, or
      `lazy="select"`), read on the rows of `session.scalars(select(M))`,
      `session.execute(select(M)).scalars()` or `session.query(M)`, unless the query's
      `.options(...)` names it (`selectinload(M.rel)`, `joinedload`, `raiseload`...) or uses `"*"`.
      Relationships declared `lazy="selectin"`, `"joined"`, `"subquery"`, `"immediate"`,
      `"raise"`, `"noload"`, `"dynamic"` or `"write_only"` are not lazy loads on access.

    Calls through an abstract base class or a `Protocol` (`self.storage: Storage`, typed in
    `__init__`) count as I/O when all or most of the interface's implementations in the workspace
    do I/O, test doubles (`InMemory...`, `Fake...`, `Mock...`) set aside; the chain names them
    and their count.

    ## Why is this bad?
    Every call is a round trip: network latency, query parsing and planning, a lock, a result set.
    A loop of 1,000 single-row `SELECT`s costs 1,000 round trips where one `WHERE id IN (...)`
    costs one; on a remote database at 1 ms per round trip that is a second spent waiting.

    ## Example
    ```python
    def refresh(store, ids):
        for memory_id in ids:
            mem = _load_one(store.conn, memory_id)   # SELECT ... WHERE id = ?
            store.hot[mem.id] = mem
    ```

    ## Use instead
    ```python
    def refresh(store, ids):
        marks = ", ".join("?" * len(ids))
        for row in store.conn.execute(f"SELECT ... WHERE id IN ({marks})", ids):
            mem = _row_to_memory(row)
            store.hot[mem.id] = mem
    ```

    ## Fix safety
    Unsafe, and only for a SQLAlchemy relationship read per row when the `select(M)` or
    `session.query(M)` is in the same function: the fix appends `.options(selectinload(M.rel))`
    to it (importing `selectinload` from `sqlalchemy.orm` if needed). What can change: one more
    `SELECT ... WHERE id IN (...)` per query even when no row's relation is read afterwards;
    related rows loaded (and kept in the session) for every row; a query whose options were set
    elsewhere (a `Load` object, a default `lazy=`) may now load twice; `joinedload` would be the
    better loader for a many-to-one read on few rows. Otherwise no automatic fix: batching changes the shape of the code and its behaviour. Check when
    rewriting by hand: **ordering** (`IN (...)` returns rows in any order: re-order by id),
    duplicated and missing ids, **atomicity** (one statement instead of many: a failure now fails
    all), the database's limit on bound parameters (chunk the ids), **rate limits** of HTTP and AI
    APIs (one big request may be refused: chunk it), and **shared connections**: running the
    calls concurrently on one connection instead of batching them is not the same fix.

    ## Speedup
    The calibrated figure is the fix's (a relation loaded per row against one `selectin` query,
    on in-memory SQLite, `bench/calibrate.py`); `bench/n_plus_one.py` also measures SQLAlchemy's
    own lazy loading against `selectinload` on a SQLite file. Batching by hand is measured by
    `bench/n_plus_one.py` on a file-backed SQLite database: the demo's row-by-row
    lookups against one batched `IN (...)` query (see the bench's printed ratio; over 5x at
    thousands of rows on a local file, far more over a network). Not calibrated by
    `bench/calibrate.py` (no automatic fix).

    ## References
    - [Django: select_related and prefetch_related](https://docs.djangoproject.com/en/stable/ref/models/querysets/#select-related)
    - [SQLAlchemy: relationship loading techniques](https://docs.sqlalchemy.org/en/20/orm/queryguide/relationships.html)
    - [sqlite3: executemany](https://docs.python.org/3/library/sqlite3.html#sqlite3.Cursor.executemany)
    - [nplusone (run-time detector)](https://github.com/jmcarp/nplusone)
    """

    code = "IO001"
    reads_project = True  # its findings follow calls into other modules (the workspace index)
    name = "query-in-loop"
    message = "I/O round trip on every iteration (N+1); batch it"
    node_types = (ast.Call, ast.For, ast.AsyncFor, *COMPREHENSIONS)
    fix_title = "Load the relationship with the query (selectinload)"
    fix_safety = FixSafety.UNSAFE
    bench = Bench(
        setup=(
            "import sqlite3\n"
            "conn = sqlite3.connect(':memory:')\n"
            "conn.execute('CREATE TABLE c (id INTEGER PRIMARY KEY, name TEXT)')\n"
            "conn.execute('CREATE TABLE o (id INTEGER PRIMARY KEY, cid INTEGER)')\n"
            "m = max(1, n // 2)\n"
            "conn.executemany('INSERT INTO c VALUES (?, ?)', [(i, f'c{i}') for i in range(m)])\n"
            "conn.executemany('INSERT INTO o VALUES (?, ?)', [(i, i % m) for i in range(n)])\n"
            "rows = conn.execute('SELECT id, cid FROM o ORDER BY id').fetchall()"
        ),
        before="result = [conn.execute('SELECT name FROM c WHERE id = ?', (cid,)).fetchone()[0] for _, cid in rows]",
        after=(
            "names = dict(conn.execute('SELECT id, name FROM c WHERE id IN (SELECT cid FROM o)'))\n"
            "result = [names[cid] for _, cid in rows]"
        ),
        scales_with=(
            "n = rows, one query each (N+1, a lazy relation per row) vs one batched selectin query;"
            " in-memory SQLite, no network: a database server adds a round trip per query"
        ),
    )
    effort_minutes = 30
    valid = (
        # a single query outside the loop; iterating over a cursor's rows
        "import sqlite3\nconn = sqlite3.connect('x.db')\nrows = conn.execute('SELECT id FROM t').fetchall()\nfor r in conn.execute('SELECT id FROM t'):\n    print(r)\n",
        # dict.get and re.search are not I/O
        "import re\ndef f(d, keys):\n    for k in keys:\n        d.get(k)\n        re.search(k, 'text')\n",
        # a local function named get is not requests.get
        "def get(x):\n    return x\ndef f(xs):\n    return [get(x) for x in xs]\n",
        # executemany is already the batch
        "import sqlite3\ndef f(conn: sqlite3.Connection, chunks):\n    for chunk in chunks:\n        conn.executemany('UPDATE t SET a = ? WHERE id = ?', chunk)\n",
        # retry loop
        "import requests, time\ns = requests.Session()\ndef f(url):\n    for attempt in range(3):\n        try:\n            return s.get(url)\n        except OSError:\n            time.sleep(2 ** attempt)\n",
        # pagination with while
        "import requests\ns = requests.Session()\ndef f(url):\n    while url:\n        page = s.get(url).json()\n        url = page['next']\n",
        # gathered: the loop builds coroutines that run concurrently
        "import asyncio, httpx\nasync def f(client: httpx.AsyncClient, urls):\n    return await asyncio.gather(*(client.get(u) for u in urls))\n",
        # page-following: each request needs the previous response (low confidence only)
        "import requests\ns = requests.Session()\ndef f(url, n):\n    for _ in range(n):\n        r = s.get(url)\n        url = r.json()['next']\n",
        # select_related: no lazy load per row
        "from django.db import models\nclass Author(models.Model):\n    name = models.CharField()\nclass Book(models.Model):\n    author = models.ForeignKey(Author, on_delete=models.CASCADE)\ndef f():\n    for b in Book.objects.select_related('author'):\n        print(b.author.name)\n",
        # a relationship loaded with its query (lazy="selectin")
        "from sqlalchemy import select\nfrom sqlalchemy.orm import relationship\nclass Invoice:\n    lines = relationship('Line', lazy='selectin')\ndef f(session):\n    return [len(i.lines) for i in session.scalars(select(Invoice))]\n",
    )
    invalid = (
        Invalid(
            "import sqlite3\ndef f(conn: sqlite3.Connection, ids):\n    cur = conn.cursor()\n    for i in ids:\n        cur.execute('SELECT * FROM t WHERE id = ?', (i,))\n        print(cur.fetchone())\n"
        ),
        Invalid(
            "import sqlite3\nclass Store:\n    def __init__(self, path):\n        self.conn = sqlite3.connect(path)\n    def _delete(self, i):\n        self.conn.execute('DELETE FROM t WHERE id = ?', (i,))\n    def forget(self, ids):\n        for i in ids:\n            self._delete(i)\n"
        ),
        Invalid(
            "from sqlalchemy.orm import Session\ndef f(session: Session, ids):\n    return [session.get(User, i) for i in ids]\n"
        ),
        Invalid(
            "from django.db import models\nclass Author(models.Model):\n    name = models.CharField()\nclass Book(models.Model):\n    author = models.ForeignKey(Author, on_delete=models.CASCADE)\ndef f():\n    for b in Book.objects.all():\n        print(b.author.name)\n"
        ),
        Invalid(
            "from sqlalchemy import select\nfrom sqlalchemy.orm import DeclarativeBase, relationship\nclass Base(DeclarativeBase):\n    pass\nclass Invoice(Base):\n    __tablename__ = 'i'\n    customer = relationship('Customer')\ndef f(session):\n    return [i.customer for i in session.scalars(select(Invoice))]\n",
            fixed="from sqlalchemy import select\nfrom sqlalchemy.orm import DeclarativeBase, relationship\nfrom sqlalchemy.orm import selectinload\nclass Base(DeclarativeBase):\n    pass\nclass Invoice(Base):\n    __tablename__ = 'i'\n    customer = relationship('Customer')\ndef f(session):\n    return [i.customer for i in session.scalars(select(Invoice).options(selectinload(Invoice.customer)))]\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "from openai import OpenAI\nclient = OpenAI()\ndef f(texts):\n    return [client.embeddings.create(model='m', input=t) for t in texts]\n"
        ),
    )

    def check(self, node: ast.AST, ctx: Context) -> None:
        if isinstance(node, ast.Call):
            self._check_call(node, ctx)
        else:
            self._check_rows(node, ctx)

    def _check_call(self, call: ast.Call, ctx: Context) -> None:
        loop = repeating_loop(ctx, call)
        if loop is None:
            return
        found = ctx.io.op_of(call)
        if found is not None:
            op = found.op
            if not op.roundtrip or op.sessionless or insert_execute(ctx, call, found):
                return
            if makes_coroutine(ctx, call, found):
                return  # gathered or scheduled as a task: the loop only builds coroutines
            receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
            if isinstance(receiver, ast.Call):
                made = ctx.io.op_of(receiver)
                if made is not None and made.op.op in ("connect", "client"):
                    return  # `Client(...).get(...)` per iteration: IO003 reports the new client
            if is_retry_loop(ctx, loop, call) or is_chunked(ctx, loop, call) or gather_candidate(ctx, call) is not None:
                return
            what = KIND_WORDS.get(op.kind, "I/O call")
            self._report(ctx, loop, call, found.label, what, (f"batch: {BATCH_HINTS[op.kind]}",))
            return
        if not ctx.effects.may_chain():
            return  # nothing in reach does I/O: no chain to find, whatever the call's target
        target = call_target(ctx.io, call)
        if target is None:
            return
        chain = ctx.effects.chain(target, ROUNDTRIP)
        if chain is None or is_retry_loop(ctx, loop, call) or gather_candidate(ctx, call) is not None:
            return
        if makes_coroutine(ctx, call, None):
            return  # a project coroutine gathered or scheduled as a task
        label = call_label(ctx, call)
        full = Chain((label, *chain.steps), (f"{ctx.path}:{call.lineno}", *chain.where), chain.kind)
        what = KIND_WORDS.get(chain.kind, "I/O call")
        notes = (*chain_notes(full), f"batch: {BATCH_HINTS.get(chain.kind, '')}")
        self._report(ctx, loop, call, label, what, notes)

    def _report(
        self,
        ctx: Context,
        loop: ast.AST,
        call: ast.Call,
        label: str,
        what: str,
        notes: tuple[str, ...],
    ) -> None:
        """One finding, with its evidence: the loops' scale, unless the loop is page-following (each
        call needs the previous answer: nothing to batch) or the code's explicit one-at-a-time path."""
        scale = repeat_scale(ctx, call)
        confidence, evidence = scale.confidence, scale.evidence
        carried = carried_names(ctx, loop, call)
        if carried:
            names = ", ".join(f"`{n}`" for n in carried)
            ctx.report(
                self,
                call,
                message=fit("`{label}` makes a {what} per iteration, page-following: ask for larger pages",
                            label=label, what=what),
                notes=(
                    f"each call reads {names} from the previous iteration (page-following): it cannot be batched",
                    *(n for n in notes if not n.startswith("batch:")),
                ),
                confidence=Confidence.LOW,
                evidence=f"each call needs {names} from the one before; {evidence}",
            )
            return
        unbatched = unbatched_path(ctx, loop, call)
        if unbatched is not None:
            confidence, evidence = Confidence.LOW, f"the code's explicit one-at-a-time path ({unbatched}); {evidence}"
        ctx.report(
            self,
            call,
            message=fit("`{label}` makes a {what} on every iteration (N+1); batch it", label=label, what=what),
            notes=notes,  # (the chain is among them, "chain: ...": the message stays short)
            confidence=confidence,
            evidence=evidence,
        )

    def _check_rows(self, loop: ast.AST, ctx: Context) -> None:
        """A relation read on each row of a query: ``for b in Book.objects.all(): b.author.name``,
        ``[inv.customer.name for inv in session.scalars(select(Invoice))]``: one query per row."""
        for rows in row_loops(loop):
            if not isinstance(rows.iterable, ast.Name | ast.Call):
                continue
            source = row_source(ctx, rows.iterable, loop)
            if source is None or "*" in source.preloaded:
                continue
            model = source.model
            model_key = (
                f"{ctx.io.module}.{model}" if model in ctx.io.classes() else ctx.io.imports.qualified_name(ast.Name(model))
            )
            fields = ctx.effects.model_fields(model_key) if model_key else None
            if not fields:
                continue
            wanted = {
                name: kind
                for name, kind in fields.items()
                if (kind == SA_LAZY) == (source.orm == "sqlalchemy") and name not in source.preloaded
            }
            for node in relation_reads(rows, wanted):
                self._report_relation(ctx, loop, rows.row, node, source, wanted[node.attr])

    def _report_relation(
        self, ctx: Context, loop: ast.AST, row: str, node: ast.Attribute, source: RowSource, kind: str
    ) -> None:
        model, rel = source.model, node.attr
        once = runs_once(loop, ctx) or one_off_module(ctx)
        what = "queryset" if source.orm == "django" else "query result"
        scale = (
            Scale(Confidence.LOW, f"iterates a `{model}` {what}; {once}")
            if once is not None
            else Scale(Confidence.HIGH, f"iterates the rows of a `{model}` {what}{_per_call(ctx, loop)}")
        )
        fix = None
        if source.orm == "django":
            hint = "select_related" if kind == "fk" else "prefetch_related"
            advice = f"use `.{hint}({rel!r})` on the queryset"
            chain = f"loop over {model}.objects \u2192 {row}.{rel} (lazy relation)"
        else:
            advice = (
                f"load it with the query: `.options(selectinload({model}.{rel}))` (or `joinedload` for a"
                " many-to-one)"
            )
            chain = f"loop over {model} rows \u2192 {row}.{rel} (relationship(), lazy=\"select\")"
            query = source.query
            if query is not None:

                def fix() -> Fix | None:
                    return self._options_fix(ctx, query, model, rel)

        use = f".{hint}({rel!r})" if source.orm == "django" else f".options(selectinload({model}.{rel}))"
        ctx.report(
            self,
            node,
            message=fit("`{attr}` runs a query per row (N+1); use `{use}`", attr=f"{row}.{rel}", use=use),
            notes=(f"chain: {chain}", advice),
            confidence=scale.confidence,
            evidence=scale.evidence,
            fix=fix,
        )

    def _options_fix(self, ctx: Context, query: ast.Call, model: str, rel: str) -> Fix | None:
        spelling = insert_import(ctx, "sqlalchemy.orm", "selectinload")
        if spelling is None:
            return None
        loader, import_edit = spelling
        title = (
            f"Load `{model}.{rel}` with the query: .options({loader}({model}.{rel}))"
            " (unsafe: one more SELECT per query, related rows loaded even when unused)"
        )
        fix = replace_node(ctx, query, f"{ctx.text(query)}.options({loader}({model}.{rel}))", title, FixSafety.UNSAFE)
        if fix is None:
            return None
        extra = (import_edit,) if import_edit is not None else ()
        return Fix(fix.title, fix.safety, (*fix.edits, *extra))


def _per_call(ctx: Context, node: ast.AST) -> str:
    fn = ctx.function_of(node)
    return f", per call of `{fn.name}`" if fn is not None else ""
