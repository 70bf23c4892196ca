"""A built wheel stands alone: `python -m build --wheel` of the checkout, installed with its
dependencies into a fresh virtual environment (no editable install, no PYTHONPATH, run from a
directory outside the checkout), runs the CLI, `rules` and the language server. The speedup tables
(perfsquad/data) and the server's ext_* modules must have shipped for the assertions to hold."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging_support import clean_env, run
from support import ROOT

SAMPLE = "def first_small(items: list[int]) -> int:\n    return sorted(items)[0]\n"
WAIT = 120.0  # seconds: a safety net for a hung server, never a pacing device


def test_the_wheel_holds_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"perfsquad/data/speedups/{version}.json" in names
    for ext in ("ext_audit", "ext_bench", "ext_memory", "ext_profile"):
        assert f"perfsquad/server/{ext}.py" in names
    assert "perfsquad/profiling/_child.py" in names and "perfsquad/py.typed" in names
    assert not any(n.startswith(("tests/", "bench/", "demo/")) for n in names)


@pytest.fixture(scope="module")
def work(wheel_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project outside the checkout, with a sample that has a finding."""
    where = tmp_path_factory.mktemp("wheel-project")
    (where / "sample.py").write_text(SAMPLE, encoding="utf-8")
    return where


def test_installed_from_the_wheel_not_the_checkout(wheel_venv: Path, work: Path) -> None:
    out = run([str(wheel_venv / "python"), "-c", "import perfsquad, sys; print(perfsquad.__file__); print(sys.path)"],
              cwd=work, env=clean_env()).stdout  # fmt: skip
    location = Path(out.splitlines()[0]).resolve()
    assert location.is_relative_to(wheel_venv.parent.resolve()) and "site-packages" in location.parts
    assert str(ROOT) not in out


def test_check_from_the_wheel(wheel_venv: Path, work: Path) -> None:
    proc = run([str(wheel_venv / "perfsquad"), "check", "--no-cache", "sample.py"], cwd=work, env=clean_env(),
               check=False)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "sample.py:2:12: IDM007" in proc.stdout
    # The speedup comes from the calibration table shipped in perfsquad/data/speedups.
    assert "measured by bench/calibrate.py on Python" in proc.stdout
    data = json.loads(run([str(wheel_venv / "perfsquad"), "check", "--no-cache", "--format", "json", "sample.py"],
                          cwd=work, env=clean_env(), check=False).stdout)  # fmt: skip
    assert [d["code"] for d in data] == ["IDM007"] and data[0]["fix"]["edits"][0]["content"] == "min(items)"


def test_rules_from_the_wheel(wheel_venv: Path, work: Path) -> None:
    rules = json.loads(run([str(wheel_venv / "perfsquad"), "rules", "--format", "json"], cwd=work,
                           env=clean_env()).stdout)  # fmt: skip
    by_code = {r["code"]: r for r in rules}
    assert {"IDM007", "VEC001", "IO001"} <= set(by_code)
    # Ratios and groups come from the shipped calibration tables (none without them).
    assert by_code["IDM007"]["ratio_at_1000"] > 1 and by_code["IDM007"]["group"] == "performance"
    assert "measured on Python" in by_code["IDM007"]["calibration"]
    text = run([str(wheel_venv / "perfsquad"), "rules"], cwd=work, env=clean_env()).stdout
    assert "n=1,000: " in next(line for line in text.splitlines() if line.startswith("IDM007"))


class Lsp:
    """A minimal LSP client over the server's stdio: framed JSON-RPC, a reader thread, waits with a timeout."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.proc = subprocess.Popen(argv, cwd=cwd, env=clean_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)  # fmt: skip
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        while True:
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            self.inbox.put(json.loads(stream.read(length)))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        reply = self.wait(lambda m: m.get("id") == self.next_id and "method" not in m)
        assert "error" not in reply, reply
        return reply["result"]

    def wait(self, match: Any) -> dict[str, Any]:
        while True:
            message = self.inbox.get(timeout=WAIT)
            if "id" in message and "method" in message:  # a request from the server: accept it
                self.send({"id": message["id"], "result": None})
            if match(message):
                return message

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.send({"method": "exit"})
            self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)


def test_server_round_trip_from_the_wheel(wheel_venv: Path, work: Path) -> None:
    lsp = Lsp([str(wheel_venv / "perfsquad"), "serve"], work)
    try:
        result = lsp.request("initialize", {"processId": None, "rootUri": work.as_uri(), "capabilities": {
            "textDocument": {"hover": {"contentFormat": ["markdown", "plaintext"]}}}})  # fmt: skip
        commands = set(result["capabilities"]["executeCommandProvider"]["commands"])
        # One command of each ext_* module: the extensions were discovered in the installed package.
        assert {"perfsquad.auditPerformance", "perfsquad.benchmark", "perfsquad.leakcheck",
                "perfsquad.profile"} <= commands  # fmt: skip
        lsp.send({"method": "initialized", "params": {}})
        uri = (work / "sample.py").as_uri()
        lsp.send({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": SAMPLE}}})  # fmt: skip
        published = lsp.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                             and m["params"]["uri"] == uri and m["params"]["diagnostics"])  # fmt: skip
        (diagnostic,) = published["params"]["diagnostics"]
        assert diagnostic["code"] == "IDM007" and diagnostic["range"]["start"] == {"line": 1, "character": 11}
        hover = lsp.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 13}})
        assert "faster" in json.dumps(hover)  # the measured speedup, from the shipped tables
    finally:
        lsp.close()
    assert lsp.proc.returncode == 0
