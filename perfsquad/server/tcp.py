"""``perfsquad serve --tcp``: loopback only, and a token before anything is served.

A language server runs the user's code on request (profile, benchmark, leak check, audit), so a
listening socket is a way to run commands as the user. Over TCP, perfsquad therefore:

* binds to a loopback address only (``127.0.0.1``, ``::1``, ``localhost``); any other host is
  refused before listening;
* requires a token: ``PERFSQUAD_TOKEN`` from the environment, else a random one printed on stderr
  (and written, mode 0600, to ``--token-file``). The first message of a connection must be
  ``initialize`` with ``initializationOptions.token`` (or ``initializationOptions.perfsquad.token``)
  equal to it; anything else (another method, no or a wrong token, a malformed or oversized first
  frame, nothing within :data:`FIRST_MESSAGE_SECONDS`) closes the connection before pygls sees a
  byte of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import threading
from pathlib import Path
from typing import Any

TOKEN_ENV = "PERFSQUAD_TOKEN"
FIRST_MESSAGE_SECONDS = 10.0
MAX_FIRST_MESSAGE = 1 << 20
"""Bytes the first message (``initialize``) may take; a bigger first frame closes the connection."""
_HEADER = re.compile(rb"^Content-Length:\s*(\d+)\s*$", re.IGNORECASE)
logger = logging.getLogger(__name__)


class TcpError(ValueError):
    """A ``--tcp`` request that is refused (not loopback); the message says why."""


def check_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise TcpError(
        f"refusing to listen on {host}: the server runs your code on request, so it binds to a loopback "
        "address only (127.0.0.1 or ::1); reach it from elsewhere through an SSH tunnel"
    )


def server_token() -> tuple[str, bool]:
    """The token (from :data:`TOKEN_ENV`, else a new random one) and whether it was generated."""
    given = os.environ.get(TOKEN_ENV, "").strip()
    if given:
        return given, False
    return secrets.token_urlsafe(32), True


def write_token_file(path: Path, token: str) -> None:
    """Write ``token`` to ``path``, readable and writable by its owner only (created fresh)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")


async def _first_message(reader: asyncio.StreamReader) -> tuple[bytes, Any]:
    """The raw bytes of the first framed message and its decoded JSON; ValueError if it is not one."""
    raw = bytearray()
    length: int | None = None
    while True:
        line = await reader.readline()
        raw += line
        if not line or len(raw) > 8192:
            raise ValueError("no header")
        if line in (b"\r\n", b"\n"):
            break
        match = _HEADER.match(line)
        if match:
            length = int(match.group(1))
    if length is None or length > MAX_FIRST_MESSAGE:
        raise ValueError("no or oversized Content-Length")
    body = await reader.readexactly(length)
    raw += body
    return bytes(raw), json.loads(body)


def _carries(message: Any, token: str) -> bool:
    if not isinstance(message, dict) or message.get("method") != "initialize":
        return False
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    if not isinstance(options, dict):
        return False
    given = options.get("token")
    if given is None and isinstance(options.get("perfsquad"), dict):
        given = options["perfsquad"].get("token")
    return isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode())


class _Replayed:
    """The connection's reader with the already-read first message put back in front."""

    def __init__(self, head: bytes, reader: asyncio.StreamReader) -> None:
        self.head = bytearray(head)
        self.reader = reader

    async def readline(self) -> bytes:
        if self.head:
            end = self.head.find(b"\n")
            if end >= 0:
                line = bytes(self.head[: end + 1])
                del self.head[: end + 1]
                return line
            rest = bytes(self.head)
            self.head.clear()
            return rest + await self.reader.readline()
        return await self.reader.readline()

    async def readexactly(self, n: int) -> bytes:
        taken = bytes(self.head[:n])
        del self.head[:n]
        if len(taken) < n:
            taken += await self.reader.readexactly(n - len(taken))
        return taken


def serve(server: Any, host: str, port: int, token: str, on_listening: Any = None) -> None:
    """pygls's ``start_tcp``, with the token checked on each connection's first message."""
    from perfsquad.server import framing

    stop_event = threading.Event()
    server._stop_event = stop_event

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head, message = await asyncio.wait_for(_first_message(reader), FIRST_MESSAGE_SECONDS)
        except (ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError, OSError):
            head, message = b"", None
        if not _carries(message, token):
            logger.warning("perfsquad: closed a connection without the server's token")
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return
        server.protocol.set_writer(writer)
        # The same bounded frame loop as stdio (framing.py): 64 MiB at most, malformed JSON answered.
        await framing.serve(stop_event, framing.Chunked(_Replayed(head, reader)), server.protocol, server.report_server_error)
        server.shutdown()

    async def main() -> None:
        listening = await asyncio.start_server(connection, host, port)
        server._server = listening
        if on_listening is not None:
            on_listening([sock.getsockname() for sock in listening.sockets])
        async with listening:
            await listening.serve_forever()

    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(main())
