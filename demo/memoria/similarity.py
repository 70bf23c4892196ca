"""Pure-Python vector maths used to cluster memories by embedding."""

from __future__ import annotations

import math
import random


def make_vectors(
    n: int = 400, dim: int = 384, seed: int = 0, clusters: int = 8, noise: float = 0.6
) -> list[list[float]]:
    """Generate ``n`` deterministic pseudo-embeddings of dimension ``dim``.

    Vectors are drawn around ``clusters`` random centres (vector ``i`` belongs
    to centre ``i % clusters``) so that :func:`group_similar` has real groups
    to find.  The same arguments always give the same vectors.
    """
    rng = random.Random(seed)
    k = max(1, clusters)
    centres = [[rng.gauss(0.0, 1.0) for _ in range(dim)] for _ in range(k)]
    return [[c + rng.gauss(0.0, noise) for c in centres[i % k]] for i in range(n)]


def norm(a: list[float]) -> float:
    """Euclidean length of ``a``."""
    return math.sqrt(sum(x * x for x in a))


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of ``a`` and ``b`` (0.0 if either is a zero vector)."""
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    if na == 0.0 or nb == 0.0:
        return 0.0
    return dot / (na * nb)


def group_similar(vectors: list[list[float]], threshold: float) -> list[list[int]]:
    """Cluster vector indices whose cosine similarity is at least ``threshold``.

    Similarity is treated as transitive (single-link clustering).  Each group
    is sorted, and groups are ordered by their smallest index.
    """
    n = len(vectors)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(n):
            if i != j and cosine(vectors[i], vectors[j]) >= threshold:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)

    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


MEMORY_COUNT = 400
EMBED_DIM = 384


def similarity_matrix(vectors: list[list[float]]) -> list[list[float]]:
    """All-pairs cosine similarities: ``matrix[i][j] == cosine(vectors[i], vectors[j])``."""
    n = len(vectors)
    matrix = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            matrix[i][j] = cosine(vectors[i], vectors[j])
    return matrix


def consolidate(vectors: list[list[float]], threshold: float = 0.5) -> list[list[int]]:
    """Merge near-duplicate memories: the all-pairs grouping agent-memory stores run.

    Every pair ``i < j`` whose cosine similarity is at least ``threshold`` is
    linked (single-link, like :func:`group_similar`); returns the groups of
    indices, each sorted, ordered by their smallest index.
    """
    n = len(vectors)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if cosine(vectors[i], vectors[j]) >= threshold:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)

    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def consolidate_memories(
    n: int = MEMORY_COUNT, dim: int = EMBED_DIM, threshold: float = 0.5, seed: int = 0
) -> list[list[int]]:
    """Consolidate ``n`` pseudo-embeddings of ``dim`` floats (400 x 384 by default)."""
    return consolidate(make_vectors(n=n, dim=dim, seed=seed), threshold)
