"""Writing and identifying the files perfsquad keeps (caches, benchmark records) safely."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path


def write_atomically(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Replace ``path``'s contents in one step: readers never see half a file. The temporary file
    is named after the process *and* thread, so the server's concurrent commands, and CLI runs
    beside it, never write the same one. ``mode``: the permission bits the new file gets (a
    rewritten user file keeps its own, e.g. an executable script stays executable)."""
    tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
    try:
        tmp.write_bytes(data)
        if mode is not None:
            tmp.chmod(mode)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def content_digest(data: bytes) -> str:
    """The digest files are known by (the CLI's caches, the workspace index): unchanged content,
    unchanged digest."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
