"""The ROI roadmap: Amdahl estimates from measured shares, ordering, and the no-profile fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfsquad.api import analyze_source
from perfsquad.audit.roadmap import build_roadmap
from perfsquad.audit.roi import RoiEstimate, SpeedupPoint, estimate
from perfsquad.audit.shares import ShareIndex, statement_lines
from perfsquad.calibration import running
from perfsquad.config import Config
from perfsquad.model import Confidence
from perfsquad.profiling.model import FrameRef, FunctionStat, Profile

# Every finding, whatever its evidence of scale (`lookup`'s `d` is not known to be a dict: low confidence).
EVERY = Config(confidence=Confidence.LOW)

# Three functions, each with one idiom finding: IDM007 (sorted()[0]), IDM006 (in d.keys()) and
# IDM013 (list(map(lambda ...))). The profile below says how much time each of them took.
SOURCE = """\
def lowest(xs):
    return sorted(xs)[0]


def lookup(d, k):
    return k in d.keys()


def squares(xs):
    return list(map(lambda x: x * x, xs))


def never_called(xs):
    return sorted(xs)[0]
"""


def _project(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(SOURCE)
    return path


def _profile(path: Path, seconds: dict[int, float], wall: float = 10.0) -> Profile:
    """A sampled profile: one stack per (line -> seconds), rooted at a `main` frame."""
    frames = [FrameRef("main", str(path), 100)]
    stacks = []
    functions = []
    for line, secs in seconds.items():
        frames.append(FrameRef(f"f{line}", str(path), line))
        stacks.append(((0, len(frames) - 1), secs, 0.0))
        functions.append(FunctionStat(f"f{line}", str(path), line, secs, secs))
    return Profile(command=("python", "app.py"), sampler="py-spy", wall_seconds=wall, cpu_seconds=wall,
                   functions=tuple(functions), lines=(), frames=tuple(frames), stacks=tuple(stacks))  # fmt: skip


def _ratio_measured(code: str) -> float:
    """The ratio a measured finding uses: the least gain among the calibrated sizes from 1,000 up."""
    speedup = running().speedup(code)
    assert speedup is not None
    return min(r for n, r in speedup.sizes if n >= 1000)


def test_amdahl_estimate_and_its_description() -> None:
    est = RoiEstimate("IDM007", share=0.5, speedup=SpeedupPoint(4.0, "test"), wall_seconds=10.0,
                      effort_minutes=5, safety="unsafe")  # fmt: skip
    assert est.saved_seconds == pytest.approx(10.0 * 0.5 * (1 - 1 / 4))
    assert est.roi == pytest.approx(3.75 / 5)
    text = est.describe()
    assert text.startswith("ROI: share 50.0% \u00d7 (1 \u2212 1/speedup 4x) = 3.75 s saved of 10 s; effort 5 min")
    # A rewrite measured slower than the original saves nothing (never a negative saving, never "-0"):
    # it is never recommended for speed, and says why.
    slower = RoiEstimate("X", 0.5, SpeedupPoint(0.8, "t"), 10.0, 1, "safe")
    assert slower.saved_seconds == 0.0 and "no faster" in slower.describe() and "-0" not in slower.describe()
    none = RoiEstimate("X", None, SpeedupPoint(2.0, "t"), None, 3, "safe")
    assert none.saved_seconds is None and "no profile" in none.describe()


def test_estimate_uses_calibration_and_rule_effort() -> None:
    from perfsquad.analyzers import rule_by_code

    est = estimate("IDM007", share=0.3, wall_seconds=2.0, safety=None)
    assert est.speedup is not None and est.speedup.ratio == _ratio_measured("IDM007")
    assert "least gain from n=1000 up" in est.speedup.basis
    rule = rule_by_code("IDM007")
    assert rule is not None and est.effort_minutes == rule.effort_minutes
    cold = estimate("IDM007", share=0.0, wall_seconds=2.0, safety=None)
    assert cold.speedup is not None and "median" in cold.speedup.basis


def test_share_of_a_statement_counts_each_sample_once(tmp_path: Path) -> None:
    path = _project(tmp_path)
    prof = _profile(path, {2: 3.0, 6: 1.0, 10: 1.0}, wall=6.0)
    index = ShareIndex(prof)
    assert index.total == pytest.approx(5.0)
    assert index.share_of(str(path), 2, 2) == pytest.approx(0.6)
    assert index.share_of(str(path), 1, 11) == pytest.approx(1.0)
    assert index.share_of(str(path), 14, 14) == 0.0
    assert statement_lines(str(path), 2, 2) == (2, 2)
    assert statement_lines(str(path), 5, 5) == (5, 6)  # the def line widens to the whole function


def test_roadmap_ranks_by_time_saved(tmp_path: Path) -> None:
    path = _project(tmp_path)
    report = analyze_source(path.read_text(), str(path), EVERY, metrics=True)
    codes = sorted(f.code for f in report.findings)
    assert codes == ["IDM006", "IDM007", "IDM007", "IDM013"]
    seconds = {2: 2.0, 6: 6.0, 10: 2.0}
    prof = _profile(path, seconds, wall=10.0)
    items = build_roadmap([report], prof)
    assert [i.rank for i in items] == [1, 2, 3, 4]

    # The expected ordering, computed independently from the calibration file: seconds saved.
    def expected_saved(code: str, line: int) -> float:
        share = seconds[line] / sum(seconds.values())
        return max(0.0, 10.0 * share * (1 - 1 / _ratio_measured(code)))

    measured = {("IDM007", 2): expected_saved("IDM007", 2), ("IDM006", 6): expected_saved("IDM006", 6),
                ("IDM013", 10): expected_saved("IDM013", 10)}  # fmt: skip
    for item in items[:3]:
        assert item.estimate.saved_seconds == pytest.approx(measured[(item.finding.code, item.line)])
    positive = sorted((saved, key) for key, saved in measured.items() if saved > 0)[::-1]
    assert [(i.finding.code, i.line) for i in items[: len(positive)]] == [key for _, key in positive]
    last = items[-1]
    assert (last.finding.code, last.line, last.function) == ("IDM007", 14, "never_called")
    assert last.estimate.share == 0.0 and last.estimate.saved_seconds == 0.0
    assert all(i.phase == "1-idioms" for i in items)
    data = items[0].to_json()
    assert data["formula"].startswith("ROI: share ") and json.dumps(data)


def test_roadmap_without_profile_is_static_and_says_so(tmp_path: Path) -> None:
    path = _project(tmp_path)
    report = analyze_source(path.read_text(), str(path), EVERY, metrics=True)
    items = build_roadmap([report], None)
    assert all(i.estimate.share is None and i.estimate.saved_seconds is None for i in items)
    ratios = [i.estimate.speedup.ratio if i.estimate.speedup else 1.0 for i in items]
    assert ratios == sorted(ratios, reverse=True)  # same severity: higher calibrated speedup first
    assert "no profile" in items[0].estimate.describe()


ROUTED = '''\
import sqlite3


def fetch(conn: sqlite3.Connection, ids: list[int]) -> list[object]:
    cur = conn.cursor()
    found = []
    for memory_id in ids:
        cur.execute("SELECT x FROM t WHERE id = ?", (memory_id,))
        row = cur.fetchone()
        if row is not None:
            found.append(row)
    return found


def dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def lowest(xs):
    return sorted(xs)[0]
'''


def _waiting_profile(path: Path, lines: dict[int, tuple[float, float]]) -> Profile:
    """line -> (wall seconds, of which idle seconds), one sampled stack each."""
    frames = [FrameRef("main", str(path), 100)]
    stacks = []
    for line, (wall, idle) in lines.items():
        frames.append(FrameRef(f"f{line}", str(path), line))
        stacks.append(((0, len(frames) - 1), wall, idle))
    functions = (FunctionStat("main", str(path), 100, 0.0, sum(w for w, _ in lines.values())),)
    return Profile(command=("python", "x.py"), sampler="py-spy", wall_seconds=10.0, cpu_seconds=5.0,
                   functions=functions, lines=(), frames=tuple(frames), stacks=tuple(stacks))  # fmt: skip


def test_phase_three_routes_findings_by_what_their_code_waits_on(tmp_path: Path) -> None:
    from perfsquad.audit.pipeline import route_findings

    path = tmp_path / "mod.py"
    path.write_text(ROUTED)
    report = analyze_source(ROUTED, str(path), metrics=True)
    found = {(f.code, f.span.start.line) for f in report.findings}
    assert {("IO001", 8), ("VEC001", 16), ("IDM007", 20)} <= found

    # The query loop waits (I/O), the dot product computes (CPU): both routed to phase 3.
    io_and_cpu = _waiting_profile(path, {8: (4.0, 3.8), 16: (5.0, 0.1), 20: (1.0, 0.0)})
    phases = route_findings([report], io_and_cpu, ())
    assert phases[(str(path), 8, "IO001")] == "3-hotspot"
    assert phases[(str(path), 16, "VEC001")] == "3-hotspot"
    assert phases[(str(path), 20, "IDM007")] == "1-idioms"

    # Swap what the code waits on: a NumPy rule on waiting code is not the hotspot's fix; an I/O
    # rule in hot code is, whatever the sampler saw (a commit or a query can run in C while it
    # waits on the disk or the server).
    swapped = _waiting_profile(path, {8: (4.0, 0.1), 16: (5.0, 4.9)})
    phases = route_findings([report], swapped, ())
    assert phases[(str(path), 8, "IO001")] == "3-hotspot"
    assert phases[(str(path), 16, "VEC001")] == "other"

    # Code below the hotspot threshold (and not in the 80/20 functions) is not phase 3 either.
    tiny = _waiting_profile(path, {8: (0.01, 0.01), 16: (0.01, 0.0), 30: (9.98, 0.0)})
    phases = route_findings([report], tiny, ())
    assert phases[(str(path), 8, "IO001")] == "other" and phases[(str(path), 16, "VEC001")] == "other"
    # ...unless its function is one of the 80/20 functions.
    from perfsquad.audit.pipeline import HotspotFunction

    hot = (HotspotFunction("dot", str(path), 15, 0.01, 0.001, "cpu"),)
    phases = route_findings([report], tiny, hot)
    assert phases[(str(path), 16, "VEC001")] == "3-hotspot" and phases[(str(path), 8, "IO001")] == "other"


def test_overlapping_estimates_are_marked(tmp_path: Path) -> None:
    path = _project(tmp_path)
    report = analyze_source(path.read_text(), str(path), EVERY, metrics=True)
    f = str(path)
    frames = (FrameRef("main", f, 100), FrameRef("squares", f, 10), FrameRef("lowest", f, 2), FrameRef("lookup", f, 6))
    # squares' line 10 calls into lowest's line 2 (3 s), runs on its own (1 s); lookup is separate (1 s).
    stacks = (((0, 1, 2), 3.0, 0.0), ((0, 1), 1.0, 0.0), ((0, 3), 1.0, 0.0))
    prof = Profile(command=("python", "app.py"), sampler="py-spy", wall_seconds=5.0, cpu_seconds=5.0,
                   functions=(FunctionStat("main", f, 100, 0.0, 5.0),), lines=(), frames=frames,
                   stacks=stacks)  # fmt: skip
    items = {(i.finding.code, i.line): i for i in build_roadmap([report], prof)}
    nested, outer, apart = items[("IDM007", 2)], items[("IDM013", 10)], items[("IDM006", 6)]
    assert nested.estimate.share == pytest.approx(0.6) and outer.estimate.share == pytest.approx(0.8)
    assert nested.within == outer.rank and outer.covers == (nested.rank,)
    assert apart.within is None and apart.covers == ()
    from perfsquad.audit.roadmap import overlap_note

    assert f"#{outer.rank}" in overlap_note(nested) and "do not add up" in overlap_note(nested)
    assert overlap_note(apart) == ""


HOT_SOURCE = """\
import sqlite3


