"""The CLI's on-disk caches, next to each other in the cache directory: reports (:class:`Cache`)
and the workspace index's effect summaries (:class:`SummaryCache`), both keyed by content digest."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfsquad import __version__
from perfsquad.config import Config
from perfsquad.files import content_digest, write_atomically
from perfsquad.model import FileReport, report_from_json

if TYPE_CHECKING:
    from perfsquad.semantics.effects import ModuleSummary


def _code_stamp() -> str:
    """The release, plus the size and mtime of every module of the installed package: a cache
    written by other code (a development checkout edited since, a reinstall of the same version)
    is never read as this code's results. Stat calls only: about a millisecond."""
    package = Path(__file__).resolve().parent
    parts = [__version__]
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".json"):
            with contextlib.suppress(OSError):
                st = path.stat()
                parts.append(f"{path.relative_to(package)}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=8).hexdigest()


_CODE_STAMP = _code_stamp()


class Cache:
    """One file per (version, config): ``{path: (mtime_ns, size, content_digest, report_json)}``.

    The stat fields only let an unchanged file skip hashing; an entry is used only when its
    content digest matches, so touching a file without changing it costs a hash, not an analysis.
    """

    def __init__(self, directory: Path, config: Config, flavour: str) -> None:
        key = hashlib.blake2b(f"{_CODE_STAMP}|{config.key()}|{flavour}".encode(), digest_size=8).hexdigest()
        self.path = directory / f"reports-{key}.marshal"
        self.entries: dict[str, tuple[int, int, str, Any]] = {}
        self.dirty = False
        try:
            data = marshal.loads(self.path.read_bytes())
            if isinstance(data, dict):
                self.entries = data
        except (OSError, ValueError, EOFError, TypeError):
            self.entries = {}

    def lookup(self, path: Path) -> tuple[FileReport | None, os.stat_result | None, bytes | None]:
        try:
            st = path.stat()
        except OSError:
            return None, None, None
        entry = self.entries.get(str(path))
        if entry is None:
            return None, st, None
        mtime_ns, size, digest, report = entry
        if mtime_ns == st.st_mtime_ns and size == st.st_size:
            return report_from_json(report), st, None
        try:
            data = path.read_bytes()
        except OSError:
            return None, st, None
        if content_digest(data) == digest:
            self.entries[str(path)] = (st.st_mtime_ns, st.st_size, digest, report)
            self.dirty = True
            return report_from_json(report), st, data
        return None, st, data

    def store(self, path: Path, st: os.stat_result | None, digest: str, report_json: Any) -> None:
        if st is None:
            return
        self.entries[str(path)] = (st.st_mtime_ns, st.st_size, digest, report_json)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        gitignore = self.path.parent / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("*\n", encoding="utf-8")
        write_atomically(self.path, marshal.dumps(self.entries))


class SummaryCache:
    """``{path: (content digest, summary data, signature the cached report was computed with)}``,
    plus (in a small file of its own) the ``run_key`` of the files last linked: when nothing changed,
    a warm run reads only that key."""

    def __init__(self, directory: Path, key: str) -> None:
        name = hashlib.blake2b(f"{_CODE_STAMP}|{key}".encode(), digest_size=8).hexdigest()
        self.path = directory / f"index-{name}.marshal"
        self.key_path = directory / f"index-{name}.key"
        self._entries: dict[str, tuple[str, Any, str]] | None = None
        self._linked: str | None = None
        self.dirty = False

    @property
    def entries(self) -> dict[str, tuple[str, Any, str]]:
        if self._entries is None:
            self._entries = {}
            try:
                data = marshal.loads(self.path.read_bytes())
                if isinstance(data, dict):
                    self._entries = data
            except (OSError, ValueError, EOFError, TypeError):
                self._entries = {}
        return self._entries

    def linked_key(self) -> str:
        if self._linked is None:
            try:
                self._linked = self.key_path.read_text(encoding="ascii").strip()
            except (OSError, ValueError):
                self._linked = ""
        return self._linked

    def set_linked_key(self, key: str) -> None:
        if key != self.linked_key():
            self._linked = key
            self.dirty = True

    def get(self, path: str, digest: str) -> tuple[ModuleSummary, str] | None:
        entry = self.entries.get(path)
        if entry is None or entry[0] != digest:
            return None
        try:
            from perfsquad.semantics.effects import ModuleSummary  # (a warm run with nothing to link never needs it)

            return ModuleSummary.from_data(entry[1]), entry[2]
        except (TypeError, ValueError):
            return None

    def put(self, path: str, digest: str, summary: Any, signature: str) -> None:
        self.entries[path] = (digest, summary, signature)
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, marshal.dumps(self.entries))
            self.key_path.write_text(self.linked_key(), encoding="ascii")
