"""End to end (issue #19): `perfsquad serve` runs on glibc's allocator, and what it runs does not.

The server re-executes itself with ``PYTHONMALLOC=malloc`` (see ``perfsquad.cli``): after a close,
``malloc_trim`` can then return freed memory page by page, where CPython's arenas stay pinned by a
few long-lived objects. A ``PYTHONMALLOC`` the user set is kept, and the workloads the server
profiles get the user's environment, never the server's allocator.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from lsp_harness import SERVER, ProbeClient, initialize, lsp_fixture
from lsprotocol import types

from perfsquad.cli import SERVER_ALLOCATOR_MARK

client = lsp_fixture()
user_client = lsp_fixture(["/usr/bin/env", "PYTHONMALLOC=pymalloc_debug", *SERVER])

GLIBC = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")

# Busy for 0.5 s of CPU (enough samples on any machine); records its own environment and, up its
# chain of parents, the language server's initial environment and command line.
WORKLOAD = """\
import json, os, sys, time


def spin():
    start = time.process_time()
    while time.process_time() - start < 0.5:
        sum(range(10_000))


def server():
    pid = os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/status") as f:
            pid = int(next(line.split()[1] for line in f if line.startswith("PPid:")))
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\\0")
        if b"perfsquad" in argv and b"serve" in argv:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(e.decode().partition("=")[::2] for e in f.read().split(b"\\0") if e)
            return {"pid": pid, "environ": env}
    return None


spin()
with open(sys.argv[1], "w") as out:
    json.dump({"mine": os.environ.get("PYTHONMALLOC"), "server": server()}, out)
"""


async def _profiled(client: ProbeClient, tmp_path: Path) -> dict[str, object]:
    await initialize(client, tmp_path)
    script, out = tmp_path / "workload.py", tmp_path / "seen.json"
    script.write_text(WORKLOAD, encoding="utf-8")
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="perfsquad.profile", arguments=[sys.executable, str(script), str(out)])
    )
    assert out.exists(), client.log_messages
    seen: dict[str, object] = json.loads(out.read_text(encoding="utf-8"))
    return seen


async def test_the_server_runs_on_the_c_allocator_and_its_workloads_do_not(client: ProbeClient, tmp_path: Path) -> None:
    seen = await _profiled(client, tmp_path)
    assert seen["mine"] is None, "a profiled workload inherited the server's allocator"
    server = seen["server"]
    assert isinstance(server, dict), "no `perfsquad serve` above the profiled workload"
    environ = server["environ"]  # (what the process was last executed with)
    if GLIBC:
        assert environ.get("PYTHONMALLOC") == "malloc" and environ.get(SERVER_ALLOCATOR_MARK) == "1"
    else:  # (elsewhere the server keeps CPython's allocator)
        assert "PYTHONMALLOC" not in environ and SERVER_ALLOCATOR_MARK not in environ


async def test_a_pythonmalloc_the_user_set_is_kept(user_client: ProbeClient, tmp_path: Path) -> None:
    seen = await _profiled(user_client, tmp_path)
    assert seen["mine"] == "pymalloc_debug", "the user's PYTHONMALLOC did not reach the workload"
    server = seen["server"]
    assert isinstance(server, dict)
    assert server["environ"].get("PYTHONMALLOC") == "pymalloc_debug"
    assert SERVER_ALLOCATOR_MARK not in server["environ"], "the server re-executed over the user's choice"
