from __future__ import annotations

import ast
import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from perfsquad.analyzers.memory._common import report
from perfsquad.analyzers.memory.small_class_without_slots import _kept, _loop_words, _scale_of
from perfsquad.context import Context
from perfsquad.model import Confidence, Severity
from perfsquad.rule import Invalid, Rule
from perfsquad.syntax import walk

LOW = Confidence.LOW

MIN_KEYS = 2
"""A dict literal with at least this many constant string keys is a record."""
LAYOUTS = ("dict", "class", "slotted dataclass", "NamedTuple", "list of floats", "NumPy array")


@functools.cache
def layout_tables() -> Mapping[str, Any]:
    """``perfsquad/data/layout.json``: bytes and time per element by Python version (bench/layout.py)."""
    try:
        data = json.loads(resources.files("perfsquad").joinpath("data/layout.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def layout_table(target: tuple[int, int]) -> tuple[str, Mapping[str, Any]] | None:
    """(full version, table) measured on ``target``'s Python, else on the nearest one."""
    tables = layout_tables()
    if not tables:
        return None

    def distance(version: str) -> tuple[int, int]:
        major, minor = (int(p) for p in version.split(".")[:2])
        return abs((major - target[0]) * 100 + minor - target[1]), -minor

    version = min(tables, key=distance)
    return version, tables[version]


def figures(target: tuple[int, int], fields: int) -> str | None:
    """One line: bytes (and ns) per element of each layout, for records of 3 or 64 floats."""
    found = layout_table(target)
    if found is None:
        return None
    version, table = found
    by_fields = table.get("fields", {})
    key = "64" if fields > 16 and "64" in by_fields else "3"
    rows = by_fields.get(key)
    if not rows:
        return None
    parts = ", ".join(f"{name} {rows[name]['bytes']:,.0f} B ({rows[name]['ns']:,.0f} ns)" for name in LAYOUTS if name in rows)
    return f"Per record of {key} floats, memory (time to build): {parts}; measured by bench/layout.py on Python {version}."


def _record_kind(node: ast.AST) -> tuple[str, int] | None:
    """("dict", keys) for a dict display of constant string keys; ("floats", 0) for a list of
    floats built element by element (``[float(x) for x in ...]``, ``list(map(float, ...))``)."""
    if isinstance(node, ast.Dict):
        keys = node.keys
        if len(keys) >= MIN_KEYS and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in keys):
            return "dict", len(keys)
        return None
    if isinstance(node, ast.ListComp) and len(node.generators) == 1:
        elt = node.elt
        if isinstance(elt, ast.Call) and isinstance(elt.func, ast.Name) and elt.func.id == "float":
            return "floats", 0
        return None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "list"
        and len(node.args) == 1
        and isinstance(arg := node.args[0], ast.Call)
        and isinstance(arg.func, ast.Name)
        and arg.func.id == "map"
        and arg.args
        and isinstance(arg.args[0], ast.Name)
        and arg.args[0].id == "float"
    ):
        return "floats", 0
    return None


_PARSERS = frozenset({"float", "int", "Decimal", "fromisoformat", "strptime", "loads"})


def _parses(loop: ast.AST) -> bool:
    """Whether the loop converts text into values (``float(...)``, ``int(...)``, dates,
    ``json.loads(...)``): what a loop ingesting rows of data does. (Splitting alone is not: a
    configuration string is split into a handful of parts, as pandas splits CSS selectors.)"""
    for n in walk(loop):
        if isinstance(n, ast.Call):
            func = n.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in _PARSERS:
                return True
    return False


def _is_the_kept_value(node: ast.AST, parent: ast.AST | None) -> bool:
    """Whether ``node`` is itself what is stored (an argument of ``append``..., the value of an
    assignment, a comprehension's element), not an operand of something else built from it
    (``"%(a)s" % {...}``, ``dict(zip(keys, [float(x) ...]))``, ``json.dumps({...})``)."""
    if isinstance(parent, ast.Call):
        return isinstance(parent.func, ast.Attribute) and any(a is node for a in parent.args)
    if isinstance(parent, ast.Assign | ast.AnnAssign):
        return parent.value is node
    if isinstance(parent, ast.ListComp | ast.SetComp | ast.GeneratorExp):
        return parent.elt is node
    if isinstance(parent, ast.DictComp):
        return parent.value is node
    return False


