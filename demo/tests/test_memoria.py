"""Behavioural tests for the memoria demo library."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import run as demo_run
from memoria import cache, io_wait, similarity, store, text

# --------------------------------------------------------------------------
# text
# --------------------------------------------------------------------------


def test_tokenize() -> None:
    assert text.tokenize("The user's cat, aged 3!") == [
        "The",
        "user's",
        "cat",
        "aged",
        "3",
    ]
    assert text.tokenize("") == []


def test_normalize_tokens() -> None:
    tokens = ["The", "Agent", "is", "a", "x", "Remembers", "TEA", "of"]
    assert text.normalize_tokens(tokens) == ["agent", "remembers", "tea"]
    assert text.normalize_tokens([]) == []
    assert text.normalize_tokens(["the", "A", "I"]) == []


def test_unique_tokens() -> None:
    assert text.unique_tokens(["Tea", "tea", "TEA", "coffee"]) == {"tea", "coffee"}
    assert text.unique_tokens([]) == set()


def test_index_by_id() -> None:
    records = [(1, "a"), (2, "b"), (1, "c")]
    index = text.index_by_id(records)
    assert index == {1: "c", 2: "b"}
    assert list(index) == [1, 2]
    assert text.index_by_id([]) == {}


def test_render_transcript() -> None:
    assert text.render_transcript(["hi", "there"]) == "hi\nthere\n"
    assert text.render_transcript(["", "x"]) == "\nx\n"
    assert text.render_transcript([]) == ""


def test_total_length() -> None:
    assert text.total_length(["ab", "", "cde"]) == 5
    assert text.total_length([]) == 0
    assert isinstance(text.total_length([]), int)


def test_has_stop_word() -> None:
    assert text.has_stop_word(["agent", "the", "tea"]) is True
    assert text.has_stop_word(["agent", "tea"]) is False
    assert text.has_stop_word(["The"]) is False  # case-sensitive
    assert text.has_stop_word([]) is False


def test_longest_token() -> None:
    assert text.longest_token(["ab", "abcd", "wxyz", "a"]) == "abcd"  # first wins
    assert text.longest_token(["", ""]) == ""
    assert text.longest_token([]) == ""


def test_count_words() -> None:
    counts = text.count_words(["b", "a", "b", "c", "b", "a"])
    assert counts == {"b": 3, "a": 2, "c": 1}
    assert list(counts) == ["b", "a", "c"]
    assert text.count_words([]) == {}


def test_group_by_initial() -> None:
    groups = text.group_by_initial(["apple", "Avocado", "banana", "", "apricot"])
    assert groups == {"a": ["apple", "Avocado", "apricot"], "b": ["banana"], "": [""]}
    assert list(groups) == ["a", "b", ""]
    assert text.group_by_initial([]) == {}


def test_heaviest_key() -> None:
    assert text.heaviest_key({"a": 1, "b": 5, "c": 5, "d": -2}) == "b"
    assert text.heaviest_key({"only": -7}) == "only"
    assert text.heaviest_key({"x": -3, "y": -1}) == "y"
    assert text.heaviest_key({}) is None


def test_resolve_kind() -> None:
    registry = {"episodic": 1, "semantic": 2}
    assert text.resolve_kind("semantic", registry) == 2
    assert text.resolve_kind("missing", registry) == 0
    assert text.resolve_kind("x", {}) == 0


def test_score_range() -> None:
    assert text.score_range([0.5, -1.0, 3.25, 0.0]) == (-1.0, 3.25)
    assert text.score_range([2.0]) == (2.0, 2.0)
    assert text.score_range([]) is None


def test_clean_lines() -> None:
    assert text.clean_lines(["  hi ", "", "   ", "\tthere\n"]) == ["hi", "there"]
    assert text.clean_lines([]) == []


def test_fingerprint() -> None:
    assert text.fingerprint("memoria") == text.fingerprint("memoria")
    assert text.fingerprint("memoria") != text.fingerprint("memorib")
    assert text.fingerprint("abc", rounds=1) != text.fingerprint("abc", rounds=2)
    assert text.fingerprint("", rounds=0) == 0xCBF29CE484222325
    assert 0 <= text.fingerprint("x" * 100) < 2**64
    # Pinned value: must not change across runs or refactorings.
    assert text.fingerprint("memoria", rounds=2) == _expected_fingerprint("memoria", 2)


def _expected_fingerprint(s: str, rounds: int) -> int:
    h = 0xCBF29CE484222325
    for i in range(rounds):
        for ch in s:
            h = ((h ^ ord(ch)) * 0x100000001B3) % 2**64
        h ^= i
    return h


# --------------------------------------------------------------------------
# store
# --------------------------------------------------------------------------


def _rows(n: int) -> list[store.Memory]:
    kinds = ("episodic", "semantic")
    return [
        store.Memory(i, kinds[i % 2], f"memory {i}", i / 10) for i in range(1, n + 1)
    ]


@pytest.fixture()
def conn() -> Iterator[sqlite3.Connection]:
    c = store.connect()
    store.save_memories(c, _rows(30))
    yield c
    c.close()


def test_save_memories_counts_and_replaces(conn: sqlite3.Connection) -> None:
    assert store.count_memories(conn) == 30
    n = store.save_memories(conn, [store.Memory(1, "semantic", "updated", 9.0)])
    assert n == 1
    assert store.count_memories(conn) == 30
    assert store.fetch_memories(conn, [1]) == [
        store.Memory(1, "semantic", "updated", 9.0)
    ]
    assert store.save_memories(conn, []) == 0


def test_save_memories_batched_matches(tmp_path: Path) -> None:
    a = store.connect(str(tmp_path / "a.db"))
    b = store.connect(str(tmp_path / "b.db"))
    try:
        assert store.save_memories(a, _rows(12)) == 12
        assert store.save_memories_batched(b, iter(_rows(12))) == 12
        ids = list(range(1, 13))
        assert store.fetch_memories(a, ids) == store.fetch_memories(b, ids)
    finally:
        a.close()
        b.close()


def test_fetch_memories_order_missing_duplicates(conn: sqlite3.Connection) -> None:
    got = store.fetch_memories(conn, [5, 999, 2, 5])
    assert [m.id for m in got] == [5, 2, 5]
    assert got[1] == store.Memory(2, "episodic", "memory 2", 0.2)
    assert store.fetch_memories(conn, []) == []


@pytest.mark.parametrize(
    "ids",
    [[], [3], [7, 1, 30, 999, 7], list(range(30, 0, -1)), list(range(-5, 1200))],
)
def test_fetch_memories_batched_matches(
    conn: sqlite3.Connection, ids: list[int]
) -> None:
    assert store.fetch_memories_batched(conn, ids) == store.fetch_memories(conn, ids)


def test_refresh_loads_into_hot_cache(conn: sqlite3.Connection) -> None:
    s = store.MemoryStore(conn)
    assert store.refresh(s, [3, 4, 404, 3]) == 3
    assert sorted(s.hot) == [3, 4]
    assert s.hot[4] == store.Memory(4, "episodic", "memory 4", 0.4)
    assert store.refresh(s, []) == 0


def test_open_store_is_empty() -> None:
    s = store.open_store()
    try:
        assert store.count_memories(s.conn) == 0
        assert s.hot == {}
    finally:
        s.close()


# --------------------------------------------------------------------------
# similarity
# --------------------------------------------------------------------------


def test_cosine_basic() -> None:
    assert similarity.cosine([1.0, 0.0], [0.0, 1.0]) == 0.0
    assert similarity.cosine([1.0, 2.0], [2.0, 4.0]) == pytest.approx(1.0)
    assert similarity.cosine([1.0, 2.0], [-1.0, -2.0]) == pytest.approx(-1.0)
    assert similarity.cosine([0.0, 0.0], [1.0, 1.0]) == 0.0
    assert similarity.cosine([], []) == 0.0


def test_norm() -> None:
    assert similarity.norm([3.0, 4.0]) == 5.0
    assert similarity.norm([]) == 0.0


def test_make_vectors_deterministic() -> None:
    a = similarity.make_vectors(n=5, dim=7, seed=3)
    b = similarity.make_vectors(n=5, dim=7, seed=3)
    assert a == b
    assert len(a) == 5 and all(len(v) == 7 for v in a)
    assert similarity.make_vectors(n=5, dim=7, seed=4) != a
    assert similarity.make_vectors(n=0) == []


def test_group_similar_clusters() -> None:
    vectors = similarity.make_vectors(n=24, dim=32, seed=0, clusters=3, noise=0.3)
    groups = similarity.group_similar(vectors, 0.6)
    assert groups == [list(range(c, 24, 3)) for c in range(3)]


def test_group_similar_edges() -> None:
    assert similarity.group_similar([], 0.5) == []
    assert similarity.group_similar([[1.0, 0.0]], 0.5) == [[0]]
    vectors = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.1], [0.1, 1.0]]
    assert similarity.group_similar(vectors, 0.9) == [[0, 2], [1, 3]]
    assert similarity.group_similar(vectors, -1.0) == [[0, 1, 2, 3]]
    assert similarity.group_similar(vectors, 1.1) == [[0], [1], [2], [3]]


def test_group_similar_transitive() -> None:
    # 0~1 and 1~2 are similar, 0~2 is not: single-link puts all three together.
    vectors = [
        [1.0, 0.0],
        [math.cos(0.5), math.sin(0.5)],
        [math.cos(1.0), math.sin(1.0)],
    ]
    assert similarity.group_similar(vectors, math.cos(0.6)) == [[0, 1, 2]]


def test_similarity_matrix() -> None:
    vectors = [[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [0.0, 0.0]]
    matrix = similarity.similarity_matrix(vectors)
    assert len(matrix) == 4 and all(len(row) == 4 for row in matrix)
    for i, u in enumerate(vectors):
        for j, v in enumerate(vectors):
            assert matrix[i][j] == similarity.cosine(u, v)
    assert matrix[0][2] == pytest.approx(math.sqrt(0.5))
    assert similarity.similarity_matrix([]) == []


def test_consolidate_matches_group_similar() -> None:
    vectors = similarity.make_vectors(n=30, dim=16, seed=2, clusters=4, noise=0.5)
    for threshold in (-1.0, 0.3, 0.6, 0.9, 1.1):
        assert similarity.consolidate(vectors, threshold) == similarity.group_similar(vectors, threshold)
    assert similarity.consolidate([]) == []
    groups = similarity.consolidate_memories(n=24, dim=32, threshold=0.6)
    assert sorted(i for g in groups for i in g) == list(range(24))


# --------------------------------------------------------------------------
# cache
# --------------------------------------------------------------------------


def test_embed_deterministic_unit_length() -> None:
    v1 = cache.embed("hello")
    v2 = cache.embed("hello")
    assert v1 == v2
    assert len(v1) == cache.EMBED_DIM
    assert math.fsum(x * x for x in v1) == pytest.approx(1.0)
    assert cache.embed("hello") != cache.embed("world")
    assert len(cache.embed("", dim=8)) == 8


def test_embed_returns_fresh_list() -> None:
    v = cache.embed("mutate me")
    v[0] = 42.0
    assert cache.embed("mutate me")[0] != 42.0


def test_embedder_matches_embed() -> None:
    e = cache.Embedder()
    assert list(e.embed("hello")) == cache.embed("hello")
    assert e.embed("hello") is e.embed("hello")
    assert len(cache.Embedder(dim=5).embed("hello")) == 5


def test_bounded_cache_matches_and_evicts() -> None:
    c = cache.BoundedEmbedCache(maxsize=2)
    assert c.embed("a") == cache.embed("a")
    c.embed("b")
    c.embed("a")  # "a" becomes most recently used
    c.embed("c")  # evicts "b"
    assert len(c) == 2
    assert c.embed("b") == cache.embed("b")
    assert len(c) == 2
    with pytest.raises(ValueError):
        cache.BoundedEmbedCache(maxsize=0)


# --------------------------------------------------------------------------
# io_wait
# --------------------------------------------------------------------------


def test_sync_remote() -> None:
    assert io_wait.sync_remote(5, latency=0.0) == [0, 1, 2, 3, 4]
    assert io_wait.sync_remote(0, latency=0.0) == []


# --------------------------------------------------------------------------
# run.py (workload helpers, small sizes)
# --------------------------------------------------------------------------


def test_run_module_helpers() -> None:
    corpus = demo_run.make_corpus(20, seed=0)
    assert corpus == demo_run.make_corpus(20, seed=0)
    stats = demo_run.run_text(corpus)
    assert stats["kind_codes"] == [1, 2, 3, 4, 0]
    assert stats["index_size"] == 20
    store_stats = demo_run.run_store(corpus, n_rows=50, n_fetch=20)
    assert store_stats["rows"] == 50
    assert store_stats["fetched"] == 20
    assert store_stats["refreshed"] == 10
    span = store_stats["score_range"]
    assert isinstance(span, tuple)
    assert 0.0 <= span[0] <= span[1] <= 1.0
    assert demo_run.run_similarity(12) == demo_run.run_similarity(12)
    assert demo_run.parse_args(["--vectors", "7"]).vectors == 7
