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
    assert all(d.source == "perfsquad" and "of the measured run is on this line" in d.message for d in hot)
    # the headline reaches every client: window/showMessage, not only the perfsquad/status notification
    assert any(m.message.startswith("perfsquad: profiled · ") and "bound" in m.message for m in client.messages)

    # static findings weighed: the one in crunch first; the cold one keeps its severity and says it is cold
    static = [d for d in published.diagnostics if not str(d.code).startswith("HOT")]
    codes = [d.code for d in static]
    assert codes.index("IDM007") < codes.index("IDM001")
    idm007 = next(d for d in static if d.code == "IDM007")
    idm001 = next(d for d in static if d.code == "IDM001")
    assert idm001.severity == next(d for d in before if d.code == "IDM001").severity == types.DiagnosticSeverity.Warning
    assert "(not reached in the measured run)" in idm001.message
    # the severity follows the estimated saving (share x (1 - 1/ratio)), which the finding's hover states
    note = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=idm007.range.start)
    )
    assert note is not None
    note_text = note.contents.value if isinstance(note.contents, types.MarkupContent) else str(note.contents)
    match = re.search(r"estimated saving: ([0-9.]+)% of the run = ([0-9.]+)% \u00d7 \(1 \u2212 1/([0-9.]+)x\)", note_text)
    assert match, note_text
    saved, share, ratio = (float(g) for g in match.groups())
    assert abs(saved - share * (1 - 1 / ratio)) < 0.1
    expected = (types.DiagnosticSeverity.Error if saved >= 10 else
                types.DiagnosticSeverity.Warning if saved >= 1 else types.DiagnosticSeverity.Information)  # fmt: skip
    assert idm007.severity == expected or (expected == types.DiagnosticSeverity.Information and idm007.severity
                                           == next(d for d in before if d.code == "IDM007").severity)  # fmt: skip

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
    # one share per line: the HOT diagnostic, the inlay hint and the hover say the same number
    hot_pct = re.search(r"Hotspot: ([0-9.]+%)", by_line[SLEEP_LINE].message)
    inlay_pct = re.search(r"hot ([0-9.]+%)", str(hinted[SLEEP_LINE].label))
    assert hot_pct and inlay_pct and hot_pct.group(1) == inlay_pct.group(1)

    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    measured = [lens for lens in lenses if lens.command and lens.command.title.startswith("measured:")]
    assert {lens.range.start.line + 1 for lens in measured} >= {4, 11}  # def crunch, def wait_for_remote
    # clicking a lens does something: it shows what is known of the function
    wait_lens = next(lens for lens in measured if lens.range.start.line + 1 == 11)
    assert wait_lens.command is not None and wait_lens.command.command == "perfsquad.showFunctionMetrics"
    mark = client.mark()
    shown = await _execute(client, wait_lens.command.command, *(wait_lens.command.arguments or ()))
    assert isinstance(shown, str) and "wait_for_remote is" in shown and "of the run" in shown
    assert any("wait_for_remote is" in m.message for m in client.seen("show", since=mark))

    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=SLEEP_LINE - 1, character=6),
        )
    )
    assert hover is not None
    text = hover.contents.value if isinstance(hover.contents, types.MarkupContent) else str(hover.contents)
    assert "of the run" in text and "Called from" in text and "main" in text
    hover_pct = re.search(r"this line is ([0-9.]+%) of the run", text)
    assert hover_pct and hover_pct.group(1) == hot_pct.group(1)

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


async def test_profile_without_arguments_profiles_the_current_test_file(client: ProbeClient, tmp_path: Path) -> None:
    """What a plain LSP client sends (no arguments): the document the user is in, a test file run by pytest.
    Test functions get no code lens of their own (a lens says something measured or estimated)."""
    await initialize(client, tmp_path)
    test_file = tmp_path / "test_thing.py"
    text = (
        "import time\n\n\ndef helper():\n    time.sleep(0.3)\n    return 1\n\n\n"
        "def test_thing():\n    assert helper() == 1\n"
    )
    test_file.write_text(text, encoding="utf-8")
    uri = test_file.as_uri()
    client.open(uri, text)
    await client.diagnostics_for(uri, version=1)
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    assert not lenses
    summary = await _execute(client, "perfsquad.profile")
    assert isinstance(summary, dict) and "headline" in summary
    assert any(h["function"] == "helper" for h in summary["hotspots"]), summary

    with pytest.raises(Exception, match="give a command"):
        await _execute(client, "perfsquad.profile", 42)
    # the server is still fine afterwards
    assert await _execute(client, "perfsquad.cancelProfile") is False


async def test_a_failed_profile_is_an_error_and_changes_nothing(client: ProbeClient, tmp_path: Path) -> None:
    """A run that dies at once (a missing module, as pytest missing would): an error message with the reason
    and stderr's tail; the findings keep their severities and the loaded profile stays."""
    await initialize(client, tmp_path, options={"debounceMs": 10})
    script = tmp_path / "app.py"
    script.write_text(WORKLOAD, encoding="utf-8")
    uri = script.as_uri()
    client.open(uri, WORKLOAD)
    await client.diagnostics_for(uri, version=1)
    await _execute(client, "perfsquad.profile", [sys.executable, str(script)])
    loaded = await client.wait_for("diagnostics", lambda p: p.uri == uri and bool(_hot(p.diagnostics)))
    broken = tmp_path / "broken.py"
    broken.write_text("import no_such_module_for_perfsquad\n", encoding="utf-8")

    mark = client.mark()
    with pytest.raises(Exception, match="failed"):
        await _execute(client, "perfsquad.profile", [sys.executable, str(broken)])
    errors = [m for m in client.seen("show", since=mark) if m.type == types.MessageType.Error]
    assert errors, client.seen("show", since=mark)
    assert "exited with code 1" in errors[0].message and "No module named 'no_such_module_for_perfsquad'" in errors[0].message
    assert "_child.py" not in errors[0].message and "runpy" not in errors[0].message  # the program's traceback only
    assert not any("profiled" in m.message for m in client.seen("show", since=mark))
    await asyncio.sleep(0.3)
    assert not client.seen("diagnostics", since=mark)  # nothing re-published: nothing changed
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri),
                          position=types.Position(line=SLEEP_LINE - 1, character=6))
    )  # fmt: skip
    assert hover is not None and "Measured" in str(hover.contents)  # the previous profile is still loaded
    assert {str(d.code) for d in _hot(loaded.diagnostics)} >= {"HOT002"}


async def test_profile_focus_dims_cold_findings_and_says_how_many(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path, options={"debounceMs": 10, "profileFocus": True})
    script = tmp_path / "app.py"
    script.write_text(WORKLOAD, encoding="utf-8")
    uri = script.as_uri()
    client.open(uri, WORKLOAD)
    before = await client.diagnostics_for(uri, version=1)
    assert next(d for d in before if d.code == "IDM001").severity == types.DiagnosticSeverity.Warning
    mark = client.mark()
    await _execute(client, "perfsquad.profile", [sys.executable, str(script)])
    published = await client.wait_for("diagnostics", lambda p: p.uri == uri and bool(_hot(p.diagnostics)), since=mark)
    idm001 = next(d for d in published.diagnostics if d.code == "IDM001")
    assert idm001.severity == types.DiagnosticSeverity.Hint and "not reached in the measured run" in idm001.message
    said = [m.message for m in client.seen("show", since=mark) if "dimmed (profileFocus)" in m.message]
    assert said and re.search(r"; 1 finding outside the measured code dimmed", said[0]), said
