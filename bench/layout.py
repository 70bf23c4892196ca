"""Bytes and time per element of the ways to keep many small records (issue 22, rule MEM008).

Each layout holds ``n`` records of ``fields`` float fields (default 3; ``--fields 64`` is an
embedding): a dict per record, a plain class instance, a ``@dataclass(slots=True)`` instance, a
``typing.NamedTuple``, a list of floats (a list of lists), and one NumPy array of shape
``(n, fields)``. For each, in a fresh interpreter each time:

* **bytes per element**: traced memory (``tracemalloc``) alive after building all ``n`` records from
  the same input (rows of strings, as read from a file, each parsed with ``float``), minus before,
  divided by ``n``: the container, its float objects (24 bytes each; 8 in a NumPy float64 array);
* **time per element**: the best of 5 builds of the ``n`` records (``time.perf_counter``), parsing
  included (for NumPy, the rows are parsed into lists, then copied into the array), divided by ``n``.

Run it with each interpreter (``PYENV_VERSION=3.12.1 pyenv exec python bench/layout.py --write``):
``--write`` stores the table for that Python in ``perfsquad/data/layout.json``, which MEM008 quotes
(hover, ``explain``) for the Python that runs the user's code (the nearest version otherwise).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

LAYOUTS = ("dict", "class", "slotted dataclass", "NamedTuple", "list of floats", "NumPy array")
DATA = Path(__file__).resolve().parent.parent / "perfsquad" / "data" / "layout.json"

CHILD = r'''
import json, sys, time, tracemalloc
from dataclasses import dataclass
from typing import NamedTuple
layout, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = [f"f{i}" for i in range(k)]
ns = {}
exec("class Plain:\n    def __init__(self, " + ", ".join(names) + "):\n"
     + "".join(f"        self.{a} = {a}\n" for a in names), ns)
exec("@dataclass(slots=True)\nclass Slotted:\n" + "".join(f"    {a}: float\n" for a in names), {"dataclass": dataclass}, ns)
exec("class Tup(NamedTuple):\n" + "".join(f"    {a}: float\n" for a in names), {"NamedTuple": NamedTuple}, ns)
Plain, Slotted, Tup = ns["Plain"], ns["Slotted"], ns["Tup"]
source = [[str(float(i * k + j) + 0.5) for j in range(k)] for i in range(n)]  # as read from a file
if layout == "NumPy array":
    import numpy as np
def build():
    if layout == "dict":
        return [dict(zip(names, map(float, row))) for row in source]
    if layout == "class":
        return [Plain(*map(float, row)) for row in source]
    if layout == "slotted dataclass":
        return [Slotted(*map(float, row)) for row in source]
    if layout == "NamedTuple":
        return [Tup(*map(float, row)) for row in source]
    if layout == "list of floats":
        return [list(map(float, row)) for row in source]
    return np.array([list(map(float, row)) for row in source], dtype=np.float64)
best = min((lambda t0: (build(), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(5))
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
kept = build()
after = tracemalloc.get_traced_memory()[0]
tracemalloc.stop()
print(json.dumps({"bytes": (after - before) / n, "ns": best / n * 1e9}))
'''


def measure(python: str, n: int, fields: int) -> dict[str, dict[str, float]]:
    table = {}
    for layout in LAYOUTS:
        out = subprocess.run([python, "-c", CHILD, layout, str(n), str(fields)], capture_output=True, text=True,
                             timeout=600, check=True).stdout  # fmt: skip
        table[layout] = json.loads(out)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=50_000, help="records (50,000)")
    parser.add_argument("--fields", type=int, nargs="+", default=[3, 64], help="floats per record (3 and 64)")
    parser.add_argument("--write", action="store_true", help="store this Python's table in perfsquad/data/layout.json")
    args = parser.parse_args(argv)
    version = platform.python_version()
    tables = {str(k): measure(sys.executable, args.n, k) for k in args.fields}
    for k, table in tables.items():
        print(f"\nPython {version}, {args.n:,} records of {k} floats: per element")
        print(f"  {'layout':<18} {'bytes':>8} {'vs dict':>8} {'ns':>8}")
        for layout, row in table.items():
            print(f"  {layout:<18} {row['bytes']:>8.0f} {row['bytes'] / table['dict']['bytes']:>7.2f}x {row['ns']:>8.0f}")
    if args.write:
        data = json.loads(DATA.read_text(encoding="utf-8")) if DATA.exists() else {}
        data[version] = {"n": args.n, "fields": tables}
        DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nwrote {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
