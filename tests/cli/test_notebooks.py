"""Jupyter notebooks in ``perfsquad check``: code cells analyzed as one module, IPython syntax
masked, positions as ``cell N:line:col`` (text) and ``cell`` + in-cell rows (JSON), SARIF regions in
the ``.ipynb`` text, and ``--fix`` writing back only the fixed cells' source in the file's layout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from support import ROOT

from perfsquad import notebook
from perfsquad.api import analyze_source
from perfsquad.autofix import fix_file
from perfsquad.model import Position

COSINE = (
    "def cosine(u: np.ndarray, v: np.ndarray) -> float:\n"
    "    dot = sum(x * y for x, y in zip(u, v))\n"
    "    return dot / (np.linalg.norm(u) * np.linalg.norm(v))"
)
SQUARES = "def squares(values: list[float]) -> list[float]:\n    out = []\n    for v in values:\n        out.append(v * v)\n    return out\n"


def _cells() -> list[Any]:
    """A markdown cell, magics and a shell line before the import, the cosine loop in cell 3 using
    ``np`` from cell 2, an append loop with outputs, a ``%%bash`` cell and a ``%%time`` cell."""
    return [
        new_markdown_cell("# Similarity\nPure-Python cosine over NumPy vectors."),
        new_code_cell("%matplotlib inline\n!pip install numpy\nimport numpy as np\n"),
        new_code_cell(COSINE, execution_count=3),
        new_code_cell(
            SQUARES,
            execution_count=4,
            outputs=[new_output("execute_result", data={"text/plain": "[1.0, 4.0]"}, execution_count=4)],
        ),
        new_code_cell("%%bash\nfor f in *.csv; do echo $f; done\n"),
        new_code_cell("%%time\nfiles = !ls\nsquares?\nresult = squares([1.0, 2.0])"),
    ]


def _write(path: Path, cells: list[Any] | None = None, **metadata: Any) -> Path:
    nb = new_notebook(cells=_cells() if cells is None else cells)
    nb.metadata.update(metadata or {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, str(path))
    return path


def _check(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--no-cache", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_text_output_names_the_cell_and_the_line_within_it(tmp_path: Path) -> None:
    _write(tmp_path / "nb.ipynb")
    run = _check("nb.ipynb", "--select", "VEC001,IDM001", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    # cell 3 (1-based, the markdown cell counts): the generator on its line 2, column 11
    assert "nb.ipynb:cell 3:2:11: VEC001 " in run.stdout
    assert "nb.ipynb:cell 4:3:5: IDM001 " in run.stdout
    assert "Found 2 findings in 1 file." in run.stdout


def test_json_location_gives_the_cell_index_id_and_in_cell_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "nb.ipynb")
    run = _check("nb.ipynb", "--select", "VEC001", "--format", "json", cwd=tmp_path)
    (finding,) = json.loads(run.stdout)
    cell_id = nbformat.read(str(path), as_version=4).cells[2].id
    assert finding["cell"] == {"index": 2, "id": cell_id}
    assert finding["location"] == {"row": 2, "column": 11}
    assert finding["end_location"] == {"row": 2, "column": 43}
    # the fix (np.dot, unsafe) is in cell coordinates too
    (edit,) = finding["fix"]["edits"]
    assert edit["cell"]["index"] == 2 and edit["location"]["row"] == 2 and edit["content"].startswith("np.dot(")


def test_a_name_from_an_earlier_cell_resolves(tmp_path: Path) -> None:
    """``np`` is imported in cell 2: the annotations of cell 3 are NumPy arrays. Without that cell
    they are unknown and the dot product is not flagged (nothing says it is numeric)."""
    with_import = analyze_source(_write(tmp_path / "a.ipynb").read_bytes(), "a.ipynb")
    assert [f.code for f in with_import.findings if f.code == "VEC001"] == ["VEC001"]
    cells = _cells()
    del cells[1]
    without = analyze_source(_write(tmp_path / "b.ipynb", cells).read_bytes(), "b.ipynb")
    assert not [f for f in without.findings if f.code == "VEC001"]


def test_magics_are_masked_line_for_line() -> None:
    masked: dict[int, str] = {}
    source = "%time f()\nx = !ls\nfor i in range(3):\n    %timeit g(i)\ny = (a\n     % b)\nlen?\n??np.dot\nz = 1"
    out = notebook._mask(source, masked)
    lines = out.split("\n")
    assert len(lines) == len(source.split("\n"))
    assert lines[0].startswith("# [perfsquad masked") and lines[1].startswith("# [perfsquad masked")
    assert lines[3].startswith("    pass  # [perfsquad masked")  # the loop keeps a body
    assert lines[4:6] == ["y = (a", "     % b)"]  # a modulo inside brackets is Python
    assert lines[6].startswith("# [perfsquad") and lines[7].startswith("# [perfsquad")
    assert lines[8] == "z = 1"
    assert sorted(masked.values()) == sorted(["%time f()", "x = !ls", "    %timeit g(i)", "len?", "??np.dot"])
    # a string's line starting with % or ! is not a magic
    doc = 'msg = """\n%d items\n!important\n"""\n'
    assert notebook._mask(doc, {}) == doc


def test_cell_magics_mask_their_cell_unless_its_body_is_python() -> None:
    module = notebook.virtual_module(
        [notebook.CodeCell(0, None, "%%bash\nfor x in y; do echo $x; done"),
         notebook.CodeCell(1, None, "%%timeit -n 3\ndef f(vs):\n    out = []\n    for v in vs:\n        out.append(v)\n    return out")]
    )  # fmt: skip
    lines = module.text.split("\n")
    assert lines[1].startswith("# [perfsquad masked") and lines[2].startswith("# [perfsquad masked")
    assert lines[4].startswith("# [perfsquad masked") and lines[6:9] == ["    out = []", "    for v in vs:", "        out.append(v)"]
    report = analyze_source(module.text, "m.py")
    assert [f.code for f in notebook.attach(report, module).findings] == ["IDM001"]


def test_findings_never_start_on_masked_lines(tmp_path: Path) -> None:
    report = analyze_source(_write(tmp_path / "nb.ipynb").read_bytes(), "nb.ipynb")
    text = notebook.virtual_module(notebook.read_cells((tmp_path / "nb.ipynb").read_bytes())).text.split("\n")
    assert report.findings
    for f in report.findings:
        assert "[perfsquad" not in text[f.span.start.line - 1]


def test_fix_writes_back_only_the_fixed_source_keeping_outputs_and_metadata(tmp_path: Path) -> None:
    path = _write(tmp_path / "nb.ipynb")
    before_raw = path.read_text()
    before = json.loads(before_raw)
    run = _check("nb.ipynb", "--fix", "--select", "IDM001", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    after_raw = path.read_text()
    after = json.loads(after_raw)
    nbformat.validate(nbformat.reads(after_raw, as_version=4))
    assert "".join(after["cells"][3]["source"]) == (
        "def squares(values: list[float]) -> list[float]:\n    out = [v * v for v in values]\n    return out\n"
    )
    after["cells"][3]["source"] = before["cells"][3]["source"]
    assert after == before  # outputs, metadata, ids, other cells (magics included) untouched
    # byte for byte: only the lines of that source array differ
    old_lines, new_lines = before_raw.splitlines(keepends=True), after_raw.splitlines(keepends=True)
    head = next(i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=False)) if a != b)
    assert old_lines[: head] == new_lines[: head] and old_lines[head + 3 :] == new_lines[head + 1 :]
    assert after_raw.endswith("}\n")


def test_fix_keeps_a_foreign_layout_byte_for_byte(tmp_path: Path) -> None:
    """A notebook not written by nbformat (indent 2, unsorted keys, ASCII escapes, no final newline):
    ``--fix`` changes its source array only, in that layout."""
    nb = new_notebook(cells=[new_code_cell("# café\n" + SQUARES, execution_count=1), new_code_cell("r = squares([2.0])")])
    data = json.loads(nbformat.writes(nb))
    raw = json.dumps({"nbformat": 4, "nbformat_minor": data["nbformat_minor"], "metadata": {}, "cells": data["cells"]},
                     indent=2, ensure_ascii=True)  # fmt: skip
    path = tmp_path / "foreign.ipynb"
    path.write_text(raw)
    fixed = fix_file(path)
    assert fixed is not None and fixed.applied == 1
    new = path.read_text()
    expected_source = json.dumps(["# caf\u00e9\n", "def squares(values: list[float]) -> list[float]:\n",
                                  "    out = [v * v for v in values]\n", "    return out\n"], indent=2, ensure_ascii=True)  # fmt: skip
    cell_source = json.dumps(data["cells"][0]["source"], indent=2, ensure_ascii=True)
    indented = lambda s: s.replace("\n", "\n      ")  # noqa: E731 (the array's depth in the file)
    assert indented(cell_source) in raw
    assert new == raw.replace(indented(cell_source), indented(expected_source))
    assert "caf\\u00e9" in new and not new.endswith("\n")


def test_an_unfixed_notebook_stays_byte_identical(tmp_path: Path) -> None:
    cells = [new_code_cell("import numpy as np\n%time x = 1"), new_code_cell(COSINE, outputs=[new_output("stream", text="ok\n")])]
    path = _write(tmp_path / "nb.ipynb", cells)
    data = path.read_bytes()
    run = _check("nb.ipynb", "--fix", cwd=tmp_path)  # VEC001's fix is unsafe: not applied
    assert "VEC001" in run.stdout
    assert path.read_bytes() == data
    # and the splice itself is the identity when no source changes
    raw = data.decode()
    same = {c.index: c.source for c in notebook.read_cells(raw)}
    assert notebook.splice(raw, same) == raw


def test_unsafe_fix_in_a_cell_round_trips_through_nbformat(tmp_path: Path) -> None:
    path = _write(tmp_path / "nb.ipynb")
    run = _check("nb.ipynb", "--fix", "--unsafe-fixes", "--select", "VEC001", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert "dot = np.dot(u, v)" in nb.cells[2].source
    assert nb.cells[1].source.startswith("%matplotlib inline\n!pip install numpy\n")
    assert nb.cells[4].source.startswith("%%bash\n") and "files = !ls\nsquares?" in nb.cells[5].source


def test_a_fix_never_spans_two_cells() -> None:
    """An accumulator made in one cell and filled in the next: the finding is reported, its fix
    (which would join the two cells) is not applied."""
    module = notebook.virtual_module(
        [notebook.CodeCell(0, None, "def f(xs):\n    return xs"), notebook.CodeCell(1, None, "out = []"),
         notebook.CodeCell(2, None, "for x in f([1]):\n    out.append(x)")]
    )  # fmt: skip
    ranges = notebook.cell_ranges(module.text)
    assert [(i, first, last) for i, first, last in ranges] == [(0, 2, 3), (1, 5, 5), (2, 7, 8)]
    assert notebook.split_fixed(module, module.text) == {}
    broken = module.text.replace("# %% [perfsquad cell 2]\n", "")
    assert notebook.split_fixed(module, broken) is None


def test_sarif_region_points_into_the_ipynb_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "nb.ipynb")
    run = _check("nb.ipynb", "--select", "VEC001", "--format", "sarif", cwd=tmp_path)
    (result,) = json.loads(run.stdout)["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    raw_lines = path.read_text().split("\n")
    line = raw_lines[region["startLine"] - 1]
    assert line[region["startColumn"] - 1 : region["endColumn"] - 1] == "sum(x * y for x, y in zip(u, v))"
    assert region["properties"]["cell"] == 2
    assert region["properties"]["cellRegion"] == {"startLine": 2, "startColumn": 11, "endLine": 2, "endColumn": 43}


def test_raw_position_counts_json_escapes() -> None:
    raw = json.dumps({"cells": [{"cell_type": "code", "source": ['s = "\t\u00e9"; t = 1\n', "u = 2"]}]}, ensure_ascii=True)
    pos = notebook.raw_position(raw, 0, Position(1, 10))  # the `t` after the escapes
    assert pos is not None and raw[pos.column] == "t"
    pos = notebook.raw_position(raw, 0, Position(2, 0))
    assert pos is not None and raw[pos.column : pos.column + 5] == "u = 2"


def test_discovery_picks_notebooks_and_skips_checkpoints(tmp_path: Path) -> None:
    _write(tmp_path / "nb.ipynb")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    _write(tmp_path / ".ipynb_checkpoints" / "nb-checkpoint.ipynb")
    run = _check(".", "--select", "IDM001", cwd=tmp_path)
    assert "nb.ipynb:cell 4:3:5: IDM001" in run.stdout
    assert "checkpoint" not in run.stdout and "Found 1 finding in 1 file." in run.stdout


def test_other_kernels_and_broken_notebooks(tmp_path: Path) -> None:
    _write(tmp_path / "r.ipynb", [new_code_cell("x <- c(1, 2)")], kernelspec={"name": "ir", "language": "R"})
    assert _check("r.ipynb", cwd=tmp_path).returncode == 0
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    run = _check("broken.ipynb", cwd=tmp_path)
    assert run.returncode == 2 and "broken.ipynb: not a readable notebook" in run.stderr


@pytest.mark.parametrize("source", ["x = 1", "x = 1\n", "x = 1\n\n", "", "a\r\nb"])
def test_split_fixed_restores_each_cells_ending(source: str) -> None:
    module = notebook.virtual_module([notebook.CodeCell(0, None, "%ls\n" + source), notebook.CodeCell(1, None, source)])
    changed = notebook.split_fixed(module, module.text.replace("x = 1", "x = 2"))
    assert changed is not None
    expected = {i: s for i, s in ((0, "%ls\n" + source.replace("x = 1", "x = 2")), (1, source.replace("x = 1", "x = 2")))
                if "x = 1" in source}  # fmt: skip
    assert changed == expected


def test_a_cell_without_an_id_has_none_in_json(tmp_path: Path) -> None:
    """nbformat makes an id up in memory for a 4.5 cell that lacks one: the JSON says null, as the file."""
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": SQUARES.splitlines(True)}
    nb = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "noid.ipynb").write_text(json.dumps(nb, indent=1))
    run = _check("noid.ipynb", "--select", "IDM001", "--format", "json", cwd=tmp_path)
    (finding,) = json.loads(run.stdout)
    assert finding["cell"] == {"index": 0, "id": None}
    assert "MissingIDFieldWarning" not in run.stderr


def test_a_version_3_notebook_is_read_but_never_rewritten(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "collapsed": False, "input": SQUARES.splitlines(True), "language": "python",
            "metadata": {}, "outputs": []}  # fmt: skip
    nb = {"metadata": {"name": ""}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [cell], "metadata": {}}]}
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb, indent=1))
    data = path.read_bytes()
    assert "old.ipynb:cell 1:3:5: IDM001" in _check("old.ipynb", "--select", "IDM001", cwd=tmp_path).stdout
    run = _check("old.ipynb", "--select", "IDM001", "--fix", cwd=tmp_path)
    assert path.read_bytes() == data and "IDM001" in run.stdout


def test_texts_name_cell_lines_once(tmp_path: Path) -> None:
    """Evidence, notes and Big-O reasons say `line N` of the module; a notebook's say the cell's,
    and saying it again changes nothing (the editor presents an analysis more than once)."""
    module = notebook.virtual_module(
        [notebook.CodeCell(1, None, "import math"), notebook.CodeCell(3, None, "x = 1\nfor v in vs:\n    pass")]
    )
    cells = module.cells
    assert [(c.index, c.first_line, c.line_count) for c in cells] == [(1, 2, 1), (3, 4, 3)]
    once = notebook.relabel_lines("the loop at line 5 (line 2), line 9", cells)
    assert once == "the loop at cell 4, line 2 (cell 2, line 1), line 9"
    assert notebook.relabel_lines(once, cells) == once
    path = _write(tmp_path / "nb.ipynb")
    run = _check("nb.ipynb", "--complexity", "--select", "IDM001", cwd=tmp_path)
    assert "nb.ipynb:cell 4:1: squares O(n)" in run.stdout and "(cell 4, line 3: loop over `values`" in run.stdout
    assert path.exists()
