"""Measure the VEC rules' NumPy rewrites and the demo's vectorized grouping; calibrate the hovers.

For every VEC rule with a ``Bench``: before/after timings at 10, 1,000 and 100,000 elements (the
same timer and equality check as ``bench/calibrate.py``, imported from it), plus the break-even
size below which the NumPy version is slower (scanned on powers of two). VEC008 (numba) is timed
when numba is installed. Results are merged into the running Python's table
(``perfsquad/data/speedups/<major>.<minor>.json``, see ``bench/calibrate.py``: the same interleaved
rounds and medians) without touching other rules' entries; the demo comparison goes to ``bench/results/vectorize.json``.

The demo: ``memoria.similarity.consolidate`` (pure-Python all-pairs cosine grouping of 400 vectors
of 384 floats) against the matrix-product version below; both must give the same groups.

BLAS runs single-threaded (set OPENBLAS_NUM_THREADS to override): conservative, and stable on a
shared machine.

The interprocedural all-pairs case of issue #17: 400 vectors of 384 floats held in Python lists
(objects with an ``embedding`` attribute), a pair loop calling a ``self._compute_similarity``
method (a cosine through ``zip(..., strict=False)`` and ``math.sqrt`` norms) with a union-find,
against VEC006's recipe (rows normalised once, one ``U @ U.T``, threshold, the same union-find);
both must give the same groups. ``--interprocedural-only`` runs just that and prints its table.

Usage: python bench/vectorize.py [--rule CODE ...] [--sizes 10,1000,100000] [--skip-demo] [--skip-break-even]
       python bench/vectorize.py --interprocedural-only
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# One BLAS thread: the per-call cost a library function pays, without thread wake-ups that make a
# 100,000-element dot product take milliseconds on a loaded 2-core machine (measured: 600x noise).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "demo"))

from calibrate import DEFAULT_OUT, ROUNDS, Pair, calibrate, interleaved, measure, write_results  # noqa: E402

from perfsquad.analyzers import family_rules  # noqa: E402
from perfsquad.rule import Bench  # noqa: E402

RULES = family_rules("VEC")

RESULTS = ROOT / "bench" / "results" / "vectorize.json"
SCAN = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]
DEMO_TARGET = 20.0


def break_even(bench: Bench, budget: float = 0.05) -> int | None:
    """The smallest scanned size from which the rewrite is faster at every larger scanned size.

    None when it is faster at every scanned size, or slower at the largest one.
    """
    ratios = [(n, measure(bench, n, budget)[2]) for n in SCAN]
    point: int | None = None
    for n, ratio in reversed(ratios):
        if ratio < 1.0:
            break
        point = n
    return None if point == SCAN[0] else point


# On lists the NumPy rewrite pays a conversion per call: measured so the rules can say so (they offer
# no fix on lists).
LIST_BENCHES = {
    "VEC001": Bench(
        setup="import numpy as np\na = [float(i % 7) for i in range(n)]\nb = [float(i % 5) for i in range(n)]",
        before="result = sum(x * y for x, y in zip(a, b))",
        after="result = float(np.dot(a, b))",
        scales_with="n = list length",
    ),
    "VEC002": Bench(
        setup="import math\nimport numpy as np\na = [float(i % 3) for i in range(n)]",
        before="result = math.sqrt(sum(x * x for x in a))",
        after="result = float(np.linalg.norm(a))",
        scales_with="n = list length",
    ),
    "VEC003": Bench(
        setup="import numpy as np\na = [float(i % 7) for i in range(n)]\nb = [float(i % 5) for i in range(n)]",
        before="out = [0.0] * len(a)\nfor i in range(len(a)):\n    out[i] = a[i] * b[i] + 1.0\nresult = out",
        after="out = [0.0] * len(a)\nout[:] = (np.asarray(a) * np.asarray(b) + 1.0).tolist()\nresult = out",
        scales_with="n = list length",
    ),
    "VEC005": Bench(
        setup="import math\nimport numpy as np\na = [float(i % 7) for i in range(n)]",
        before="result = [math.sqrt(x) for x in a]",
        after="result = np.sqrt(a).tolist()",
        scales_with="n = list length",
    ),
}


def list_ratios(code: str, sizes: list[int], rounds: int = ROUNDS) -> dict[str, float] | None:
    bench = LIST_BENCHES.get(code)
    if bench is None:
        return None
    pairs = {n: Pair(bench, n) for n in sizes}
    interleaved(pairs, rounds)
    return {str(n): round(pair.stats()[0], 2) for n, pair in pairs.items()}


# -- VEC008: numba on a loop with data-dependent control flow -------------------------------------


def _hysteresis(xs: Any, lo: float, hi: float) -> int:
    """Count upward crossings with hysteresis: a state machine no array expression replaces."""
    state = 0
    count = 0
    for x in xs:
        if state == 0 and x > hi:
            state = 1
            count += 1
        elif state == 1 and x < lo:
            state = 0
    return count


def numba_entry(sizes: list[int], budget: float = 0.4) -> dict[str, Any] | None:
    try:
        import numba
    except ImportError:
        return None
    jitted = numba.njit(cache=False)(_hysteresis)
    entry: dict[str, Any] = {
        "scales_with": "n = loop iterations (list in Python vs array under numba.njit, compile excluded)",
        "sizes": {},
        "seconds": {},
    }
    rng = np.random.default_rng(0)
    for n in sizes:
        values = rng.standard_normal(n)
        as_list = values.tolist()
        if jitted(values, -0.5, 0.5) != _hysteresis(as_list, -0.5, 0.5):
            raise AssertionError(f"numba and Python disagree at n={n}")
        old = _timed(lambda xs=as_list: _hysteresis(xs, -0.5, 0.5), budget)  # type: ignore[misc]
        new = _timed(lambda arr=values: jitted(arr, -0.5, 0.5), budget)  # type: ignore[misc]
        entry["sizes"][str(n)] = round(old / new, 2)
        entry["seconds"][str(n)] = [old, new]
    return entry


def _timed(fn: Callable[[], object], budget: float) -> float:
    import timeit

    timer = timeit.Timer(fn)
    number, elapsed = timer.autorange()
    repeats = max(3, min(7, int(budget / max(elapsed, 1e-9))))
    return min(timer.repeat(repeat=repeats, number=number)) / number


# -- the demo: all-pairs cosine grouping, pure Python vs one matrix product ------------------------


def consolidate_numpy(vectors: list[list[float]], threshold: float = 0.5) -> list[list[int]]:
    """The same groups as ``memoria.similarity.consolidate``, from one matrix product."""
    n = len(vectors)
    if n == 0:
        return []
    m = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    unit = np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)
    linked = np.triu((unit @ unit.T) >= threshold, k=1)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(linked), strict=True):
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def demo(threshold: float = 0.5) -> dict[str, Any]:
    from memoria import similarity  # type: ignore[import-not-found]

    vectors = similarity.make_vectors(n=similarity.MEMORY_COUNT, dim=similarity.EMBED_DIM, seed=0)
    start = time.perf_counter()
    expected = similarity.consolidate(vectors, threshold)
    python_s = time.perf_counter() - start
    got = consolidate_numpy(vectors, threshold)
    if got != expected:
        raise AssertionError("the vectorized grouping differs from the pure-Python one")
    numpy_s = _timed(lambda: consolidate_numpy(vectors, threshold), 0.5)
    return {
        "vectors": len(vectors),
        "dim": len(vectors[0]),
        "threshold": threshold,
        "groups": len(expected),
        "python_seconds": python_s,
        "numpy_seconds": numpy_s,
        "ratio": python_s / numpy_s,
        "target": DEMO_TARGET,
    }


# -- interprocedural all-pairs (issue #17): a pair loop calling a similarity method -----------------

PAIR_VECTORS, PAIR_DIM, PAIR_THRESHOLD = 400, 384, 0.7


class _Item:
    __slots__ = ("embedding",)

    def __init__(self, embedding: list[float]) -> None:
        self.embedding = embedding


class PairLoopConsolidator:
    """The shape VEC006 now reports through a call: a nested pair loop calling a method whose body is
    a cosine (a dot product through ``zip(..., strict=False)``, ``math.sqrt`` norms), grouping with
    a union-find."""

    def _compute_similarity(self, e1: list[float], e2: list[float]) -> float:
        import math

        dot = sum(a * b for a, b in zip(e1, e2, strict=False))
        n1 = math.sqrt(sum(a * a for a in e1))
        n2 = math.sqrt(sum(b * b for b in e2))
        return dot / (n1 * n2) if n1 and n2 else 0.0

    def groups(self, items: list[_Item], threshold: float) -> list[list[int]]:
        parent = list(range(len(items)))
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                if self._compute_similarity(items[i].embedding, items[j].embedding) >= threshold:
                    _union(parent, i, j)
        return _groups(parent)


def matrix_groups(items: list[_Item], threshold: float) -> list[list[int]]:
    """The recipe in VEC006's note: the rows normalised once, one ``U @ U.T``, the threshold on the
    upper triangle, and the same union-find over the pairs it returns."""
    m = np.asarray([it.embedding for it in items], dtype=float)
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    unit = np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)
    linked = np.triu((unit @ unit.T) >= threshold, k=1)
    parent = list(range(len(items)))
    for i, j in zip(*np.nonzero(linked), strict=True):
        _union(parent, int(i), int(j))
    return _groups(parent)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], i: int, j: int) -> None:
    ri, rj = _find(parent, i), _find(parent, j)
    if ri != rj:
        parent[max(ri, rj)] = min(ri, rj)


def _groups(parent: list[int]) -> list[list[int]]:
    groups: dict[int, list[int]] = {}
    for i in range(len(parent)):
        groups.setdefault(_find(parent, i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _clustered(n: int, dim: int, seed: int = 0) -> list[list[float]]:
    """``n`` vectors of ``dim`` floats around a few centres (so the threshold links some), as lists."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((8, dim))
    rows = centres[rng.integers(0, 8, n)] + 0.6 * rng.standard_normal((n, dim))
    return [[float(v) for v in row] for row in rows]


