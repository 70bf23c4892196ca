"""End to end: malformed requests get error responses, handler crashes are isolated, and malformed
sources never stop diagnostics for other files.

Crashes are injected by the probe server (tests/lsp/lsp_probe/server.py) through markers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsp_harness import PROBE_SERVER, SAMPLE, WAIT, ProbeClient, lsp_fixture
from lsprotocol import types
from pygls.exceptions import JsonRpcException

pytestmark = [
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
    pytest.mark.asyncio(loop_scope="module"),
]
client = lsp_fixture(shared=True)
probe = lsp_fixture(PROBE_SERVER, shared=True)


async def _raw_request(client: ProbeClient, method: str, params: Any) -> Any:
    """Send a request as raw JSON (the typed client API cannot express malformed params)."""
    msg_id = str(uuid.uuid4())
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    client.protocol._request_futures[msg_id] = future
    client.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
    return await asyncio.wait_for(asyncio.wrap_future(future), WAIT)


async def _error(client: ProbeClient, method: str, params: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as info:
        await _raw_request(client, method, params)
    return info.value


async def _still_serving(client: ProbeClient, root: Path, name: str) -> None:
    """The server still analyzes a new file and answers a request on it."""
    uri = (root / name).as_uri()
    client.open(uri, SAMPLE)
    assert {"IDM001", "IDM010"} <= {d.code for d in await client.diagnostics_for(uri, version=1)}
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(0, 5))
    )
    assert hover is not None


async def test_malformed_requests_get_error_responses(client: ProbeClient) -> None:
    tmp_path = client.root
    uri = (tmp_path / "target.py").as_uri()
    client.open(uri, SAMPLE)
    await client.diagnostics_for(uri, version=1)
    invalid = types.ErrorCodes.InvalidParams

    assert (await _error(client, "textDocument/hover", {})).code == invalid
    bad_position = {"textDocument": {"uri": uri}, "position": {"line": "zero", "character": -1}}
    assert (await _error(client, "textDocument/hover", bad_position)).code == invalid
    assert (await _error(client, "textDocument/codeAction", {"textDocument": {"uri": uri}})).code == invalid
    assert (await _error(client, "perfsquad/noSuchMethod", {})).code == types.ErrorCodes.MethodNotFound

    # Well-formed JSON-RPC, but not one of our actions / a command with a wrong argument.
    garbage = {"title": "x", "data": {"uri": uri, "version": 1, "action": "explode"}}
    assert (await _error(client, "codeAction/resolve", garbage)).code == invalid
    not_open = {"title": "x", "data": {"uri": "file:///nowhere.py", "action": "fix"}}
    assert (await _error(client, "codeAction/resolve", not_open)).code == invalid
    bad_arg = {"command": "perfsquad.fixAll", "arguments": [42]}
    assert (await _error(client, "workspace/executeCommand", bad_arg)).code == invalid

    # A malformed notification is logged, not fatal.
    mark = client.mark()
    client.protocol._send_data(
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": 42}}}
    )
    await client.wait_for("log", lambda p: "malformed textDocument/didOpen" in p.message, since=mark)

    # Hover and positions outside the document are answered (nothing there), not errors.
    far = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(500, 500))
    assert await client.text_document_hover_async(far) is None
    unknown = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=(tmp_path / "never-opened.py").as_uri()),
        position=types.Position(0, 0),
    )
    assert await client.text_document_hover_async(unknown) is None
    await _still_serving(client, tmp_path, "after.py")


async def test_handler_crashes_are_isolated(probe: ProbeClient) -> None:
    tmp_path = probe.root
    uri = (tmp_path / "hover.py").as_uri()
    probe.open(uri, SAMPLE + "\nX = 1  # CRASH_HOVER\n")
    await probe.diagnostics_for(uri, version=1)

    mark = probe.mark()
    crash = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(13, 1))
    with pytest.raises(JsonRpcException) as info:
        await probe.text_document_hover_async(crash)
    assert info.value.code == types.ErrorCodes.InternalError
    assert "hover crashed on purpose" in str(info.value)
    log = await probe.wait_for("log", lambda p: "hover crashed on purpose" in p.message, since=mark)
    assert log.type == types.MessageType.Error

    # A crash in a notification handler (didOpen) is logged; the server goes on.
    mark = probe.mark()
    probe.open((tmp_path / "crash-notify.py").as_uri(), SAMPLE)
    await probe.wait_for("log", lambda p: "didOpen crashed on purpose" in p.message, since=mark)

    # An analyzer crash becomes an error diagnostic on that file only.
    crashing = (tmp_path / "analysis.py").as_uri()
    probe.open(crashing, SAMPLE + "# CRASH_ANALYSIS\n")
    [error] = await probe.diagnostics_for(crashing, version=1)
    assert error.severity == types.DiagnosticSeverity.Error and "analysis crashed on purpose" in error.message
    probe.replace_all(crashing, 2, SAMPLE)
    assert {"IDM001", "IDM010"} <= {d.code for d in await probe.diagnostics_for(crashing, version=2)}

    await _still_serving(probe, tmp_path, "after.py")


async def test_malformed_sources_never_stop_other_files(client: ProbeClient) -> None:
    tmp_path = client.root
    bad = {
        "null.py": SAMPLE.replace("counts = {}", "counts = {}\x00"),
        "deep.py": "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
        "brackets.py": "x = " + "[" * 100_000 + "\n",
        "concat.py": "x = " + " + ".join(["a"] * 20_000) + "\n",
        "surrogate.py": "x = '\ud800'\n",
        "syntax.py": "def f(:\n  return )\n",
        "huge.py": "x = 1\n" * 800_000,
    }
    for name, text in bad.items():
        client.open((tmp_path / name).as_uri(), text)
    await _still_serving(client, tmp_path, "good.py")

    for name in bad:
        diagnostics = await client.diagnostics_for((tmp_path / name).as_uri(), version=1)
        errors = [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error]
        assert len(errors) == 1, (name, [d.message for d in diagnostics])
        assert errors[0].source == "perfsquad" and errors[0].code == "parse-error"
    null = await client.diagnostics_for((tmp_path / "null.py").as_uri(), version=1)
    assert {"IDM001", "IDM010"} <= {d.code for d in null}  # the rest of the file is still analyzed
    huge = await client.diagnostics_for((tmp_path / "huge.py").as_uri(), version=1)
    assert "too large" in huge[0].message
