"""An agent's recall and housekeeping, built on :mod:`memoria.store`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from memoria import store


class Agent:
    """Recalls memories by id and forgets the ones it no longer needs."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _recall_memory(self, memory_id: int) -> store.Memory | None:
        return store.load_memory(self.conn, memory_id)

    def recall(self, ids: Iterable[int]) -> list[store.Memory]:
        """The memories with ``ids``, in ``ids`` order (unknown ids skipped).

        Seeded problem (IO, interprocedural N+1): one SELECT per id, two calls
        away from the loop (``recall -> _recall_memory -> store.load_memory``).
        """
        found: list[store.Memory] = []
        for memory_id in ids:
            mem = self._recall_memory(memory_id)
            if mem is not None:
                found.append(mem)
        return found

    def recall_batched(self, ids: Iterable[int]) -> list[store.Memory]:
        """REFERENCE (batched) version of :meth:`recall`."""
        return store.fetch_memories_batched(self.conn, list(ids))

    def _delete_memory(self, memory_id: int) -> int:
        return store.delete_memory(self.conn, memory_id)

    def forget(self, ids: Iterable[int]) -> int:
        """Delete ``ids`` and commit; returns how many memories were deleted.

        Seeded problem (IO, interprocedural N+1): one DELETE per id, two calls
        away from the loop (``forget -> _delete_memory -> store.delete_memory``).
        """
        deleted = 0
        for memory_id in ids:
            deleted += self._delete_memory(memory_id)
        self.conn.commit()
        return deleted

    def forget_batched(self, ids: Iterable[int]) -> int:
        """REFERENCE (batched) version of :meth:`forget`."""
        deleted = store.delete_memories_batched(self.conn, ids)
        self.conn.commit()
        return deleted
