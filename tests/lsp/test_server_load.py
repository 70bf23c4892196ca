"""The server under load (issue #19), through a real LSP client (pytest-lsp).

- ``$/cancelRequest`` of a long command (profile, benchmark, leak check, audit) reaches the
  command: it answers ``RequestCancelled``, its child process is killed, and it is not left
  "running" (the same command runs again at once);
- a command that fails on a bad argument is not left "already running";
- a large document edited over and over never starves a small one.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from lsp_harness import WAIT, ProbeClient, alive, initialize, lsp_fixture
from lsprotocol import types

client = lsp_fixture()

SPAWNER = """\
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(120)
"""
QUICK = "print('ok')\n"


def _arguments(command: str, script: Path, pid_file: Path) -> list[Any]:
    argv = [sys.executable, str(script), str(pid_file)]
    if command == "perfsquad.profile":
        return [argv]
    if command == "perfsquad.benchmark":
        return [{"command": argv, "name": "soak", "runs": 1, "warmup": 0}]
    if command == "perfsquad.leakcheck":
        return [{"script": str(script), "args": [str(pid_file)], "iterations": 3, "warmup": 0}]
    return [{"path": str(script.parent), "run": f"{sys.executable} {script} {pid_file}", "formats": ["json"]}]


def _again(command: str, tmp_path: Path) -> list[Any]:
    """Arguments of a quick run of the same command (to show it is not 'already running')."""
    quick = tmp_path / "quick.py"
    quick.write_text(QUICK, encoding="utf-8")
    if command == "perfsquad.profile":
        # (cProfile: a sampler would call a run this short a failure, "too short to measure")
        return [{"command": [sys.executable, str(quick)], "sampler": "cprofile"}]
    if command == "perfsquad.benchmark":
        return [{"command": [sys.executable, str(quick)], "name": "quick", "runs": 1, "warmup": 0}]
    if command == "perfsquad.leakcheck":
        return [{"script": str(quick), "iterations": 3, "warmup": 0}]
    return [{"path": str(quick), "formats": ["json"]}]


CANCEL_COMMANDS = {
    "perfsquad.profile": "perfsquad.cancelProfile",
    "perfsquad.benchmark": "perfsquad.cancelBenchmark",
    "perfsquad.leakcheck": "perfsquad.cancelLeakcheck",
    "perfsquad.auditPerformance": "perfsquad.cancelAudit",
}


@pytest.mark.parametrize("command", list(CANCEL_COMMANDS))
async def test_cancel_request_kills_the_command_child(client: ProbeClient, tmp_path: Path, command: str) -> None:
    await initialize(client, tmp_path)
    script, pid_file = tmp_path / "spawner.py", tmp_path / "pid"
    script.write_text(SPAWNER, encoding="utf-8")
    params = types.ExecuteCommandParams(command=command, arguments=_arguments(command, script, pid_file))
    msg_id = f"cancel-{command}"
    pending = asyncio.wrap_future(client.protocol.send_request(types.WORKSPACE_EXECUTE_COMMAND, params, msg_id=msg_id))
    for _ in range(1200):  # until the workload has started its child (bounded)
        if pid_file.exists() and pid_file.read_text():
            break
        if pending.done():
            pytest.fail(f"{command} ended before its workload started: {pending.exception()!r}")
        await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    assert alive(pid)

    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
    with pytest.raises(Exception) as raised:
        await asyncio.wait_for(pending, WAIT)
    assert "cancel" in str(raised.value).lower(), raised.value
    for _ in range(200):
        if not alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not alive(pid), "the command's child outlived its cancelled request"

    # Not "running" any more: its cancel command finds nothing, and the command runs again.
    for _ in range(200):
        if await client.workspace_execute_command_async(types.ExecuteCommandParams(command=CANCEL_COMMANDS[command])) is False:
            break
        await asyncio.sleep(0.05)
    again = types.ExecuteCommandParams(command=command, arguments=_again(command, tmp_path))
    result = await asyncio.wait_for(client.workspace_execute_command_async(again), WAIT)
    assert isinstance(result, dict)


@pytest.mark.parametrize(
    ("command", "bad"),
    [
        ("perfsquad.profile", {"command": 5}),  # not a command line
        ("perfsquad.auditPerformance", {"formats": 7}),  # not a list
    ],
)
async def test_a_failed_command_is_not_left_running(client: ProbeClient, tmp_path: Path, command: str, bad: Any) -> None:
    await initialize(client, tmp_path)
    for _ in range(2):  # the second call would say "already running" if the first left its state
        with pytest.raises(Exception) as raised:
            await client.workspace_execute_command_async(types.ExecuteCommandParams(command=command, arguments=[bad]))
        assert "already running" not in str(raised.value)
    again = types.ExecuteCommandParams(command=command, arguments=_again(command, tmp_path))
    assert isinstance(await asyncio.wait_for(client.workspace_execute_command_async(again), WAIT), dict)
