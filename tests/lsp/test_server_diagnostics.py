"""End to end: diagnostics published by `perfsquad serve` (pytest-lsp, VS Code and Neovim profiles)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from lsp_harness import SAMPLE, ProbeClient, by_code, lsp_fixture
from lsprotocol import types
from support import RULE_DOCS as DOCS

pytestmark = [
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
    pytest.mark.asyncio(loop_scope="module"),
]
client = lsp_fixture(shared=True)


async def test_diagnostics_carry_code_source_link_and_fix(client: ProbeClient) -> None:
    uri = (client.root / "sample.py").as_uri()
    client.open(uri, SAMPLE)
    diagnostics = await client.diagnostics_for(uri, version=1)

    assert {d.code for d in diagnostics} >= {"IDM001", "IDM010"}
    for d in diagnostics:
        assert d.source == "perfsquad"
        assert d.severity == types.DiagnosticSeverity.Warning
        assert d.code_description is not None
        assert d.code_description.href == (DOCS / f"{d.code}.md").as_uri()
        assert (DOCS / f"{d.code}.md").is_file()
    idm001 = by_code(diagnostics, "IDM001")
    assert idm001.range.start == types.Position(line=9, character=4)  # `for k in d:`
    assert idm001.data["code"] == "IDM001"
    assert idm001.data["version"] == 1
    # Fixable, with the rule's title and safety; no edits: the fix is built when a code action asks.
    assert idm001.data["fix"] == {"title": "Replace the loop with a list comprehension", "safety": "safe"}
    assert by_code(diagnostics, "IDM010").data["fix"]["safety"] == "unsafe"


async def test_edit_republishes_and_shifts_other_blocks(client: ProbeClient) -> None:
    uri = (client.root / "edit.py").as_uri()
    client.open(uri, SAMPLE)
    before = await client.diagnostics_for(uri, version=1)
    assert by_code(before, "IDM001").range.start.line == 9

    # Two new lines inside the first function: IDM010 stays, IDM001 (next block) moves down by 2.
    insert = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=1, character=0), end=types.Position(line=1, character=0)),
        text="    y = 1\n    z = 2\n",
    )
    client.change(uri, 2, insert)
    after = await client.diagnostics_for(uri, version=2)
    assert by_code(after, "IDM001").range.start.line == 11
    assert by_code(after, "IDM010").range.start.line == by_code(before, "IDM010").range.start.line + 2
    # After an edit too, a diagnostic says its finding is fixable but carries no built edits.
    for code, safety in (("IDM001", "safe"), ("IDM010", "unsafe")):
        data = by_code(after, code).data
        assert data["version"] == 2 and data["fix"]["safety"] == safety and "edits" not in data["fix"]

    # Fix the first function by hand: its finding goes, the other block's stays.
    lines = SAMPLE.splitlines(keepends=True)
    rewritten = "def total(xs):\n    y = 1\n    z = 2\n    return sum(xs)\n" + "".join(lines[5:])
    client.replace_all(uri, 3, rewritten)
    final = await client.diagnostics_for(uri, version=3)
    assert [d.code for d in final] == ["IDM001"]
    assert final[0].range.start.line == 8


async def test_close_clears_diagnostics(client: ProbeClient) -> None:
    uri = (client.root / "closing.py").as_uri()
    client.open(uri, SAMPLE)
    assert await client.diagnostics_for(uri, version=1)
    mark = client.mark()
    client.close(uri)
    cleared = await client.diagnostics_for(uri, since=mark)
    assert cleared == []


async def test_syntax_error_is_one_diagnostic_and_the_rest_still_reports(client: ProbeClient) -> None:
    uri = (client.root / "broken.py").as_uri()
    client.open(uri, SAMPLE + "\ndef half(:\n    pass\n")
    diagnostics = await client.diagnostics_for(uri, version=1)
    errors = [d for d in diagnostics if d.severity == types.DiagnosticSeverity.Error]
    assert len(errors) == 1 and errors[0].range.start == types.Position(line=13, character=9)
    assert {"IDM001", "IDM010"} <= {d.code for d in diagnostics}


async def test_analysis_runs_off_the_event_loop(client: ProbeClient) -> None:
    """While a large file is analyzed, requests on another file are answered (before its publish)."""
    small = (client.root / "small.py").as_uri()
    client.open(small, SAMPLE)
    await client.diagnostics_for(small, version=1)
    hover_params = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=small), position=types.Position(line=0, character=5)
    )
    # The first hover computes the file's per-function metrics (and imports radon): done before the
    # race, so the hovers below measure only whether the big file's analysis blocks the event loop.
    assert await client.text_document_hover_async(hover_params) is not None

    big = (client.root / "big.py").as_uri()
    block = "\ndef f{i}(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out\n"
    client.open(big, "".join(block.format(i=i) for i in range(1000)))
    answered_before_publish = []
    for _ in range(3):
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=small),
                position=types.Position(line=0, character=5),
            )
        )
        assert hover is not None
        answered_before_publish.append(not any(p.uri == big for p in client.seen("diagnostics")))
    assert answered_before_publish[0], "the hover waited for the big file's analysis"
    assert len(await client.diagnostics_for(big, version=1)) == 1000


async def test_serve_over_tcp(tmp_path: Path) -> None:
    """`perfsquad serve --tcp HOST:PORT`: initialize (with the token), open, receive diagnostics, shut down."""
    import json
    import os

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "perfsquad", "serve", "--tcp", "127.0.0.1:0",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PERFSQUAD_TOKEN": "tcp-test-token"},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        port = None
        while port is None:
            line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
            assert line, "server exited before listening"
            if "listening on" in line:
                port = int(line.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        def send(message: dict[str, object]) -> None:
            body = json.dumps({"jsonrpc": "2.0", **message}).encode()
            writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

        async def receive() -> dict[str, object]:
            length = 0
            while (header := await asyncio.wait_for(reader.readline(), 60)) not in (b"\r\n", b""):
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":")[1])
            message: dict[str, object] = json.loads(await reader.readexactly(length))
            return message

        uri = (tmp_path / "tcp.py").as_uri()
        send({"id": 1, "method": "initialize", "params": {"processId": None, "rootUri": tmp_path.as_uri(),
                                                          "capabilities": {},
                                                          "initializationOptions": {"token": "tcp-test-token"}}})  # fmt: skip
        while (message := await receive()).get("id") != 1:
            pass
        assert "capabilities" in message["result"]  # type: ignore[operator]
        send({"method": "initialized", "params": {}})
        send({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": SAMPLE}}})  # fmt: skip
        while (message := await receive()).get("method") != "textDocument/publishDiagnostics":
            pass
        codes = {d["code"] for d in message["params"]["diagnostics"]}  # type: ignore[index]
        assert {"IDM001", "IDM010"} <= codes
        send({"id": 2, "method": "shutdown"})
        while (await receive()).get("id") != 2:
            pass
        send({"method": "exit"})
        writer.close()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
