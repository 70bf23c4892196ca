"""The language server's wire under bad input (issue #19), over stdio with a real process.

- a ``Content-Length`` of 10**12 killed the server (MemoryError): now refused unread, logged, and
  answered with an error; a frame over the 64 MiB limit is skipped in chunks (never held) and the
  next message is served;
- malformed JSON gets a ParseError response and the server goes on;
- exit codes per the LSP spec (``exit`` after ``shutdown``: 0; without: 1) and a request after
  ``shutdown`` answered ``InvalidRequest`` (it used to get no answer at all).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from support import ROOT

TIMEOUT = 60.0
LIMIT = 64 * 1024 * 1024


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


INIT = frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
SHUTDOWN = frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
EXIT = frame({"jsonrpc": "2.0", "method": "exit"})


class Server:
    def __init__(self, tmp_path: Path) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "perfsquad", "serve"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = None
            while (line := stream.readline()).strip():
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length is None:
                return
            self.messages.put(json.loads(stream.read(length)))

    def initialized(self) -> Server:
        self.send(INIT)
        self.response(1)
        return self

    def send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def response(self, ident: Any) -> dict[str, Any]:
        while True:
            message = self.messages.get(timeout=TIMEOUT)
            if "method" not in message and message.get("id") == ident:
                return message

    def hwm_kib(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])

    def finish(self) -> tuple[int, str]:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read().decode(errors="replace")


def test_a_terabyte_content_length_is_refused_unread(tmp_path: Path) -> None:
    server = Server(tmp_path).initialized()
    server.send(b"Content-Length: 1000000000000\r\n\r\n" + b"x" * 100_000)
    refused = server.response(None)
    assert refused["error"]["code"] == -32600 and "1,000,000,000,000 bytes" in refused["error"]["message"]
    code, stderr = server.finish()  # the stream ends inside the refused body: the server ends
    assert code == 1  # (no shutdown was asked)
    assert "refused an LSP message of 1,000,000,000,000 bytes" in stderr
    assert "MemoryError" not in stderr and "Traceback" not in stderr


def test_a_frame_over_the_limit_is_skipped_without_holding_it(tmp_path: Path) -> None:
    server = Server(tmp_path).initialized()
    before = server.hwm_kib()
    size = LIMIT + 1
    server.send(b"Content-Length: %d\r\n\r\n" % size)
    chunk = b"y" * (1024 * 1024)
    for _ in range(size // len(chunk)):
        server.send(chunk)
    server.send(b"y" * (size % len(chunk)) + SHUTDOWN)
    assert server.response(None)["error"]["code"] == -32600
    assert server.response(2) == {"jsonrpc": "2.0", "id": 2, "result": None}  # served after it
    grown_mib = (server.hwm_kib() - before) / 1024
    assert grown_mib < 32, f"the server's peak memory grew {grown_mib:.0f} MiB reading a skipped 64 MiB frame"
    server.send(EXIT)
    code, stderr = server.finish()
    assert code == 0 and "Traceback" not in stderr


def test_malformed_json_is_answered_and_the_server_goes_on(tmp_path: Path) -> None:
    server = Server(tmp_path).initialized()
    server.send(b"Content-Length: 5\r\n\r\n{nope" + b"Content-Length: 2\r\n\r\n\xff\xfe" + SHUTDOWN)
    errors = [server.response(None), server.response(None)]
    assert [e["error"]["code"] for e in errors] == [-32700, -32700]
    assert server.response(2)["result"] is None
    server.send(EXIT)
    code, stderr = server.finish()
    assert code == 0 and "Traceback" not in stderr


def test_exit_codes_and_requests_after_shutdown(tmp_path: Path) -> None:
    server = Server(tmp_path).initialized()
    server.send(EXIT)  # without shutdown
    assert server.finish()[0] == 1

    server = Server(tmp_path).initialized()
    server.send(SHUTDOWN)
    server.response(2)
    hover = {"textDocument": {"uri": (tmp_path / "m.py").as_uri()}, "position": {"line": 0, "character": 0}}
    server.send(frame({"jsonrpc": "2.0", "id": 3, "method": "textDocument/hover", "params": hover}))
    refused = server.response(3)
    assert refused["error"]["code"] == -32600  # InvalidRequest, not silence
    server.send(EXIT)
    assert server.finish()[0] == 0
