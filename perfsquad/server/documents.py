"""Open documents: one analyzer each, coalesced analysis off the event loop, stale results dropped.

Scheduling rules (all on the event loop, so no locks are needed for the bookkeeping):

- each change bumps the document's *generation*; a document has at most ONE analysis task. A
  change while it waits restarts its wait; a change while it analyzes makes its result stale:
  when the analysis ends, the result is dropped and the newest text is analyzed next, at once
  (no debounce between back-to-back analyses). Edits
  coalesce: however fast they come, a document never has more than one analysis running and one
  pending, and the pending one always reads the newest text;
- the wait is the debounce (``debounceMs``), except that a change after a quiet period (none for
  longer than the debounce) to a document whose last analysis took less than the debounce is
  analyzed at once: waiting would cost more than the analysis (adaptive debounce);
- the analysis itself runs in a thread pool with one worker more than documents usually being
  edited: a large document being typed into occupies one worker at most, so other documents are
  never starved; a running analysis is never cancelled (threads cannot be), and a per-document
  thread lock guarantees its ``DocumentAnalyzer`` is used by one thread at a time;
- a result is published only if its generation is still the document's current one and the
  document is still open: anything else is stale and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from lsprotocol import types

from perfsquad.api import DocumentAnalyzer, function_metrics_for, release_memory
from perfsquad.config import Config
from perfsquad.model import FileReport, Finding, FunctionMetrics
from perfsquad.server.conversions import Encoding, LineIndex
from perfsquad.server.diagnostics import diagnostic_key
from perfsquad.server.settings import ProjectTable, ServerOptions, effective_config, read_project_table
from perfsquad.source import SourceText

WARM_DOCUMENTS = 4
"""How many documents keep their parse between edits (the ones being edited, in practice)."""
PREPARE_MAX_CHARS = 1_000_000
"""Documents larger than this are not prepared for their next structural edit after a whole-file
analysis (see ``Documents._prepare``): counting a 4 MB module takes seconds and 100 MiB more at
the peak, for an edit that may never come."""


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_TRIM = _malloc_trim()


def _release(collect: bool) -> None:
    if collect:
        release_memory()
    if _TRIM is not None:
        _TRIM(0)


class Host(Protocol):
    """What the document store needs from the server (a fake in unit tests)."""

    def snapshot(self, uri: str) -> tuple[str, int | None] | None:
        """The open document's current text and version."""

    def present(self, uri: str, analysis: Analysis) -> Analysis:
        """The analysis as it will be published: findings weighed, diagnostics (and extras) built."""

    def publish(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None: ...

    def log(self, kind: types.MessageType, message: str) -> None: ...

    def config_warnings(self, warnings: tuple[str, ...]) -> None: ...

    def config_changed(self) -> None:
        """The settings changed: warnings about the new ones should be shown (once) again."""


@dataclass(frozen=True)
class Analysis:
    """One analyzed text: the engine's report, and what was published for it.

    ``findings`` are the report's findings after the server's finding weighers; ``diagnostics``
    is exactly what was published (our findings, then extension diagnostics). Hover, code lens and
    code actions read these back instead of analyzing again.
    """

    generation: int
    version: int | None
    text: str
    report: FileReport
    index: LineIndex
    findings: tuple[Finding, ...] = ()
    diagnostics: tuple[types.Diagnostic, ...] = ()

    def data_for(self, diagnostic: types.Diagnostic) -> object:
        """The ``data`` we published for a diagnostic (for clients that do not send it back)."""
        key = diagnostic_key(diagnostic)
        return next((d.data for d in self.diagnostics if diagnostic_key(d) == key), None)


@dataclass
class BuiltFixes:
    """Findings with their fixes built, for one text of a document and the rules ``codes``."""

    text: str
    config: Config
    codes: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)


@dataclass(eq=False)
class DocumentState:
    uri: str
    path: str
    analyzer: DocumentAnalyzer
    generation: int = 0
    analysis: Analysis | None = None
    task: asyncio.Task[None] | None = None
    """The document's one analysis task (waiting, or analyzing then catching up with changes)."""
    analyzing: bool = False
    due: float = 0.0
    """Event-loop time before which the pending analysis does not start (the debounce)."""
    changed_at: float = float("-inf")
    """Event-loop time of the last change."""
    last_seconds: float = float("inf")
    """How long the last analysis took (unknown: slow)."""
    thread_lock: threading.Lock = field(default_factory=threading.Lock)
    rule_errors: tuple[str, ...] = ()
    metrics: tuple[int, tuple[FunctionMetrics, ...]] | None = None
    """Per-function metrics of the analysis of that generation (computed on first hover/lens)."""
    fixes: BuiltFixes | None = None
    """The fixes code actions asked for, for the latest text they asked about (see ``fixes_for``)."""
    fix_lock: threading.Lock = field(default_factory=threading.Lock)