class RecordsInLoop(Rule):
    """
    ## What it does
    Flags a record built once per element of a loop over data of unbounded size and kept past
    the iteration (appended, stored in a table, collected by a comprehension): a dict display with
    the same constant keys every time (`{"id": ..., "name": ..., "score": ...}`), or a list of
    floats (`[float(x) for x in line.split(",")]`, `list(map(float, ...))`: rows of numbers,
    embeddings kept as lists of lists).

    Confidence is one level below the evidence that the loop runs at scale (the evidence names the
    loop): medium for a loop over a parameter, a query or a read result (a file's lines), low
    (hidden by default) for an attribute or a call result of unknown size, and for loops that run
    once (at import, behind a lazy initialiser) or over a literal or `range(<constant>)`: the bytes
    saved per record matter only for many records. Dicts are also many libraries' record format
    for small collections (reflected columns, chat messages, CSS rules, options): a dict record is
    reported only when the loop reads its data from outside (a file, a query) or converts it
    (`float(...)`, `int(...)`, dates, `json.loads(...)`), low otherwise. A record built once, an operand of
    something else (`"%(a)s" % {...}`, `json.dumps({...})`), or one passed on, yielded or returned
    (one alive at a time), is not reported.

    ## Why is this bad?
    Each dict carries its own hash table of keys for data that has the same shape every time, and
    each float in a list is a 24-byte object behind an 8-byte pointer. Per record of 3 floats on
    CPython 3.11, the floats included (`python bench/layout.py`; the figures for your Python are in
    the hover): a dict takes 265 bytes, an instance of a plain class 179, a slotted dataclass 139,
    a `NamedTuple` 155, and one row of a NumPy array 24; for 64 floats, a list of floats takes
    2,113 bytes against 512 in a NumPy array (and one array is copied, sliced and reduced without
    a Python loop).

    ## Example
    ```python
    def load(lines):
        rows = []
        for line in lines:
            ident, name, score = line.split(",")
            rows.append({"id": int(ident), "name": name, "score": float(score)})
        return rows
    ```

    ## Use instead
    ```python
    @dataclass(slots=True)
    class Row:
        id: int
        name: str
        score: float

    def load(lines):
        return [Row(int(i), name, float(s)) for i, name, s in (line.split(",") for line in lines)]
    ```
    or a `typing.NamedTuple`; for numbers only, one NumPy array (`np.loadtxt`, `np.array(rows)`,
    or `np.fromstring` per line into a preallocated `np.empty((n, k))`).

    ## Fix safety
    No fix: the records' users index them by key (`row["id"]`), which a dataclass or a tuple
    changes; a list of lists becomes an array whose elements are NumPy scalars.

    ## Speedup
    The gain is memory (and the time the collector spends on the objects): `bench/layout.py`
    measures bytes and nanoseconds per record of each layout on each Python (the table is in
    docs/memory.md). Building a slotted dataclass or a `NamedTuple` takes about as long as building
    a dict (within 10-20% either way, by Python); filling one NumPy array from parsed rows takes
    about as long as keeping the rows as lists (the parsing dominates), for a quarter of the memory.

    ## References
    - [`dataclasses` with `slots=True`](https://docs.python.org/3/library/dataclasses.html#dataclasses.dataclass)
    - [`typing.NamedTuple`](https://docs.python.org/3/library/typing.html#typing.NamedTuple)
    - [`numpy.loadtxt`](https://numpy.org/doc/stable/reference/generated/numpy.loadtxt.html)
    """

    code = "MEM008"
    name = "records-in-loop"
    message = "Same-shaped records kept per loop element, each a dict or float objects"
    node_types = (ast.Dict, ast.ListComp, ast.Call)
    effort_minutes = 30
    valid = (
        # One-off: not in a loop.
        "def config(path):\n    return {'path': path, 'mode': 'r'}\n",
        # Bounded: a literal range (low confidence, hidden by default).
        "def grid():\n    cells = []\n    for i in range(8):\n        cells.append({'x': i, 'y': i})\n    return cells\n",
        # At import: runs once.
        "TABLE = []\nfor name in ('a', 'b'):\n    TABLE.append({'name': name, 'size': 1})\n",
        # Not kept: passed on, one alive at a time.
        "def send(items, sink):\n    for x in items:\n        sink.write({'id': x.id, 'v': x.v})\n",
        "def events(items):\n    for x in items:\n        yield {'id': x, 'kind': 'row'}\n",
        # Keys that vary, or one key: not a record.
        "def index(items):\n    out = []\n    for k, v in items:\n        out.append({k: v})\n    return out\n",
        # Dicts over a parameter with nothing read or parsed: the library's record format (low).
        "def columns(rows):\n    out = []\n    for r in rows:\n        out.append({'name': r.name, 'type': r.type})\n"
        "    return out\n",
        "def fmt(indices):\n    lines = []\n    for i in indices:\n        lines.append('for %(v)s' % {'v': i, 'n': 1})\n"
        "    return lines\n",
        # Split configuration, not data: pandas' CSS selectors (low).
        "def styles(rules):\n    return [{'selector': s, 'props': r['props']} for r in rules for s in r['selector'].split(',')]\n",
        # A list of strings, not floats.
        "def split(lines):\n    return [[w for w in line.split()] for line in lines]\n",
        # Overwritten by the next iteration.
        "def last(lines):\n    row = None\n    for line in lines:\n        row = [float(x) for x in line.split(',')]\n    return row\n",
    )
    invalid = (
        Invalid(
            "def load(lines):\n    rows = []\n    for line in lines:\n        a, b = line.split(',')\n"
            "        rows.append({'id': int(a), 'score': float(b)})\n    return rows\n"
        ),
        Invalid(
            "def embed(lines):\n    vectors = []\n    for line in lines:\n"
            "        vectors.append([float(x) for x in line.split(',')])\n    return vectors\n"
        ),
        Invalid("def parse(lines):\n    return [list(map(float, line.split())) for line in lines]\n"),
        Invalid("def records(pairs):\n    return [{'x': float(x), 'y': float(y), 'z': 0} for x, y in pairs]\n"),
        Invalid(
            "def table(rows):\n    by_id = {}\n    for r in rows:\n        by_id[r[0]] = {'name': r[1], 'age': int(r[2])}\n"
            "    return by_id\n"
        ),
    )

    def check(self, node: ast.AST, ctx: Context) -> None:
        kind = _record_kind(node)
        if kind is None:
            return
        outer = ctx.parent(node)
        if isinstance(outer, ast.Call) and _record_kind(outer) is not None:  # (list(map(float, ...)) once)
            return
        if not _is_the_kept_value(node, outer):
            return
        loops = ctx.loops_around(node)
        if not loops:
            return
        loop = loops[0]
        if not _kept(ctx, node, loop):
            return
        scale = _scale_of(ctx, loop)
        confidence = scale.confidence.lowered()
        what, keys = kind
        evidence = f"built per element of {_loop_words(scale.evidence)} and kept past it"
        if what == "dict" and "read from outside the program" not in scale.evidence and not _parses(loop):
            # Dicts are many libraries' record format (reflection results, messages, options):
            # only data read from outside, or parsed in the loop, says there are many of them.
            confidence = LOW
            evidence += ", but nothing says the data is read or converted in bulk (no file, query or value parsing)"
        if what == "dict":
            message = f"A dict with the same {keys} keys is kept per element of a loop; use a slotted class"
            advice = (
                "each dict carries its own hash table; a slotted dataclass or a NamedTuple holds the same"
                " fields in about half the memory, a NumPy array of numbers in a tenth"
            )
            fields = keys
        else:
            message = "A list of floats is kept per element of a loop; use one NumPy array"
            advice = "each float is a separate 24-byte object; one NumPy array holds them in 8 bytes each"
            fields = 64
        line = figures(ctx.calibration.target, fields)
        notes = (line, advice) if line else (advice,)
        report(self, ctx, node, confidence=confidence, evidence=evidence, message=message, notes=notes,
               severity=Severity.INFO)  # fmt: skip
