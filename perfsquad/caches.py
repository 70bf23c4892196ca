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
from perfsquad.files import content_digest, ensure_dir, read_own, write_atomically
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
        data = _load(self.path)
        if data is not None:
            self.entries = {k: v for k, v in data.items() if _report_entry(k, v)}
            # A cache of the wrong shape (another version's, a hand edit) is rebuilt, not trusted.
            self.dirty = len(self.entries) != len(data)

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
            return self._report(path, report), st, None
        try:
            data = path.read_bytes()
        except OSError:
            return None, st, None
        if content_digest(data) == digest:
            found = self._report(path, report)
            if found is not None:
                self.entries[str(path)] = (st.st_mtime_ns, st.st_size, digest, report)
                self.dirty = True
            return found, st, data
        return None, st, data

    def _report(self, path: Path, report: Any) -> FileReport | None:
        """The cached report, or None (the entry dropped, the file analyzed again) if it has the
        wrong shape: a damaged cache costs one analysis, never a crash."""
        try:
            return report_from_json(report)
        except Exception:  # (any shape of damage: KeyError, TypeError, AttributeError...)
            del self.entries[str(path)]
            self.dirty = True
            return None

    def store(self, path: Path, st: os.stat_result | None, digest: str, report_json: Any) -> None:
        if st is None:
            return
        self.entries[str(path)] = (st.st_mtime_ns, st.st_size, digest, report_json)
        self.dirty = True

    def save(self) -> None:
        """Write the cache (``OSError``, the file unchanged, if it cannot be: a symlink in
        ``.perfsquad/``, a full disk)."""
        if not self.dirty:
            return
        ensure_dir(self.path.parent)
        gitignore = self.path.parent / ".gitignore"
        if not os.path.lexists(gitignore):
            write_atomically(gitignore, b"*\n")
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
            data = _load(self.path)
            self._entries = {} if data is None else {k: v for k, v in data.items() if _summary_entry(k, v)}
            if data is not None and len(self._entries) != len(data):
                self.dirty = True  # (the wrong-shape entries are dropped from the file too)
        return self._entries

    def linked_key(self) -> str:
        if self._linked is None:
            try:
                self._linked = read_own(self.key_path).decode("ascii").strip()
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
        except Exception:  # (a summary of the wrong shape: analyzed again)
            return None

    def put(self, path: str, digest: str, summary: Any, signature: str) -> None:
        self.entries[path] = (digest, summary, signature)
        self.dirty = True

    def save(self) -> None:
        """Write the summaries and the linked key (``OSError`` if they cannot be; both files are
        replaced, never written through: the key file's name is predictable, so a cloned repository
        could ship it as a symlink)."""
        if not self.dirty:
            return
        ensure_dir(self.path.parent)
        write_atomically(self.path, marshal.dumps(self.entries))
        write_atomically(self.key_path, self.linked_key().encode("ascii"))


def _load(path: Path) -> dict[Any, Any] | None:
    """A cache file's dict, or None when it is missing, unreadable, a symlink or not a marshalled dict."""
    try:
        data = marshal.loads(read_own(path))
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return data if isinstance(data, dict) else None


def _report_entry(key: Any, value: Any) -> bool:
    """``path: (mtime_ns, size, digest, report data)``; the report itself is checked when used."""
    return (
        isinstance(key, str)
        and isinstance(value, tuple)
        and len(value) == 4
        and type(value[0]) is int
        and type(value[1]) is int
        and isinstance(value[2], str)
        and isinstance(value[3], dict)
    )


def _summary_entry(key: Any, value: Any) -> bool:
    """``path: (digest, summary data or None, signature)``; the summary is checked when loaded."""
    return (
        isinstance(key, str)
        and isinstance(value, tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and isinstance(value[2], str)
        and (value[1] is None or isinstance(value[1], (tuple, list)))
    )