def save_all(conn: sqlite3.Connection, row: int) -> None:
    conn.execute("UPDATE t SET n = n + 1 WHERE id = ?", (row,))
    conn.execute("DELETE FROM log WHERE id < ?", (row,))
    conn.execute("VACUUM")
    conn.commit()


def lowest(xs):
    return sorted(xs)[0]


def never_called(xs):
    return sorted(xs)[0]
"""


def test_hot_code_without_a_finding_is_the_first_roadmap_item(tmp_path: Path) -> None:
    """The profile says 70% of the run is a commit in `save_all`, where no rule fires: that hot
    code leads the roadmap, says what its hottest line does (a waiting call) and what to try,
    ahead of findings the run barely or never reached."""
    from perfsquad.audit.hotcode import WAIT_CALLS

    path = tmp_path / "store.py"
    path.write_text(HOT_SOURCE)
    report = analyze_source(HOT_SOURCE, str(path), EVERY, metrics=True)
    assert {f.code for f in report.findings} == {"IDM007"}  # nothing in save_all
    f = str(path)
    frames = (FrameRef("main", f, 100), FrameRef("save_all", f, 8), FrameRef("lowest", f, 12))
    stacks = (((0, 1), 7.0, 6.5), ((0, 2), 0.3, 0.0))
    functions = (FunctionStat("save_all", f, 4, 7.0, 7.0, 6.5), FunctionStat("lowest", f, 11, 0.3, 0.3))
    prof = Profile(command=("python", "x.py"), sampler="py-spy", wall_seconds=10.0, cpu_seconds=3.0,
                   functions=functions, lines=(), frames=frames, stacks=stacks)  # fmt: skip
    hotspot = [("save_all", f, 4, 7.0 / 7.3)]
    items = build_roadmap([report], prof, None, hotspot)
    first = items[0]
    assert (first.rank, first.finding.code, first.function, first.family) == (1, "HOT002", "save_all", "HOT")
    assert "holds 96% of the run" in first.finding.message and "waiting" in first.finding.message
    notes = " ".join(first.finding.notes)
    assert "line 8 `conn.commit()`" in notes and "waits in `commit()`" in notes and "commit" in WAIT_CALLS
    assert "batch" in notes and "one connection" in notes
    assert "the most a change there can save" in first.estimate.describe()
    # The idioms follow: the measured one, then the one the run never reached.
    assert [(i.finding.code, i.function) for i in items[1:]] == [("IDM007", "lowest"), ("IDM007", "never_called")]
    # A hot function a finding explains gets no HOT item of its own.
    again = build_roadmap([report], prof, None, [("lowest", f, 11, 0.04)])
    assert not [i for i in again if i.family == "HOT"]


def test_the_roadmap_is_a_plan_an_item_covering_others_comes_first(tmp_path: Path) -> None:
    """`squares` (line 10) holds the time of `lowest` (line 2): even if the nested rewrite were
    estimated to save more per minute, the covering item is applied first and listed first."""
    path = _project(tmp_path)
    report = analyze_source(path.read_text(), str(path), EVERY, metrics=True)
    f = str(path)
    frames = (FrameRef("main", f, 100), FrameRef("squares", f, 10), FrameRef("lowest", f, 2))
    stacks = (((0, 1, 2), 9.0, 0.0), ((0, 1), 1.0, 0.0))
    prof = Profile(command=("python", "app.py"), sampler="py-spy", wall_seconds=10.0, cpu_seconds=10.0,
                   functions=(FunctionStat("main", f, 100, 0.0, 10.0),), lines=(), frames=frames,
                   stacks=stacks)  # fmt: skip
    items = build_roadmap([report], prof)
    ranks = {(i.finding.code, i.line): i for i in items}
    outer, nested = ranks[("IDM013", 10)], ranks[("IDM007", 2)]
    assert outer.rank < nested.rank and outer.covers == (nested.rank,) and nested.within == outer.rank
    assert [i.rank for i in items] == list(range(1, len(items) + 1))


def test_hot_library_code_names_the_call_site_in_the_project_that_drives_it(tmp_path: Path) -> None:
    """A commit per call in a helper module is fixed at its caller (one transaction around the
    loop): the HOT item names the project's call site through which most of its time passed."""
    lib = tmp_path / "store.py"
    lib.write_text(HOT_SOURCE)
    app = tmp_path / "app.py"
    app.write_text("from store import save_all\n\n\ndef main(conn, rows):\n    for row in rows:\n        save_all(conn, row)\n")
    report = analyze_source(HOT_SOURCE, str(lib), EVERY, metrics=True)
    frames = (FrameRef("<module>", str(app), 8), FrameRef("main", str(app), 6), FrameRef("save_all", str(lib), 8))
    stacks = (((0, 1, 2), 9.0, 8.0), ((0, 1), 1.0, 0.0))
    prof = Profile(command=("python", "app.py"), sampler="py-spy", wall_seconds=10.0, cpu_seconds=2.0,
                   functions=(FunctionStat("save_all", str(lib), 4, 9.0, 9.0, 8.0),
                              FunctionStat("main", str(app), 4, 1.0, 10.0)),
                   lines=(), frames=frames, stacks=stacks)  # fmt: skip
    items = build_roadmap([report], prof, None, [("save_all", str(lib), 4, 0.9)], tmp_path)
    notes = " ".join(items[0].finding.notes)
    assert items[0].finding.code == "HOT002"
    assert "reached from app.py:6 `save_all(conn, row)` (100% of its time)" in notes
