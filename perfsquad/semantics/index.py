"""The workspace index: effect summaries of every module, for interprocedural I/O findings.

* The CLI (``analyze_paths``) collects a summary from every file it analyzes (the same parse,
  no second pass), builds the index, and re-analyzes only the files whose calls into *other*
  modules reach I/O (:func:`relink`). Summaries are cached next to the reports, keyed by content
  hash, with the cross-module signature each cached report was computed with: a file is
  re-analyzed when what it calls elsewhere changed, not only when it changed.
* The editor (``DocumentAnalyzer``) attaches the index of the document's project (found from its
  ``pyproject.toml``/``setup.py``/``.git``, or its top package), built lazily on first use and
  updated with each analyzed document (per-file content hash: unchanged files are not re-parsed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import marshal
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfsquad import __version__
from perfsquad.files import write_atomically

if TYPE_CHECKING:
    from perfsquad.config import Config
    from perfsquad.context import Context
    from perfsquad.semantics.effects import FunctionSummary, ModuleSummary

_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
MAX_INDEX_FILES = 5000
"""Above this, the editor indexes nothing beyond the open documents (a guard, not a target)."""


class ProjectIndex:
    """Module summaries of a workspace. Thread-safe for one writer and many readers."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root
        self._modules: dict[str, ModuleSummary] = {}
        self._functions: dict[str, FunctionSummary] = {}
        self._bases: dict[str, tuple[str, ...]] = {}
        self._models: dict[str, dict[str, str]] = {}
        self._digests: dict[str, str] = {}
        """path -> content digest of the summarized text."""
        self._by_path: dict[str, str] = {}
        self._lock = threading.Lock()
        self.collected: dict[str, ModuleSummary] = {}
        """Summaries recorded by analyses run with this index (see :meth:`record`)."""
        self._pending: dict[str, tuple[str, str]] = {}
        """Editor: module -> (path, text) analyzed but not summarized yet."""
        self.generation = 0
        self.live = False
        """Editor indexes: every analyzed document updates the index itself."""

    # -- building -----------------------------------------------------------------------------------
    def add(self, summary: ModuleSummary, digest: str = "") -> None:
        with self._lock:
            old_module = self._by_path.get(summary.path)
            if old_module is not None:
                self._drop(old_module)
            self._drop(summary.module)
            self._modules[summary.module] = summary
            self._by_path[summary.path] = summary.module
            self._functions.update(summary.functions)
            self._bases.update(summary.classes)
            self._models.update(summary.models)
            if digest:
                self._digests[summary.path] = digest
            self.generation += 1

    def _drop(self, module: str) -> None:
        old = self._modules.pop(module, None)
        if old is None:
            return
        for key in old.functions:
            self._functions.pop(key, None)
        for key in old.classes:
            self._bases.pop(key, None)
        for key in old.models:
            self._models.pop(key, None)

    def record(self, ctx: Context) -> None:
        """Called by the engine after analyzing a module with this index attached."""
        if self.live:
            # The editor: summarize lazily, when another module first asks about this one (an
            # edit costs nothing here; most edits are followed by more edits of the same file).
            module = ctx.io.module
            with self._lock:
                self._pending[module] = (ctx.path, ctx.source.text)
            return
        self.collected[ctx.path] = ctx.module_summary()

    def _flush(self, key: str) -> None:
        """Summarize the pending version of the module ``key`` names (or is in), if any."""
        if not self._pending:
            return
        parts = key.split(".")
        for i in range(len(parts), 0, -1):
            module = ".".join(parts[:i])
            with self._lock:
                pending = self._pending.pop(module, None)
            if pending is not None:
                self.add_text(*pending)

    def add_text(self, path: str, text: str | bytes) -> None:
        """Summarize a file that is not open (parse only; never runs it)."""
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        digest = _digest(data)
        if self._digests.get(path) == digest:
            return
        summary = summarize_source(data, path)
        if summary is not None:
            self.add(summary, digest)
        else:
            self._digests[path] = digest

    # -- queries ----------------------------------------------------------------------------------
    def knows_modules(self) -> bool:
        """Whether any module is (or, in the editor, may soon be) summarized here."""
        return self.live or bool(self._modules) or bool(self._pending)

    def function(self, key: str) -> FunctionSummary | None:
        self._flush(key)
        return self._functions.get(key)

    def bases(self, cls: str) -> tuple[str, ...] | None:
        self._flush(cls)
        return self._bases.get(cls)

    def module(self, name: str) -> ModuleSummary | None:
        self._flush(name)
        return self._modules.get(name)

    def model_fields(self, model: str) -> dict[str, str] | None:
        self._flush(model)
        return self._models.get(model)

    def modules(self) -> list[ModuleSummary]:
        return list(self._modules.values())

    def signature_of(self, summary: ModuleSummary, memo: dict[Any, Any] | None = None) -> str:
        from perfsquad.semantics.effects import EffectView

        return EffectView(summary, self, memo).external_signature()


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def summarize_source(data: bytes, path: str) -> ModuleSummary | None:
    """Parse and summarize one file without running any rule (None if it cannot be parsed)."""
    import ast

    from perfsquad.context import Context
    from perfsquad.engine import _gc_paused, _import_map, traverse
    from perfsquad.source import SourceDecodeError, SourceText, decode_source

    if len(data) > 4_000_000:
        return None
    try:
        text, _ = decode_source(data)
        with _gc_paused(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
            parents, buckets = traverse(tree)
            ctx = Context(tree, SourceText.from_text(text), path, parents, buckets, _import_map(buckets, None), False)
            from perfsquad.semantics.effects import summarize

            return summarize(ctx)
    except (SourceDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# -- the editor: one index per project root, built lazily -----------------------------------------
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


def _scan(index: ProjectIndex, root: Path, config: Config | None, recursive: bool = True) -> None:
    from perfsquad.api import discover
    from perfsquad.config import Config

    cfg = config or Config()
    exclude = (*cfg.exclude, ".*", "__pycache__", "node_modules", "venv", ".venv", "site-packages")
    scan_cfg = dataclasses.replace(cfg, exclude=exclude)
    found = discover([root], scan_cfg) if recursive else iter(sorted(root.glob("*.py")))
    files = []
    for i, file in enumerate(found):
        if i >= MAX_INDEX_FILES:
            return
        files.append(file)
    for file in files:
        with contextlib.suppress(OSError):
            index.add_text(str(file), file.read_bytes())


# -- the CLI: link after a first pass, re-analyze what depends on other modules -------------------
class SummaryCache:
    """``{path: (content digest, summary data, signature the cached report was computed with)}``,
    plus (in a small file of its own) the ``run_key`` of the files last linked: when nothing changed,
    a warm run reads only that key."""

    def __init__(self, directory: Path, key: str) -> None:
        digest = hashlib.blake2b(f"{__version__}|{key}".encode(), digest_size=8).hexdigest()
        self.path = directory / f"index-{digest}.marshal"
        self.key_path = directory / f"index-{digest}.key"
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
            from perfsquad.semantics.effects import ModuleSummary

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


def link(summaries: Iterable[tuple[str, Any, str]]) -> tuple[ProjectIndex, list[str]]:
    """Build the index from ``(path, summary data, signature used)`` and list the paths whose
    cross-module signature changed (they must be analyzed again with the index)."""
    index = ProjectIndex()
    from perfsquad.semantics.effects import ModuleSummary

    loaded: list[tuple[ModuleSummary, str]] = []
    for _path, data, used in summaries:
        if data is None:
            continue
        try:
            summary = ModuleSummary.from_data(data)
        except (TypeError, ValueError):
            continue
        index.add(summary)
        loaded.append((summary, used))
    memo: dict[Any, Any] = {}  # every view sees the same summaries: share the chains
    stale = [summary.path for summary, used in loaded if index.signature_of(summary, memo) != used]
    return index, stale


def run_key(summaries: Iterable[tuple[str, str]]) -> str:
    """Identifies a set of files by content: when it equals the last run's, every signature does
    too (a signature depends only on the summaries), so linking can be skipped."""
    h = hashlib.blake2b(digest_size=16)
    for path, digest in sorted(summaries):
        h.update(f"{path}\0{digest}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()