def interprocedural(n: int = PAIR_VECTORS, dim: int = PAIR_DIM, threshold: float = PAIR_THRESHOLD) -> dict[str, Any]:
    items = [_Item(v) for v in _clustered(n, dim)]
    start = time.perf_counter()
    expected = PairLoopConsolidator().groups(items, threshold)
    python_s = time.perf_counter() - start
    got = matrix_groups(items, threshold)
    if got != expected:
        raise AssertionError("the matrix-product grouping differs from the pair loop's")
    numpy_s = _timed(lambda: matrix_groups(items, threshold), 0.5)
    convert_s = _timed(lambda: np.asarray([it.embedding for it in items], dtype=float), 0.3)
    return {
        "vectors": n,
        "dim": dim,
        "pairs": n * (n - 1) // 2,
        "threshold": threshold,
        "groups": len(expected),
        "python_seconds": python_s,
        "numpy_seconds": numpy_s,
        "conversion_seconds": convert_s,
        "ratio": python_s / numpy_s,
    }


def print_interprocedural(figures: dict[str, Any]) -> None:
    print(
        f"\ninterprocedural all-pairs (VEC006 through a method call): {figures['vectors']} vectors x "
        f"{figures['dim']} floats in Python lists, {figures['pairs']:,} pairs, threshold "
        f"{figures['threshold']}, {figures['groups']} groups (identical)"
    )
    print("| version | time | speedup |")
    print("| --- | --- | --- |")
    print(f"| pair loop calling `self._compute_similarity` (pure Python) | {figures['python_seconds']:.3f} s | 1x |")
    print(
        f"| rows normalised once, one `U @ U.T`, threshold, same union-find | {figures['numpy_seconds'] * 1000:.1f} ms "
        f"| {figures['ratio']:.0f}x |"
    )
    print(f"| (of which: lists -> array conversion) | {figures['conversion_seconds'] * 1000:.1f} ms | |")


