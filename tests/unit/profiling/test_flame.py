"""The profile view's data (perfsquad.profiling.flame) and page (flame_html), on profiles built by hand."""

from __future__ import annotations

import json
import re
from pathlib import Path

from perfsquad.profiling.flame import flame_tree, hot_functions, hot_lines, profile_view
from perfsquad.profiling.flame_html import render
from perfsquad.profiling.model import FrameRef, FunctionStat, LineStat, Profile


def _profile(tmp_path: Path) -> Profile:
    app = str(tmp_path / "app.py")
    frames = (
        FrameRef("<module>", app, 30),  # 0
        FrameRef("main", app, 20),  # 1
        FrameRef("crunch", app, 6),  # 2
        FrameRef("wait", app, 12),  # 3
        FrameRef("tiny", app, 40),  # 4
        FrameRef("crunch", app, 7),  # 5: the same function at another line
    )
    stacks = (
        ((0, 1, 2), 3.0, 0.0),
        ((0, 1, 2), 1.0, 0.0),  # merged with the one above
        ((0, 1, 3), 2.0, 2.0),  # caught waiting
        ((0, 1, 4), 0.001, 0.0),  # under the 0.2% floor: folded into main
        ((0, 1, 5), 0.5, 0.0),  # merged with crunch at line 6, its hottest line
    )
    functions = (
        FunctionStat("main", app, 18, 0.0, 6.001),
        FunctionStat("crunch", app, 5, 4.0, 4.0),
        FunctionStat("wait", app, 11, 2.0, 2.0, idle_seconds=2.0),
        FunctionStat("tiny", app, 39, 0.001, 0.001),
    )
    lines = (
        LineStat(app, 6, "crunch", 4.0, 4.0),
        LineStat(app, 12, "wait", 2.0, 2.0, idle_seconds=2.0),
        LineStat(app, 40, "tiny", 0.001, 0.001),
    )
    return Profile(("python", app), "py-spy", 6.2, 4.1, functions, lines, samples=600, idle_samples=200,
                   frames=frames, stacks=stacks)  # fmt: skip


def test_tree_merges_stacks_and_folds_narrow_frames(tmp_path: Path) -> None:
    tree = flame_tree(_profile(tmp_path))
    assert tree is not None and tree["name"] == "all" and abs(tree["value"] - 6.501) < 1e-9
    (module,) = tree["children"]
    (main,) = module["children"]
    assert [c["name"] for c in main["children"]] == ["crunch", "wait"]  # widest first; tiny folded
    crunch, wait = main["children"]
    assert crunch["value"] == 4.5 and abs(crunch["share"] - 4.5 / 6.501) < 1e-6 and crunch["line"] == 6
    assert crunch["label"] == "crunch (app.py)"
    assert wait["idle"] == 2.0 and wait["value"] == 2.0
    # Without the floor the narrow frame is kept; the node budget keeps the widest ones.
    unfolded = flame_tree(_profile(tmp_path), min_share=0.0)
    assert unfolded is not None
    assert "tiny" in json.dumps(unfolded)
    budget = flame_tree(_profile(tmp_path), min_share=0.0, max_nodes=3)
    assert budget is not None and "tiny" not in json.dumps(budget) and "crunch" in json.dumps(budget)


def test_no_stacks_no_tree_and_the_view_says_why(tmp_path: Path) -> None:
    profile = Profile(("python", "x.py"), "cprofile", 1.0, 1.0, (), ())
    assert flame_tree(profile) is None
    view = profile_view(profile, tmp_path)
    assert view["tree"] is None and "cprofile" in view["tree_note"]


def test_tables_rank_the_projects_code(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    functions = hot_functions(profile, tmp_path)
    names = [f["name"] for f in functions]
    assert names.index("main") < names.index("crunch") < names.index("wait")
    crunch, wait = functions[names.index("crunch")], functions[names.index("wait")]
    assert crunch["line"] in (5, 6) and wait["idle"] == 2.0 and "tiny" in names
    assert crunch["where"] == f"app.py:{crunch['line']}"  # relative to the project root
    lines = hot_lines(profile, tmp_path)
    assert [(ln["line"], ln["function"]) for ln in lines[:2]] == [(6, "crunch"), (12, "wait")]
    assert abs(lines[0]["share"] - 4.0 / profile.total_seconds) < 1e-6


def test_page_embeds_the_data_safely_and_runs_scripts_by_nonce_only(tmp_path: Path) -> None:
    profile = _profile(tmp_path)
    view = profile_view(profile, tmp_path)
    view["headline"] = "CPU-bound </script><script>alert(1)</script>"
    page = render(view, nonce="abc123", csp_source="https://webview.example")
    assert "script-src 'nonce-abc123'" in page and "https://webview.example" in page
    assert "<script>alert(1)" not in page  # neither in the title nor in the embedded JSON
    payload = re.search(r'<script id="profile-data" type="application/json">(.*?)</script>', page, re.S)
    assert payload is not None
    assert json.loads(payload.group(1))["headline"] == view["headline"]
    assert page.count("<script") == 2 and '<script nonce="abc123">' in page
