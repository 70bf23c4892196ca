"""Reading LSP frames with limits: nothing a client sends is allocated before it is checked.

pygls' reader takes a ``Content-Length`` at its word and reads that many bytes in one call: a
header of ``Content-Length: 1000000000000`` makes it allocate a terabyte (MemoryError, the server
dies), and a header line without a newline is read whole, however long. This loop replaces it for
every transport the server uses (stdio and TCP):

- a frame whose ``Content-Length`` exceeds :data:`MAX_FRAME_BYTES` (64 MiB) is refused: the error
  is logged, the client gets an ``InvalidRequest`` error response (id ``null``: the body is never
  read, so its id is unknown), and the body is skipped in chunks of 64 KiB, never held, so the
  stream stays in step and the next frame is served;
- a header line longer than :data:`MAX_HEADER_BYTES` or a frame without ``Content-Length`` is
  logged and skipped;
- a body that is not JSON gets a ``ParseError`` response (id ``null``) and is logged; the server
  goes on;
- a message that fails in pygls is logged and the server goes on (as pygls did).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import select
import threading
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO, Protocol

from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest, JsonRpcParseError

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024 * 1024
"""The largest message body accepted (a 4 MiB file, the default ``max-file-bytes``, fits many times)."""
MAX_HEADER_BYTES = 8 * 1024
CHUNK = 64 * 1024
_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*", re.IGNORECASE)


class FrameReader(Protocol):
    """What the loop reads from: bounded reads only."""

    def readline(self, limit: int) -> Awaitable[bytes]:
        """Up to ``limit`` bytes, ending at the first newline (b"" at end of stream)."""

    def read(self, n: int) -> Awaitable[bytes]:
        """Up to ``n`` bytes (b"" at end of stream)."""


class PipeReader:
    """A binary stream (stdin) read by one daemon thread, chunk by chunk, for the event loop.

    Reading in the executor costs three thread round trips per message (the header line, the
    blank line, the body), each a wake-up of a worker and then of the loop, on the path of every
    keystroke. Here the thread blocks in ``os.read`` and hands whatever arrived (a message, often
    several) to the loop in one call; the loop serves ``readline``/``read`` from that buffer.
    Bounded: once :data:`AHEAD` bytes wait unread the thread stops reading until the loop has taken
    them, so a flood is never held whole. The file descriptor is read directly (``os.read``), not
    through the stream's buffer: a daemon thread blocked inside a buffered read holds its lock, and
    the interpreter aborts when it finds that lock taken at exit."""

    AHEAD = 16 * CHUNK

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self._buffer = bytearray()
        self._eof = False
        self._held = False  # the thread waits for room (``_room``) before reading on
        self._room = threading.Semaphore(0)
        self._waiter: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            threading.Thread(target=self._pump, args=(self._loop,), name="perfsquad-stdin", daemon=True).start()
        return self._loop

    def _read_chunk(self) -> bytes:
        try:
            fd = self.stream.fileno()
        except (OSError, ValueError, AttributeError):  # not a file (a test's BytesIO)
            read = getattr(self.stream, "read1", self.stream.read)
            return bytes(read(CHUNK))
        return os.read(fd, CHUNK)

    def _pump(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                data = self._read_chunk()
            except BlockingIOError:  # a non-blocking descriptor (the client's choice): wait for data
                select.select([self.stream.fileno()], [], [])
                continue
            except (OSError, ValueError):  # closed under us: the end of the stream
                data = b""
            try:
                loop.call_soon_threadsafe(self._feed, data)
            except RuntimeError:  # the loop is closed: the server is gone
                return
            if not data:
                return
            self._room.acquire()  # released by the loop once the chunk is taken in

    def _feed(self, data: bytes) -> None:
        if data:
            self._buffer += data
            if len(self._buffer) < self.AHEAD:
                self._room.release()
            else:
                self._held = True
        else:
            self._eof = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _more(self) -> None:
        self._waiter = self._start().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _take(self, n: int) -> bytes:
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        if self._held and len(self._buffer) < self.AHEAD:
            self._held = False
            self._room.release()
        return data

    async def readline(self, limit: int) -> bytes:
        self._start()
        while True:
            end = self._buffer.find(b"\n", 0, limit)
            if end >= 0:
                return self._take(end + 1)
            if len(self._buffer) >= limit or self._eof:
                return self._take(min(limit, len(self._buffer)))
            await self._more()

    async def read(self, n: int) -> bytes:
        self._start()
        while not self._buffer and not self._eof:
            await self._more()
        return self._take(min(n, len(self._buffer)))


class StreamReader:
    """An ``asyncio.StreamReader`` (TCP) with bounded calls."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    async def readline(self, limit: int) -> bytes:
        try:
            return await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError as exc:  # no newline in the buffer's limit: a piece
            return await self.reader.read(min(limit, max(exc.consumed, 1)))

    def read(self, n: int) -> Awaitable[bytes]:
        return self.reader.read(n)