def _merge_results(key: str, value: Any) -> None:
    data: dict[str, Any] = {}
    if RESULTS.exists():
        data = json.loads(RESULTS.read_text(encoding="utf-8"))
    data[key] = value
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rule", action="append", default=[], help="only these codes (repeatable)")
    parser.add_argument("--sizes", default="10,1000,100000")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-break-even", action="store_true")
    parser.add_argument(
        "--interprocedural-only",
        action="store_true",
        help="only the #17 measurement: a pair loop calling a similarity method vs one matrix product",
    )
    args = parser.parse_args()
    if args.interprocedural_only:
        figures = interprocedural()
        figures["python"] = platform.python_version()
        figures["numpy"] = np.__version__
        figures["date"] = datetime.date.today().isoformat()
        print_interprocedural(figures)
        _merge_results("interprocedural", figures)
        print(f"wrote {RESULTS}")
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    wanted = {c.upper() for c in args.rule}
    chosen = [r for r in RULES if not wanted or r.code in wanted]
    measured_by = f"bench/vectorize.py (bench/calibrate.py timer) on Python {platform.python_version()}, "
    measured_by += datetime.date.today().isoformat()

    results = calibrate([r for r in chosen if r.bench is not None], sizes)
    for code, entry in results.items():
        entry["measured_by"] = measured_by
        rule = next(r for r in chosen if r.code == code)
        on_lists = list_ratios(code, sizes)
        if on_lists is not None:
            entry["lists"] = on_lists
        if rule.bench is not None and not args.skip_break_even:
            point = break_even(rule.bench)
            if point is not None:
                entry["break_even"] = point
    if any(r.code == "VEC008" for r in chosen):
        entry8 = numba_entry(sizes)
        if entry8 is None:
            print("VEC008: numba is not installed (pip install numba): not measured")
        else:
            entry8["measured_by"] = measured_by
            results["VEC008"] = entry8
    write_results(args.out, results, sizes)

    print(f"{'rule':<7}  " + "  ".join(f"n={n:>7}" for n in sizes) + "  break-even")
    for code, entry in sorted(results.items()):
        ratios = "  ".join(f"{entry['sizes'][str(n)]:>8.2f}x" for n in sizes)
        point = entry.get("break_even")
        print(f"{code:<7}  {ratios}  {'n < ' + str(point) if point else '-':>10}")
        if "lists" in entry:
            ratios = "  ".join(f"{entry['lists'][str(n)]:>8.2f}x" for n in sizes)
            print(f"{'  lists':<7}  {ratios}  (NumPy on Python lists, conversion included: no fix offered)")
    print(f"wrote {args.out}")

    if not args.skip_demo:
        figures = demo()
        status = "PASS" if figures["ratio"] >= DEMO_TARGET else "FAIL"
        print(
            f"\ndemo: consolidate {figures['vectors']} vectors x {figures['dim']} floats "
            f"(threshold {figures['threshold']}, {figures['groups']} groups): pure Python "
            f"{figures['python_seconds']:.3f} s, NumPy {figures['numpy_seconds'] * 1000:.2f} ms, "
            f"ratio {figures['ratio']:.0f}x (target >= {DEMO_TARGET:.0f}x: {status})"
        )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        pairs = interprocedural()
        print_interprocedural(pairs)
        for key, value in (
            ("python", platform.python_version()),
            ("numpy", np.__version__),
            ("date", datetime.date.today().isoformat()),
            ("demo", figures),
            ("interprocedural", pairs),
            ("rules", {code: entry["sizes"] for code, entry in results.items()}),
        ):
            _merge_results(key, value)
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