def analyze_snapshot(
    state: DocumentState,
    analyzer: DocumentAnalyzer,
    text: str,
    version: int | None,
    generation: int,
    encoding: Encoding,
) -> Analysis:
    """Analyze (in a worker thread). Never raises: an engine bug becomes a file-level error."""
    index = LineIndex.of(text, encoding)
    try:
        with state.thread_lock:
            # Per-function metrics (radon, Big-O) are not needed for diagnostics: they are computed
            # when hover or code lens first asks (see Documents.with_metrics), off the edit path.
            # Nor are fixes: a diagnostic only says its finding is fixable; the fix is built when
            # a code action asks for it (see Documents.fixes_for).
            report = analyzer.update(text, want_fixes=False, metrics=False)
    except Exception as exc:  # the engine promises never to raise; if it does, say so and go on
        report = FileReport(path=state.path, error=f"perfsquad internal error: {type(exc).__name__}: {exc}")
    return Analysis(generation, version, text, report, index, report.findings)


def prepare_analyzer(state: DocumentState, analyzer: DocumentAnalyzer, generation: int) -> None:
    """(In a worker.) Preparing is a speed-up and changes no result (it never raises)."""
    with state.thread_lock:
        if state.generation == generation and state.analyzer is analyzer:  # else a change came first
            analyzer.prepare()


