"""A minimal stdio LSP client for the benchmarks (stdlib only, no pytest-lsp).

One reader thread parses ``Content-Length`` framed messages and stamps each with
``time.perf_counter()`` the moment it is decoded, so a latency measured from a send to a
received notification does not include the time the main thread takes to look at it.
Requests the server sends us (``workspace/configuration``, ``client/registerCapability``,
``window/workDoneProgress/create``) get a neutral answer so the server never waits on us.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


class LspError(Exception):
    """The server died, answered with an error, or did not answer in time."""


@dataclass(frozen=True)
class Message:
    received: float  # time.perf_counter() when decoded
    body: dict[str, Any]


def _answer(method: str, params: Any) -> Any:
    """Our reply to a request from the server: neutral, never blocking it."""
    if method == "workspace/configuration":
        items = params.get("items", []) if isinstance(params, dict) else []
        return [None for _ in items]
    return None


class LspClient:
    def __init__(self, cmd: list[str], cwd: Path, stderr: IO[bytes] | None = None) -> None:
        self.cmd = cmd
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            start_new_session=True,  # its own process group, killed whole in close()
        )
        self._write_lock = threading.Lock()
        self._cond = threading.Condition()
        self._messages: list[Message] = []
        self._closed = False
        self._next_id = 0
        self._reader = threading.Thread(target=self._read_loop, name="lsp-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    # --- wire ------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        try:
            while True:
                length = None
                while True:
                    line = stream.readline()
                    if not line:
                        return
                    line = line.strip()
                    if not line:
                        break
                    name, _, value = line.decode("ascii", "replace").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length is None:
                    continue
                body = json.loads(stream.read(length))
                stamp = time.perf_counter()
                if "method" in body and "id" in body:  # a request from the server
                    self._send(
                        {"jsonrpc": "2.0", "id": body["id"], "result": _answer(body["method"], body.get("params"))}
                    )
                with self._cond:
                    self._messages.append(Message(stamp, body))
                    self._cond.notify_all()
        except (OSError, ValueError):
            return
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def _send(self, message: dict[str, Any]) -> float:
        data = json.dumps(message, separators=(",", ":")).encode()
        stdin = self.proc.stdin
        assert stdin is not None
        with self._write_lock:
            sent = time.perf_counter()
            stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
            stdin.flush()
        return sent

    # --- API -------------------------------------------------------------------------------
    def cursor(self) -> int:
        """An index into the received messages: wait_for(since=cursor) sees only newer ones."""
        with self._cond:
            return len(self._messages)

    def notify(self, method: str, params: Any) -> float:
        """Send a notification; returns the perf_counter() stamp taken just before writing it."""
        return self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 30.0) -> Any:
        self._next_id += 1
        ident = self._next_id
        since = self.cursor()
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        reply = self.wait_for(lambda m: m.get("id") == ident and "method" not in m, timeout, since).body
        if "error" in reply:
            raise LspError(f"{method}: {reply['error']}")
        return reply.get("result")

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float, since: int = 0) -> Message:
        """The first message at or after index ``since`` that ``match`` accepts."""
        deadline = time.monotonic() + timeout
        index = since
        with self._cond:
            while True:
                while index < len(self._messages):
                    message = self._messages[index]
                    index += 1
                    if match(message.body):
                        return message
                if self._closed:
                    raise LspError(f"{self.cmd[0]} exited (code {self.proc.poll()}) while we waited")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LspError(f"{self.cmd[0]}: no matching message within {timeout:.0f} s")
                self._cond.wait(left)

    def initialize(self, root: Path, options: Any = None, capabilities: dict[str, Any] | None = None) -> Any:
        params = {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": capabilities if capabilities is not None else CLIENT_CAPABILITIES,
            "initializationOptions": options,
        }
        result = self.request("initialize", params)
        self.notify("initialized", {})
        return result

    def close(self, timeout: float = 5.0) -> None:
        """shutdown + exit, then make sure the whole process group is gone."""
        try:
            if self.proc.poll() is None:
                self.request("shutdown", None, timeout=timeout)
                self.notify("exit", None)
                self.proc.wait(timeout=timeout)
        except (LspError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()


# What we advertise: incremental sync and push diagnostics with versions. No
# ``textDocument.diagnostic`` (pull) capability, so ruff server pushes too.
CLIENT_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"didSave": True, "dynamicRegistration": False},
        "publishDiagnostics": {"versionSupport": True, "relatedInformation": True, "codeDescriptionSupport": True},
    },
    "workspace": {"configuration": True, "workspaceFolders": True},
}


def publish_params(body: dict[str, Any], uri: str) -> dict[str, Any] | None:
    """The params of ``body`` if it is a publishDiagnostics for ``uri``."""
    if body.get("method") != "textDocument/publishDiagnostics":
        return None
    params = body.get("params") or {}
    return params if params.get("uri") == uri else None


def default_perfsquad() -> list[str]:
    """``perfsquad serve`` as installed beside this Python, else in the repository's venv (what
    ``scripts/demo.sh`` and ``scripts/test.sh`` create), else ``python -m perfsquad``."""
    exe = Path(sys.executable).with_name("perfsquad")
    if exe.exists():
        return [str(exe), "serve"]
    venv = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "perfsquad"
    return [str(venv), "serve"] if venv.exists() else [sys.executable, "-m", "perfsquad", "serve"]


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB, from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LspError(f"no VmRSS for pid {pid}")


def cpu_ns(pid: int) -> int:
    """CPU time the process' threads have run so far, in ns (/proc/PID/task/*/schedstat), or -1.

    With a py-spy wrapper this is py-spy's own time, not the server's."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that just ended
    except OSError:
        return -1
    return total
