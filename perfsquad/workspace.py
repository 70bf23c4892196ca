"""The editor's workspace index: one :class:`~perfsquad.semantics.index.ProjectIndex` per project
root, built lazily on the first document of the project and shared by every document in it.

The project is found from the file's ``pyproject.toml``/``setup.py``/``.git``, or its top package;
the first scan summarizes the project's files (parse only, never run), and each analyzed document
then updates the index itself (``ProjectIndex.live``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from pathlib import Path

from perfsquad.config import Config
from perfsquad.discovery import discover
from perfsquad.semantics.index import ProjectIndex

_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
MAX_INDEX_FILES = 5000
"""Above this, the editor indexes nothing beyond the open documents (a guard, not a target)."""

_INDEXES: dict[str, ProjectIndex] = {}
_INDEXES_LOCK = threading.Lock()


def find_root(path: str) -> Path | None:
    """The project a file belongs to: nearest directory with a project marker, else its top
    package's parent (or its own directory). None for paths that are not files on disk."""
    found = _find_root(path)
    return found[0] if found else None


def _find_root(path: str) -> tuple[Path, bool] | None:
    """(root, recursive): without a project marker, a loose script's directory is indexed
    non-recursively (never a whole ``/tmp`` or home directory)."""
    p = Path(path)
    if not p.is_absolute() or not p.parent.is_dir():
        return None
    for directory in [p.parent, *p.parent.parents]:
        if any((directory / m).exists() for m in _MARKERS):
            return directory, True
    top = p.parent
    while (top / "__init__.py").exists() and top.parent != top:
        top = top.parent
    return top, top != p.parent


def index_for(path: str, config: Config | None = None) -> ProjectIndex | None:
    """The (shared, lazily built) index of the project ``path`` belongs to."""
    found = _find_root(path)
    if found is None:
        return None
    root, recursive = found
    key = str(root)
    with _INDEXES_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = _INDEXES[key] = ProjectIndex(root)
            index.live = True
            _scan(index, root, config, recursive)
    return index


def built_index_for(path: str) -> ProjectIndex | None:
    """The index of the project ``path`` belongs to if one was built (never builds one): a closed
    document's analyzer may have no incremental state left (a cold document) yet its editor text
    is still in the index."""
    found = _find_root(path)
    if found is None:
        return None
    with _INDEXES_LOCK:
        return _INDEXES.get(str(found[0]))


def compact_indexes() -> None:
    """Compact every project index (see ``ProjectIndex.compact``)."""
    with _INDEXES_LOCK:
        indexes = list(_INDEXES.values())
    for index in indexes:
        index.compact()


def _scan(index: ProjectIndex, root: Path, config: Config | None, recursive: bool = True) -> None:
    cfg = config or Config()
    exclude = (*cfg.exclude, ".*", "__pycache__", "node_modules", "venv", ".venv", "site-packages")
    scan_cfg = dataclasses.replace(cfg, exclude=exclude)
    found = discover([root], scan_cfg, notebooks=False) if recursive else iter(sorted(root.glob("*.py")))
    files = []
    for i, file in enumerate(found):
        if i >= MAX_INDEX_FILES:
            return
        files.append(file)
    for file in files:
        with contextlib.suppress(OSError):
            index.add_text(str(file), file.read_bytes())
