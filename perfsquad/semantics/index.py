"""The workspace index: effect summaries of every module, for interprocedural I/O findings.

* The CLI (``analyze_paths``) collects a summary from every file it analyzes (the same parse,
  no second pass), builds the index, and re-analyzes only the files whose calls into *other*
  modules reach I/O (:func:`relink`). Summaries are cached next to the reports, keyed by content
  hash, with the cross-module signature each cached report was computed with: a file is
  re-analyzed when what it calls elsewhere changed, not only when it changed.
  The summary cache itself is ``perfsquad.caches.SummaryCache``.
* The editor (``DocumentAnalyzer``) attaches the index of the document's project (found from its
  ``pyproject.toml``/``setup.py``/``.git``, or its top package), built lazily on first use and
  updated with each analyzed document (per-file content hash: unchanged files are not re-parsed);
  which index a document gets is ``perfsquad.workspace``'s business.
"""

from __future__ import annotations

import ast
import hashlib
import pickle
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from perfsquad.files import content_digest
from perfsquad.memo import MemoKey
from perfsquad.semantics.names import ImportMap, import_map
from perfsquad.source import SourceDecodeError, SourceText, decode_source
from perfsquad.tree import ModuleTree, gc_paused, traverse

if TYPE_CHECKING:
    # (imported where used: a warm CLI run, which only compares run keys, never loads them)
    from perfsquad.semantics.effects import FunctionSummary, ModuleSummary
    from perfsquad.semantics.io_catalog import IOTypes


class AnalyzedModule(Protocol):
    """A module the engine analyzed with the index attached (a rule's context is one)."""

    @property
    def path(self) -> str: ...

    @property
    def source(self) -> SourceText: ...

    @property
    def io(self) -> IOTypes: ...

    def module_summary(self) -> ModuleSummary: ...


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
        self._hierarchy: tuple[int, dict[str, list[str]], dict[str, list[str]]] | None = None
        """(generation, class -> direct subclasses, method name -> classes defining it), built on use."""
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

    def record(self, ctx: AnalyzedModule) -> None:
        """Called by the engine after analyzing a module with this index attached."""
        if self.live:
            # The editor: summarize lazily, when another module first asks about this one (an
            # edit costs nothing here; most edits are followed by more edits of the same file).
            module = ctx.io.module
            with self._lock:
                self._pending[module] = (ctx.path, ctx.source.text)
            return
        self.collected[ctx.path] = ctx.module_summary()

    def compact(self) -> None:
        """Copy every summary anew (the editor calls it after closing a large document, once its
        trees are freed): summaries built while a large tree was alive are spread over the small-
        object arenas that tree used, and keep them from being returned to the system (measured:
        a 4 MB file's 1 MiB summary held 100 MiB). The copies pack into arenas still in use."""
        from perfsquad.semantics.effects import ModuleSummary

        with self._lock:
            modules = list(self._modules.values())
        # A pickle round trip of our own data (nothing read from outside): the copy has new
        # strings too (from_data alone would share the old ones, which pin arenas as well).
        copies = [ModuleSummary.from_data(d) for d in pickle.loads(pickle.dumps([m.to_data() for m in modules]))]
        functions: dict[str, FunctionSummary] = {}
        bases: dict[str, tuple[str, ...]] = {}
        models: dict[str, dict[str, str]] = {}
        for copy in copies:
            functions.update(copy.functions)
            bases.update(copy.classes)
            models.update(copy.models)
        with self._lock:
            if len(self._modules) != len(modules) or any(
                self._modules.get(m.module) is not m for m in modules
            ):
                return  # changed meanwhile: another time
            self._modules = {c.module: c for c in copies}
            self._functions, self._bases, self._models = functions, bases, models

    def forget_text(self, path: str) -> None:
        """The editor closed ``path``: its unsummarized editor text is dropped (a large file's
        text would stay in memory until another module asked about it); what the index knows of
        the module is its saved version again, summarized from disk when first asked."""
        with self._lock:
            for module, (pending_path, _text) in list(self._pending.items()):
                if pending_path == path:
                    self._pending[module] = (path, "")

    def _flush(self, key: str, besides: str | None = None) -> None:
        """Summarize the pending version of the module ``key`` names (or is in), if any, unless
        it is ``besides`` (the module asking: see :class:`IndexView`)."""
        if not self._pending:
            return
        for module in _prefixes(key):
            if module == besides:
                continue
            with self._lock:
                pending = self._pending.pop(module, None)
            if pending is not None:
                path, text = pending
                if not text:  # (a closed document: its saved version)
                    try:
                        self.add_text(path, Path(path).read_bytes())
                    except OSError:
                        continue
                else:
                    self.add_text(path, text)

    def add_text(self, path: str, text: str | bytes) -> None:
        """Summarize a file that is not open (parse only; never runs it)."""
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        digest = content_digest(data)
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

    def function(self, key: str, besides: str | None = None) -> FunctionSummary | None:
        self._flush(key, besides)
        return self._functions.get(key)

    def bases(self, cls: str, besides: str | None = None) -> tuple[str, ...] | None:
        self._flush(cls, besides)
        return self._bases.get(cls)

    def module(self, name: str, besides: str | None = None) -> ModuleSummary | None:
        self._flush(name, besides)
        return self._modules.get(name)

    def model_fields(self, model: str, besides: str | None = None) -> dict[str, str] | None:
        self._flush(model, besides)
        return self._models.get(model)

    def modules(self) -> list[ModuleSummary]:
        return list(self._modules.values())

    def subclasses(self, cls: str, besides: str | None = None) -> tuple[str, ...]:
        """Classes of the workspace that name ``cls`` among their bases (direct subclasses);
        ``besides``: a module whose pending text need not be summarized for it."""
        return tuple(self._class_maps(besides)[0].get(cls, ()))

    def classes_defining(self, method: str, besides: str | None = None) -> tuple[str, ...]:
        """Classes of the workspace whose body defines ``method`` (for structural protocols)."""
        return tuple(self._class_maps(besides)[1].get(method, ()))

    def _class_maps(self, besides: str | None = None) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        for module in list(self._pending):
            if module != besides:
                self._flush(module)
        built = self._hierarchy
        if built is not None and built[0] == self.generation:
            return built[1], built[2]
        with self._lock:
            subs: dict[str, list[str]] = {}
            for cls, bases in self._bases.items():
                for base in bases:
                    subs.setdefault(base, []).append(cls)
            defining: dict[str, list[str]] = {}
            for key in self._functions:
                owner, _, name = key.rpartition(".")
                if owner in self._bases:
                    defining.setdefault(name, []).append(owner)
            self._hierarchy = (self.generation, subs, defining)
        return subs, defining

    def signature_of(self, summary: ModuleSummary, memo: dict[Any, Any] | None = None) -> str:
        from perfsquad.semantics.effects import EffectView

        return EffectView(summary, self.seen_from(summary.module), memo).external_signature()

    def seen_from(self, module: str) -> IndexView:
        """The index as the analysis of ``module`` asks it: about every module but that one,
        which the analysis sees through its own fresh summary (see :class:`IndexView`)."""
        return IndexView(self, module)

    def owner_module(self, key: str) -> str | None:
        """The longest prefix of ``key`` that is a module of the index (summarized or pending)."""
        return next((m for m in _prefixes(key) if m in self._modules or m in self._pending), None)


