"""Toy text embeddings and the caches around them."""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import random
from collections import OrderedDict

EMBED_DIM = 64

# Every embedding produced is kept here, tagged with the request that made it,
# so that recent requests can be inspected when debugging.
_EMBED_CACHE: dict[tuple[int, str], list[float]] = {}
_request_ids = itertools.count()


def _compute_embedding(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    vec = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    length = math.sqrt(sum(x * x for x in vec)) or 1.0
    return [x / length for x in vec]


def embed(text: str, dim: int = EMBED_DIM) -> list[float]:
    """Return a deterministic unit-length pseudo-embedding of ``text``."""
    request_id = next(_request_ids)
    vec = _compute_embedding(text, dim)
    _EMBED_CACHE[(request_id, text)] = vec
    return list(vec)


def cache_size() -> int:
    """Number of entries currently held by the module-level embedding cache."""
    return len(_EMBED_CACHE)


class Embedder:
    """Object-oriented front end that memoises embeddings per text."""

    def __init__(self, dim: int = EMBED_DIM) -> None:
        self.dim = dim

    @functools.lru_cache(maxsize=None)
    def embed(self, text: str) -> tuple[float, ...]:
        """Deterministic unit-length embedding of ``text`` (memoised)."""
        return tuple(_compute_embedding(text, self.dim))


class BoundedEmbedCache:
    """REFERENCE bounded alternative: an LRU cache keyed by text only.

    Holds at most ``maxsize`` embeddings, evicting the least recently used,
    and is owned by the instance (so it is freed together with it).
    """

    def __init__(self, maxsize: int = 1024, dim: int = EMBED_DIM) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.maxsize = maxsize
        self.dim = dim
        self._data: OrderedDict[str, tuple[float, ...]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._data)

    def embed(self, text: str) -> list[float]:
        """Same result as :func:`embed`, with bounded memory."""
        vec = self._data.get(text)
        if vec is None:
            vec = tuple(_compute_embedding(text, self.dim))
            self._data[text] = vec
            if len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        else:
            self._data.move_to_end(text)
        return list(vec)
