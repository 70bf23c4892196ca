"""What does I/O: a catalogue of calls that hit a database, the network, the disk or a process.

Two tables:

* ``FUNCTIONS``: qualified names of functions and constructors (``requests.get``,
  ``sqlite3.connect``, ``subprocess.run``...), resolved through the module's imports, so a local
  ``get`` or ``dict.get`` is never ``requests.get``;
* ``METHODS``: by *receiver type*, the methods that do I/O (``sqlite3.Cursor.execute``,
  ``sqlalchemy.orm.Session.scalars``...) and the ones that produce another typed receiver
  (``sqlite3.Connection.cursor`` -> ``sqlite3.Cursor``).

Receiver types come from :class:`IOTypes`: flow-insensitive facts from assignments
(``conn = sqlite3.connect(...)``, ``cur = conn.cursor()``), ``with ... as`` targets
(``with engine.connect() as c``), ``await`` (``conn = await asyncpg.connect(...)``), annotations
(``conn: sqlite3.Connection``) and attributes set on ``self`` in any method of a class
(``self.conn = ...`` in ``__init__``) or declared in its body (dataclass fields). As everywhere in
perfsquad, a name has a type only when every binding in its scope agrees.

One heuristic is allowed because it is precise in practice: ``x.execute("SELECT ...")`` with a
literal SQL statement is a database query whatever ``x`` is.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

from perfsquad.semantics.names import ImportMap
from perfsquad.semantics.types import UNKNOWN
from perfsquad.semantics.view import ModuleView
from perfsquad.syntax import children, walk


class IOModule(ModuleView, Protocol):
    """A module whose I/O types are known (a rule's context is one): what the I/O semantics read."""

    @property
    def io(self) -> IOTypes:
        """The module's receiver types and catalogue lookup (built on first use)."""
        ...

    @property
    def built_io(self) -> IOTypes | None:
        """The module's I/O types if they are built already (never builds them)."""
        ...

# -- kinds -----------------------------------------------------------------------------------------
DB = "db"
HTTP = "http"
VECTOR = "vector"
AI = "ai"
FILE = "file"
PROCESS = "process"
SLEEP = "sleep"
NONE = "none"
"""Not I/O itself, but produces a typed receiver (``conn.cursor()``, ``session.query(...)``)."""

ROUNDTRIP_KINDS = frozenset({DB, HTTP, VECTOR, AI})
BLOCKING_KINDS = frozenset({DB, HTTP, VECTOR, AI, FILE, PROCESS, SLEEP})


@dataclass(frozen=True, slots=True)
class IOOp:
    kind: str
    op: str
    """query, write, batch, fetch, commit, request, connect, client, open, run, sleep, none."""
    is_async: bool = False
    """Returns an awaitable (or an async context manager)."""
    returns: str | None = None
    """The receiver type of the result, if it is one we track."""
    batchable: bool = False
    """One call per item in a loop is an N+1: the API has a batched form."""
    sessionless: bool = False
    """Opens a new connection per call (``requests.get`` without a ``Session``)."""

    @property
    def blocking(self) -> bool:
        return not self.is_async and self.kind in BLOCKING_KINDS

    @property
    def roundtrip(self) -> bool:
        return self.kind in ROUNDTRIP_KINDS and self.batchable


def _q(kind: str, *, is_async: bool = False, returns: str | None = None, op: str = "query") -> IOOp:
    return IOOp(kind, op, is_async, returns, batchable=True)


_NOOP = IOOp(NONE, "none")


def _ret(t: str, *, is_async: bool = False) -> IOOp:
    return IOOp(NONE, "none", is_async, t)


def _conn(kind: str, t: str, *, is_async: bool = False) -> IOOp:
    return IOOp(kind, "connect", is_async, t)


def _client(kind: str, t: str, *, is_async: bool = False) -> IOOp:
    """A client object: creating it may not touch the network, but it owns a connection pool."""
    return IOOp(kind, "client", is_async, t)


_BATCH_DB = IOOp(DB, "batch")
_FETCH = IOOp(DB, "fetch")
_COMMIT = IOOp(DB, "commit")
_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

# -- functions and constructors, by qualified name ------------------------------------------------
FUNCTIONS: dict[str, IOOp] = {
    "sqlite3.connect": _conn(DB, "sqlite3.Connection"),
    "psycopg2.connect": _conn(DB, "psycopg2.Connection"),
    "psycopg2.extras.execute_values": _BATCH_DB,
    "psycopg2.extras.execute_batch": _BATCH_DB,
    "psycopg.connect": _conn(DB, "psycopg.Connection"),
    "psycopg.Connection.connect": _conn(DB, "psycopg.Connection"),
    "psycopg.AsyncConnection.connect": _conn(DB, "psycopg.AsyncConnection", is_async=True),
    "pymysql.connect": _conn(DB, "pymysql.Connection"),
    "MySQLdb.connect": _conn(DB, "pymysql.Connection"),
    "asyncpg.connect": _conn(DB, "asyncpg.Connection", is_async=True),
    "asyncpg.create_pool": _conn(DB, "asyncpg.Pool", is_async=True),
    "sqlalchemy.create_engine": _conn(DB, "sqlalchemy.Engine"),
    "sqlalchemy.orm.Session": _client(DB, "sqlalchemy.orm.Session"),
    "sqlalchemy.orm.sessionmaker": _ret("sqlalchemy.orm.sessionmaker"),
    "requests.Session": _client(HTTP, "requests.Session"),
    "requests.session": _client(HTTP, "requests.Session"),
    "httpx.Client": _client(HTTP, "httpx.Client"),
    "httpx.AsyncClient": _client(HTTP, "httpx.AsyncClient"),
    "aiohttp.ClientSession": _client(HTTP, "aiohttp.ClientSession"),
    "urllib.request.urlopen": IOOp(HTTP, "request", batchable=True, sessionless=True),
    "qdrant_client.QdrantClient": _client(VECTOR, "qdrant_client.QdrantClient"),
    "qdrant_client.AsyncQdrantClient": _client(VECTOR, "qdrant_client.AsyncQdrantClient"),
    "pinecone.Pinecone": _client(VECTOR, "pinecone.Pinecone"),
    "pinecone.Index": _client(VECTOR, "pinecone.Index"),
    "chromadb.Client": _client(VECTOR, "chromadb.Client"),
    "chromadb.PersistentClient": _client(VECTOR, "chromadb.Client"),
    "chromadb.HttpClient": _client(VECTOR, "chromadb.Client"),
    "chromadb.EphemeralClient": _client(VECTOR, "chromadb.Client"),
    "openai.OpenAI": _client(AI, "openai.OpenAI"),
    "openai.AsyncOpenAI": _client(AI, "openai.AsyncOpenAI"),
    "openai.embeddings.create": _q(AI, op="request"),
    "openai.Embedding.create": _q(AI, op="request"),
    "openai.chat.completions.create": IOOp(AI, "request"),
    "builtins.open": IOOp(FILE, "open", returns="file"),
    "io.open": IOOp(FILE, "open", returns="file"),
    "subprocess.run": IOOp(PROCESS, "run"),
    "subprocess.call": IOOp(PROCESS, "run"),
    "subprocess.check_call": IOOp(PROCESS, "run"),
    "subprocess.check_output": IOOp(PROCESS, "run"),
    "subprocess.getoutput": IOOp(PROCESS, "run"),
    "subprocess.getstatusoutput": IOOp(PROCESS, "run"),
    "subprocess.Popen": IOOp(PROCESS, "run"),
    "os.system": IOOp(PROCESS, "run"),
    "os.popen": IOOp(PROCESS, "run"),
    "time.sleep": IOOp(SLEEP, "sleep"),
    "pathlib.Path": _ret("pathlib.Path"),
}
for _verb in _HTTP_VERBS:
    FUNCTIONS[f"requests.{_verb}"] = IOOp(HTTP, "request", batchable=True, sessionless=True)
    FUNCTIONS[f"httpx.{_verb}"] = IOOp(HTTP, "request", batchable=True, sessionless=True)

SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep", "gevent.sleep"})

# -- methods, by receiver type --------------------------------------------------------------------
_DBAPI_CURSOR = {
    "execute": _q(DB),
    "executemany": _BATCH_DB,
    "fetchone": _FETCH,
    "fetchall": _FETCH,
    "fetchmany": _FETCH,
    "callproc": _q(DB),
}


def _dbapi(prefix: str, *, execute_on_conn: bool) -> dict[str, dict[str, IOOp]]:
    conn: dict[str, IOOp] = {
        "cursor": _ret(f"{prefix}.Cursor"),
        "commit": _COMMIT,
        "rollback": _COMMIT,
        "close": _NOOP,
    }
    if execute_on_conn:
        conn["execute"] = _q(DB, returns=f"{prefix}.Cursor")
        conn["executemany"] = IOOp(DB, "batch", returns=f"{prefix}.Cursor")
        conn["executescript"] = _BATCH_DB
    cursor = dict(_DBAPI_CURSOR)
    cursor["execute"] = _q(DB, returns=f"{prefix}.Cursor")
    return {f"{prefix}.Connection": conn, f"{prefix}.Cursor": cursor}


def _http_client(*, is_async: bool) -> dict[str, IOOp]:
    methods = {v: IOOp(HTTP, "request", is_async, batchable=True) for v in _HTTP_VERBS}
    methods["send"] = IOOp(HTTP, "request", is_async, batchable=True)
    methods["stream"] = IOOp(HTTP, "request", is_async, batchable=True)
    return methods


_ASYNCPG = {
    "execute": _q(DB, is_async=True),
    "fetch": _q(DB, is_async=True),
    "fetchrow": _q(DB, is_async=True),
    "fetchval": _q(DB, is_async=True),
    "executemany": IOOp(DB, "batch", is_async=True),
    "copy_records_to_table": IOOp(DB, "batch", is_async=True),
}
_QUERY_CHAIN = (
    "filter", "filter_by", "join", "outerjoin", "order_by", "limit", "offset", "options", "where",
    "group_by", "distinct", "having", "with_entities",
)  # fmt: skip
_QUERY_TERMINAL = ("all", "first", "one", "one_or_none", "scalar", "count", "get", "delete", "update")
_QDRANT = {
    "search": _q(VECTOR),
    "query_points": _q(VECTOR),
    "retrieve": _q(VECTOR),
    "recommend": _q(VECTOR),
    "scroll": _q(VECTOR),
    "count": _q(VECTOR),
    "search_batch": IOOp(VECTOR, "batch"),
    "query_batch_points": IOOp(VECTOR, "batch"),
    "upsert": IOOp(VECTOR, "batch"),
    "upload_points": IOOp(VECTOR, "batch"),
    "delete": IOOp(VECTOR, "batch"),
    "set_payload": IOOp(VECTOR, "batch"),
}

METHODS: dict[str, dict[str, IOOp]] = {
    **_dbapi("sqlite3", execute_on_conn=True),
    **_dbapi("psycopg2", execute_on_conn=False),
    **_dbapi("psycopg", execute_on_conn=True),
    **_dbapi("pymysql", execute_on_conn=False),
    "psycopg.AsyncConnection": {
        "execute": _q(DB, is_async=True, returns="psycopg.AsyncCursor"),
        "cursor": _ret("psycopg.AsyncCursor"),
        "commit": IOOp(DB, "commit", is_async=True),
    },
    "psycopg.AsyncCursor": {
        "execute": _q(DB, is_async=True),
        "executemany": IOOp(DB, "batch", is_async=True),
        "fetchone": IOOp(DB, "fetch", is_async=True),
        "fetchall": IOOp(DB, "fetch", is_async=True),
        "fetchmany": IOOp(DB, "fetch", is_async=True),
    },
    "asyncpg.Connection": _ASYNCPG,
    "asyncpg.Pool": {**_ASYNCPG, "acquire": _ret("asyncpg.Connection", is_async=True)},
    "sqlalchemy.Engine": {
        "connect": _ret("sqlalchemy.Connection"),
        "begin": _ret("sqlalchemy.Connection"),
    },
    "sqlalchemy.Connection": {
        "execute": _q(DB),
        "scalar": _q(DB),
        "scalars": _q(DB),
        "commit": _COMMIT,
    },
    "sqlalchemy.orm.sessionmaker": {"__call__": _ret("sqlalchemy.orm.Session"), "begin": _ret("sqlalchemy.orm.Session")},
    "sqlalchemy.orm.Session": {
        "execute": _q(DB),
        "scalar": _q(DB),
        "scalars": _q(DB),
        "get": _q(DB),
        "merge": _q(DB),
        "refresh": _q(DB),
        "query": _ret("sqlalchemy.orm.Query"),
        "commit": _COMMIT,
        "flush": _COMMIT,
    },
    "sqlalchemy.orm.Query": {
        **{m: _ret("sqlalchemy.orm.Query") for m in _QUERY_CHAIN},
        **{m: _q(DB) for m in _QUERY_TERMINAL},
    },
    "requests.Session": _http_client(is_async=False),
    "httpx.Client": _http_client(is_async=False),
    "httpx.AsyncClient": _http_client(is_async=True),
    "aiohttp.ClientSession": _http_client(is_async=True),
    "qdrant_client.QdrantClient": _QDRANT,
    "qdrant_client.AsyncQdrantClient": {
        k: IOOp(v.kind, v.op, True, v.returns, v.batchable) for k, v in _QDRANT.items()
    },
    "pinecone.Pinecone": {"Index": _client(VECTOR, "pinecone.Index")},
    "pinecone.Index": {
        "query": _q(VECTOR),
        "fetch": _q(VECTOR),
        "upsert": IOOp(VECTOR, "batch"),
        "delete": IOOp(VECTOR, "batch"),
        "update": _q(VECTOR, op="write"),
    },
    "chromadb.Client": {
        "get_collection": _ret("chromadb.Collection"),
        "get_or_create_collection": _ret("chromadb.Collection"),
        "create_collection": _ret("chromadb.Collection"),
    },
    "chromadb.Collection": {
        "query": _q(VECTOR),
        "get": _q(VECTOR),
        "add": IOOp(VECTOR, "batch"),
        "upsert": IOOp(VECTOR, "batch"),
        "update": IOOp(VECTOR, "batch"),
        "delete": IOOp(VECTOR, "batch"),
    },
    "openai.OpenAI": {
        "embeddings.create": _q(AI, op="request"),
        "chat.completions.create": IOOp(AI, "request"),
        "completions.create": IOOp(AI, "request"),
        "responses.create": IOOp(AI, "request"),
    },
    "openai.AsyncOpenAI": {
        "embeddings.create": _q(AI, is_async=True, op="request"),
        "chat.completions.create": IOOp(AI, "request", True),
        "completions.create": IOOp(AI, "request", True),
        "responses.create": IOOp(AI, "request", True),
    },
    "pathlib.Path": {
        "read_text": IOOp(FILE, "read"),
        "read_bytes": IOOp(FILE, "read"),
        "write_text": IOOp(FILE, "write"),
        "write_bytes": IOOp(FILE, "write"),
        "open": IOOp(FILE, "open", returns="file"),
    },
    "file": {"read": IOOp(FILE, "read"), "readlines": IOOp(FILE, "read"), "write": IOOp(FILE, "write")},
}

# Annotation spellings -> the canonical receiver type.
ANNOTATIONS: dict[str, str] = {t: t for t in METHODS}
ANNOTATIONS.update(
    {
        "sqlalchemy.engine.Engine": "sqlalchemy.Engine",
        "sqlalchemy.engine.base.Engine": "sqlalchemy.Engine",
        "sqlalchemy.engine.Connection": "sqlalchemy.Connection",
        "sqlalchemy.engine.base.Connection": "sqlalchemy.Connection",
        "sqlalchemy.orm.session.Session": "sqlalchemy.orm.Session",
        "sqlalchemy.orm.Query": "sqlalchemy.orm.Query",
        "psycopg2.extensions.connection": "psycopg2.Connection",
        "psycopg2.extensions.cursor": "psycopg2.Cursor",
        "pymysql.connections.Connection": "pymysql.Connection",
        "pymysql.cursors.Cursor": "pymysql.Cursor",
        "asyncpg.connection.Connection": "asyncpg.Connection",
        "asyncpg.pool.Pool": "asyncpg.Pool",
        "requests.sessions.Session": "requests.Session",
        "chromadb.api.models.Collection.Collection": "chromadb.Collection",
        "chromadb.api.ClientAPI": "chromadb.Client",
        "pinecone.data.Index": "pinecone.Index",
    }
)

METHOD_NAMES = frozenset(path.split(".", 1)[0] for methods in METHODS.values() for path in methods) | {
    "execute",
    "executemany",
}

CATALOG_ROOTS = frozenset(
    q.split(".", 1)[0] for q in (*FUNCTIONS, *METHODS, *ANNOTATIONS) if q not in ("file",) and "." in q
) - {"builtins", "io", "os", "time", "subprocess", "urllib"}
"""Libraries whose objects are typed receivers (function-only modules like ``os`` are not)."""
_FILE_METHODS = frozenset({"read", "readlines", "write"})

def op_names(accept: Callable[[IOOp], bool]) -> frozenset[str] | None:
    """The last parts of the callees whose operation ``accept`` takes, for a rule's
    ``call_names`` screen: every function and method of the catalogue, the guessed ``execute``
    and the Django query methods included. None when a typed *object* is called with such an
    operation (its callee may have any name)."""
    ops: list[tuple[str, IOOp]] = [(name, op) for name, op in FUNCTIONS.items()]
    ops += [(path, op) for methods in METHODS.values() for path, op in methods.items()]
    ops += [(name, op) for name, op in _SQL_GUESS.items()]
    ops += [(name, _q(DB)) for name in DJANGO_QS_IO]
    taken = [name for name, op in ops if accept(op)]
    if "__call__" in taken:
        return None
    return frozenset(name.rpartition(".")[2] for name in taken)


_SQL_RE = re.compile(r"^\s*(?:--[^\n]*\n\s*)*(SELECT|INSERT|UPDATE|DELETE|REPLACE|UPSERT|WITH|MERGE)\b", re.IGNORECASE)
_INSERT_RE = re.compile(r"^\s*(INSERT|REPLACE)\b", re.IGNORECASE)
_SQL_GUESS = {"execute": _q(DB), "executemany": _BATCH_DB}

# -- Django ---------------------------------------------------------------------------------------
DJANGO_QS_IO = frozenset(
    {
        "get", "first", "last", "count", "exists", "create", "get_or_create", "update_or_create",
        "aggregate", "update", "delete", "in_bulk", "bulk_create", "bulk_update", "earliest", "latest",
        "contains", "iterator", "explain",
    }
)  # fmt: skip
DJANGO_QS_LAZY = frozenset(
    {
        "all", "filter", "exclude", "order_by", "values", "values_list", "annotate", "distinct",
        "select_related", "prefetch_related", "only", "defer", "using", "reverse", "none", "alias",
    }
)  # fmt: skip
DJANGO_RELATIONS = {"ForeignKey": "fk", "OneToOneField": "fk", "ManyToManyField": "m2m"}


def sql_text(node: ast.expr | None, ctx: ModuleView | None = None) -> str | None:
    """The literal text of a SQL statement argument (string, f-string head, concatenation, or a
    module-level constant), or None."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        head = node.values[0] if node.values else None
        return head.value if isinstance(head, ast.Constant) and isinstance(head.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return sql_text(node.left, ctx)
    if isinstance(node, ast.Name) and ctx is not None:
        for stmt in ctx.tree.body:
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id == node.id
            ):
                return sql_text(stmt.value, None)
    return None


def is_sql(text: str | None) -> bool:
    return text is not None and _SQL_RE.match(text) is not None


def is_insert(text: str | None) -> bool:
    return text is not None and _INSERT_RE.match(text) is not None and "RETURNING" not in text.upper()


def dotted(node: ast.expr) -> str | None:
    """``self.store.delete`` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def call_label(ctx: IOModule, call: ast.Call) -> str:
    """How a call is shown in a chain: ``cursor.execute``, ``self._delete_memory``."""
    name = dotted(call.func)
    if name is not None:
        return name
    if isinstance(call.func, ast.Attribute):
        inner = call.func.value
        base = dotted(inner.func) if isinstance(inner, ast.Call) else None
        return f"{base or '...'}(...).{call.func.attr}"
    text = ctx.text(call.func)
    return text if len(text) <= 40 else text[:37] + "..."


_Binding = tuple[str, "ast.expr | None"]
"""("=", value) | (":", annotation) | ("?", None) for any other binding."""
_TYPABLE = (ast.Call, ast.Await, ast.Name, ast.Attribute)


@dataclass(frozen=True, slots=True)
class IOCall:
    op: IOOp
    label: str
    qualified: str
    """``sqlite3.Cursor.execute``, ``requests.get``, ``django:objects.get``, ``sql:execute``."""


class IOTypes:
    """Receiver types of one module (lazy, per scope) and the catalogue lookup for calls."""

    def __init__(self, ctx: IOModule) -> None:
        self.ctx = ctx
        self._bindings: dict[ast.AST, dict[str, list[_Binding]]] | None = None
        self._attr_bindings: dict[ast.ClassDef, dict[str, list[_Binding]]] = {}
        self._memo: dict[tuple[ast.AST, str], str] = {}
        self._param_types: dict[ast.AST, dict[str, str]] = {}
        self._class_attrs: dict[ast.ClassDef, dict[str, str]] = {}
        self._inherited: dict[ast.ClassDef, tuple[IOModule, ast.ClassDef]] = {}
        """Classes whose ``self.x`` types another context knows (see :meth:`inherit_class_attrs`)."""
        self._class_of: Callable[[ast.AST], ast.AST | None] = ctx.parent
        self._classes: dict[str, ast.ClassDef] | None = None
        self.imports: ImportMap = ctx.imports
        self.scope_hint: ast.AST | None = None
        """The scope of the expressions being asked about, when the caller knows it (a speed-up)."""
        self._catalog: bool | None = None
        self._whole = True
        self._walked: set[ast.AST] = set()
        self._owners: dict[ast.AST, ast.AST | None] = {}
        self._ops: dict[ast.Call, IOCall | None] = {}
        self._loops: dict[ast.AST, list[ast.AST]] = {}
        self._any_loop: bool | None = None
        self.module = ""
        """Dotted module name (set by the effects summary) used to name project classes."""

    # -- types of expressions ---------------------------------------------------------------------
    def type_of(self, node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return self._name_type(node)
        if isinstance(node, ast.Await):
            return self.type_of(node.value)
        if isinstance(node, ast.Call):
            op = self.op_of(node)
            if op is not None and op.op.returns:
                return op.op.returns
            return self._constructed(node)
        if isinstance(node, ast.Attribute):
            owner = self.type_of(node.value)
            if owner.startswith("@"):
                cls = self.local_class(owner[1:])
                if cls is not None:
                    return self.class_attrs(cls).get(node.attr, UNKNOWN)
            return UNKNOWN
        return UNKNOWN

    def _constructed(self, call: ast.Call) -> str:
        """``Storage(...)`` -> ``@module.Storage`` when it names a project class."""
        func = call.func
        if isinstance(func, ast.Name) and func.id in self.classes():
            return f"@{self.module}.{func.id}"
        qn = self.imports.qualified_name(func)
        if qn is not None and qn.rpartition(".")[2][:1].isupper() and not qn.startswith("builtins."):
            return "@" + qn
        return UNKNOWN

    def classes(self) -> dict[str, ast.ClassDef]:
        if self._classes is None:
            self._classes = {s.name: s for s in self.ctx.tree.body if isinstance(s, ast.ClassDef)}
        return self._classes

    def local_class(self, qualified: str) -> ast.ClassDef | None:
        module, _, name = qualified.rpartition(".")
        if module == self.module:
            return self.classes().get(name)
        return None

    def annotation(self, node: ast.expr | None) -> str:
        if node is None:
            return UNKNOWN
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                node = ast.parse(node.value, mode="eval").body
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return UNKNOWN
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
            left, right = self.annotation(node.left), self.annotation(node.right)
            if _is_none(node.right):
                return left
            if _is_none(node.left):
                return right
            return UNKNOWN
        if isinstance(node, ast.Subscript):
            base = self.imports.qualified_name(node.value)
            if base in ("typing.Optional",):
                return self.annotation(node.slice)
            return UNKNOWN
        if isinstance(node, ast.Name) and node.id in self.classes():
            return f"@{self.module}.{node.id}"
        qn = self.imports.qualified_name(node)
        if qn is None:
            return UNKNOWN
        if qn in ANNOTATIONS:
            return ANNOTATIONS[qn]
        if qn.rpartition(".")[2][:1].isupper() and not qn.startswith(("builtins.", "typing.", "collections.")):
            return "@" + qn
        return UNKNOWN

    def _name_type(self, node: ast.Name) -> str:
        scope: ast.AST | None = self.scope_hint or self.ctx.scope_of(node)
        first = True
        while scope is not None:
            if first or not isinstance(scope, ast.ClassDef):
                found = self.name_in_scope(scope, node.id)
                if found is not None:
                    return found
            first = False
            scope = None if isinstance(scope, ast.Module) else self.ctx.scope_of(scope)
        return UNKNOWN

    # Bindings are collected once per module from the engine's node buckets (no extra tree walk);
    # a name's type is evaluated lazily, on the first question, and memoized. A name is typed only
    # when all its bindings in the scope agree; a cycle (``a = b``, ``b = a``) is unknown.
    def _collect(self, scope: ast.AST | None = None) -> dict[ast.AST, dict[str, list[_Binding]]]:
        ctx = self.ctx
        if self._bindings is None:
            self._bindings = {}
            self._attr_bindings = {}
            self._whole = ctx.links_whole_tree()
            if self._whole:
                self._class_of = ctx.parent
                self._ingest(ctx.nodes, ctx.scope_of, ctx.parent)
        if self._whole:
            return self._bindings
        # An incremental context (one re-parsed block among old statements): the engine's buckets
        # and parent links do not cover the module, so walk what is asked about, one unit at a
        # time: a method of a top-level class, a top-level statement, or the module's own level.
        top, around = self._unit_of(scope) if scope is not None else (ctx.tree, ctx.tree)
        if top is not None and top not in self._walked:
            self._walked.add(top)
            stmts = [top] if top is not ctx.tree else list(ctx.tree.body)
            buckets, scopes, owners = _walk_scopes(
                stmts, ctx.tree, shallow_defs=top is ctx.tree, around=around, skip=self._walked
            )
            self._owners.update(owners)
            self._class_of = self._owners.get
            self._ingest(lambda kind: buckets.get(kind, []), lambda node: scopes.get(node, ctx.tree), self._owners.get)
        return self._bindings

    def _unit_of(self, scope: ast.AST) -> tuple[ast.AST | None, ast.AST]:
        """The unit walked to learn ``scope``'s bindings, and the scope around that unit: the
        method of a top-level class that contains ``scope`` (its bindings are all inside it), else
        the top-level statement, else the module."""
        tree = self.ctx.tree
        if scope is tree:
            return tree, tree
        node, below = scope, scope
        for _ in range(200):
            parent = self.ctx.parent(node)
            if parent is None and not any(node is stmt for stmt in tree.body):
                return None, tree
            if parent is tree or parent is None:
                if isinstance(node, ast.ClassDef) and below is not node and isinstance(below, _DEFS):
                    return below, node
                return node, tree
            below, node = node, parent
        return None, tree

    def _ingest(
        self,
        nodes: Callable[[type], list[Any]],
        scope_of: Callable[[ast.AST], ast.AST],
        class_of: Callable[[ast.AST], ast.AST | None],
    ) -> None:
        assert self._bindings is not None
        bindings = self._bindings
        attrs = self._attr_bindings

        def add(scope: ast.AST, name: str, kind: str, value: ast.expr | None = None) -> None:
            bindings.setdefault(scope, {}).setdefault(name, []).append((kind, value))

        def unknown_names(scope: ast.AST, target: ast.AST) -> None:
            for sub in walk(target):
                if isinstance(sub, ast.Name):
                    add(scope, sub.id, "?")

        def self_attr(node: ast.stmt, target: ast.expr, kind: str, value: ast.expr | None) -> bool:
            """``self.x = ...`` in a method: a binding of the class attribute ``x``."""
            if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
                return False
            fn = scope_of(node)
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) or _is_static(fn):
                return False
            cls = class_of(fn)
            params = [*fn.args.posonlyargs, *fn.args.args]
            if not isinstance(cls, ast.ClassDef) or not params or params[0].arg != target.value.id:
                return False
            attrs.setdefault(cls, {}).setdefault(target.attr, []).append((kind, value))
            return True

        for assign in nodes(ast.Assign):
            scope = scope_of(assign)
            for target in assign.targets:
                if isinstance(target, ast.Name):
                    add(scope, target.id, "=", assign.value)
                elif not self_attr(assign, target, "=", assign.value):
                    for sub in walk(target):
                        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                            add(scope, sub.id, "?")
        for ann in nodes(ast.AnnAssign):
            scope = scope_of(ann)
            if isinstance(ann.target, ast.Name):
                add(scope, ann.target.id, ":", ann.annotation)
                if isinstance(scope, ast.ClassDef):
                    attrs.setdefault(scope, {}).setdefault(ann.target.id, []).append((":", ann.annotation))
            else:
                self_attr(ann, ann.target, ":", ann.annotation)
        for aug in nodes(ast.AugAssign):
            self_attr(aug, aug.target, "?", None)
        for with_kind in (ast.With, ast.AsyncWith):
            for with_node in nodes(with_kind):
                scope = scope_of(with_node)
                for item in with_node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        add(scope, item.optional_vars.id, "=", item.context_expr)
                    elif item.optional_vars is not None:
                        unknown_names(scope, item.optional_vars)
        for loop_kind in (ast.For, ast.AsyncFor, ast.comprehension):
            for loop in nodes(loop_kind):
                unknown_names(scope_of(loop), loop.target)
        for named in nodes(ast.NamedExpr):
            add(scope_of(named), named.target.id, "?")
        for import_kind in (ast.Import, ast.ImportFrom):
            for imp in nodes(import_kind):
                scope = scope_of(imp)
                if not isinstance(scope, ast.Module):
                    for alias in imp.names:
                        add(scope, (alias.asname or alias.name).split(".", 1)[0], "?")
        for def_kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            for definition in nodes(def_kind):
                add(scope_of(definition), definition.name, "?")
        for handler in nodes(ast.ExceptHandler):
            if handler.name:
                add(scope_of(handler), handler.name, "?")
        for decl_kind in (ast.Global, ast.Nonlocal):
            for decl in nodes(decl_kind):
                for name in decl.names:
                    add(scope_of(decl), name, "?")
        for delete in nodes(ast.Delete):
            for target in delete.targets:
                if isinstance(target, ast.Name):
                    add(scope_of(delete), target.id, "?")

    def _params(self, fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> dict[str, str]:
        params = self._param_types.get(fn)
        if params is None:
            params = self._param_types[fn] = {}
            args = fn.args
            positional = [*args.posonlyargs, *args.args]
            self._collect(fn)
            cls = self._class_of(fn) if not isinstance(fn, ast.Lambda) else None
            for i, arg in enumerate((*positional, *args.kwonlyargs)):
                if i == 0 and isinstance(cls, ast.ClassDef) and not _is_static(fn) and positional:
                    params[arg.arg] = f"@{self.module}.{cls.name}"
                else:
                    params[arg.arg] = self.annotation(arg.annotation)
            for extra in (args.vararg, args.kwarg):
                if extra is not None:
                    params[extra.arg] = UNKNOWN
        return params

    def name_in_scope(self, scope: ast.AST, name: str) -> str | None:
        """The type of ``name`` as a local of ``scope``; None when the scope does not bind it."""
        key = (scope, name)
        memo = self._memo.get(key)
        if memo is not None:
            return memo
        bound = self._collect(scope).get(scope, {}).get(name)
        param: str | None = None
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            param = self._params(scope).get(name)
        if bound is None and param is None:
            return None
        self._memo[key] = UNKNOWN  # cycle guard
        result = self._agree(bound or [], param)
        self._memo[key] = result
        return result

    def _agree(self, bound: list[_Binding], first: str | None) -> str:
        result = first
        for kind, value in bound:
            if kind == "=":
                assert value is not None
                t = self.type_of(value) if isinstance(value, _TYPABLE) else UNKNOWN
            elif kind == ":":
                t = self.annotation(value)
            else:
                t = UNKNOWN
            if result is None:
                result = t
            elif result != t:
                return UNKNOWN
            if result == UNKNOWN:
                return UNKNOWN
        return result if result is not None else UNKNOWN

    def scope_types(self, scope: ast.AST) -> dict[str, str]:
        names = set(self._collect(scope).get(scope, {}))
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            names |= set(self._params(scope))
        return {n: self.name_in_scope(scope, n) or UNKNOWN for n in names}

    def class_attrs(self, cls: ast.ClassDef) -> dict[str, str]:
        """Types of ``self.x`` in ``cls``: class-body annotations and ``self.x = ...`` in methods."""
        attrs = self._class_attrs.get(cls)
        if attrs is not None:
            return attrs
        inherited = self._inherited.pop(cls, None)
        if inherited is not None:
            attrs = self._class_attrs[cls] = inherited[0].io.class_attrs(inherited[1])
            return attrs
        attrs = self._class_attrs[cls] = {}  # cycle guard
        self._collect(cls)
        # The values are read in the methods that assign them (``self.x = x`` in ``__init__``), not
        # in the scope a caller is summarizing: the hint would look ``x`` up in the wrong function.
        hint, self.scope_hint = self.scope_hint, None
        try:
            for name, bound in self._attr_bindings.get(cls, {}).items():
                annotated = [b for b in bound if b[0] == ":"]
                # An annotation declares the type; assignments must agree with it or be unknown.
                attrs[name] = self._agree(annotated, None) if annotated else self._agree(bound, None)
        finally:
            self.scope_hint = hint
        return attrs

    def inherit_class_attrs(self, cls: ast.ClassDef, source: IOModule, source_cls: ast.ClassDef) -> None:
        """``cls`` binds exactly the ``self.x`` that ``source_cls`` binds in ``source`` (the same
        class, or one whose edit assigned no attribute): take their types from there, lazily,
        instead of walking every method of ``cls`` again."""
        old = source.built_io
        if old is not None:
            known = old._class_attrs.get(source_cls)
            if known is not None:
                self._class_attrs[cls] = known
                return
            pending = old._inherited.get(source_cls)
            if pending is not None:
                self._inherited[cls] = pending  # never a chain of contexts: point at the one that knows
                return
        self._inherited[cls] = (source, source_cls)

    # -- the catalogue lookup ---------------------------------------------------------------------
    def op_of(self, call: ast.Call) -> IOCall | None:
        """The I/O (or typed-receiver) operation a call performs, or None (memoized per call)."""
        try:
            return self._ops[call]
        except KeyError:
            pass
        found = self._ops[call] = self._op_of(call)
        return found

    def loops(self, node: ast.AST) -> list[ast.AST]:
        """``ctx.loops_around(node)``, memoized (every I/O rule asks about the same calls)."""
        found = self._loops.get(node)
        if found is None:
            found = self._loops[node] = self.ctx.loops_around(node) if self._has_loops() else []
        return found

    def _has_loops(self) -> bool:
        if self._any_loop is None:
            ctx = self.ctx
            # (An incremental context first: it would merge the module's loops only to say yes.)
            self._any_loop = not ctx.links_whole_tree() or any(
                ctx.nodes(kind) for kind in (ast.For, ast.AsyncFor, ast.While, ast.comprehension)
            )
        return self._any_loop

    def _op_of(self, call: ast.Call) -> IOCall | None:
        func = call.func
        qn = self.imports.qualified_name(func)
        if qn is not None:
            op = FUNCTIONS.get(qn)
            if op is not None and not self._shadowed(func):
                return IOCall(op, call_label(self.ctx, call), qn)
        catalog = self.catalog_imported()
        if isinstance(func, ast.Name):
            if not catalog:
                return None
            owner = self._name_type(func)
            op = METHODS.get(owner, {}).get("__call__") if owner != UNKNOWN else None
            return IOCall(op, func.id, f"{owner}()") if op is not None else None
        if not isinstance(func, ast.Attribute):
            return None
        # Peel attributes: client.embeddings.create -> receiver `client`, path `embeddings.create`.
        path = [func.attr]
        base: ast.expr = func.value
        names = METHOD_NAMES if catalog else _FILE_METHODS
        for _ in range(3):
            if (path[0] in names or len(path) > 1) if catalog else (path[0] in names and len(path) == 1):
                owner = self.type_of(base)
                if owner != UNKNOWN:
                    op = METHODS.get(owner, {}).get(".".join(reversed(path)))
                    if op is not None:
                        return IOCall(op, call_label(self.ctx, call), f"{owner}.{'.'.join(reversed(path))}")
                    break
            if not isinstance(base, ast.Attribute):
                break
            path.append(base.attr)
            base = base.value
        if func.attr in _SQL_GUESS and call.args and is_sql(sql_text(call.args[0], self.ctx)):
            return IOCall(_SQL_GUESS[func.attr], call_label(self.ctx, call), f"sql:{func.attr}")
        django = self.django_op(call)
        if django is not None:
            return django
        return None

    def _shadowed(self, func: ast.expr) -> bool:
        """``requests = {}`` somewhere between the call and the module: not the imported module."""
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        scope: ast.AST | None = self.scope_hint or self.ctx.scope_of(root)
        while scope is not None:
            bound = self._collect(scope).get(scope, {}).get(root.id)
            if bound:
                return True
            if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and root.id in self._params(scope):
                return True
            scope = None if isinstance(scope, ast.Module) else self.ctx.scope_of(scope)
        return False

    def catalog_imported(self) -> bool:
        """Whether the module imports any library of the catalogue (else only ``open()`` handles
        and project classes can be typed receivers: a fast path for most modules)."""
        if self._catalog is None:
            aliases: dict[str, str] = getattr(self.imports, "_aliases", {})
            self._catalog = any(target.split(".", 1)[0] in CATALOG_ROOTS for target in aliases.values())
        return self._catalog

    def django_op(self, call: ast.Call) -> IOCall | None:
        """``Model.objects.filter(...).count()``: a Django query (``get``/``count``/... run now)."""
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr not in DJANGO_QS_IO:
            return None
        if not self.is_django_queryset(func.value):
            return None
        return IOCall(_q(DB), call_label(self.ctx, call), f"django:objects.{func.attr}")

    def is_django_queryset(self, node: ast.expr) -> bool:
        """``Model.objects`` or a lazy chain on it (``Model.objects.filter(...).order_by(...)``)."""
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DJANGO_QS_LAZY:
            node = node.func.value
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "objects"
            and isinstance(node.value, ast.Name)
            and node.value.id[:1].isupper()
        )


def django_model_of(node: ast.expr) -> tuple[str, tuple[str, ...]] | None:
    """For ``Book.objects.filter(...).select_related("author")``: ("Book", methods in the chain)."""
    methods: list[str] = []
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DJANGO_QS_LAZY:
        methods.append(node.func.attr)
        node = node.func.value
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "objects"
        and isinstance(node.value, ast.Name)
        and node.value.id[:1].isupper()
        and methods
    ):
        return node.value.id, tuple(methods)
    return None


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _walk_scopes(
    stmts: list[ast.stmt] | list[ast.AST],
    tree: ast.Module,
    *,
    shallow_defs: bool = False,
    around: ast.AST | None = None,
    skip: set[ast.AST] | frozenset[ast.AST] = frozenset(),
) -> tuple[dict[type, list[Any]], dict[ast.AST, ast.AST], dict[ast.AST, ast.AST | None]]:
    """Buckets by type, the scope of every node (as ``ModuleTree.scope_of`` defines it) and the class
    of every method, in one iterative walk of ``stmts`` that needs no parent links.
    ``shallow_defs``: top-level defs and classes are recorded but not entered. ``around``: the
    scope around ``stmts`` (the module by default). ``skip``: units walked before (not again)."""
    buckets: dict[type, list[Any]] = {}
    scopes: dict[ast.AST, ast.AST] = {}
    owners: dict[ast.AST, ast.AST | None] = {}
    start = tree if around is None else around
    stack: list[tuple[ast.AST, ast.AST]] = [(stmt, start) for stmt in reversed(stmts)]
    roots = {id(stmt) for stmt in stmts}
    while stack:
        node, scope = stack.pop()
        if skip and node in skip and id(node) not in roots:
            continue
        scopes[node] = scope
        buckets.setdefault(type(node), []).append(node)
        if shallow_defs and scope is tree and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            owners[node] = scope if isinstance(scope, ast.ClassDef) else None
            outer: list[ast.AST] = [*node.decorator_list, *node.args.defaults]
            outer += [d for d in node.args.kw_defaults if d is not None]
            if node.returns is not None:
                outer.append(node.returns)
            stack.extend((child, scope) for child in reversed(outer))
            stack.extend((child, node) for child in reversed([node.args, *node.body]))
        elif isinstance(node, ast.Lambda):
            stack.extend((d, scope) for d in node.args.defaults)
            stack.extend([(node.args, node), (node.body, node)])
        elif isinstance(node, ast.ClassDef):
            outer = [*node.decorator_list, *node.bases, *node.keywords]
            stack.extend((child, scope) for child in reversed(outer))
            stack.extend((child, node) for child in reversed(node.body))
        else:
            stack.extend((child, scope) for child in reversed(children(node)))
    return buckets, scopes, owners


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_static(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> bool:
    if isinstance(fn, ast.Lambda):
        return True
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)


