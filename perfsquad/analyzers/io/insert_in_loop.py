from __future__ import annotations

import ast

from perfsquad.analyzers.io._common import insert_execute, is_retry_loop, loop_names, repeat_scale
from perfsquad.context import FUNCTIONS, Context
from perfsquad.fixes import line_indent, replace_statements
from perfsquad.model import Fix, FixSafety
from perfsquad.rule import Bench, Invalid, Rule
from perfsquad.syntax import names_in, walk

_SYNC_DBAPI = ("sqlite3.", "psycopg2.", "psycopg.Connection", "psycopg.Cursor", "pymysql.", "sql:")


class InsertInLoop(Rule):
    """
    ## What it does
    Flags `execute("INSERT ...", params)` (or `REPLACE`) called once per item of a `for` loop on
    a database connection or cursor (sqlite3, psycopg 2/3, pymysql, asyncpg, or any receiver
    given a literal `INSERT` statement).

    Evidence of scale: high when the loop runs over a parameter or a query result; low (shown
    only with `--confidence low`) over a literal, `range(<const>)`, at import, behind a lazy
    initialiser, or in a migration (Django, Alembic), which runs once per database.

    ## Why is this bad?
    Each `execute` is a separate statement: the driver binds parameters, steps the statement and
    (on a server database) waits for a network round trip, once per row. `executemany` prepares
    the statement once and sends all rows together; with psycopg 3 it is pipelined, with
    sqlite3 it stays in C for the whole batch.

    ## Example
    ```python
    for mem in rows:
        conn.execute("INSERT INTO memories VALUES (?, ?)", (mem.id, mem.content))
    ```

    ## Use instead
    ```python
    conn.executemany("INSERT INTO memories VALUES (?, ?)", [(mem.id, mem.content) for mem in rows])
    ```

    ## Fix safety
    Always unsafe. The fix is offered only for the exact shape above (the loop's only statement
    is the `execute` with a statement and one parameter argument, on a synchronous DB-API
    connection or cursor that does not change in the loop), and still can change behaviour:
    - **atomicity**: if a row fails, the rows before it may or may not be kept, depending on the
      driver and the transaction; with the loop, exactly the rows before the failure ran;
    - **ordering**: all parameters are computed *before* the first insert (the comprehension
      runs first), so code in the parameter expressions that reads the table sees none of the
      new rows;
    - **`lastrowid`** is not meaningful after `executemany` (and `rowcount` is the total): no fix
      when the function reads `lastrowid`; `INSERT ... RETURNING` is never rewritten;
    - **shared connections**: a connection used by another thread sees one long statement.
    No fix for asyncpg (`await conn.executemany(sql, args)` takes a different argument form).

    ## Speedup
    Measured by `bench/calibrate.py` on an in-memory SQLite database (`n` = rows inserted); a
    server database adds one network round trip per row to the loop's cost, so the gap widens.

    ## References
    - [sqlite3: Cursor.executemany](https://docs.python.org/3/library/sqlite3.html#sqlite3.Cursor.executemany)
    - [psycopg 3: executemany and pipeline mode](https://www.psycopg.org/psycopg3/docs/advanced/pipeline.html)
    - [PEP 249: executemany](https://peps.python.org/pep-0249/#executemany)
    """

    code = "IO006"
    reads_project = True  # its findings follow calls into other modules (the workspace index)
    name = "insert-in-loop"
    message = "INSERT executed once per row; use executemany"
    fix_title = "Insert all rows with executemany"
    fix_safety = FixSafety.UNSAFE
    node_types = (ast.Call,)
    call_names = frozenset({"execute"})
    effort_minutes = 5
    bench = Bench(
        setup=(
            "import sqlite3\nconn = sqlite3.connect(':memory:')\n"
            "conn.execute('CREATE TABLE t (a INTEGER, b TEXT)')\n"
            "rows = [(i, str(i)) for i in range(n)]"
        ),
        before=(
            "conn.execute('DELETE FROM t')\n"
            "for r in rows:\n    conn.execute('INSERT INTO t VALUES (?, ?)', r)\n"
            "result = conn.execute('SELECT count(*), sum(a) FROM t').fetchone()"
        ),
        after=(
            "conn.execute('DELETE FROM t')\n"
            "conn.executemany('INSERT INTO t VALUES (?, ?)', [r for r in rows])\n"
            "result = conn.execute('SELECT count(*), sum(a) FROM t').fetchone()"
        ),
        scales_with="n = rows inserted",
    )
    valid = (
        "import sqlite3\ndef f(conn: sqlite3.Connection, rows):\n    conn.executemany('INSERT INTO t VALUES (?)', rows)\n",
        "import sqlite3\ndef f(conn: sqlite3.Connection, row):\n    conn.execute('INSERT INTO t VALUES (?)', row)\n",
        "import sqlite3\ndef f(conn: sqlite3.Connection, ids):\n    for i in ids:\n        conn.execute('UPDATE t SET a = 1 WHERE id = ?', (i,))\n",
        "def f(d, rows):\n    for r in rows:\n        d.execute(r)\n",
    )
    invalid = (
        Invalid(
            "import sqlite3\ndef f(conn: sqlite3.Connection, rows):\n    for r in rows:\n        conn.execute('INSERT INTO t VALUES (?, ?)', (r.a, r.b))\n",
            fixed="import sqlite3\ndef f(conn: sqlite3.Connection, rows):\n    conn.executemany('INSERT INTO t VALUES (?, ?)', [(r.a, r.b) for r in rows])\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "def save(cur, rows):\n    for a, b in rows:  # keep\n        cur.execute(\n            'INSERT INTO t (a, b) VALUES (%s, %s)',\n            (a, b),\n        )\n",
            fixed="def save(cur, rows):\n    # keep\n    cur.executemany(\n        'INSERT INTO t (a, b) VALUES (%s, %s)',\n        [(a, b) for a, b in rows],\n    )\n",
            safety=FixSafety.UNSAFE,
        ),
        Invalid(
            "import sqlite3\ndef f(conn: sqlite3.Connection, rows):\n    n = 0\n    for r in rows:\n        conn.execute('INSERT INTO t VALUES (?)', (r,))\n        n += 1\n    return n\n"
        ),
        Invalid(
            "import asyncpg\nasync def f(pool: asyncpg.Pool, rows):\n    for r in rows:\n        await pool.execute('INSERT INTO t VALUES ($1)', r)\n"
        ),
    )

    def check(self, call: ast.Call, ctx: Context) -> None:
        found = ctx.io.op_of(call)
        if not insert_execute(ctx, call, found):
            return
        loop = ctx.parent(call)
        stmt: ast.AST | None = call
        if isinstance(loop, ast.Await):
            stmt, loop = loop, ctx.parent(loop)
        if not isinstance(loop, ast.Expr):
            return
        stmt = loop
        loop = ctx.parent(loop)
        if not isinstance(loop, ast.For | ast.AsyncFor) or not any(s is stmt for s in loop.body):
            return
        func = call.func
        assert isinstance(func, ast.Attribute)
        if names_in(func.value) & loop_names(loop) or is_retry_loop(ctx, loop, call):
            return
        assert found is not None
        qualified = found.qualified
        scale = repeat_scale(ctx, call)

        def fix() -> Fix | None:
            if not isinstance(loop, ast.For) or loop.orelse or len(loop.body) != 1 or isinstance(stmt, ast.Await):
                return None
            if not qualified.startswith(_SYNC_DBAPI) or len(call.args) != 2 or call.keywords:
                return None
            if any(isinstance(a, ast.Starred) for a in call.args):
                return None
            if names_in(call.args[0]) & loop_names(loop):
                return None
            function = next((a for a in ctx.ancestors(loop) if isinstance(a, FUNCTIONS)), ctx.tree)
            if any(isinstance(n, ast.Attribute) and n.attr == "lastrowid" for n in walk(function)):
                return None
            params = ctx.text(call.args[1])
            target = ctx.text(loop.target)
            iterable = ctx.text(loop.iter)
            if isinstance(loop.iter, ast.Lambda | ast.IfExp | ast.Tuple | ast.NamedExpr):
                iterable = f"({iterable})"
            if isinstance(call.args[1], ast.Lambda | ast.IfExp | ast.NamedExpr):
                params = f"({params})"
            call_text = ctx.text(call)
            receiver = ctx.text(func.value)
            head_end = len(receiver) + len(".execute")
            sql_start = ctx.source.offset(ctx.span(call.args[0]).start) - ctx.source.offset(ctx.span(call).start)
            params_start = ctx.source.offset(ctx.span(call.args[1]).start) - ctx.source.offset(ctx.span(call).start)
            params_end = ctx.source.offset(ctx.span(call.args[1]).end) - ctx.source.offset(ctx.span(call).start)
            if call_text[:head_end] != f"{receiver}.execute" or sql_start < head_end:
                return None
            new_call = (
                f"{receiver}.executemany{call_text[head_end:params_start]}"
                f"[{params} for {target} in {iterable}]{call_text[params_end:]}"
            )
            # The statement moves out of the loop body: shift its continuation lines left (never
            # inside a multi-line string, whose text would change).
            if any(
                isinstance(n, ast.Constant | ast.JoinedStr) and n.end_lineno != n.lineno for n in walk(call)
            ):
                return None
            body_indent = line_indent(ctx, stmt)
            lines = new_call.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            for i in range(1, len(lines)):
                if lines[i].strip() and not lines[i].startswith(body_indent):
                    return None
                lines[i] = lines[i][len(body_indent) :]
            new_call = "\n".join(lines)
            title = (
                f"{self.fix_title} (unsafe: parameters are all computed before the first insert;"
                " a failing row can change which rows are kept; lastrowid is not per row)"
            )
            return replace_statements(ctx, loop, loop, new_call, title, FixSafety.UNSAFE)

        ctx.report(
            self,
            call,
            message=f"`{func.attr}` of an INSERT once per row on `{ctx.text(func.value)}`; use `executemany`",
            fix=fix,
            confidence=scale.confidence,
            evidence=scale.evidence,
        )
