"""Hostile repositories (#19): nothing a repository configures runs without the user's consent.

* In the editor, a command that runs the workspace's code asks once per workspace and session
  (``window/showMessageRequest``, answered here by the pytest-lsp client); declined, nothing runs.
* ``serve --tcp`` listens on loopback only and serves nobody without the token.
* A ``pyproject.toml`` above the project (its repository root) is never read.
* A plain ``check`` never executes an interpreter a repository's configuration names.
* ``audit`` says which configured command from which file it runs, and ``--no-run`` runs nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from faults import no_traceback, run_cli
from lsp_harness import ProbeClient, initialize, lsp_fixture
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from support import ROOT

client = lsp_fixture()

MARK = "import pathlib, sys\npathlib.Path(sys.argv[1] if len(sys.argv) > 1 else 'ran.txt').write_text('ran')\n"
"""The workspace's "code": it leaves ``ran.txt`` when it runs."""

APP = "def work(xs):\n    out = []\n    for x in xs:\n        out.append(x * 2)\n    return out\n"


def _workspace(root: Path, profile_command: bool = False) -> Path:
    (root / "mark.py").write_text(MARK, encoding="utf-8")
    (root / "app.py").write_text(APP, encoding="utf-8")
    if profile_command:
        (root / "pyproject.toml").write_text('[tool.perfsquad]\nprofile-command = "mark.py"\n', encoding="utf-8")
    return root


def _commands(root: Path) -> dict[str, tuple[str, list[object]]]:
    bench = {"command": [sys.executable, "mark.py"], "runs": 1, "warmup": 0, "name": "t"}
    diagnose = {"uri": (root / "app.py").as_uri(), "function": "work", "run": "mark.py"}
    return {
        "benchmark": ("perfsquad.benchmark", [bench]),
        "profile": ("perfsquad.profile", [{"command": "mark.py", "sampler": "cprofile"}]),
        "leakcheck": ("perfsquad.leakcheck", [{"script": "mark.py", "iterations": 3, "warmup": 0}]),
        "audit (configured profile-command)": ("perfsquad.auditPerformance", [{"path": str(root)}]),
        "quick diagnose": ("perfsquad.quickDiagnose", [diagnose]),
    }


COMMAND_NAMES = ["benchmark", "profile", "leakcheck", "audit (configured profile-command)", "quick diagnose"]


async def _run(client: ProbeClient, command: str, arguments: list[object]) -> object:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command=command, arguments=arguments))


@pytest.mark.parametrize("name", COMMAND_NAMES)
async def test_declining_the_consent_runs_nothing(client: ProbeClient, tmp_path: Path, name: str) -> None:
    root = _workspace(tmp_path, profile_command=True)
    await initialize(client, root)
    client.consent_answer = "Cancel"
    command, arguments = _commands(root)[name]
    with pytest.raises(JsonRpcException, match="not allowed"):
        await _run(client, command, arguments)
    assert len(client.seen("message-request")) == 1
    assert str(root) in client.seen("message-request")[0].message
    assert not (root / "ran.txt").exists(), f"{name} ran the workspace's code without consent"
    assert any("not run" in m.message for m in client.seen("show"))


async def test_consent_is_asked_once_per_workspace_and_session(client: ProbeClient, tmp_path: Path) -> None:
    root = _workspace(tmp_path, profile_command=True)
    await initialize(client, root)
    client.open((root / "app.py").as_uri(), APP)  # (opening and analyzing a workspace asks nothing)
    assert await client.diagnostics_for((root / "app.py").as_uri(), version=1)
    assert client.seen("message-request") == []
    client.consent_answer = "Run"
    command, arguments = _commands(root)["benchmark"]
    await _run(client, command, arguments)
    assert (root / "ran.txt").read_text() == "ran"
    (root / "ran.txt").unlink()
    command, arguments = _commands(root)["profile"]
    await _run(client, command, arguments)
    assert (root / "ran.txt").exists()
    assert len(client.seen("message-request")) == 1, "the answer is remembered for the session"


