"""Every file perfsquad writes goes through here: fixed sources, caches and the index, reports,
profiles, benchmark records. One rule for all of them: never lose a byte of what was there.

- :func:`write_atomically` writes a temporary file in the same directory (an unpredictable name,
  created exclusively, so a planted symlink cannot redirect it), flushes and fsyncs it, then
  ``os.replace``-s the target: a reader, a crash or a full disk (``ENOSPC``, ``EFBIG`` from
  ``ulimit -f``) sees either the old file or the new one, never half of either. The new file keeps
  the old one's permission bits. A failure raises :class:`WriteError` (an ``OSError`` naming the
  file and the cause) and leaves the original untouched.
- ``expect``: the bytes the caller read before computing the new ones. If the file on disk no
  longer holds them (an editor saved it while ``--fix`` was working), :class:`ChangedOnDisk` is
  raised and nothing is written.
- Symlinks are never written through: a target that is a symlink is refused
  (:class:`UnsafePath`); a caller that means to rewrite a link's target (``--fix`` on a ``.py``
  link inside the tree) resolves it and checks where it lands first. perfsquad's own directory
  (``.perfsquad/`` and everything under it) is made by :func:`ensure_dir`, which refuses any part
  of it that is a symlink: a cloned repository that ships ``.perfsquad/cache -> /somewhere`` must
  not make a plain ``check`` write there.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from pathlib import Path

OWN_DIR = ".perfsquad"
"""perfsquad's directory in a project: it and everything below it are written by perfsquad only."""


class WriteError(OSError):
    """A file could not be written; the original is intact. ``str()`` is one readable line."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code  # (OSError's own attribute: EACCES, ENOSPC, EFBIG...)


class UnsafePath(WriteError):
    """A write refused: the file, or a part of perfsquad's own directory, is a symlink."""


class ChangedOnDisk(WriteError):
    """The file changed on disk after it was read (an editor saved it): not overwritten."""


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _ignore_itself(directory: Path) -> None:
    """A ``.gitignore`` of ``*`` in a new ``.perfsquad/``: profiles, audits, benches and caches are
    never committed by accident (nothing else in the workspace needs changing). Best effort: a
    directory perfsquad can create but not write in fails later, where the write says why."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(directory / ".gitignore", flags, 0o644)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.write(fd, b"# written by perfsquad: everything here is generated\n*\n")
    os.close(fd)


def ensure_dir(directory: Path) -> Path:
    """Create ``directory`` (and its parents) and return it. From perfsquad's own directory
    (a component named ``.perfsquad``) down, every part must be a real directory, not a symlink:
    :class:`UnsafePath` otherwise. Parts above it are the user's own (a home directory may well be a
    link) and are created as ``mkdir -p`` would. The ``.perfsquad`` directory ignores itself: a
    ``.gitignore`` of ``*`` is written inside when it has none."""
    parts = directory.absolute().parts
    own = parts.index(OWN_DIR) if OWN_DIR in parts else len(parts)
    above = Path(*parts[:own])
    try:
        above.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"cannot create directory {above}: {_describe(exc)}", exc.errno) from exc
    current = above
    for part in parts[own:]:
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            try:
                os.mkdir(current)
            except FileExistsError:
                info = os.lstat(current)  # (made meanwhile by another perfsquad: check it below)
            except OSError as exc:
                raise WriteError(f"cannot create directory {current}: {_describe(exc)}", exc.errno) from exc
            else:
                if part == OWN_DIR:
                    _ignore_itself(current)
                continue
        except OSError as exc:
            raise WriteError(f"cannot use directory {current}: {_describe(exc)}", exc.errno) from exc
        if stat.S_ISLNK(info.st_mode):
            raise UnsafePath(f"refusing to write under {current}: it is a symlink (perfsquad's own directory never is)")
        if not stat.S_ISDIR(info.st_mode):
            raise WriteError(f"cannot use directory {current}: it is not a directory")
        if part == OWN_DIR:  # one made before perfsquad wrote its .gitignore (or whose ignore was lost)
            _ignore_itself(current)
    return directory


def write_atomically(
    path: Path,
    data: bytes,
    *,
    mode: int | None = None,
    expect: bytes | None = None,
) -> None:
    """Replace ``path``'s contents in one step (see the module docstring). ``mode``: the new file's
    permission bits (default: the old file's, else 0o666 minus the umask). ``expect``: refuse with
    :class:`ChangedOnDisk` unless the file still holds exactly these bytes."""
    try:
        info: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {_describe(exc)}", exc.errno) from exc
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise UnsafePath(f"refusing to write {path}: it is a symlink")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise WriteError(f"cannot write {path}: not a regular file")
    if mode is None:
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_UMASK
    if info is not None and not os.access(path, os.W_OK):
        # Replacing would succeed in a writable directory, but the user made the file read-only.
        raise WriteError(f"cannot write {path}: the file is read-only", errno.EACCES)
    import tempfile  # (here: a warm `check` that writes nothing never imports it)

    directory = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {_describe(exc)} (creating a file in {directory})", exc.errno) from exc
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, mode)
            if info is not None and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                _keep_owner(tmp, info)
            if expect is not None and _current(path) != expect:
                raise ChangedOnDisk(f"{path} changed on disk while perfsquad worked on it; not overwritten")
            os.replace(tmp, path)
        except WriteError:
            raise
        except OSError as exc:
            raise WriteError(f"cannot write {path}: {_describe(exc)}; the file is unchanged", exc.errno) from exc
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    _sync_directory(directory)


def write_text_atomically(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """:func:`write_atomically` for a text (reports, JSON records)."""
    write_atomically(path, text.encode(encoding))


def write_output(path: Path, data: bytes) -> Path:
    """A report, profile or record: its directory made by :func:`ensure_dir` (refusing symlinks in
    perfsquad's own directory), then written atomically (refusing a symlink as the file)."""
    ensure_dir(path.parent)
    write_atomically(path, data)
    return path


def read_own(path: Path) -> bytes:
    """The bytes of one of perfsquad's own files (a cache): refused (``OSError``) if it is a
    symlink, which a hostile clone could point anywhere."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _keep_owner(tmp: str, info: os.stat_result) -> None:
    """The new file keeps the old one's owner and group where allowed (root fixing a user's file;
    a user keeping a shared group); otherwise it is the writer's, as any editor's save makes it."""
    for uid, gid in ((info.st_uid, info.st_gid), (-1, info.st_gid)):
        try:
            os.chown(tmp, uid, gid)
            return
        except (OSError, AttributeError):  # (AttributeError: no chown on this platform)
            continue


def _current(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _read_umask() -> int:
    """The process's umask, read once at import (setting it to read it is not thread-safe)."""
    current = os.umask(0o022)
    os.umask(current)
    return current


_UMASK = _read_umask()


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def content_digest(data: bytes) -> str:
    """The digest files are known by (the CLI's caches, the workspace index): unchanged content,
    unchanged digest."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
