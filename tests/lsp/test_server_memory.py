"""Memory through the language server (pytest-lsp): `perfsquad.leakcheck` on the demo's seeded leak
(verdict message and HOT004 diagnostics at the retaining lines, gone once the cache is bounded), and
a memory profile of the demo showing its top allocating line inline (HOT003 + inlay hint + hover)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsp_harness import ProbeClient, alive, config, initialize, lsp_fixture
from lsprotocol import types
from support import BENCH, demo_copy, line_of

STORE = "    _EMBED_CACHE[(request_id, text)] = vec\n"
BOUND = "    while len(_EMBED_CACHE) > 4:\n        _EMBED_CACHE.pop(next(iter(_EMBED_CACHE)))\n"

client = lsp_fixture()


def _one_profile_fixture(profile: str) -> Any:
    """A client for one capability profile (the memory profile run is the slow part, not the client)."""

    @pytest_lsp.fixture(params=[profile], config=config())
    async def fixture(request: Any, lsp_client: ProbeClient) -> Any:
        lsp_client.profile = request.param
        yield
        await lsp_client.shutdown_session()

    return fixture


vscode = _one_profile_fixture("visual-studio-code")


async def _execute(client: ProbeClient, command: str, *args: object) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(args))
    )


def _codes(diags: list[types.Diagnostic], code: str) -> dict[int, types.Diagnostic]:
    return {d.range.start.line + 1: d for d in diags if d.code == code}


async def test_leakcheck_reports_the_leak_then_flat_after_the_fix(client: ProbeClient, tmp_path: Path) -> None:
    demo = demo_copy(tmp_path)
    await initialize(client, demo, options={"debounceMs": 10})
    cache = demo / "memoria" / "cache.py"
    text = cache.read_text(encoding="utf-8")
    uri = cache.as_uri()
    client.open(uri, text)
    static = await client.diagnostics_for(uri, version=1)
    store_line = line_of(cache, "_EMBED_CACHE[(request_id, text)] = vec")
    alloc_line = line_of(cache, "return [x / length for x in vec]")
    assert store_line in _codes(static, "MEM002") and not _codes(static, "HOT004")

    options = {"callable": "memoria.cache:embed", "args": ["the agent remembers"], "cwd": str(demo)}
    mark = client.mark()
    result = await _execute(client, "perfsquad.leakcheck", options)
    assert result["verdict"] == "grows" and result["growth_per_iteration"] > 1024
    assert result["diagnostics"] >= 2
    shown = await client.wait_for("show", lambda p: "leak check" in p.message, since=mark)
    assert shown.type == types.MessageType.Warning and shown.message == result["summary"]
    assert "LEAKS" in shown.message and f"cache.py:{alloc_line} in _compute_embedding" in shown.message
    published = await client.wait_for(
        "diagnostics", lambda p: p.uri == uri and bool(_codes(p.diagnostics, "HOT004")), since=mark
    )
    leaks = _codes(published.diagnostics, "HOT004")
    assert {alloc_line, store_line} <= leaks.keys()
    assert "per iteration stays alive" in leaks[alloc_line].message
    assert leaks[alloc_line].severity == types.DiagnosticSeverity.Warning
    assert leaks[alloc_line].source == "perfsquad"
    # the static findings are still there, next to the measured ones
    assert store_line in _codes(published.diagnostics, "MEM002")

    # Bound the cache (on disk: the check runs the code as saved) and check again: flat, no HOT004.
    fixed = text.replace(STORE, STORE + BOUND)
    assert fixed != text
    cache.write_text(fixed, encoding="utf-8")
    client.replace_all(uri, 2, fixed)
    await client.diagnostics_for(uri, version=2)
    mark = client.mark()
    result = await _execute(client, "perfsquad.leakcheck", ["--callable", "memoria.cache:embed", "--", "text"])
    assert result["verdict"] == "flat" and result["diagnostics"] == 0
    shown = await client.wait_for("show", lambda p: "leak check" in p.message, since=mark)
    assert shown.type == types.MessageType.Info and "no leak (flat" in shown.message
    published = await client.wait_for("diagnostics", lambda p: p.uri == uri, since=mark)
    assert not _codes(published.diagnostics, "HOT004")
    assert not _codes(published.diagnostics, "MEM002")  # the bounded cache is not flagged either


async def test_leakcheck_bad_arguments_and_failures(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path)
    (tmp_path / "bad.py").write_text("def boom():\n    raise KeyError('x')\n", encoding="utf-8")
    with pytest.raises(Exception, match="exactly one of"):
        await _execute(client, "perfsquad.leakcheck", {"args": []})
    mark = client.mark()
    with pytest.raises(Exception, match="KeyError"):
        await _execute(client, "perfsquad.leakcheck", {"callable": "bad:boom"})
    shown = await client.wait_for("show", lambda p: "KeyError" in p.message, since=mark)
    assert shown.type == types.MessageType.Error
    assert await _execute(client, "perfsquad.cancelLeakcheck") is False


async def test_memory_profile_of_the_demo_shows_the_top_allocating_line(vscode: ProbeClient, tmp_path: Path) -> None:
    client = vscode
    demo = demo_copy(tmp_path)
    await initialize(client, demo, options={"debounceMs": 10})
    cache = demo / "memoria" / "cache.py"
    uri = cache.as_uri()
    client.open(uri, cache.read_text(encoding="utf-8"))
    await client.diagnostics_for(uri, version=1)
    alloc_line = line_of(cache, "return [x / length for x in vec]")

    mark = client.mark()
    # cProfile: the py-spy path rebuilds the user view from sampled stacks, which do not carry the
    # memory pass's per-line allocations (perfsquad.profiling.analysis.user_view).
    options = {
        "command": [sys.executable, "run.py", "--vectors", "10"],
        "memory": True,
        "sampler": "cprofile",
        "cwd": str(demo),
    }
    summary = await _execute(client, "perfsquad.profile", options)
    assert isinstance(summary, dict) and "headline" in summary
    published = await client.wait_for(
        "diagnostics", lambda p: p.uri == uri and bool(_codes(p.diagnostics, "HOT003")), since=mark
    )
    memory = _codes(published.diagnostics, "HOT003")
    assert alloc_line in memory, sorted(memory)
    assert "MiB alive at the peak" in memory[alloc_line].message and len(memory[alloc_line].message) <= 80
    top = max(memory.items(), key=lambda kv: float(kv[1].message.split("Memory hotspot: ")[1].split(" MiB")[0]))
    assert top[0] == alloc_line

    hints = await client.text_document_inlay_hint_async(
        types.InlayHintParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=120, character=0)),
        )
    )
    by_line = {h.position.line + 1: str(h.label) for h in hints or []}
    assert alloc_line in by_line and "mem " in by_line[alloc_line] and "MiB" in by_line[alloc_line]
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=alloc_line - 1, character=8),
        )
    )
    assert hover is not None
    contents = hover.contents.value if isinstance(hover.contents, types.MarkupContent) else str(hover.contents)
    assert "allocated here were alive at the peak" in contents


HANG = """\
import subprocess, sys, time


