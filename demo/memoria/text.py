"""Text helpers: tokenising, normalising, indexing and summarising memories."""

from __future__ import annotations

import re

_STOP_WORDS_TEXT = (
    "a an and are as at be by for from in is it of on or that the to was with"
)
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

_WORD_RE = re.compile(r"[A-Za-z0-9']+")

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = 0xFFFFFFFFFFFFFFFF


def tokenize(text: str) -> list[str]:
    """Split ``text`` into raw word tokens (letters, digits and apostrophes)."""
    return _WORD_RE.findall(text)


def normalize_tokens(tokens: list[str]) -> list[str]:
    """Lower-case ``tokens``, dropping stop words and one-character tokens."""
    result = []
    for tok in tokens:
        if len(tok) > 1 and tok.lower() not in STOP_WORDS:
            result.append(tok.lower())
    return result


def unique_tokens(tokens: list[str]) -> set[str]:
    """Return the set of distinct lower-cased tokens."""
    seen = set()
    for tok in tokens:
        seen.add(tok.lower())
    return seen


def index_by_id(records: list[tuple[int, str]]) -> dict[int, str]:
    """Map memory id to its text; later duplicates win."""
    index = {}
    for memory_id, content in records:
        index[memory_id] = content
    return index


def render_transcript(lines: list[str]) -> str:
    """Join conversation lines into one newline-terminated transcript."""
    out = ""
    for line in lines:
        out += line + "\n"
    return out


def total_length(chunks: list[str]) -> int:
    """Total number of characters across ``chunks``."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
    return total


def has_stop_word(words: list[str]) -> bool:
    """True if any of ``words`` is a (lower-case) stop word."""
    for w in words:
        if w in STOP_WORDS:
            return True
    return False


def longest_token(items: list[str]) -> str:
    """Return the first longest string in ``items`` ("" when empty)."""
    best = ""
    for i in range(len(items)):
        if len(items[i]) > len(best):
            best = items[i]
    return best


def count_words(words: list[str]) -> dict[str, int]:
    """Count occurrences of each word, in first-seen order."""
    counts = {}  # type: dict[str, int]
    for w in words:
        if w in counts:
            counts[w] += 1
        else:
            counts[w] = 1
    return counts


def group_by_initial(words: list[str]) -> dict[str, list[str]]:
    """Group words by their lower-cased first character ("" for empty words)."""
    groups = {}  # type: dict[str, list[str]]
    for word in words:
        key = word[:1].lower()
        if key not in groups:
            groups[key] = []
        groups[key].append(word)
    return groups


def heaviest_key(weights: dict[str, int]) -> str | None:
    """Key with the largest weight (first one on ties), or None when empty."""
    best: str | None = None
    best_weight = 0
    for k in weights:
        v = weights[k]
        if best is None or v > best_weight:
            best, best_weight = k, v
    return best


def resolve_kind(name: str, registry: dict[str, int]) -> int:
    """Look up the numeric code of memory kind ``name``; unknown kinds map to 0."""
    if name in registry.keys():
        return registry[name]
    return 0


def score_range(scores: list[float]) -> tuple[float, float] | None:
    """Return ``(lowest, highest)`` of ``scores``, or None when there are none."""
    if not scores:
        return None
    lowest = sorted(scores)[0]
    highest = sorted(scores)[-1]
    return lowest, highest


def clean_lines(lines: list[str]) -> list[str]:
    """Strip surrounding whitespace from each line and drop the blank ones."""
    stripped = list(map(lambda s: s.strip(), lines))
    return list(filter(lambda s: s, stripped))


def fingerprint(text: str, rounds: int = 2) -> int:
    """Stable 64-bit FNV-1a style hash of ``text``, re-mixed ``rounds`` times.

    Unlike :func:`hash`, the result does not depend on ``PYTHONHASHSEED``.
    """
    h = _FNV_OFFSET
    for i in list(range(rounds)):
        for ch in text:
            h = ((h ^ ord(ch)) * _FNV_PRIME) & _MASK64
        h ^= i
    return h
