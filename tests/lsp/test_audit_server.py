"""End to end through the language server (pytest-lsp, VS Code and Neovim profiles):
`perfsquad.auditPerformance`, `perfsquad.quickDiagnose`, `perfsquad.estimateRoi` and the ROI hover."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsp_harness import ProbeClient, initialize, lsp_fixture
from lsprotocol import types

client = lsp_fixture()

# 1800 sorts take ~0.7 s here: py-spy at 100 Hz still gets tens of samples on a machine three times
# faster (a run of fewer than 5 samples is refused as too short to measure).
APP = """\
def lowest(xs):
    return sorted(xs)[0]


def main():
    total = 0
    for i in range(1800):  # unsorted inputs: the sort dominates and the run lasts long enough to sample
        total += lowest([(j * 7919 + i) % 20011 for j in range(4000)])
    print(total)


if __name__ == "__main__":
    main()
"""
TEST_APP = """\
import time

from app import lowest


def test_lowest():
    xs = [(j * 7919) % 20011 for j in range(20000)]  # a permutation-like shuffle: sorting it takes time
    start = time.process_time()
    while time.process_time() - start < 0.5:  # (sampled long enough whatever the machine's speed)
        assert lowest(xs) == 0
"""
FINDING = types.Position(line=1, character=12)  # inside `sorted(xs)[0]`


def _workspace(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_app.py").write_text(TEST_APP, encoding="utf-8")
    # IDM005 (`total += ...`) is selected by its code: it is in the readability group where `sum()`
    # measures slower (perfsquad.calibration), off by default; its loop runs over `range(1800)`, a
    # fixed size (low confidence), so the workspace asks for every confidence.
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\npythonpath = ['.']\n[tool.perfsquad]\nextend-select = ['IDM005']\n"
        "confidence = 'low'\n",
        encoding="utf-8",
    )
    return tmp_path / "app.py"


async def _execute(client: ProbeClient, command: str, *args: object) -> object:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(args))
    )


async def _hover(client: ProbeClient, uri: str, pos: types.Position) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos)
    )
    if result is None:
        return ""
    contents = result.contents
    return contents.value if isinstance(contents, types.MarkupContent) else str(contents)


async def test_audit_command_feeds_roi_hover_and_estimate(client: ProbeClient, tmp_path: Path) -> None:
    app = _workspace(tmp_path)
    await initialize(client, tmp_path, options={"debounceMs": 10})
    uri = app.as_uri()
    client.open(uri, APP)
    diags = await client.diagnostics_for(uri, version=1)
    assert "IDM007" in {d.code for d in diags}

    # No profile yet: the hover has no ROI line, and estimateRoi says nothing was measured.
    assert "ROI:" not in await _hover(client, uri, FINDING)
    cold = await _execute(client, "perfsquad.estimateRoi", uri, {"line": FINDING.line, "character": FINDING.character})
    assert isinstance(cold, dict) and cold["profile"] is None
    assert cold["estimates"][0]["code"] == "IDM007" and cold["estimates"][0]["share"] is None
    # What the VS Code client shows (#20: it said only "details in the perfsquad output").
    assert cold["summary"] == f"ROI at app.py: IDM007 line 2: {cold['estimates'][0]['formula']}"

    # A profile taken by `perfsquad.profile` (the profiling extension) is enough for the ROI hover.
    import sys

    summary = await _execute(client, "perfsquad.profile", [sys.executable, str(app)])
    assert isinstance(summary, dict)
    profiled = await _hover(client, uri, FINDING)
    assert "**IDM007** ROI: share " in profiled and " s saved of " in profiled
    await _execute(client, "perfsquad.clearProfile")
    assert "ROI:" not in await _hover(client, uri, FINDING)

    result = await _execute(client, "perfsquad.auditPerformance", {"run": "python app.py", "out": str(tmp_path / "r")})
    assert isinstance(result, dict)
    html = Path(result["html"])
    assert html.is_file() and "<svg" in html.read_text() and Path(result["markdown"]).is_file()
    top = result["roadmap"][0]
    assert "start with IDM007 at app.py:2" in result["summary"]
    assert top["code"] == "IDM007" and top["function"] == "lowest" and top["share"] > 0
    assert json.loads(Path(result["json"]).read_text())["roadmap"][0]["code"] == "IDM007"

    text = await _hover(client, uri, FINDING)
    assert "**IDM007** ROI: share " in text and " s saved of " in text and "effort 1 min" in text
    assert "1/speedup" in text
    warm = await _execute(client, "perfsquad.estimateRoi", {"uri": uri, "position": {"line": 1, "character": 12}})
    assert isinstance(warm, dict) and warm["profile"]["command"]
    est = warm["estimates"][0]
    assert est["share"] > 0 and est["saved_seconds"] > 0 and est["effort_minutes"] == 1
    assert est["saved_seconds"] == pytest.approx(warm["profile"]["wall_seconds"] * est["share"] * (1 - 1 / est["speedup"]))
    assert est["formula"] in text  # the hover shows exactly the command's estimate
    assert warm["summary"].startswith("ROI at app.py: IDM007 line 2: ") and " s saved of " in warm["summary"]
    # Off any finding: no ROI text.
    assert "ROI:" not in await _hover(client, uri, types.Position(line=5, character=4))


async def test_quick_diagnose_by_position_and_by_name(client: ProbeClient, tmp_path: Path) -> None:
    app = _workspace(tmp_path)
    await initialize(client, tmp_path, options={"debounceMs": 10})
    uri = app.as_uri()
    client.open(uri, APP)
    await client.diagnostics_for(uri, version=1)

    fast = await _execute(client, "perfsquad.quickDiagnose", {"uri": uri, "function": "main", "profile": False})
    assert isinstance(fast, dict)
    assert fast["function"] == "main" and fast["line"] == 5 and fast["profile"] is None
    assert fast["complexity"] == "n/a" or fast["complexity"].startswith("O(")
    assert fast["radon"]["cyclomatic"] == 3 and fast["radon"]["rank"] == "A"  # for + comprehension
    assert [f["code"] for f in fast["findings"]] == ["IDM005"]  # `total += ...` in the loop
    assert fast["findings"][0]["share"] is None and "no profile" in fast["text"]

    result = await _execute(client, "perfsquad.quickDiagnose", uri, {"line": 1, "character": 4})
    assert isinstance(result, dict)
    assert result["function"] == "lowest" and result["radon"]["cyclomatic"] == 1
    assert [f["code"] for f in result["findings"]] == ["IDM007"]
    assert result["exercised_by"] == {"kind": "test", "spec": "tests/test_app.py::test_lowest"}
    assert result["profile_error"] is None, result["profile_error"]
    prof = result["profile"]
    assert prof is not None and prof["wall_seconds"] > 0 and prof["share"] > 0
    assert "of the run in this function" in result["text"]
    assert result["summary"].startswith("lowest: 1 findings, complexity ")


async def test_cancel_audit_and_bad_arguments(client: ProbeClient, tmp_path: Path) -> None:
    import asyncio
    import os

    pid_file = tmp_path / "pid"
    (tmp_path / "slow.py").write_text(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                      "time.sleep(60)\n")  # fmt: skip
    await initialize(client, tmp_path, options={"debounceMs": 10})
    for bad in ([], [42], ["file:///nowhere.py"], [{"uri": ""}]):
        try:
            await _execute(client, "perfsquad.quickDiagnose", *bad)
        except Exception as exc:  # the server answers with an error, and keeps serving
            assert "quickDiagnose" in str(exc) or "uri" in str(exc) or "position" in str(exc)
        else:
            raise AssertionError(f"quickDiagnose accepted {bad!r}")

    options = {"uri": tmp_path.as_uri(), "run": "python slow.py", "sampler": "cprofile"}
    audit = asyncio.ensure_future(_execute(client, "perfsquad.auditPerformance", options))
    for _ in range(600):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    assert await _execute(client, "perfsquad.cancelAudit") is True
    try:
        await asyncio.wait_for(audit, 30)
    except Exception as exc:
        assert "cancelled" in str(exc)
    else:
        raise AssertionError("a cancelled audit returned a result")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError("the profiled process survived the cancel")
    assert await _execute(client, "perfsquad.cancelAudit") is False  # nothing left to cancel


async def test_roadmap_ranks_by_measured_roi_once_a_profile_is_loaded(client: ProbeClient, tmp_path: Path) -> None:
    import sys

    app = _workspace(tmp_path)
    await initialize(client, tmp_path, options={"debounceMs": 10})

    static = await _execute(client, "perfsquad.optimizationRoadmap")
    assert isinstance(static, dict) and static["measured"] is False and static["profile"] is None
    assert "no profile loaded" in static["summary"]
    assert {item["code"] for item in static["items"]} == {"IDM007", "IDM005"}
    assert all(item["share"] is None for item in static["items"])
    markdown = Path(static["markdown"])
    assert markdown == tmp_path / ".perfsquad" / "roadmap.md" and "nothing is measured" in markdown.read_text()

    await _execute(client, "perfsquad.profile", [sys.executable, str(app)])
    measured = await _execute(client, "perfsquad.optimizationRoadmap", {"uri": app.as_uri(), "limit": 1})
    assert isinstance(measured, dict) and measured["measured"] is True and measured["total"] == 2
    [top] = measured["items"]  # limit 1
    assert top["code"] == "IDM007" and top["function"] == "lowest" and top["rank"] == 1
    assert top["share"] > 0 and top["saved_seconds"] > 0
    assert "start with IDM007 at app.py:2" in measured["summary"]
    # Markdown, not a code block: a table row whose place links to the file at the line.
    assert "```" not in measured["text"] and "1/speedup" in measured["text"]
    assert f"| 1 | [app.py:2]({app.as_uri()}#L2) in `lowest` | IDM007 |" in measured["text"]

    for bad in ({"limit": 0}, {"path": str(tmp_path / "missing.py")}):
        try:
            await _execute(client, "perfsquad.optimizationRoadmap", bad)
        except Exception as exc:
            assert "optimizationRoadmap" in str(exc)
        else:
            raise AssertionError(f"optimizationRoadmap accepted {bad!r}")

    # Open documents count as the editor has them: an unsaved fix of app.py, a never-saved file.
    client.open(app.as_uri(), APP.replace("return sorted(xs)[0]", "return min(xs)"))
    scratch = tmp_path / "scratch.py"
    client.open(scratch.as_uri(), "def top(xs):\n    return sorted(xs)[-1]\n")
    edited = await _execute(client, "perfsquad.optimizationRoadmap")
    assert isinstance(edited, dict)
    rows = {(Path(item["filename"]).name, item["code"]) for item in edited["items"]}
    # (the profile still says `lowest` is hot: with its finding fixed, it is hot code no finding
    # explains, HOT001, as the audit ranks it)
    assert rows == {("app.py", "IDM005"), ("app.py", "HOT001"), ("scratch.py", "IDM007")}, rows
    assert "sorted(xs)[0]" in app.read_text()  # nothing was saved
    assert list((tmp_path / ".perfsquad" / "cache").glob("reports-*.marshal"))  # the CLI's cache


def test_roadmap_analysis_stops_when_cancelled(tmp_path: Path) -> None:
    import threading

    from perfsquad.config import Config
    from perfsquad.server.ext_audit import RoadmapCancelled, _saved_reports

    for i in range(30):
        (tmp_path / f"m{i}.py").write_text("def f(xs):\n    return sorted(xs)[0]\n", encoding="utf-8")
    cancel = threading.Event()
    messages: list[str] = []
    reports = _saved_reports(tmp_path, Config(), tmp_path / "cache", {}, cancel, messages.append)
    assert len(reports) == 30 and messages and messages[-1] == "30/30 files"
    cancel.set()
    try:
        _saved_reports(tmp_path, Config(), tmp_path / "cache2", {}, cancel, messages.append)
    except RoadmapCancelled as exc:
        assert "cancelled" in str(exc)
    else:
        raise AssertionError("a cancelled roadmap analysis went on")


async def test_benchmark_records_survive_in_the_workspace_and_compare(client: ProbeClient, tmp_path: Path) -> None:
    import asyncio
    import sys

    (tmp_path / "slow.py").write_text("print(sum(i * i for i in range(3_000_000)))\n", encoding="utf-8")
    (tmp_path / "fast.py").write_text("print(sum(i * i for i in range(3_000)))\n", encoding="utf-8")
    (tmp_path / "stuck.py").write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    await initialize(client, tmp_path, options={"debounceMs": 10})

    before = await _execute(client, "perfsquad.benchmark", {"command": [sys.executable, "slow.py"], "name": "before",
                                                            "runs": 4, "warmup": 1})  # fmt: skip
    assert isinstance(before, dict) and len(before["runs"]) == 4 and before["mean"] > 0
    stored = tmp_path / ".perfsquad" / "bench" / "before.json"
    assert Path(before["path"]) == stored and json.loads(stored.read_text())["runs"] == before["runs"]
    after = await _execute(client, "perfsquad.benchmark", {"command": f"{sys.executable} fast.py", "name": "after",
                                                           "runs": 4})  # fmt: skip
    assert isinstance(after, dict) and after["mean"] < before["mean"]
    assert set(await _execute(client, "perfsquad.listBenchmarks")) == {"before", "after"}  # type: ignore[arg-type]

    result = await _execute(client, "perfsquad.compareBenchmarks", "before", "after")
    assert isinstance(result, dict) and result["significant"] is True
    assert result["verdict"].startswith("significant speedup") and "Welch's t-test" in result["text"]
    same = await _execute(client, "perfsquad.compareBenchmarks", {"before": "before", "after": "before"})
    assert isinstance(same, dict) and same["verdict"] == "no significant change" and same["significant"] is False

    for command, bad in (
        ("perfsquad.compareBenchmarks", ["nope", "before"]),
        ("perfsquad.compareBenchmarks", [{"before": "before"}]),
        ("perfsquad.benchmark", [{"command": [], "name": "x"}]),
        ("perfsquad.benchmark", [{"command": ["true"], "name": "../escape"}]),
        ("perfsquad.benchmark", [{"command": ["true"], "runs": 0}]),
    ):
        try:
            await _execute(client, command, *bad)
        except Exception as exc:  # an error response; the server keeps serving
            assert "no benchmark record named 'nope'" in str(exc) or "perfsquad.benchmark" in str(exc) or \
                "compareBenchmarks" in str(exc) or "runs" in str(exc)  # fmt: skip
        else:
            raise AssertionError(f"{command} accepted {bad!r}")

    stuck = asyncio.ensure_future(
        _execute(client, "perfsquad.benchmark", {"command": [sys.executable, "stuck.py"], "name": "stuck", "warmup": 0})
    )
    for _ in range(200):
        if await _execute(client, "perfsquad.cancelBenchmark") is True:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the benchmark never started")
    try:
        await asyncio.wait_for(stuck, 30)
    except Exception as exc:
        assert "cancel" in str(exc)
    else:
        raise AssertionError("a cancelled benchmark returned a result")
    assert not (tmp_path / ".perfsquad" / "bench" / "stuck.json").exists()
