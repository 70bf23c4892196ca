"""The one door for the CLI and the server: analyze a source text, or files and trees.

``analyze_paths`` discovers Python files, serves unchanged ones from an on-disk cache keyed by
content hash + perfsquad version + configuration, and analyzes the rest in a process pool.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfsquad.caches import Cache
from perfsquad.config import Config
from perfsquad.discovery import discover
from perfsquad.files import content_digest
from perfsquad.model import FileReport, FunctionMetrics, report_from_json, to_json

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from perfsquad.incremental import IncrementalAnalyzer
    from perfsquad.semantics.index import ProjectIndex

ProgressFn = Callable[[int, int], None]
_POOL_THRESHOLD = 24
"""Below this many files to analyze, a process pool costs more than it saves."""


def analyze_source(
    source: str | bytes,
    path: str = "<stdin>",
    config: Config | None = None,
    *,
    want_fixes: bool = True,
    metrics: bool = False,
) -> FileReport:
    """Analyze one in-memory source. Never raises."""
    from perfsquad.analyzers import RULES  # imported when first needed: warm CLI runs never are
    from perfsquad.engine import analyze_bytes, analyze_text

    if isinstance(source, bytes):
        return analyze_bytes(source, path, config, want_fixes=want_fixes, metrics=metrics, rules=RULES)
    return analyze_text(source, path, config, want_fixes=want_fixes, metrics=metrics, rules=RULES)


_LINKED: ProjectIndex | None = None
"""The workspace index while re-analyzing files that depend on other modules (set before forking)."""


_WorkItem = tuple[str, "bytes | None", Config, bool, bool, bool]
"""(path, content or None to read it, config, want_fixes, metrics, project rules only)."""


def _work(args: _WorkItem) -> tuple[str, str, Any, Any]:
    """Analyze one file in a worker: (path, content digest, report as plain data, effect summary).
    With ``project_only``, only the rules that read the workspace index run (see ``_relink``)."""
    from perfsquad.semantics.index import ProjectIndex

    path, data, config, want_fixes, metrics, project_only = args
    if data is None:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            return path, "", None, None  # (removed since the walk found it: a warning, not an error)
        except OSError as exc:
            return path, "", to_json(FileReport(path=path, error=f"cannot read file: {exc.strerror or exc}")), None
    index = _LINKED if _LINKED is not None else ProjectIndex()
    from perfsquad.analyzers import RULES, project_rules
    from perfsquad.engine import analyze_bytes

    rules = project_rules() if project_only else RULES
    try:
        report = analyze_bytes(
            data, path, config, want_fixes=want_fixes, metrics=metrics and not project_only, project=index, rules=rules
        )
    except Exception as exc:  # (the engine never raises; if it did, one file fails, not the run)
        report = FileReport(path=path, error=f"internal error: {type(exc).__name__}: {exc}")
    summary = index.collected.pop(path, None)
    return path, content_digest(data), to_json(report), summary.to_data() if summary is not None else None


def analyze_paths(
    paths: Iterable[Path],
    config: Config | None = None,
    *,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    want_fixes: bool = True,
    metrics: bool = False,
    progress: ProgressFn | None = None,
    summaries_into: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> list[FileReport]:
    """Analyze every Python file under ``paths``; reports come back sorted by path.

    ``summaries_into`` receives every file's effect summary (plain data, None for a file that did
    not parse), the ones the workspace index was linked from: ``perfsquad.autofix`` links them
    again to fix with the index. (A warm run that would skip reading them then reads them.)
    ``warnings`` receives one line per path skipped (an unreadable directory, a symlink loop, a
    file removed meanwhile) and per cache that could not be written: none of them fails the run."""
    from perfsquad.caches import SummaryCache

    config = config or Config()
    warn = warnings.append if warnings is not None else (lambda message: None)
    files = list(dict.fromkeys(discover(paths, config, warn)))
    flavour = f"fixes={want_fixes},metrics={metrics}"
    cache = Cache(cache_dir, config, flavour) if cache_dir else None
    index_cache = SummaryCache(cache_dir, f"{config.key()}|{flavour}") if cache_dir else None
    summaries: dict[str, tuple[str, Any, str]] = {}
    """path -> (content digest, effect summary, cross-module signature its report was computed with)."""
    reports: dict[str, FileReport] = {}
    unchanged = False
    todo: list[tuple[Path, os.stat_result | None, bytes | None]] = []
    looked: list[tuple[Path, FileReport | None, os.stat_result | None, bytes | None]] = []
    for path in files:
        if cache is not None:
            looked.append((path, *cache.lookup(path)))
        else:
            todo.append((path, None, None))
    if cache is not None and index_cache is not None:
        from perfsquad.semantics.index import run_key

        digests = {str(p): cache.entries[str(p)][2] for p, hit, _, _ in looked if hit is not None}
        unchanged = len(digests) == len(looked) and index_cache.linked_key() == run_key(digests.items())
        # A hit also needs its effect summary (for the workspace index), unless nothing at all
        # changed since the last linking: then no summary is read (unless the caller wants them).
        skip_summary = unchanged and summaries_into is None
        for path, hit, st, data in looked:
            known = None if skip_summary or hit is None else index_cache.entries.get(str(path))
            if hit is not None and (unchanged or (known is not None and known[0] == digests[str(path)])):
                reports[str(path)] = hit
                if known is not None:
                    summaries[str(path)] = known
                continue
            todo.append((path, st, data))
        if unchanged:
            index_cache = None  # nothing to link, nothing to write

    total = len(files)
    done = total - len(todo)
    if progress and todo:
        progress(done, total)
    stats = {str(p): st for p, st, _ in todo}
    work: list[_WorkItem] = [(str(p), data, config, want_fixes, metrics, False) for p, _, data in todo]
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if _use_pool(workers, len(work)):
        _preload(want_fixes)
        results: Iterable[tuple[str, str, Any, Any]]
        with _pool(min(workers, len(work))) as pool:
            results = pool.map(_work, work, chunksize=max(1, min(16, len(work) // (workers * 8) or 1)))
            for i, (done_path, digest, data, summary) in enumerate(results, 1):
                if _collect(reports, cache, stats, done_path, digest, data, warn):
                    summaries[done_path] = (digest, summary, "")
                if progress and (i % 25 == 0 or i == len(work)):
                    progress(done + i, total)
    else:
        for i, item in enumerate(work, 1):
            done_path, digest, data, summary = _work(item)
            if _collect(reports, cache, stats, done_path, digest, data, warn):
                summaries[done_path] = (digest, summary, "")
            if progress and (i % 25 == 0 or i == len(work)):
                progress(done + i, total)
    from perfsquad.semantics.index import run_key

    key = run_key((path_key, digest) for path_key, (digest, _, _) in summaries.items())
    if summaries and not unchanged and (todo or index_cache is None or index_cache.linked_key() != key):
        _relink(summaries, reports, cache, stats, config, want_fixes, metrics, workers)
    cache_failed = False
    if cache is not None:
        try:
            cache.save()
        except OSError as exc:  # an unwritable cache only costs speed next time
            warn(f"cache not saved: {exc}")
            cache_failed = True
    if index_cache is not None:
        for path_key, (digest, summary, used) in summaries.items():
            if digest and summary is not None and index_cache.entries.get(path_key) != (digest, summary, used):
                index_cache.put(path_key, digest, summary, used)
        index_cache.set_linked_key(key)
        try:
            index_cache.save()
        except OSError as exc:
            if not cache_failed:  # (one warning for one cache directory)
                warn(f"cache not saved: {exc}")
    if summaries_into is not None:
        summaries_into.update((path_key, summary) for path_key, (_, summary, _) in summaries.items())
    return [reports[k] for k in sorted(reports)]


def _relink(
    summaries: dict[str, tuple[str, Any, str]],
    reports: dict[str, FileReport],
    cache: Cache | None,
    stats: dict[str, os.stat_result | None],
    config: Config,
    want_fixes: bool,
    metrics: bool,
    workers: int,
) -> None:
    """Cross-module effects: build the workspace index from every file's summary and analyze
    again the (few) files whose calls into other modules reach I/O, or whose callees changed."""
    global _LINKED
    from perfsquad.semantics.index import link

    index, stale = link((path, summary, used) for path, (_, summary, used) in summaries.items())
    if not stale:
        return
    signatures = {s.path: index.signature_of(s) for s in index.modules() if s.path in set(stale)}
    # Only the rules that read the index can change their findings: the others' stand (a file
    # whose first report is missing, or failed, is analyzed whole).
    first = {path: reports.get(path) for path in stale}
    work: list[_WorkItem] = [(path, None, config, want_fixes, metrics, _reusable(first[path])) for path in stale]
    for path in stale:
        with contextlib.suppress(OSError):
            stats[path] = Path(path).stat()
    _LINKED = index
    try:
        results: Iterable[tuple[str, str, Any, Any]]
        if _use_pool(workers, len(work)):
            with _pool(min(workers, len(work))) as pool:
                results = list(pool.map(_work, work, chunksize=max(1, len(work) // (workers * 4) or 1)))
        else:
            results = [_work(item) for item in work]
    finally:
        _LINKED = None
    for done_path, digest, data, summary in results:
        previous = first.get(done_path)
        if data is None:  # (removed since the first pass)
            reports.pop(done_path, None)
            summaries.pop(done_path, None)
            continue
        if _reusable(previous):
            assert previous is not None
            data = _merge_project_findings(previous, data)
        if _collect(reports, cache, stats, done_path, digest, data, None):
            summaries[done_path] = (digest, summary, signatures.get(done_path, ""))


def _reusable(report: FileReport | None) -> bool:
    """Whether a first-pass report keeps its findings of rules that ignore the workspace index."""
    return report is not None and report.error is None and not report.rule_errors


def _merge_project_findings(previous: FileReport, data: Any) -> Any:
    """``previous`` with its findings of the index-reading rules replaced by those in ``data``."""
    from dataclasses import replace

    from perfsquad.analyzers import project_rules

    project_codes = {rule.code for rule in project_rules()}
    fresh = report_from_json(data)
    kept = [f for f in previous.findings if f.code not in project_codes]
    findings = sorted([*kept, *fresh.findings], key=lambda f: (f.span.start.line, f.span.start.column, f.code))
    merged = replace(previous, findings=tuple(findings), rule_errors=fresh.rule_errors, error=fresh.error)
    return to_json(merged)


def _use_pool(workers: int, files: int) -> bool:
    """Whether to analyze in forked worker processes: enough files for a pool to pay, and a
    process that can fork (the platform forks, and this process runs one thread: a thread holding
    a lock at the fork, and the language server has several, leaves it held forever in the child;
    a threaded process analyzes in its own thread instead)."""
    if workers <= 1 or files < _POOL_THRESHOLD:
        return False
    import multiprocessing
    import threading

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _preload(want_fixes: bool) -> None:
    """Import the engine and rules (and libcst, which fixes use) before forking workers: each
    worker would otherwise import them again (about 0.2 s of CPU each). Then freeze what is
    loaded: the workers' garbage collections skip it instead of touching (and so copying) every
    inherited page."""
    import perfsquad.analyzers
    import perfsquad.engine  # noqa: F401

    if want_fixes:
        import libcst  # noqa: F401
    import gc

    gc.freeze()  # (no collection first: what little garbage it freezes dies with the process)


def _collect(
    reports: dict[str, FileReport],
    cache: Cache | None,
    stats: dict[str, os.stat_result | None],
    path: str,
    digest: str,
    data: Any,
    warn: Callable[[str], None] | None,
) -> bool:
    """Keep a worker's report (False, with a warning, for a file removed since the walk)."""
    if data is None:
        if warn is not None:
            warn(f"{path}: skipped, removed before it could be read")
        return False
    report = report_from_json(data)
    reports[path] = report
    if cache is not None and digest and not report.rule_errors:
        cache.store(Path(path), stats.get(path), digest, data)
    return True


