"""SQLite-backed persistence for memories (stdlib :mod:`sqlite3` only)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SCHEMA = """
CREATE TABLE IF NOT EXISTS memories (
    id      INTEGER PRIMARY KEY,
    kind    TEXT    NOT NULL,
    content TEXT    NOT NULL,
    score   REAL    NOT NULL DEFAULT 0.0
)
"""

_SELECT_COLUMNS = "SELECT id, kind, content, score FROM memories"

# Stay well below SQLITE_MAX_VARIABLE_NUMBER (999 on old SQLite builds).
_IN_CHUNK = 500


@dataclass(frozen=True)
class Memory:
    """One stored memory."""

    id: int
    kind: str
    content: str
    score: float = 0.0


@dataclass
class MemoryStore:
    """A connection plus an in-process cache of recently used memories."""

    conn: sqlite3.Connection
    hot: dict[int, Memory] = field(default_factory=dict)

    def close(self) -> None:
        self.conn.close()


def connect(path: str = ":memory:") -> sqlite3.Connection:
    """Open (or create) a memory database at ``path`` and ensure the schema."""
    conn = sqlite3.connect(path)
    conn.execute(SCHEMA)
    conn.commit()
    return conn


def open_store(path: str = ":memory:") -> MemoryStore:
    """Convenience wrapper returning a :class:`MemoryStore` for ``path``."""
    return MemoryStore(connect(path))


def _row_to_memory(row: tuple[int, str, str, float]) -> Memory:
    return Memory(id=row[0], kind=row[1], content=row[2], score=row[3])


def save_memories(conn: sqlite3.Connection, rows: Iterable[Memory]) -> int:
    """Insert (or replace) ``rows`` and commit; returns the number written."""
    written = 0
    for mem in rows:
        conn.execute(
            "INSERT OR REPLACE INTO memories (id, kind, content, score) "
            "VALUES (?, ?, ?, ?)",
            (mem.id, mem.kind, mem.content, mem.score),
        )
        written += 1
    conn.commit()
    return written


def fetch_memories(conn: sqlite3.Connection, ids: Sequence[int]) -> list[Memory]:
    """Return the memories with the given ``ids``, in ``ids`` order.

    Unknown ids are skipped; duplicated ids yield duplicated results.
    """
    cur = conn.cursor()
    found: list[Memory] = []
    for memory_id in ids:
        cur.execute(
            "SELECT id, kind, content, score FROM memories WHERE id = ?", (memory_id,)
        )
        row = cur.fetchone()
        if row is not None:
            found.append(_row_to_memory(row))
    return found


def _load_one(conn: sqlite3.Connection, memory_id: int) -> Memory | None:
    row = conn.execute(
        "SELECT id, kind, content, score FROM memories WHERE id = ?", (memory_id,)
    ).fetchone()
    return None if row is None else _row_to_memory(row)


def refresh(store: MemoryStore, ids: Iterable[int]) -> int:
    """Reload ``ids`` from the database into ``store.hot``.

    Returns how many of the ids were found.
    """
    loaded = 0
    for memory_id in ids:
        mem = _load_one(store.conn, memory_id)
        if mem is not None:
            store.hot[mem.id] = mem
            loaded += 1
    return loaded


def load_memory(conn: sqlite3.Connection, memory_id: int) -> Memory | None:
    """The memory with id ``memory_id``, or None."""
    cursor = conn.cursor()
    cursor.execute(_SELECT_COLUMNS + " WHERE id = ?", (memory_id,))
    row = cursor.fetchone()
    return None if row is None else _row_to_memory(row)


def delete_memory(conn: sqlite3.Connection, memory_id: int) -> int:
    """Delete one memory; returns how many rows went (0 or 1). Does not commit."""
    cursor = conn.cursor()
    cursor.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
    return cursor.rowcount


def count_memories(conn: sqlite3.Connection) -> int:
    """Number of rows in the ``memories`` table."""
    (n,) = conn.execute("SELECT COUNT(*) FROM memories").fetchone()
    return int(n)


# ---------------------------------------------------------------------------
# Reference "after" versions: batched equivalents of the functions above.
# They return exactly the same results and are used by the tests to check
# that the row-at-a-time versions and the batched ones agree.
# ---------------------------------------------------------------------------


def fetch_memories_batched(
    conn: sqlite3.Connection, ids: Sequence[int]
) -> list[Memory]:
    """REFERENCE (batched) version of :func:`fetch_memories`.

    Uses ``WHERE id IN (...)`` in chunks and returns the memories in ``ids``
    order, skipping unknown ids and repeating duplicated ones.
    """
    unique = list(dict.fromkeys(ids))
    by_id: dict[int, Memory] = {}
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        placeholders = ", ".join("?" * len(chunk))
        rows = conn.execute(_SELECT_COLUMNS + f" WHERE id IN ({placeholders})", chunk)
        for row in rows:
            mem = _row_to_memory(row)
            by_id[mem.id] = mem
    return [by_id[i] for i in ids if i in by_id]


def save_memories_batched(conn: sqlite3.Connection, rows: Iterable[Memory]) -> int:
    """REFERENCE (batched) version of :func:`save_memories` using ``executemany``."""
    params = [(m.id, m.kind, m.content, m.score) for m in rows]
    conn.executemany(
        "INSERT OR REPLACE INTO memories (id, kind, content, score) "
        "VALUES (?, ?, ?, ?)",
        params,
    )
    conn.commit()
    return len(params)


def refresh_batched(store: MemoryStore, ids: Iterable[int]) -> int:
    """REFERENCE (batched) version of :func:`refresh`: one ``IN (...)`` query per chunk."""
    wanted = list(ids)
    found = fetch_memories_batched(store.conn, wanted)
    for mem in found:
        store.hot[mem.id] = mem
    return len(found)


def delete_memories_batched(conn: sqlite3.Connection, ids: Iterable[int]) -> int:
    """REFERENCE (batched) deletion: ``DELETE ... WHERE id IN (...)`` per chunk. Does not commit."""
    unique = list(dict.fromkeys(ids))
    deleted = 0
    for start in range(0, len(unique), _IN_CHUNK):
        chunk = unique[start : start + _IN_CHUNK]
        placeholders = ", ".join("?" * len(chunk))
        deleted += conn.execute(f"DELETE FROM memories WHERE id IN ({placeholders})", chunk).rowcount
    return deleted