def _prefixes(key: str) -> Iterator[str]:
    """The dotted prefixes of ``key``, longest first: the modules it may name or be in."""
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        yield ".".join(parts[:i])


class IndexView:
    """The project index seen from the analysis of one module: what it knows of every other
    module, nothing of that one.

    The analysis has its own module's summary, built from the text it analyzes; the index's
    version of that module is older (the file on disk, or in the editor the text of the previous
    analysis, still waiting to be summarized). Asking it would mix two versions of one file, and
    in the editor it would summarize the previous text again at every edit (a whole-file parse,
    5 ms on django's ``query.py``, for an answer the analysis already has).
    """

    def __init__(self, index: ProjectIndex, module: str) -> None:
        self.index = index
        self.asking = module

    def _own(self, key: str) -> bool:
        return self.index.owner_module(key) == self.asking

    def knows_modules(self) -> bool:
        return self.index.knows_modules()

    def function(self, key: str) -> FunctionSummary | None:
        return None if self._own(key) else self.index.function(key, self.asking)

    def bases(self, cls: str) -> tuple[str, ...] | None:
        return None if self._own(cls) else self.index.bases(cls, self.asking)

    def module(self, name: str) -> ModuleSummary | None:
        return None if self._own(name) else self.index.module(name, self.asking)

    def model_fields(self, model: str) -> dict[str, str] | None:
        return None if self._own(model) else self.index.model_fields(model, self.asking)

    def subclasses(self, cls: str) -> tuple[str, ...]:
        return tuple(c for c in self.index.subclasses(cls, besides=self.asking) if not self._own(c))

    def classes_defining(self, method: str) -> tuple[str, ...]:
        return tuple(c for c in self.index.classes_defining(method, besides=self.asking) if not self._own(c))


class _Parsed(ModuleTree):
    """A module parsed for its effect summary alone (no rule runs on it): the navigation, its
    imports and, built on first use, its I/O types."""

    def __init__(self, tree: ast.Module, source: SourceText, path: str, data: tuple[Any, Any]) -> None:
        parents, buckets = data
        super().__init__(tree, source, path, parents, buckets)
        self.imports: ImportMap = import_map(buckets, None)

    @property
    def built_io(self) -> IOTypes | None:
        return self.memoized(_IO)

    @property
    def io(self) -> IOTypes:
        from perfsquad.semantics.effects import io_types_for

        return self.memo(_IO, lambda: io_types_for(self))


_IO: MemoKey[IOTypes] = MemoKey("index.io")


def summarize_source(data: bytes, path: str) -> ModuleSummary | None:
    """Parse and summarize one file without running any rule (None if it cannot be parsed)."""
    from perfsquad.semantics.effects import summarize

    if len(data) > 4_000_000:
        return None
    try:
        text, _ = decode_source(data)
        with gc_paused(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
            return summarize(_Parsed(tree, SourceText.from_text(text, share=False), path, traverse(tree)))
    except (SourceDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


# -- the CLI: link after a first pass, re-analyze what depends on other modules -------------------
def link(summaries: Iterable[tuple[str, Any, str]]) -> tuple[ProjectIndex, list[str]]:
    """Build the index from ``(path, summary data, signature used)`` and list the paths whose
    cross-module signature changed (they must be analyzed again with the index)."""
    from perfsquad.semantics.effects import ModuleSummary

    index = ProjectIndex()
    loaded: list[tuple[ModuleSummary, str]] = []
    for _path, data, used in summaries:
        if data is None:
            continue
        try:
            summary = ModuleSummary.from_data(data)
        except Exception:  # (a cached summary of the wrong shape: that module is left out, never a crash)
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