async def test_a_client_that_says_the_workspace_is_trusted_is_not_asked(client: ProbeClient, tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    await initialize(client, root, options={"workspaceTrusted": True})
    client.consent_answer = None
    command, arguments = _commands(root)["benchmark"]
    await _run(client, command, arguments)
    assert (root / "ran.txt").exists()
    assert client.seen("message-request") == []
    assert not any("unknown setting" in m.message for m in client.seen("show"))


async def test_the_server_reads_no_pyproject_above_the_workspace_folder(client: ProbeClient, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(  # (the folder the repository was cloned into)
        '[tool.perfsquad]\nignore = ["IDM001"]\nprofile-command = "mark.py"\n', encoding="utf-8"
    )
    root = tmp_path / "ws"
    root.mkdir()
    _workspace(root)
    await initialize(client, root)
    uri = (root / "app.py").as_uri()
    client.open(uri, APP)
    assert "IDM001" in {d.code for d in await client.diagnostics_for(uri, version=1)}
    result = await _run(client, "perfsquad.auditPerformance", [{"path": str(root)}])
    assert isinstance(result, dict) and not result["profile_error"]
    assert client.seen("message-request") == [], "nothing to run, nothing to ask"
    assert not (root / "ran.txt").exists() and not (tmp_path / "ran.txt").exists()


# -- serve --tcp -----------------------------------------------------------------------------------


async def _tcp_server(env: dict[str, str], *extra: str) -> tuple[asyncio.subprocess.Process, int, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "perfsquad", "serve", "--tcp", "127.0.0.1:0", *extra,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    lines: list[str] = []
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
        assert line, f"the server exited before listening: {lines}"
        lines.append(line)
        if "listening on" in line:
            return proc, int(line.rsplit(":", 1)[1]), lines


def _frame(message: dict[str, object]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **message}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


async def _receive(reader: asyncio.StreamReader) -> dict[str, object] | None:
    length = 0
    while True:
        header = await asyncio.wait_for(reader.readline(), 30)
        if not header:
            return None  # (closed)
        if header == b"\r\n":
            break
        if header.lower().startswith(b"content-length:"):
            length = int(header.split(b":")[1])
    message: dict[str, object] = json.loads(await reader.readexactly(length))
    return message


async def _attempt(port: int, root: Path, token: str | None) -> dict[str, object] | None:
    """Initialize (with ``token``), then ask for a benchmark of the workspace's script; the first
    answer to the initialize, or None when the server closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    options = {"token": token} if token is not None else {}
    writer.write(_frame({"id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": root.as_uri(), "capabilities": {}, "initializationOptions": options}}))  # fmt: skip
    writer.write(_frame({"method": "initialized", "params": {}}))
    writer.write(_frame({"id": 2, "method": "workspace/executeCommand", "params": {
        "command": "perfsquad.benchmark", "arguments": [{"command": [sys.executable, "mark.py"], "runs": 1,
                                                         "warmup": 0, "name": "t"}]}}))  # fmt: skip
    try:
        await writer.drain()
        while (message := await _receive(reader)) is not None:
            if message.get("id") == 1:
                return message
        return None
    except (ConnectionError, asyncio.IncompleteReadError):
        return None
    finally:
        writer.close()


async def test_serve_tcp_serves_nobody_without_the_token(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    root = _workspace(tmp_path / "ws")
    token_file = tmp_path / "token"
    env = {k: v for k, v in os.environ.items() if k != "PERFSQUAD_TOKEN"}
    proc, port, lines = await _tcp_server({**env, "PYTHONPATH": str(ROOT)}, "--token-file", str(token_file))
    try:
        token = token_file.read_text().strip()
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert len(token) >= 32 and any(token in line for line in lines)
        assert await _attempt(port, root, None) is None
        assert await _attempt(port, root, "not-the-token") is None
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"Content-Length: 1000000000000\r\n\r\n{")  # (never allocated: closed unanswered)
        assert await asyncio.wait_for(reader.read(), 30) == b""
        writer.close()
        await asyncio.sleep(1.0)  # (what a served benchmark would have taken to write its file)
        assert not (root / "ran.txt").exists(), "a client without the token ran a command"
        answer = await _attempt(port, root, token)
        assert answer is not None and "capabilities" in answer["result"]  # type: ignore[operator]
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


def test_serve_tcp_refuses_a_non_loopback_address() -> None:
    proc = subprocess.run([sys.executable, "-m", "perfsquad", "serve", "--tcp", "0.0.0.0:0"], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert proc.returncode == 2
    assert "loopback" in proc.stderr
    no_traceback(proc)


# -- configuration from the project root down --------------------------------------------------------


def test_a_pyproject_above_the_repository_root_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(  # (another user's /tmp/pyproject.toml, a parent folder)
        '[tool.perfsquad]\nprofile-command = "mark.py"\nignore = ["IDM001"]\n', encoding="utf-8"
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".git").mkdir()
    _workspace(repo)
    (repo / "mark.py").write_text(MARK.replace("'ran.txt'", repr(str(tmp_path / "ran.txt"))), encoding="utf-8")
    checked = run_cli("check", "--no-cache", "app.py", cwd=repo)
    assert "IDM001" in checked.stdout, "the parent's `ignore` applied to the repository"
    audited = run_cli("audit", ".", "--out", str(tmp_path / "out"), cwd=repo)
    no_traceback(audited)
    assert not (tmp_path / "ran.txt").exists(), "the parent directory's profile-command ran"
    assert not (repo / "ran.txt").exists()


def test_audit_names_the_configured_command_and_no_run_runs_nothing(tmp_path: Path) -> None:
    _workspace(tmp_path, profile_command=True)
    (tmp_path / ".git").mkdir()
    quiet = run_cli("audit", ".", "--no-run", "--out", "out", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert not (tmp_path / "ran.txt").exists(), "--no-run ran the profile-command"
    ran = run_cli("audit", ".", "--sampler", "cprofile", "--out", "out", cwd=tmp_path)
    assert (tmp_path / "ran.txt").exists()
    assert f"ran `mark.py`: the profile-command of {tmp_path / 'pyproject.toml'}" in ran.stdout


def test_check_never_runs_an_interpreter_named_by_the_repository(tmp_path: Path) -> None:
    evil = tmp_path / "bin" / "python"
    evil.parent.mkdir()
    evil.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran.txt'}\necho 3.12\n", encoding="utf-8")
    evil.chmod(0o755)
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.perfsquad]\npython = "bin/python"\n', encoding="utf-8")
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    checked = run_cli("check", "--no-cache", ".", cwd=tmp_path)
    no_traceback(checked)
    assert checked.returncode == 1, checked.stderr
    assert not (tmp_path / "ran.txt").exists(), "a plain check executed the repository's interpreter"
    chosen = run_cli("check", "--no-cache", "--python", "bin/python", ".", cwd=tmp_path)  # (the user's own choice)
    no_traceback(chosen)
    assert (tmp_path / "ran.txt").exists()