def _pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing  # (imported here: a warm run never starts a pool)
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def function_metrics_for(text: str, path: str, config: Config | None = None) -> tuple[FunctionMetrics, ...]:
    """Per-function metrics (cyclomatic, loop depth, Big-O estimate, maintainability) of a text,
    without running the rules: what hover and code lens show, computed only when asked for."""
    from perfsquad.engine import analyze_full

    return analyze_full(text, path, config, want_fixes=False, metrics=True, rules=()).report.functions


def release_memory() -> None:
    """After the editor closed a document: collect garbage, then compact the workspace indexes
    (their summaries would keep the closed document's freed memory from going back), and empty
    CPython's method lookup cache: each of its 4,096 slots holds a reference to the last attribute
    name looked up through it, and names read from an analyzed file (interned by the parser in the
    middle of its syntax tree's memory) each keep a whole 1 MiB small-object arena from being
    returned to the system (measured: 60 django files opened and closed kept 23 more arenas)."""
    import gc
    import sys

    from perfsquad.workspace import compact_indexes

    clear = getattr(sys, "_clear_type_cache", None)  # (CPython; refilled by the next lookups)
    if clear is not None:
        clear()
    gc.collect()
    compact_indexes()


class DocumentAnalyzer:
    """Analysis of one open document across edits (the server keeps one per URI).

    Edits inside one function or class re-analyze only that block (see ``perfsquad.incremental``);
    the report is always what a whole-file analysis would give.
    """

    def __init__(self, path: str, config: Config | None = None, *, project: bool = True) -> None:
        self.path = path
        self.config = config or Config()
        self.report: FileReport | None = None
        self._inc: IncrementalAnalyzer | None = None
        self._want_project = project
        """Attach the workspace index (interprocedural I/O findings across modules)."""

    def update(self, text: str, *, want_fixes: bool = True, metrics: bool = True) -> FileReport:
        from perfsquad.incremental import IncrementalAnalyzer

        inc = self._inc
        if inc is None or inc.want_fixes != want_fixes or inc.metrics != metrics or inc.config != self.config:
            inc = self._inc = IncrementalAnalyzer(
                self.path, self.config, want_fixes=want_fixes, metrics=metrics, project=self._project()
            )
        self.report = inc.update(text)
        return self.report

    def fixes(self, text: str, codes: Iterable[str]) -> FileReport:
        """The findings of the rules ``codes`` in ``text``, with their fixes built.

        The editor analyzes each edit without building fixes (``update(want_fixes=False)``); a code
        action asks here for the few it shows. A whole-file analysis by only those rules gives their
        findings exactly as ``update`` found them (rules do not depend on one another), at the cost
        of one parse, and keeps nothing afterwards: no syntax tree outlives the request. It never
        touches this analyzer's incremental state, so it needs no lock against ``update``.
        """
        from perfsquad.analyzers import RULES
        from perfsquad.engine import analyze_text

        wanted = set(codes)
        rules = tuple(rule for rule in RULES if rule.code in wanted)
        # record=False: the index may already hold a newer text of this document.
        project = self._project()
        return analyze_text(text, self.path, self.config, want_fixes=True, rules=rules, project=project, record=False)

    def _project(self) -> ProjectIndex | None:
        """The workspace index of the document's project (built once per project, then shared)."""
        if not self._want_project:
            return None
        from perfsquad.workspace import index_for

        return index_for(self.path, self.config)

    def close(self) -> None:
        """The document is closed: drop its incremental state (syntax tree, contexts), the line
        table shared for its text, and its editor text in the workspace index (which knows the
        saved version again).

        The index is looked up even when this analyzer holds no incremental state: a document
        that went cold (the server keeps only a few parses) or was reconfigured had its analyzer
        replaced by a fresh one, and its last analyzed text is still in the index."""
        from perfsquad.source import SourceText
        from perfsquad.workspace import built_index_for

        inc, self._inc = self._inc, None
        if inc is not None and inc.source is not None:
            SourceText.forget(inc.source.text)
        project = inc.project if inc is not None else built_index_for(self.path) if self._want_project else None
        if project is not None:
            project.forget_text(self.path)

    @property
    def last_was_incremental(self) -> bool:
        return self._inc is not None and self._inc.last_was_incremental

    @property
    def prepared(self) -> bool:
        """Whether the next structural edit finds what it counts already counted."""
        return self._inc is None or self._inc.prepared

    def prepare(self) -> None:
        """Count what the next structural edit would (see ``IncrementalAnalyzer.prepare``): for
        an editor to call when idle in a document being edited. Changes no result."""
        if self._inc is not None:
            self._inc.prepare()
