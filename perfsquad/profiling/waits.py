"""Calls that wait, read from the source line a profile points at.

A sampler tells waiting from running by the thread's state; a call into C that waits on the disk
or a server without releasing the GIL (SQLite's ``COMMIT`` syncing the journal, a driver's
``execute``) is seen *running*. The line's own calls say otherwise: a line that calls one of
:data:`WAIT_CALLS` is I/O (or a sync wait) whatever its idle samples say. Nothing here runs user
code: the line is read and parsed.
"""

from __future__ import annotations

import ast
import functools
import os
from pathlib import Path

WAIT_CALLS = frozenset({
    "commit", "rollback", "execute", "executemany", "executescript", "fetchone", "fetchall", "fetchmany",
    "connect", "sleep", "recv", "recv_into", "recvfrom", "sendall", "urlopen", "getresponse", "fsync",
    "wait", "join", "select", "poll", "acquire", "request", "result",
})  # fmt: skip
"""Calls that wait (on a disk sync, a server, a lock, a timer) even when a sampler sees the thread
running: a line calling one of them is I/O whatever its idle samples say."""


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def source_lines(path: str) -> tuple[str, ...]:
    """The lines of ``path`` as saved now (cached per modification time: a long-running server
    never reads an edited file's old lines)."""
    return _lines(path, _mtime(path))


@functools.lru_cache(maxsize=256)
def _lines(path: str, mtime: int) -> tuple[str, ...]:
    try:
        return tuple(Path(path).read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return ()


def calls_on_line(path: str, line: int) -> tuple[str, ...]:
    """The names of the calls written on ``line`` of ``path`` (``conn.commit()`` → ``commit``)."""
    return _calls(path, _mtime(path), line)


@functools.lru_cache(maxsize=4096)
def _calls(path: str, mtime: int, line: int) -> tuple[str, ...]:
    lines = _lines(path, mtime)
    if not 0 < line <= len(lines):
        return ()
    text = lines[line - 1].strip().rstrip(":")
    for candidate in (text, text.removeprefix("return ").removeprefix("await "), f"({text})"):
        try:
            tree = ast.parse(candidate)
        except SyntaxError:
            continue
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                f = node.func
                names.append(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
        return tuple(n for n in names if n)
    return ()


def waiting_call(path: str, line: int) -> str | None:
    """The waiting call ``line`` of ``path`` makes (``commit``, ``execute``...), or None."""
    return next((c for c in calls_on_line(path, line) if c in WAIT_CALLS), None)
