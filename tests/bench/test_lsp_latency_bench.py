"""The editor-latency benchmark's own machinery (bench/lsp_client.py, bench/lsp_latency.py) works.

No timing is asserted here (speed lives in the benchmark's table); these tests check that the
benchmark measures what it says: every planned edit parses and undoes itself, and each measured
latency belongs to a publishDiagnostics of the right document version, for perfsquad and ruff.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from support import BENCH

sys.path.insert(0, str(BENCH))

import lsp_latency

SOURCE = '''\
"""A module with a few functions and a seeded finding (IDM001 for perfsquad, PERF401 for ruff)."""
import functools


def doubled(xs):
    """Docstring first: the probe goes after it."""
    out = []
    for x in xs:
        out.append(x * 2)
    return out


class Box:
    def size(self):
        return 1

    @functools.cache
    def cached(self):
        @functools.wraps(len)
        def inner():
            return 2

        return inner
'''


def apply(lines: list[str], edit: lsp_latency.Edit) -> list[str]:
    return [*lines[: edit.start], *([edit.text] if edit.text else []), *lines[edit.end :]]


def test_planned_edits_parse_and_undo_themselves() -> None:
    edits = lsp_latency.plan_edits(SOURCE, 6)
    assert len(edits) == 6
    assert {e.function for e in edits} <= {"doubled", "size", "cached", "inner"}
    lines = SOURCE.splitlines(keepends=True)
    for insert, remove in zip(edits[::2], edits[1::2], strict=True):
        assert insert.text.strip().startswith("_bench_probe = ") and remove.text == ""
        edited = apply(lines, insert)
        ast.parse("".join(edited))
        assert apply(edited, remove) == lines
    doubled = next(e for e in edits if e.function == "doubled")
    assert lines[doubled.start].strip() == "out = []"  # after the docstring
    cached = next(e for e in edits if e.function == "cached")
    assert lines[cached.start].strip() == "@functools.wraps(len)"  # before the decorator, not between


def test_p95_interpolates() -> None:
    assert lsp_latency.p95([float(v) for v in range(1, 21)]) == pytest.approx(19.05)
    assert lsp_latency.p95([5.0]) == 5.0


@pytest.mark.parametrize("tool", ["perfsquad", "ruff server"])
def test_each_measured_edit_gets_its_versions_diagnostics(tool: str, tmp_path: Path) -> None:
    path = tmp_path / "module.py"
    path.write_text(SOURCE)
    cmd, options = {
        "perfsquad": (lsp_latency.default_perfsquad(), lsp_latency.PERFSQUAD_OPTIONS),
        "ruff server": (lsp_latency.default_ruff(), lsp_latency.RUFF_OPTIONS),
    }[tool]
    edits = lsp_latency.plan_edits(SOURCE, 4)
    run = lsp_latency.measure_file(tool, cmd, options, path, tmp_path, edits, tmp_path / "stderr.log")
    assert run.error is None, run.error
    assert len(run.latencies_ms) == 4 and all(ms > 0 for ms in run.latencies_ms)
    assert run.median_ms is not None and run.p95_ms is not None and run.open_ms is not None
    # The seeded list-building loop is reported after every edit (IDM001 / PERF401), so each
    # publish carries at least that finding: we timed real analyses, not empty clears.
    assert all(count >= 1 for count in run.diagnostics), run.diagnostics


def test_servers_measured_side_by_side_each_get_their_versions_diagnostics(tmp_path: Path) -> None:
    """Both servers have the file open and take each edit in turn: every edit is timed for each,
    to that server's diagnostics of its version."""
    path = tmp_path / "module.py"
    path.write_text(SOURCE)
    servers = [
        ("perfsquad", lsp_latency.default_perfsquad(), lsp_latency.PERFSQUAD_OPTIONS),
        ("ruff server", lsp_latency.default_ruff(), lsp_latency.RUFF_OPTIONS),
    ]
    logs = {tool: tmp_path / f"{tool.split()[0]}.log" for tool, _, _ in servers}
    edits = lsp_latency.plan_edits(SOURCE, 3)
    runs = lsp_latency.measure_together(servers, path, tmp_path, edits, logs, interval=0.05)
    assert [run.tool for run in runs] == ["perfsquad", "ruff server"]
    for run in runs:
        assert run.error is None, run.error
        assert len(run.latencies_ms) == 3 and all(ms > 0 for ms in run.latencies_ms)
        assert all(count >= 1 for count in run.diagnostics), (run.tool, run.diagnostics)


LONG = "\n".join(f"    total += {i} * value" for i in range(70))
KINDS_SOURCE = (
    SOURCE
    + f'''

def long_one(value):
    total = 0
{LONG}
    return total


def short_one(value):
    if value:
        return 1
    return 2
'''
)


@pytest.mark.parametrize("kind", lsp_latency.KINDS)
def test_every_kind_of_edit_parses_and_undoes_itself(kind: str) -> None:
    edits = lsp_latency.plan_kind(KINDS_SOURCE, kind, 2)
    assert len(edits) == 2 and {e.kind for e in edits} == {kind}
    lines = KINDS_SOURCE.splitlines(keepends=True)
    change, undo = edits
    edited = "".join(apply(lines, change)).splitlines(keepends=True)
    ast.parse("".join(edited))
    assert "".join(edited) != KINDS_SOURCE
    assert "".join(apply(edited, undo)) == KINDS_SOURCE
    if kind == "50-line paste":
        assert change.text.count("\n") >= 50 and "def long_one_pasted_0(" in change.text
    if kind == "deleted block":
        assert change.text == "" and undo.text.startswith(("def ", "    def ", "    @", "@"))
    if kind == "top-level statement":
        assert change.text == "_bench_flag_0 = 0\n"

