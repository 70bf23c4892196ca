"""Allocation-heavy workload: a long-lived index built at start-up, then many short-lived records.

The cyclic collector re-examines the index at every full collection: `perfsquad profile --memory`
reports its share, and the `gc.freeze()` advice measured on this script (docs/memory.md).
Usage: python bench/memory/alloc_heavy.py [SCALE]  (default 1.0: 200,000 index entries).
"""

from __future__ import annotations

import sys


def build_index(n: int) -> dict[int, tuple[str, list[int], dict[str, int]]]:
    return {i: (str(i), [i, i + 1], {"k": i}) for i in range(n)}


def churn(n: int) -> int:
    total = 0
    for i in range(n):
        tags = [i % 7, i % 11]
        record = {"id": i, "tags": tags, "pair": (i, str(i))}
        total += len(tags) + len(record)
    return total


def main(scale: float) -> None:
    index = build_index(int(200_000 * scale))
    print(len(index), churn(int(600_000 * scale)))


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