class Documents:
    """The open documents of one server."""

    def __init__(self, host: Host, executor: Executor, encoding: Callable[[], Encoding]) -> None:
        self.host = host
        self.executor = executor
        self.encoding = encoding
        self.options = ServerOptions()
        self.root: Path | None = None
        self._docs: dict[str, DocumentState] = {}
        self._tables: dict[Path, ProjectTable] = {}
        self._warm: OrderedDict[str, None] = OrderedDict()
        """Documents whose analyzer keeps its parse for incremental updates, least recent first."""
        self._trimmed = 0.0
        self._collect = False
        self._releasing: asyncio.Future[None] | None = None
        self._preparing = 0
        """Preparations running (see :meth:`_prepare`): memory is released after them."""

    # --- configuration -------------------------------------------------------------------
    def config_for(self, path: str) -> Config:
        """The configuration for a document: its directory's ``[tool.perfsquad]`` + editor settings."""
        candidate = Path(path)
        directory = candidate.parent if candidate.is_absolute() and candidate.parent.is_dir() else self.root
        return self.config_in(directory)

    def config_in(self, directory: Path | None) -> Config:
        """The configuration for a directory; pyproject files are read once (until reconfigured)."""
        table = ProjectTable({}, None)
        if directory is not None:
            if directory not in self._tables:
                self._tables[directory] = read_project_table(directory, self.root)
            table = self._tables[directory]
        config = effective_config(table, self.options)
        if config.warnings:
            self.host.config_warnings(config.warnings)
        return config

    def reconfigure(self, options: ServerOptions | None = None) -> None:
        """New editor settings or a changed pyproject: fresh analyzers, everything re-analyzed."""
        if options is not None:
            self.options = options
        self._tables.clear()
        self.host.config_changed()
        self.config_in(self.root)  # bad settings are reported now, not at the next open
        for state in self._docs.values():
            state.analyzer = DocumentAnalyzer(state.path, self.config_for(state.path))
            self.schedule(state.uri, delay_ms=0)

    # --- per-function metrics, on demand ---------------------------------------------------
    def with_metrics(self, state: DocumentState, analysis: Analysis) -> Analysis:
        """``analysis`` with per-function metrics in its report (computed once per analysis)."""
        if analysis.report.error is not None and not analysis.report.findings:
            return analysis
        cached = state.metrics
        if cached is None or cached[0] != analysis.generation:
            try:
                functions = function_metrics_for(analysis.text, state.path, state.analyzer.config)
            except Exception:  # the engine promises never to raise; metrics are a nicety
                functions = ()
            cached = state.metrics = (analysis.generation, functions)
        enriched = replace(analysis, report=replace(analysis.report, functions=cached[1]))
        if state.analysis is analysis:
            state.analysis = enriched
        return enriched

    async def with_metrics_async(self, state: DocumentState, analysis: Analysis) -> Analysis:
        if state.metrics is not None and state.metrics[0] == analysis.generation:
            return self.with_metrics(state, analysis)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.with_metrics, state, analysis)

    # --- fixes, on demand -------------------------------------------------------------------
    @staticmethod
    def fixes_for(state: DocumentState, text: str, codes: Collection[str]) -> list[Finding]:
        """The findings of the rules ``codes`` in ``text`` with their fixes built (blocking: run it
        off the event loop). ``text`` is the document's text the code action is about.

        Built once per text and rule: the code action that offers a fix and the resolve that asks
        for its edits (and the requests a client repeats as the cursor moves) share one build.
        Only the latest text's fixes are kept, and only as findings: no syntax tree.
        """
        with state.fix_lock:
            analyzer = state.analyzer
            built = state.fixes
            if built is None or built.text != text or built.config != analyzer.config:
                built = state.fixes = BuiltFixes(text, analyzer.config)
            missing = set(codes) - built.codes
            if missing:
                with contextlib.suppress(Exception):  # the engine promises never to raise; fixes are a nicety
                    built.findings.extend(analyzer.fixes(text, missing).findings)
                built.codes |= missing
            return [f for f in built.findings if f.code in codes]

    # --- lifecycle -----------------------------------------------------------------------
    def get(self, uri: str) -> DocumentState | None:
        return self._docs.get(uri)

    def uris(self) -> list[str]:
        return list(self._docs)

    def open(self, uri: str, path: str) -> None:
        self.close(uri, publish=False)
        self._docs[uri] = DocumentState(uri, path, DocumentAnalyzer(path, self.config_for(path)))
        self.schedule(uri, delay_ms=0)

    def close(self, uri: str, *, publish: bool = True) -> None:
        state = self._docs.pop(uri, None)
        self._warm.pop(uri, None)
        if state is not None:
            if state.task is not None and not state.analyzing:
                state.task.cancel()
            if not state.analyzing:  # (else the analysis thread still uses it: dropped after it)
                self._forget(state)
        if publish:
            self.host.publish(uri, None, [])

    def _forget(self, state: DocumentState) -> None:
        """A closed document's memory goes back: its analyzer's tree and index text, its shared
        line table, its analysis and fixes; then a full collection and ``malloc_trim``."""
        with contextlib.suppress(Exception):
            if state.analysis is not None:
                SourceText.forget(state.analysis.text)
            state.analyzer.close()
        state.analysis = state.fixes = state.metrics = None
        self._collect = True
        with contextlib.suppress(RuntimeError):  # (no running loop: nothing to release now)
            self._release_memory_when_idle()

    def schedule(self, uri: str, delay_ms: int | None = None) -> None:
        """A change (``delay_ms``: None for an edit, which is debounced; 0 for open/save):
        the document's one analysis task is (re)armed; see the module's scheduling rules."""
        state = self._docs.get(uri)
        if state is None:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        state.generation += 1
        debounce = self.options.debounce_ms / 1000
        if delay_ms is not None:
            delay = delay_ms / 1000
        elif now - state.changed_at >= debounce and state.last_seconds < debounce:
            delay = 0.0  # the first change after a pause, and analyses are cheap: no wait
        else:
            delay = debounce
        state.changed_at = now
        state.due = now + delay
        if state.task is None or state.task.done():
            state.task = loop.create_task(self._run(state))
        elif not state.analyzing and delay == 0:
            state.task.cancel()  # it sleeps until an older due time: start over, now
            state.task = loop.create_task(self._run(state))
        # else: the task is analyzing (it catches up when done) or waiting (it reads ``due``).

    async def settled(self, uri: str, timeout: float = 5.0) -> Analysis | None:
        """The latest analysis of a document, after waiting (bounded) for a pending one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (state := self._docs.get(uri)) is not None and state.task is not None and not state.task.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait({state.task}, timeout=remaining)
        state = self._docs.get(uri)
        return state.analysis if state is not None else None

    # --- the work ------------------------------------------------------------------------
    async def _run(self, state: DocumentState) -> None:
        """Wait until the document is due, analyze its newest text; again while changes came
        during the analysis (their result replaces the stale one); publish the current one."""
        loop = asyncio.get_running_loop()
        while self._docs.get(state.uri) is state:
            while (wait := state.due - loop.time()) > 0:
                await asyncio.sleep(wait)
            snapshot = self.host.snapshot(state.uri)
            if snapshot is None or self._docs.get(state.uri) is not state:
                return
            text, version = snapshot
            generation = state.generation
            state.analyzing = True
            started = loop.time()
            try:
                analysis = await loop.run_in_executor(
                    self.executor,
                    analyze_snapshot,
                    state,
                    state.analyzer,
                    text,
                    version,
                    generation,
                    self.encoding(),
                )
            finally:
                state.analyzing = False
            state.last_seconds = loop.time() - started
            del text, snapshot
            self._keep_warm(state)
            self._release_memory_when_idle()
            if self._docs.get(state.uri) is not state:
                self._forget(state)
                return  # closed meanwhile
            if state.generation == generation:
                self._log_rule_errors(state, analysis.report)
                self._present(state, analysis)
                self._prepare(state, generation)
                return
            # Stale: a newer change came meanwhile. Analyze the newest text now, without waiting
            # for the debounce: the document is being analyzed back to back anyway, and waiting
            # would leave a large file being typed into with no diagnostics until typing stops.
            del analysis
            state.due = min(state.due, loop.time())

    def _prepare(self, state: DocumentState, generation: int) -> None:
        """Once a document is being edited (changed since it was opened) and kept warm, and
        unless it is huge, its analyzer counts (in a worker, after the diagnostics are sent)
        what its next structural edit would, unless a change comes first: that edit then does
        not wait for it (see ``DocumentAnalyzer.prepare``). A document only opened is not
        prepared (it may never be edited). Memory it counted for a document closed meanwhile is
        released once it is done."""
        if (
            generation < 2  # (1: the analysis of the opened text)
            or state.analyzer.prepared
            or state.uri not in self._warm
            or state.analysis is None
            or len(state.analysis.text) > PREPARE_MAX_CHARS
        ):
            return
        self._preparing += 1
        future = asyncio.get_running_loop().run_in_executor(
            self.executor, prepare_analyzer, state, state.analyzer, generation
        )
        future.add_done_callback(lambda _done: self._prepared(state))

    def _prepared(self, state: DocumentState) -> None:
        self._preparing -= 1
        if self._docs.get(state.uri) is not state or state.uri not in self._warm:
            self._collect = True  # closed or cold meanwhile: what it counted is garbage now
        if self._collect:
            self._release_memory_when_idle()

    def _release_memory_when_idle(self) -> None:
        """With no analysis running, hand freed heap memory back to the system (at most once a
        second): analyses in several threads otherwise leave it held in per-thread malloc arenas.
        After a close, a full collection first (a closed document's trees may sit in reference
        cycles, and CPython frees its small-object arenas only once they are empty)."""
        loop = asyncio.get_running_loop()
        if self._releasing is not None and not self._releasing.done():
            return  # one at a time: closing 200 documents queues one more, not 200
        if (
            self._preparing
            or any(s.analyzing for s in self._docs.values())
            or (not self._collect and loop.time() - self._trimmed < 1.0)
        ):
            return  # (a preparation that ends releases what is pending, see _prepared)
        self._trimmed = loop.time()
        collect, self._collect = self._collect, False
        if collect or _TRIM is not None:
            self._releasing = loop.run_in_executor(self.executor, _release, collect)
            self._releasing.add_done_callback(self._released)

    def _released(self, _done: asyncio.Future[None]) -> None:
        if self._collect:  # documents closed while it ran: once more
            self._release_memory_when_idle()

    def _keep_warm(self, state: DocumentState) -> None:
        """Only the most recently analyzed documents keep their syntax trees (memory is bounded
        with many files open); a cold one is analyzed whole at its next edit, then warm again."""
        self._warm[state.uri] = None
        self._warm.move_to_end(state.uri)
        while len(self._warm) > WARM_DOCUMENTS:
            uri, _ = self._warm.popitem(last=False)
            cold = self._docs.get(uri)
            if cold is not None and not cold.analyzing:
                cold.analyzer = DocumentAnalyzer(cold.path, cold.analyzer.config)

    def _present(self, state: DocumentState, analysis: Analysis) -> None:
        state.analysis = analysis = self.host.present(state.uri, analysis)
        self.host.publish(state.uri, analysis.version, list(analysis.diagnostics))

    def republish(self) -> None:
        """Present every analyzed document again (new weighers or extra diagnostics), no re-analysis."""
        for state in list(self._docs.values()):
            if state.analysis is not None:
                self._present(state, state.analysis)

    def _log_rule_errors(self, state: DocumentState, report: FileReport) -> None:
        if report.rule_errors and report.rule_errors != state.rule_errors:
            lines = "\n  ".join(report.rule_errors)
            self.host.log(types.MessageType.Warning, f"perfsquad: rules failed on {state.path}:\n  {lines}")
        state.rule_errors = report.rule_errors

    def shutdown(self) -> None:
        for state in self._docs.values():
            if state.task is not None and not state.analyzing:
                with contextlib.suppress(Exception):
                    state.task.cancel()
        self._docs.clear()
