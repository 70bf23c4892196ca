"""End to end: `perfsquad.profile` through the language server (pytest-lsp, VS Code and Neovim profiles).

After a profile run the server shows HOT diagnostics and inlay hints on the hot lines, a measured code
lens on hot functions, callers in the hover, and weighs static findings by measured time; clearing
removes it all; cancelling kills the profiled process.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import pytest
from lsp_harness import ProbeClient, alive, initialize, lsp_fixture
from lsprotocol import types

client = lsp_fixture()

# crunch (called until it has used 0.5 s of CPU, whatever the machine's speed) and the 0.5 s wait
# each take about half of the run (on a loaded machine crunch's wall time only grows): both are
# among the 80% hotspots.
WORKLOAD = """\
import time


def crunch(n):
    xs = sorted(map(str, range(n)), key=hash)  # shuffled strings, and no comprehension frame of its own
    for _ in range(10):
        lowest = sorted(xs)[0]
    return lowest


def wait_for_remote():
    time.sleep(0.5)


def never_called(items):
    out = []
    for item in items:
        out.append(item)
    return out


def main():
    start = time.process_time()
    while time.process_time() - start < 0.5:
        crunch(100_000)
    wait_for_remote()


if __name__ == "__main__":
    main()
"""
CRUNCH_LINES = {6, 7}  # 1-based
SLEEP_LINE = 12


def _hot(diags: list[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in diags if str(d.code).startswith("HOT")]


async def _execute(client: ProbeClient, command: str, *args: object) -> object:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(args))
    )


async def test_profile_annotates_hot_lines_and_ranks_findings(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path, options={"debounceMs": 10})
    script = tmp_path / "app.py"
    script.write_text(WORKLOAD, encoding="utf-8")
    uri = script.as_uri()
    client.open(uri, WORKLOAD)
    before = await client.diagnostics_for(uri, version=1)
    assert {d.code for d in before} >= {"IDM001", "IDM007"} and not _hot(before)

    mark = client.mark()
    summary = await _execute(client, "perfsquad.profile", [sys.executable, str(script)])
    assert isinstance(summary, dict)
    assert summary["hotspots"][0]["function"] in {"crunch", "wait_for_remote"}
    assert {h["function"]: h["kind"] for h in summary["hotspots"]} == {"crunch": "cpu", "wait_for_remote": "io"}
    assert Path(summary["profile_path"]).is_file()

    published = await client.wait_for("diagnostics", lambda p: p.uri == uri and bool(_hot(p.diagnostics)), since=mark)
    hot = _hot(published.diagnostics)
    by_line = {d.range.start.line + 1: d for d in hot}
    assert SLEEP_LINE in by_line and str(by_line[SLEEP_LINE].code) == "HOT002"  # waiting
    assert any(str(by_line[n].code) == "HOT001" for n in CRUNCH_LINES if n in by_line)  # CPU
    assert all(d.source == "perfsquad" and "runtime" in d.message for d in hot)

    # static findings weighed: the one in crunch escalated and first, the cold one demoted to a hint
    static = [d for d in published.diagnostics if not str(d.code).startswith("HOT")]
    codes = [d.code for d in static]
    assert codes.index("IDM007") < codes.index("IDM001")
    idm007 = next(d for d in static if d.code == "IDM007")
    idm001 = next(d for d in static if d.code == "IDM001")
    assert idm001.severity == types.DiagnosticSeverity.Hint
    # escalation follows the measured share, which the finding's hover states
    note = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=idm007.range.start)
    )
    assert note is not None
    note_text = note.contents.value if isinstance(note.contents, types.MarkupContent) else str(note.contents)
    match = re.search(r"hot: this code is ([0-9.]+)% of the profiled runtime", note_text)
    assert match, note_text
    expected = types.DiagnosticSeverity.Error if float(match.group(1)) >= 20 else types.DiagnosticSeverity.Warning
    assert idm007.severity == expected

    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=30, character=0)),
        )
    )
    assert hints
    hinted = {h.position.line + 1: h for h in hints}
    assert SLEEP_LINE in hinted and "hot" in str(hinted[SLEEP_LINE].label) and " s" in str(hinted[SLEEP_LINE].label)
    assert hinted.keys() & CRUNCH_LINES
    line_text = WORKLOAD.splitlines()[SLEEP_LINE - 1]
    assert hinted[SLEEP_LINE].position.character == len(line_text)  # end of line (ASCII: same in any encoding)

    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    measured = [lens for lens in lenses if lens.command and lens.command.title.startswith("measured:")]
    assert {lens.range.start.line + 1 for lens in measured} >= {4, 11}  # def crunch, def wait_for_remote

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=SLEEP_LINE - 1, character=6),
        )
    )
    assert hover is not None
    text = hover.contents.value if isinstance(hover.contents, types.MarkupContent) else str(hover.contents)
    assert "of the runtime" in text and "Called from" in text and "main" in text

    mark = client.mark()
    await _execute(client, "perfsquad.clearProfile")
    cleared = await client.wait_for("diagnostics", lambda p: p.uri == uri, since=mark)
    assert not _hot(cleared.diagnostics)
    assert next(d for d in cleared.diagnostics if d.code == "IDM001").severity == types.DiagnosticSeverity.Warning


SPAWNER = """\
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(120)
"""


@pytest.mark.parametrize("how", ["command", "progress"])
async def test_cancelling_a_profile_kills_the_process(client: ProbeClient, tmp_path: Path, how: str) -> None:
    """Cancel with `perfsquad.cancelProfile`, or from the progress UI (window/workDoneProgress/cancel)."""
    await initialize(client, tmp_path)
    script, pid_file = tmp_path / "spawner.py", tmp_path / "pid"
    script.write_text(SPAWNER, encoding="utf-8")
    task = asyncio.ensure_future(_execute(client, "perfsquad.profile", [sys.executable, str(script), str(pid_file)]))
    for _ in range(600):  # until the profiled program has started its child (bounded)
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    assert alive(pid)
    # diagnostics keep flowing while the profile runs
    uri = (tmp_path / "other.py").as_uri()
    client.open(uri, "def f(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out\n")
    assert any(d.code == "IDM001" for d in await client.diagnostics_for(uri, version=1))

    if how == "command":
        assert await _execute(client, "perfsquad.cancelProfile") is True
    else:
        tokens = [t for t in client.progress_reports if str(t).startswith("perfsquad-profile")]
        assert tokens, (client.progress_reports, client.log_messages)
        assert isinstance(client.progress_reports[tokens[-1]][0], types.WorkDoneProgressBegin)
        assert client.progress_reports[tokens[-1]][0].cancellable
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=tokens[-1]))
    with pytest.raises(Exception, match="cancelled"):
        await task
    for _ in range(100):
        if not alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not alive(pid)


async def test_profile_this_test_lens_and_bad_arguments(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path)
    test_file = tmp_path / "test_thing.py"
    text = "def helper():\n    return 1\n\n\ndef test_thing():\n    assert helper() == 1\n"
    test_file.write_text(text, encoding="utf-8")
    uri = test_file.as_uri()
    client.open(uri, text)
    await client.diagnostics_for(uri, version=1)
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    lens = next(x for x in lenses if x.command and x.command.command == "perfsquad.profile")
    assert lens.range.start.line == 4 and lens.command is not None
    assert list(lens.command.arguments or ()) == ["test_thing.py::test_thing"]
    summary = await _execute(client, "perfsquad.profile", *lens.command.arguments)
    assert isinstance(summary, dict) and "headline" in summary

    with pytest.raises(Exception, match="give a command"):
        await _execute(client, "perfsquad.profile", 42)
    # the server is still fine afterwards
    assert await _execute(client, "perfsquad.cancelProfile") is False
