"""A line that calls something waiting (a commit, a query, a sleep) is I/O even when the sampler
saw it running (SQLite's COMMIT syncs the disk without releasing the GIL): per line, per
function, and in the run's class and headline (#18: classification that agrees with what the
code does)."""

from __future__ import annotations

from pathlib import Path

from perfsquad.profiling.analysis import classify, function_kind, kind_with_lines
from perfsquad.profiling.model import FrameRef, FunctionStat, LineStat, Profile
from perfsquad.profiling.waits import calls_on_line, waiting_call

SOURCE = """\
def save(conn, row):
    conn.execute("INSERT INTO t VALUES (?)", (row,))
    conn.commit()
    return sum(x * x for x in range(100))
"""


def _profile(path: Path) -> Profile:
    f = str(path)
    frames = (FrameRef("main", f, 9), FrameRef("save", f, 3), FrameRef("save", f, 4))
    # 7 s on the commit line, sampled as running (no idle), 3 s of computation.
    stacks = (((0, 1), 7.0, 0.0), ((0, 2), 3.0, 0.0))
    return Profile(command=("python", "x.py"), sampler="py-spy", wall_seconds=10.0, cpu_seconds=9.0,
                   functions=(FunctionStat("save", f, 1, 10.0, 10.0),), lines=(), frames=frames, stacks=stacks,
                   samples=1000, idle_samples=0)  # fmt: skip


def test_the_calls_on_a_line_and_whether_one_waits(tmp_path: Path) -> None:
    path = tmp_path / "store.py"
    path.write_text(SOURCE)
    assert calls_on_line(str(path), 3) == ("commit",) and waiting_call(str(path), 3) == "commit"
    assert waiting_call(str(path), 2) == "execute"
    assert waiting_call(str(path), 4) is None and "range" in calls_on_line(str(path), 4)
    assert waiting_call(str(path), 99) is None


def test_a_commit_sampled_as_running_is_io_and_the_run_is_io_bound(tmp_path: Path) -> None:
    path = tmp_path / "store.py"
    path.write_text(SOURCE)
    f = str(path)
    assert function_kind(LineStat(f, 3, "save", 7.0, 7.0)) == "io"
    assert function_kind(LineStat(f, 4, "save", 3.0, 3.0)) == "cpu"
    lines = (LineStat(f, 3, "save", 7.0, 7.0), LineStat(f, 4, "save", 3.0, 3.0))
    assert kind_with_lines(FunctionStat("save", f, 1, 10.0, 10.0), lines) == "io"
    neck = classify(_profile(path))
    assert neck.kind == "io" and "I/O wait 70%" in neck.headline
    assert any("in calls that wait" in e for e in neck.evidence)
