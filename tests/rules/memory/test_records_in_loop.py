"""MEM008 (records-in-loop): fires on the float-list workload of bench/memory, not on bounded or
one-off builds; its hover notes quote bench/layout.py's table for the Python that runs the code."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from support import BENCH, ROOT, every_rule

from perfsquad.analyzers import RULES
from perfsquad.analyzers.memory.records_in_loop import LAYOUTS, figures, layout_table, layout_tables
from perfsquad.engine import analyze_text
from perfsquad.model import Confidence


def mem008(source: str, path: str = "example.py") -> list[tuple[int, Confidence, str, tuple[str, ...]]]:
    config = dataclasses.replace(every_rule(), confidence=Confidence.LOW)
    report = analyze_text(textwrap.dedent(source), path, rules=RULES, config=config)
    assert report.rule_errors == ()
    return [(f.span.start.line, f.confidence, f.evidence or "", f.notes) for f in report.findings if f.code == "MEM008"]


def test_fires_on_the_float_list_workload_with_medium_confidence() -> None:
    path = BENCH / "memory" / "float_lists.py"
    source = path.read_text(encoding="utf-8")
    found = mem008(source, str(path))
    lines = source.splitlines()
    assert [n for n, *_ in found] == [
        1 + next(i for i, t in enumerate(lines) if "vectors.append([float(x)" in t),
        1 + next(i for i, t in enumerate(lines) if 'rows.append({"id": int(ident)' in t),
    ]
    assert {c for _, c, _, _ in found} == {Confidence.MEDIUM}
    assert "parameter `lines`" in found[0][2] and "parameter `lines`" in found[1][2]


def test_not_on_bounded_one_off_or_passed_on_builds() -> None:
    source = """
        ROWS = [{"name": n, "size": 1} for n in ("a", "b", "c")]   # at import, over a literal

        def grid():
            cells = []
            for i in range(16):                                   # bounded
                cells.append({"x": i, "y": i})
            return cells

        def settings(path):
            return {"path": path, "mode": "r"}                    # one-off

        def stream(items, sink):
            for x in items:
                sink.write({"id": x, "v": [float(v) for v in x]})  # passed on: one alive at a time

        def newest(lines):
            row = None
            for line in lines:
                row = [float(x) for x in line.split(",")]         # overwritten each time
            return row
        """
    assert [(n, c) for n, c, _, _ in mem008(source) if c is not Confidence.LOW] == []
    # Hidden, not absent: the bounded and import-time loops are there with --confidence low.
    assert {n for n, c, _, _ in mem008(source) if c is Confidence.LOW} == {2, 7}


def test_each_python_has_a_measured_table_and_the_hover_quotes_the_nearest() -> None:
    tables = layout_tables()
    assert {v.rsplit(".", 1)[0] for v in tables} >= {"3.10", "3.11", "3.12", "3.13"}
    for table in tables.values():
        for fields in ("3", "64"):
            rows = table["fields"][fields]
            assert tuple(rows) == tuple(sorted(LAYOUTS)) or set(rows) == set(LAYOUTS)
            # A NumPy row holds 8 bytes per float; a dict per record costs more than a slotted dataclass.
            assert rows["NumPy array"]["bytes"] < rows["slotted dataclass"]["bytes"] < rows["dict"]["bytes"]
    version, _ = layout_table((3, 12))  # type: ignore[misc]
    assert version.startswith("3.12.")
    assert layout_table((3, 14))[0].startswith("3.13.")  # type: ignore[index]
    line = figures((3, 12), 3)
    assert line is not None and f"on Python {version}" in line and "slotted dataclass" in line
    running = f"{sys.version_info[0]}.{sys.version_info[1]}."
    notes = mem008("def f(lines):\n    return [{'a': x, 'b': x} for x in lines]\n")[0][3]
    assert len(notes) == 2 and f"on Python {running}" in notes[0] and "hash table" in notes[1]


def test_check_cli_reports_the_rule_with_its_figures(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--select", "MEM008", "--format", "json",
         str(BENCH / "memory" / "float_lists.py")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    found = json.loads(proc.stdout)
    assert [f["code"] for f in found] == ["MEM008", "MEM008"]
    assert all("measured by bench/layout.py" in f["notes"][0] for f in found)
