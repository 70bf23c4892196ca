"""Variants of demo workloads as single commands for `perfsquad bench` / `perfsquad compare`.

    python bench/demo_variants.py pure  [--n 150]   # demo/memoria/similarity.consolidate (pure Python)
    python bench/demo_variants.py numpy [--n 150]   # the same grouping from one matrix product (VEC006)
    python bench/demo_variants.py check [--n 150]   # both agree (exit 1 if not)
    python bench/demo_variants.py sync  [--n 10]    # demo/memoria/io_wait.sync_remote: n x 50 ms waits

``pure`` and ``numpy`` are the before/after of the demo's all-pairs similarity. ``sync`` spends its
time waiting (not on a CPU), so its wall time barely depends on machine load: two records of it
are the "same code twice" case ``compare`` must call no significant change. The ``numpy`` variant is the rewrite VEC006 proposes: normalize the rows once, ``S = U @ U.T``,
then link every pair ``i < j`` with ``S[i, j] >= threshold`` exactly as the original does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "demo"))



def consolidate_numpy(vectors: list[list[float]], threshold: float = 0.5) -> list[list[int]]:
    import numpy as np

    m = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    units = np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)
    sims = units @ units.T
    n = len(vectors)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = np.nonzero(np.triu(sims >= threshold, k=1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("variant", choices=("pure", "numpy", "check", "sync"))
    parser.add_argument("--n", type=int, default=None, help="vectors of 384 floats (default 150) or sync requests (10)")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args(argv)
    if args.variant == "sync":
        from memoria import io_wait  # type: ignore[import-not-found,unused-ignore]

        acked = io_wait.sync_remote(n=args.n or 10)
        print(f"sync: {len(acked)} records acknowledged")
        return 0
    args.n = args.n or 150
    from memoria import similarity  # type: ignore[import-not-found,unused-ignore]

    vectors = similarity.make_vectors(n=args.n, dim=similarity.EMBED_DIM, seed=0)
    result: Any
    if args.variant == "pure":
        result = similarity.consolidate(vectors, args.threshold)
    elif args.variant == "numpy":
        result = consolidate_numpy(vectors, args.threshold)
    else:
        pure = similarity.consolidate(vectors, args.threshold)
        fast = consolidate_numpy(vectors, args.threshold)
        print(f"groups: pure {len(pure)}, numpy {len(fast)}, equal: {pure == fast}")
        return 0 if pure == fast else 1
    print(f"{args.variant}: {len(result)} groups from {args.n} vectors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
