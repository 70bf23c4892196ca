"""The server's protocol layer in process (no client): pygls 2.1's notification leak is worked
around (issue #19: ``_request_futures`` held 1,003 entries after 1,000 didChange)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from lsp_harness import SAMPLE

from perfsquad.server.app import create_server


class _Sink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        pass


class _Recorder:
    """A protocol for framing.serve alone: the messages handled, the error responses sent."""

    def __init__(self) -> None:
        self.handled: list[Any] = []
        self.errors: list[Any] = []

    def structure_message(self, data: Any) -> Any:
        return data

    def handle_message(self, message: Any) -> None:
        self.handled.append(message)

    def _send_response(self, msg_id: Any, error: Any = None) -> None:
        self.errors.append((msg_id, error))


def _feed(protocol: Any, message: dict[str, Any]) -> None:
    protocol.handle_message(json.loads(json.dumps(message), object_hook=protocol.structure_message))


async def test_notifications_leave_no_request_futures(tmp_path: Any) -> None:
    server = create_server(extensions=False)
    protocol = server.protocol
    protocol.set_writer(_Sink())
    _feed(protocol, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}})
    _feed(protocol, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
    uri = (tmp_path / "m.py").as_uri()
    _feed(protocol, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": SAMPLE}}})
    for version in range(2, 1002):
        change = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": "#"}
        _feed(protocol, {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}})
        if version % 100 == 0:
            await asyncio.sleep(0)
    _feed(protocol, {"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}})
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(protocol._request_futures) <= 2, len(protocol._request_futures)
    server.documents.shutdown()
    server.executor.shutdown(wait=True, cancel_futures=True)


async def test_the_frame_loop_over_a_pygls_style_reader_skips_an_oversized_frame() -> None:
    """framing.serve over ``Chunked`` (the shape of the TCP transport's replaying reader): a frame
    over the limit is refused and skipped in chunks, and the next message is handled."""
    import threading

    from perfsquad.server import framing

    stream = asyncio.StreamReader()
    big = b"z" * 5000
    good = json.dumps({"jsonrpc": "2.0", "method": "x/ok"}).encode()
    stream.feed_data(b"Content-Length: %d\r\n\r\n%s" % (len(big), big))
    stream.feed_data(b"Content-Length: %d\r\n\r\n%s" % (len(good), good))
    stream.feed_eof()

    protocol = _Recorder()
    await framing.serve(threading.Event(), framing.Chunked(stream), protocol, max_frame=1000)
    assert protocol.handled == [{"jsonrpc": "2.0", "method": "x/ok"}]
    assert len(protocol.errors) == 1 and protocol.errors[0][0] is None


async def test_the_stdio_reader_serves_frames_split_anywhere_and_holds_at_most_its_bound() -> None:
    """framing.serve over ``PipeReader`` (the stdio transport) on a real pipe: messages split
    byte by byte, several in one write, an over-long header line, malformed JSON and an oversized
    frame (skipped while the writer is still writing it: the reader holds at most ``AHEAD`` bytes
    plus one chunk), then the end of the stream ends the loop."""
    import os
    import threading
    import time

    from perfsquad.server import framing

    def frame(message: dict[str, Any]) -> bytes:
        body = json.dumps(message).encode()
        return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)

    huge = 3 * framing.PipeReader.AHEAD
    read_fd, write_fd = os.pipe()

    def write() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as pipe:
            for byte in frame({"jsonrpc": "2.0", "method": "x/one"}):
                pipe.write(bytes([byte]))
                time.sleep(0.0005)
            pipe.write(frame({"jsonrpc": "2.0", "method": "x/two"}) + frame({"jsonrpc": "2.0", "method": "x/three"}))
            pipe.write(b"X-Noise: " + b"n" * (framing.MAX_HEADER_BYTES + 10) + b"\r\n")
            pipe.write(b"Content-Length: 7\r\n\r\n{broken")
            pipe.write(b"Content-Length: %d\r\n\r\n" % huge)
            for _ in range(huge // framing.CHUNK):
                pipe.write(b"z" * framing.CHUNK)
            pipe.write(frame({"jsonrpc": "2.0", "method": "x/last"}))

    class Measured(framing.PipeReader):
        most = 0

        def _feed(self, data: bytes) -> None:
            super()._feed(data)
            Measured.most = max(Measured.most, len(self._buffer))

    writer = threading.Thread(target=write)
    writer.start()
    protocol = _Recorder()
    with os.fdopen(read_fd, "rb") as stream:
        await asyncio.wait_for(framing.serve(threading.Event(), Measured(stream), protocol, max_frame=1000), 30)
    writer.join()
    assert [m["method"] for m in protocol.handled] == ["x/one", "x/two", "x/three", "x/last"]
    assert len(protocol.errors) == 2  # the malformed body (ParseError) and the oversized frame
    assert 0 < Measured.most <= framing.PipeReader.AHEAD + framing.CHUNK, Measured.most


async def test_the_stdio_reader_waits_on_a_non_blocking_pipe() -> None:
    """A client may hand the server a non-blocking stdin: ``os.read`` then raises
    ``BlockingIOError`` until data comes, which is a wait, not the end of the stream."""
    import os
    import threading
    import time

    from perfsquad.server import framing

    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    body = json.dumps({"jsonrpc": "2.0", "method": "x/late"}).encode()

    def write() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as pipe:
            time.sleep(0.2)  # the reader finds the pipe empty first
            pipe.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    writer = threading.Thread(target=write)
    writer.start()
    protocol = _Recorder()
    with os.fdopen(read_fd, "rb") as stream:
        await asyncio.wait_for(framing.serve(threading.Event(), framing.PipeReader(stream), protocol), 30)
    writer.join()
    assert protocol.handled == [{"jsonrpc": "2.0", "method": "x/late"}] and protocol.errors == []
