"""What a plain LSP client gets (issue #20): Neovim's `vim.lsp.buf.execute_command`, eglot, Helix...

Such a client sends commands without arguments, shows `window/showMessage` but not our custom
`perfsquad/status` notification nor a command's result, and may take only plain-text hovers. Every
command works without arguments (the current document, the workspace), and what it found is shown.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lsp_harness import ProbeClient, initialize, lsp_fixture
from lsprotocol import types

client = lsp_fixture()

APP = """\
import time


def pairs(xs):
    out = []
    for a in xs:
        for b in xs:
            out.append((a, b))
    return out


def smallest(xs):
    return sorted(xs)[0]


def main():
    start = time.process_time()
    while time.process_time() - start < 0.4:
        pairs(list(range(150)))
    print(smallest([3, 1, 2]))


if __name__ == "__main__":
    main()
"""
COMMANDS = [  # in an order where each has something to work on (a profile to load, two benchmarks)
    "perfsquad.fixAll",
    "perfsquad.showFunctionMetrics",
    "perfsquad.profile",
    "perfsquad.loadProfile",
    "perfsquad.estimateRoi",
    "perfsquad.optimizationRoadmap",
    "perfsquad.quickDiagnose",
    "perfsquad.clearProfile",
    "perfsquad.cancelProfile",
    "perfsquad.auditPerformance",
    "perfsquad.cancelAudit",
    "perfsquad.leakcheck",
    "perfsquad.cancelLeakcheck",
    "perfsquad.clearLeakcheck",
    "perfsquad.benchmark",
    "perfsquad.benchmark",
    "perfsquad.listBenchmarks",
    "perfsquad.compareBenchmarks",
    "perfsquad.cancelBenchmark",
]


async def _run(client: ProbeClient, command: str) -> object:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command=command))


async def test_every_command_works_without_arguments(client: ProbeClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.perfsquad]\npython = {sys.executable!r}\n", encoding="utf-8")
    script = tmp_path / "app.py"
    script.write_text(APP, encoding="utf-8")
    await initialize(client, tmp_path, options={"debounceMs": 10})
    uri = script.as_uri()
    client.open(uri, APP)
    await client.diagnostics_for(uri, version=1)

    results: dict[str, object] = {}
    for command in COMMANDS:
        mark = client.mark()
        results[command] = await _run(client, command)  # an error response would raise here
        shown = [m.message for m in client.seen("show", since=mark)]
        assert not [m for m in client.seen("show", since=mark) if m.type == types.MessageType.Error], (command, shown)
        if command in ("perfsquad.showFunctionMetrics", "perfsquad.profile", "perfsquad.estimateRoi",
                       "perfsquad.optimizationRoadmap", "perfsquad.quickDiagnose", "perfsquad.auditPerformance",
                       "perfsquad.leakcheck", "perfsquad.benchmark", "perfsquad.listBenchmarks",
                       "perfsquad.compareBenchmarks"):  # fmt: skip
            assert shown, f"{command} without arguments showed nothing"  # the client sees what it found
    assert isinstance(results["perfsquad.showFunctionMetrics"], str)
    assert "pairs: estimated O(n^2)" in str(results["perfsquad.showFunctionMetrics"])
    assert isinstance(results["perfsquad.profile"], dict) and results["perfsquad.profile"]["headline"]
    estimates = results["perfsquad.estimateRoi"]
    assert isinstance(estimates, dict) and {e["code"] for e in estimates["estimates"]} >= {"IDM007"}
    assert isinstance(results["perfsquad.quickDiagnose"], dict)
    assert results["perfsquad.quickDiagnose"]["summary"].startswith("pairs:")  # the costliest function
    leak = results["perfsquad.leakcheck"]
    assert isinstance(leak, dict) and str(script) in str(leak.get("target", "")) + str(leak)
    compared = results["perfsquad.compareBenchmarks"]
    assert isinstance(compared, dict) and "verdict" in compared


async def test_fix_all_without_arguments_fixes_the_current_document(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path, options={"debounceMs": 10})
    text = "def f(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out\n"
    uri = (tmp_path / "f.py").as_uri()
    client.open(uri, text)
    await client.diagnostics_for(uri, version=1)
    mark = client.mark()
    assert await _run(client, "perfsquad.fixAll") is True
    (edit,) = client.seen("apply-edit", since=mark)
    assert "x for x in xs]" in str(edit.edit) and "f.py" in str(edit.edit)  # the minimal edit, on the open file


async def test_no_document_open_says_so_in_words(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path)
    with pytest.raises(Exception, match="no Python document is open"):
        await _run(client, "perfsquad.estimateRoi")


async def test_errors_name_settings_not_command_line_flags(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path)
    (tmp_path / "s.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(Exception) as info:
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="perfsquad.leakcheck", arguments=[{"script": "s.py", "iterations": 5, "warmup": 9}]))  # fmt: skip
    assert "the warmup must be between" in str(info.value) and "--" not in str(info.value)


async def _idm007_hover(client: ProbeClient, tmp_path: Path, formats: list[str]) -> tuple[types.Diagnostic, types.MarkupContent]:
    """The IDM007 diagnostic of APP and its hover, for a client whose hover takes ``formats``."""
    await initialize(client, tmp_path, hover_formats=formats)
    uri = (tmp_path / "app.py").as_uri()
    client.open(uri, APP)
    diagnostics = await client.diagnostics_for(uri, version=1)
    idm007 = next(d for d in diagnostics if d.code == "IDM007")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=idm007.range.start)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    return idm007, hover.contents


@pytest.mark.parametrize("formats", [["plaintext"], ["plaintext", "markdown"]])
async def test_a_plain_text_client_gets_a_plain_text_hover(client: ProbeClient, tmp_path: Path,
                                                           formats: list[str]) -> None:  # fmt: skip
    idm007, contents = await _idm007_hover(client, tmp_path, formats)
    assert contents.kind == types.MarkupKind.PlainText
    text = contents.value
    assert text.startswith("IDM007 "), text
    assert "**" not in text and "`" not in text and "](" not in text
    # an unsafe fix says what can change (the rule's Fix safety section), and the speedup appears once
    assert "What can change: Always unsafe. On an empty input" in text
    assert text.count("Speedup:") == 1 and "measured by" in text
    assert "(1." not in idm007.message and "measured by" not in idm007.message and len(idm007.message) <= 80


async def test_a_markdown_client_keeps_markdown(client: ProbeClient, tmp_path: Path) -> None:
    _, contents = await _idm007_hover(client, tmp_path, ["markdown", "plaintext"])
    assert contents.kind == types.MarkupKind.Markdown and "**IDM007**" in contents.value
    assert "**What can change**" in contents.value
