"""Behaviour of the agent's housekeeping, and of the batched reference versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from memoria import agent, store


def _fill(conn: sqlite3.Connection, n: int) -> None:
    store.save_memories_batched(conn, [store.Memory(i, "episodic", f"memory {i}", i / 10) for i in range(1, n + 1)])


@pytest.mark.parametrize("ids", [[], [3], [5, 999, 5, 1], list(range(40, 0, -1)), list(range(-3, 1300))])
def test_forget_and_batched_agree(tmp_path: Path, ids: list[int]) -> None:
    a = store.connect(str(tmp_path / "a.db"))
    b = store.connect(str(tmp_path / "b.db"))
    try:
        _fill(a, 1200)
        _fill(b, 1200)
        assert agent.Agent(a).forget(ids) == agent.Agent(b).forget_batched(ids)
        assert store.count_memories(a) == store.count_memories(b)
        remaining = list(range(1, 1201))
        assert store.fetch_memories(a, remaining) == store.fetch_memories(b, remaining)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("ids", [[], [3], [5, 999, 5, 1], list(range(40, 0, -1)), list(range(-3, 1300))])
def test_recall_and_batched_agree(tmp_path: Path, ids: list[int]) -> None:
    conn = store.connect(str(tmp_path / "r.db"))
    try:
        _fill(conn, 1200)
        a = agent.Agent(conn)
        got = a.recall(ids)
        assert got == a.recall_batched(ids)
        assert [m.id for m in got] == [i for i in ids if 1 <= i <= 1200]
    finally:
        conn.close()


def test_forget_counts_and_commits(tmp_path: Path) -> None:
    path = str(tmp_path / "m.db")
    conn = store.connect(path)
    _fill(conn, 10)
    assert agent.Agent(conn).forget([2, 4, 4, 99]) == 2
    conn.close()
    again = store.connect(path)
    try:
        assert store.count_memories(again) == 8
    finally:
        again.close()


def test_refresh_batched_matches_refresh(tmp_path: Path) -> None:
    conn = store.connect(str(tmp_path / "r.db"))
    try:
        _fill(conn, 30)
        one, two = store.MemoryStore(conn), store.MemoryStore(conn)
        ids = [3, 4, 404, 3, 30]
        assert store.refresh(one, ids) == store.refresh_batched(two, ids)
        assert one.hot == two.hot
    finally:
        conn.close()