class Chunked:
    """A pygls-style async reader (``readline()``, ``readexactly(n)``; e.g. an
    ``asyncio.StreamReader`` with a message put back in front of it) read in bounded pieces: the
    loop never asks it for more than a chunk at a time."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader

    async def readline(self, limit: int) -> bytes:
        try:
            return bytes(await self.reader.readline())
        except asyncio.IncompleteReadError as exc:
            return bytes(exc.partial)
        except ValueError:  # (an asyncio.StreamReader's own line limit)
            return b"x" * limit  # an over-long header line: the loop skips it

    async def read(self, n: int) -> bytes:
        try:
            return bytes(await self.reader.readexactly(n))
        except asyncio.IncompleteReadError as exc:
            return bytes(exc.partial)


async def _read_exactly(reader: FrameReader, n: int) -> bytes | None:
    parts: list[bytes] = []
    left = n
    while left:
        part = await reader.read(min(left, CHUNK * 16))
        if not part:
            return None
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


async def _skip(reader: FrameReader, n: int) -> bool:
    """Read ``n`` bytes and drop them; False at end of stream."""
    while n > 0:
        part = await reader.read(min(n, CHUNK))
        if not part:
            return False
        n -= len(part)
    return True


async def _skip_line(reader: FrameReader) -> bool:
    """The rest of an over-long header line; False at end of stream."""
    while True:
        part = await reader.readline(MAX_HEADER_BYTES)
        if not part:
            return False
        if part.endswith(b"\n"):
            return True


async def serve(
    stop: threading.Event,
    reader: FrameReader,
    protocol: Any,
    report: Callable[[Exception, type[JsonRpcException]], Any] | None = None,
    *,
    max_frame: int = MAX_FRAME_BYTES,
) -> None:
    """Read frames and hand their messages to ``protocol`` until the stream ends or ``stop``."""

    def refuse(error: JsonRpcException, why: str) -> None:
        logger.error("%s", why)
        protocol._send_response(None, error=error.to_response_error())
        if report is not None:
            report(error, JsonRpcException)

    while not stop.is_set():
        length: int | None = None
        while True:  # the header block: lines up to an empty one
            line = await reader.readline(MAX_HEADER_BYTES)
            if not line:
                return
            if not line.endswith(b"\n") and len(line) >= MAX_HEADER_BYTES:
                logger.error("perfsquad: LSP header line longer than %d bytes skipped", MAX_HEADER_BYTES)
                if not await _skip_line(reader):
                    return
                continue
            if not line.strip():
                if length is not None:
                    break
                continue  # blank lines between frames
            match = _LENGTH.fullmatch(line.strip())
            if match is not None:
                length = int(match.group(1))
        if length > max_frame:
            why = f"perfsquad: refused an LSP message of {length:,} bytes (the limit is {max_frame:,}); skipped"
            refuse(JsonRpcInvalidRequest(why), why)
            if not await _skip(reader, length):
                return
            continue
        body = await _read_exactly(reader, length)
        if body is None:
            return
        try:
            message = json.loads(body, object_hook=protocol.structure_message)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            refuse(JsonRpcParseError(f"perfsquad: malformed LSP message: {exc}"), f"perfsquad: malformed LSP message ({exc}): {body[:200]!r}")
            continue
        except Exception as exc:  # pygls' structuring failed in another way: as pygls, log and go on
            logger.exception("Unable to handle message")
            if report is not None:
                report(exc, JsonRpcException)
            continue
        del body
        try:
            protocol.handle_message(message)
        except Exception as exc:
            logger.exception("Unable to handle message")
            if report is not None:
                report(exc, JsonRpcException)
