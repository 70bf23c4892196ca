"""Workload entry point for the memoria demo: ``python demo/run.py``.

Runs every part of the library on deterministic data and prints a short
summary with per-phase timings.  Importing this module only puts its own
directory on ``sys.path`` (so ``memoria`` resolves from any working directory).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from memoria import cache, io_wait, similarity, store, text

T = TypeVar("T")

_VOCABULARY_TEXT = """
    the agent remembers a user prefers short answers and tea over coffee
    meeting moved to Tuesday project deadline is in March call Alice about
    budget of travel plan Paris hotel booked for three nights reminder renew
    passport it with notes
    """
VOCABULARY: tuple[str, ...] = tuple(_VOCABULARY_TEXT.split())
KINDS: tuple[str, ...] = ("episodic", "semantic", "procedural", "preference")
THRESHOLDS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)


def make_corpus(n_docs: int = 300, seed: int = 0) -> list[str]:
    """Deterministic corpus of short memory texts built from ``VOCABULARY``."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choices(VOCABULARY, k=rng.randint(4, 16))) for _ in range(n_docs)
    ]


def make_rows(n_rows: int, corpus: Sequence[str], seed: int = 0) -> list[store.Memory]:
    """Deterministic memories with ids ``1..n_rows``."""
    rng = random.Random(seed)
    return [
        store.Memory(
            id=i,
            kind=rng.choice(KINDS),
            content=corpus[i % len(corpus)],
            score=round(rng.random(), 4),
        )
        for i in range(1, n_rows + 1)
    ]


def _timed(label: str, timings: dict[str, float], fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = fn()
    timings[label] = time.perf_counter() - start
    return result


def run_text(corpus: list[str]) -> dict[str, object]:
    """Exercise the text helpers over ``corpus``."""
    all_tokens: list[str] = []
    for doc in corpus:
        all_tokens.extend(text.normalize_tokens(text.tokenize(doc)))
    counts = text.count_words(all_tokens)
    registry = {kind: code for code, kind in enumerate(KINDS, start=1)}
    return {
        "tokens": len(all_tokens),
        "unique": len(text.unique_tokens(all_tokens)),
        "top_word": text.heaviest_key(counts),
        "groups": len(text.group_by_initial(all_tokens)),
        "chars": text.total_length(corpus),
        "transcript_chars": len(text.render_transcript(text.clean_lines(corpus))),
        "with_stop_words": sum(
            text.has_stop_word(doc.lower().split()) for doc in corpus
        ),
        "longest": text.longest_token(all_tokens),
        "index_size": len(text.index_by_id(list(enumerate(corpus)))),
        "kind_codes": [text.resolve_kind(k, registry) for k in (*KINDS, "unknown")],
        "fingerprint": text.fingerprint(corpus[0]) if corpus else 0,
    }


def run_store(
    corpus: list[str], n_rows: int = 2000, n_fetch: int = 1000
) -> dict[str, object]:
    """Save ``n_rows`` memories row by row, then fetch and refresh ``n_fetch`` ids."""
    mem_store = store.open_store()
    try:
        rows = make_rows(n_rows, corpus)
        store.save_memories(mem_store.conn, rows)
        rng = random.Random(1)
        ids = rng.sample(range(1, n_rows + 1), min(n_fetch, n_rows))
        fetched = store.fetch_memories(mem_store.conn, ids)
        refreshed = store.refresh(mem_store, ids[: len(ids) // 2])
        span = text.score_range([m.score for m in fetched])
        return {
            "rows": store.count_memories(mem_store.conn),
            "fetched": len(fetched),
            "refreshed": refreshed,
            "score_range": span,
        }
    finally:
        mem_store.close()


def run_similarity(n_vectors: int) -> dict[float, int]:
    """Group ``n_vectors`` vectors at several thresholds; returns group counts."""
    vectors = similarity.make_vectors(n=n_vectors, dim=384, seed=0)
    return {t: len(similarity.group_similar(vectors, t)) for t in THRESHOLDS}


def run_embed(corpus: list[str], n_calls: int = 400) -> dict[str, int]:
    """Embed ``n_calls`` texts through the module-level and class caches."""
    embedder = cache.Embedder()
    for i in range(n_calls):
        doc = corpus[i % len(corpus)]
        cache.embed(doc)
        embedder.embed(doc)
    return {"calls": n_calls, "module_cache_entries": cache.cache_size()}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the memoria demo workload.")
    parser.add_argument(
        "--vectors",
        type=int,
        default=120,
        help="number of vectors to group (default: 120)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    timings: dict[str, float] = {}
    total_start = time.perf_counter()

    corpus = make_corpus()
    text_stats = _timed("text", timings, lambda: run_text(corpus))
    store_stats = _timed("store", timings, lambda: run_store(corpus))
    groups = _timed("similarity", timings, lambda: run_similarity(args.vectors))
    synced = _timed("io_wait", timings, lambda: io_wait.sync_remote())
    embed_stats = _timed("embed", timings, lambda: run_embed(corpus))
    total = time.perf_counter() - total_start

    print("memoria demo workload")
    print(
        f"  text       tokens={text_stats['tokens']} unique={text_stats['unique']} "
        f"top={text_stats['top_word']!r}"
    )
    print(
        f"  store      rows={store_stats['rows']} fetched={store_stats['fetched']} "
        f"refreshed={store_stats['refreshed']}"
    )
    print(
        f"  similarity vectors={args.vectors} groups_by_threshold="
        + ", ".join(f"{t}:{g}" for t, g in groups.items())
    )
    print(f"  io_wait    synced={len(synced)}")
    print(
        f"  embed      calls={embed_stats['calls']} "
        f"module_cache_entries={embed_stats['module_cache_entries']}"
    )
    print(
        "timings (s): "
        + ", ".join(f"{k}={v:.3f}" for k, v in timings.items())
        + f", total={total:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