def attribute_binding_kinds(member: ast.stmt) -> dict[str, frozenset[str]]:
    """What one member of a class contributes to :meth:`IOTypes.class_attrs`, per attribute, as
    ``_ingest`` reads it: ``":"`` an annotation (``x: T`` in the class body, ``self.x: T`` in a
    method), which decides the type; ``"="`` a value whose type may be known (a call, a name,
    an attribute, an await); ``"?"`` a binding of unknown type (any other value, ``self.x +=``),
    which makes the attribute's type unknown as long as it remains and no annotation does.
    Bindings count in a method's own body (not in functions nested in it), of its first
    parameter, unless the method is static."""
    found: dict[str, set[str]] = {}

    def add(name: str, kind: str) -> None:
        found.setdefault(name, set()).add(kind)

    me: str | None = None
    if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
        params = [*member.args.posonlyargs, *member.args.args]
        if _is_static(member) or not params:
            return {}
        me = params[0].arg
        stack: list[ast.AST] = list(member.body)
    else:
        stack = [member]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue  # another scope: its bindings are not this class's (or not this method's)
        if me is None:
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                add(node.target.id, ":")  # the class body's own annotation
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if _attribute_of(target, me):
                    add(target.attr, "=" if isinstance(node.value, _TYPABLE) else "?")
        elif isinstance(node, ast.AnnAssign) and _attribute_of(node.target, me):
            add(node.target.attr, ":")
        elif isinstance(node, ast.AugAssign) and _attribute_of(node.target, me):
            add(node.target.attr, "?")
        stack.extend(children(node))
    return {name: frozenset(kinds) for name, kinds in found.items()}


def _attribute_of(target: ast.AST, name: str) -> TypeGuard[ast.Attribute]:
    """``target`` is ``name.attr`` (an attribute of that name, nothing deeper)."""
    return isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == name