def run(pid_file):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(pid_file, "w") as fh:
        fh.write(str(child.pid))
    time.sleep(120)
"""


async def test_cancelling_a_leakcheck_kills_the_process_group(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path)
    (tmp_path / "hang.py").write_text(HANG, encoding="utf-8")
    pid_file = tmp_path / "pid"
    options = {"callable": "hang:run", "args": [str(pid_file)], "cwd": str(tmp_path)}
    task = asyncio.ensure_future(_execute(client, "perfsquad.leakcheck", options))
    for _ in range(600):  # until the workload has started its child (bounded)
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    assert alive(pid)
    # diagnostics keep flowing while the check runs
    uri = (tmp_path / "other.py").as_uri()
    client.open(uri, "import functools\nclass A:\n    @functools.cache\n    def f(self, x):\n        return x\n")
    assert any(d.code == "MEM001" for d in await client.diagnostics_for(uri, version=1))
    with pytest.raises(Exception, match="already running"):
        await _execute(client, "perfsquad.leakcheck", options)
    assert await _execute(client, "perfsquad.cancelLeakcheck") is True
    with pytest.raises(Exception, match="cancelled"):
        await task
    for _ in range(100):
        if not alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not alive(pid)


async def test_memory_profile_carries_collector_census_and_cycles_to_the_editor(
    vscode: ProbeClient, tmp_path: Path
) -> None:
    """The editor's profile data (the `perfsquad.profile` result) holds the memory pass: collector
    cost, census and cycles; hover on the line whose objects sit in cycles says so with the fix."""
    client = vscode
    shutil.copy(BENCH / "memory" / "cycles.py", tmp_path / "cycles.py")
    await initialize(client, tmp_path, options={"debounceMs": 10})
    script = tmp_path / "cycles.py"
    uri = script.as_uri()
    client.open(uri, script.read_text(encoding="utf-8"))
    await client.diagnostics_for(uri, version=1)
    options = {"command": [sys.executable, "cycles.py", "200"], "memory": True, "sampler": "cprofile",
               "cwd": str(tmp_path)}  # fmt: skip
    summary = await _execute(client, "perfsquad.profile", options)
    titles = [s["title"] for s in summary["memory_sections"]]
    assert titles == ["Garbage collector", "Objects at the peak", "Reference cycles"]
    memory = summary["memory"]
    assert sum(memory["gc"]["collected"]) >= 200 * 42
    assert 200 * 42 <= memory["cycles"]["objects"] <= 200 * 42 + 50
    top = memory["cycles"]["by_line"][0]
    assert Path(top["file"]).resolve() == script.resolve()
    assert memory["items"] and memory["items"][0]["line"] == top["line"] and "weakref" in memory["items"][0]["fix"]
    assert memory["census"]["types"] and memory["census"]["objects"] > 0
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri),
                          position=types.Position(line=top["line"] - 1, character=8))
    )  # fmt: skip
    assert hover is not None
    contents = hover.contents.value if isinstance(hover.contents, types.MarkupContent) else str(hover.contents)
    assert "**Reference cycles**" in contents and "weakref.ref" in contents
