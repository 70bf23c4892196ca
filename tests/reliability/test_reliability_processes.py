"""Process hygiene (#19): the commands that run user code leave no process and no temporary
directory behind, whether the workload finishes, perfsquad is sent SIGTERM (a CI job's timeout), the
interpreter never reaches the handshake, or the language server is killed while profiling.

Every test runs perfsquad as a real subprocess. The workload writes its pid and its background
child's pid to a file; the test then checks by pid and by process group that none is left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import ROOT

WORKLOAD = """\
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
with open(os.environ["PIDFILE"] + ".tmp", "w") as f:
    f.write(f"{os.getpid()} {os.getpgid(0)} {child.pid}")
os.replace(os.environ["PIDFILE"] + ".tmp", os.environ["PIDFILE"])
time.sleep(float(os.environ["SLEEP"]))
"""
"""Starts a background child that would sleep 300 s, records the pids, then sleeps SLEEP seconds."""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead (its parent reaps it)
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return any(_alive(int(d)) for d in os.listdir("/proc") if d.isdigit() and _pgid(int(d)) == pgid)


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _gone(pids: list[int], pgid: int, within: float = 10.0) -> bool:
    end = time.monotonic() + within
    while time.monotonic() < end:
        if not any(_alive(p) for p in pids) and not _group_alive(pgid):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    work = tmp_path / "proj"
    work.mkdir()
    (work / "work.py").write_text(WORKLOAD, encoding="utf-8")
    scratch = tmp_path / "tmp"  # perfsquad's temporary directories land here: the test sees them all
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1",
           "TMPDIR": str(scratch), "PIDFILE": str(tmp_path / "pids")}  # fmt: skip
    yield work, env
    pidfile = tmp_path / "pids"
    if pidfile.exists():  # (never leave a sleeper behind, whatever the test's outcome)
        pid, _pgid, child = map(int, pidfile.read_text().split())
        for p in (pid, child):
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def _start(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "perfsquad", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _pids(env: dict[str, str], proc: subprocess.Popen[str], within: float = 60.0) -> tuple[list[int], int]:
    pidfile = Path(env["PIDFILE"])
    end = time.monotonic() + within
    while not pidfile.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"perfsquad exited {proc.returncode} before the workload ran:\n{out}\n{err}")
        assert time.monotonic() < end, "the workload never started"
        time.sleep(0.05)
    pid, pgid, child = map(int, pidfile.read_text().split())
    return [pid, child], pgid


COMMANDS = {
    "profile": ["profile", "--sampler", "cprofile", "--", sys.executable, "work.py"],
    "leakcheck": ["leakcheck", "--iterations", "3", "--warmup", "0", "--script", "work.py"],
    "bench": ["bench", "--runs", "1", "--warmup", "0", "--name", "t", "--", sys.executable, "work.py"],
}


SIGNALS = [(command, signal.SIGTERM) for command in sorted(COMMANDS)] + [
    ("profile", signal.SIGHUP),  # (a closed terminal)
]


@pytest.mark.parametrize(("command", "sig"), SIGNALS)
def test_sigterm_or_sighup_to_a_command_kills_its_workload_and_removes_its_temp_dir(
    command: str, sig: signal.Signals, project: tuple[Path, dict[str, str]]
) -> None:
    work, env = project
    proc = _start(COMMANDS[command], work, {**env, "SLEEP": "300"})
    pids, pgid = _pids(env, proc)
    assert pgid != os.getpgid(proc.pid), "the workload runs in its own process group"
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert f"terminated by {sig.name}" in err and "Traceback" not in err
    assert _gone(pids, pgid), f"left running: {[p for p in pids if _alive(p)]}"
    assert os.listdir(env["TMPDIR"]) == [], "a temporary directory was left behind"


@pytest.mark.parametrize("command", ["profile", "bench"])
def test_background_children_are_killed_after_a_normal_finish(command: str, project: tuple[Path, dict[str, str]]) -> None:
    work, env = project
    proc = _start(COMMANDS[command], work, {**env, "SLEEP": "0.2"})
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    pids, pgid = _pids(env, proc)
    assert _gone(pids, pgid), "the workload's background child outlived the command"
    assert os.listdir(env["TMPDIR"]) == []


def test_an_interpreter_that_never_reaches_the_handshake_stops_within_the_deadline(
    project: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    work, env = project
    stuck = tmp_path / "bin" / "python3"
    stuck.parent.mkdir()
    stuck.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'stuck.pid'}\nexec sleep 600\n", encoding="utf-8")
    stuck.chmod(0o755)
    proc = _start(["profile", "--sampler", "py-spy", "--python", str(stuck), "--", "work.py"], work,
                  {**env, "PERFSQUAD_START_TIMEOUT": "2", "SLEEP": "0"})  # fmt: skip
    try:
        _out, err = proc.communicate(timeout=120)  # (before: blocked reading the handshake forever)
        assert proc.returncode == 2, err
        assert "did not start" in err and "within 2 s" in err and "PERFSQUAD_START_TIMEOUT" in err
        assert "Traceback" not in err
        stuck_pid = int((tmp_path / "stuck.pid").read_text())
        assert _gone([stuck_pid], stuck_pid)
        assert os.listdir(env["TMPDIR"]) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        pidfile = tmp_path / "stuck.pid"
        if pidfile.exists() and _alive(left := int(pidfile.read_text())):
            os.kill(left, signal.SIGKILL)


class _RawClient:
    """A minimal LSP client over a server's stdio (the server is killed mid-request, so no harness)."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.next_id = 0

    def send(self, payload: dict[str, object]) -> None:
        body = json.dumps(payload).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def request(self, method: str, params: object) -> int:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def read(self) -> dict[str, object] | None:
        assert self.proc.stdout is not None
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None  # (the server closed its output: killed)
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        message: dict[str, object] = json.loads(self.proc.stdout.read(length))
        return message

    def answer_server_requests(self, until: int | None = None) -> dict[str, object] | None:
        """Read messages, answering the server's requests (consent: "Run"), until response ``until``."""
        while True:
            msg = self.read()
            if msg is None:
                return None
            if "method" in msg and "id" in msg:
                result: object = None
                if msg["method"] == "window/showMessageRequest":
                    result = {"title": "Run"}
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif until is not None and msg.get("id") == until:
                return msg


def test_killing_the_server_while_profiling_leaves_no_workload(project: tuple[Path, dict[str, str]]) -> None:
    import threading

    work, env = project
    server = subprocess.Popen([sys.executable, "-m", "perfsquad", "serve"], cwd=work, env={**env, "SLEEP": "300"},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        client = _RawClient(server)
        init = client.request("initialize", {"processId": os.getpid(), "rootUri": work.as_uri(), "capabilities": {}})
        client.answer_server_requests(until=init)
        client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        client.request("workspace/executeCommand", {
            "command": "perfsquad.profile",
            "arguments": [{"command": [sys.executable, "work.py"], "sampler": "cprofile", "cwd": str(work)}],
        })  # fmt: skip
        threading.Thread(target=client.answer_server_requests, daemon=True).start()
        pids, pgid = _pids(env, server)  # type: ignore[arg-type]
        server.kill()  # SIGKILL: no handler, no cleanup of its own
        server.wait(10)
        assert _gone(pids, pgid, within=15), f"orphaned: {[p for p in pids if _alive(p)]}"
        end = time.monotonic() + 10
        while os.listdir(env["TMPDIR"]) and time.monotonic() < end:
            time.sleep(0.1)
        assert os.listdir(env["TMPDIR"]) == [], "the profile's temporary directory outlived the server"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
