"""Embeddings kept as lists of float lists, and rows kept as same-shaped dicts.

Both are built once per element of an input of unbounded size (the lines of a file): MEM008 flags
them (`perfsquad check bench/memory/float_lists.py`), and `perfsquad profile --memory` shows the
floats and the lists at the peak. bench/layout.py measures the alternatives per element.
Usage: python bench/memory/float_lists.py [ROWS]  (default 20,000 rows of 64 floats).
"""

from __future__ import annotations

import io
import sys


def load_embeddings(lines: io.StringIO) -> list[list[float]]:
    vectors = []
    for line in lines:
        vectors.append([float(x) for x in line.split(",")])  # noqa: PERF401 (the workload under test)
    return vectors


def load_rows(lines: list[str]) -> list[dict[str, object]]:
    rows = []
    for line in lines:
        ident, name, score = line.split(",")
        rows.append({"id": int(ident), "name": name, "score": float(score)})
    return rows


def main(n: int) -> tuple[list[list[float]], list[dict[str, object]]]:
    text = "\n".join(",".join(str((i * 31 + j) % 97 / 7) for j in range(64)) for i in range(n))
    vectors = load_embeddings(io.StringIO(text))
    rows = load_rows([f"{i},item{i},{i / 3}" for i in range(n)])
    print(len(vectors), len(vectors[0]), len(rows))
    return vectors, rows


if __name__ == "__main__":
    # Kept at module level, as a service keeps its loaded data: alive at the end of the run.
    VECTORS, ROWS = main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
