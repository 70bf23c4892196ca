"""The language server: thin handlers over :mod:`documents`, :mod:`actions` and :mod:`hover`.

Every handler is wrapped by :func:`guarded`: a crash is logged to the client (``window/logMessage``)
and answered with an error for requests; it never takes the server down. Extension providers
(see :mod:`perfsquad.server`) run isolated the same way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcContentModified, JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from perfsquad import __version__, notebook
from perfsquad.model import Finding
from perfsquad.server import actions, framing, hover, notebooks
from perfsquad.server.consent import Consent, client_trusted
from perfsquad.server.conversions import Encoding, encoding_of
from perfsquad.server.diagnostics import finding_diagnostic, report_diagnostics
from perfsquad.server.documents import Analysis, Documents
from perfsquad.server.extensions import (
    DocumentView,
    ExtraDiagnostic,
    FindingWeigher,
    FunctionFacts,
    HoverProvider,
    InlayProvider,
    Isolation,
    LensProvider,
    discover_extensions,
    extra_for,
)
from perfsquad.server.protocol import PerfsquadProtocol
from perfsquad.server.settings import parse_options, settings_section

FIX_ALL_COMMAND = "perfsquad.fixAll"
T = TypeVar("T")
logger = logging.getLogger(__name__)


class PerfsquadServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "perfsquad",
            __version__,
            types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=notebooks.NOTEBOOK_SYNC,
            protocol_cls=PerfsquadProtocol,
        )
        workers = min(4, os.cpu_count() or 1) + 1  # +1: a slow file never starves the others
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="perfsquad-analysis")
        self.documents = Documents(self, self.executor, self.encoding)
        self._shown_warnings: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending_logs: list[tuple[types.MessageType, str]] = []
        self.notebooks = notebooks.Notebooks()
        """Open notebook documents: each is one document of ``documents``, keyed by its URI."""

        # --- extension points (the contract is in perfsquad/server/__init__.py) ---
        self.hover_providers: list[HoverProvider] = []
        self.lens_providers: list[LensProvider] = []
        self.inlay_providers: list[InlayProvider] = []
        self.extra_diagnostics: dict[str, Sequence[ExtraDiagnostic]] = {}
        self.finding_weighers: list[FindingWeigher] = []
        self.function_facts: list[FunctionFacts] = []
        self.extensions: list[str] = []
        """The ext_* modules registered (module names)."""
        self.isolation = Isolation(lambda message: self.log(types.MessageType.Error, message))
        self.consent = Consent()
        """Whether the user allowed running this workspace's code (commands that run it ask first)."""
        self.active_uri: str | None = None
        """The document the user last opened, edited or asked about: what a command given no
        arguments works on (a plain LSP client sends none)."""
        self.active_position: tuple[str, types.Position] | None = None
        """Where the cursor last was as the client told us (a hover, a code action request)."""

    # --- transports: pygls' own, with perfsquad's bounded frame reader (framing.py) ----------
    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        self._stop_event = stop = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        reader = framing.PipeReader(stdin or sys.stdin.buffer)
        try:
            asyncio.run(framing.serve(stop, reader, self.protocol, self.report_server_error))
        except BrokenPipeError:
            logger.error("perfsquad: the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    @property
    def exit_code(self) -> int:
        """The spec's: 0 after ``shutdown`` then ``exit``, 1 for ``exit`` (or the end of the
        stream) without ``shutdown``."""
        protocol = self.protocol
        code = getattr(protocol, "exit_code", None)
        if code is None:
            code = 0 if getattr(protocol, "_shutdown", False) else 1
        return int(code)

    # --- what the document store needs (documents.Host) ---------------------------------
    def snapshot(self, uri: str) -> tuple[str, int | None] | None:
        if self.documents.get(uri) is None:
            return None
        if uri in self.notebooks.open:
            return self._notebook_snapshot(uri)
        doc = self.workspace.get_text_document(uri)
        return doc.source, doc.version

    def _notebook_snapshot(self, uri: str) -> tuple[str, int | None] | None:
        """A notebook's text: the module its Python code cells make (its layout remembered)."""
        nb = self.workspace.get_notebook_document(notebook_uri=uri)
        if nb is None:
            return None
        documents = self.workspace.text_documents

        def text_of(cell_uri: str) -> str | None:
            doc = documents.get(unquote(cell_uri))
            return doc.source if doc is not None else None

        module, layout = notebooks.build(uri, notebooks.code_cells(nb, text_of))
        self.notebooks.remember(module, layout)
        return module.text, nb.version

    def cell_version(self, cell_uri: str) -> int | None:
        doc = self.workspace.text_documents.get(unquote(cell_uri))
        return doc.version if doc is not None else None

    def notebook_of(self, cell_uri: str) -> str | None:
        """The URI of the open notebook whose cell ``cell_uri`` is (None for any other document)."""
        nb = self.workspace.get_notebook_document(cell_uri=cell_uri)
        return nb.uri if nb is not None and nb.uri in self.notebooks.open else None

    def cell_layout(self, cell_uri: str, text: str | None = None) -> tuple[notebooks.Layout, notebooks.CellPlace] | None:
        """The layout of the notebook holding a cell, for ``text`` (default: the current one)."""
        nb_uri = self.notebook_of(cell_uri)
        if nb_uri is None:
            return None
        if text is None:
            current = self._notebook_snapshot(nb_uri)
            if current is None:
                return None
            text = current[0]
        layout = self.notebooks.layout(nb_uri, text)
        cell = layout.cell(cell_uri) if layout is not None else None
        return (layout, cell) if layout is not None and cell is not None else None

    def present(self, uri: str, analysis: Analysis) -> Analysis:
        """Weigh the findings, convert them, and merge the extension diagnostics."""
        state = self.documents.get(uri)
        path = state.path if state is not None else analysis.report.path
        report, index, version = analysis.report, analysis.index, analysis.version
        layout = self.notebooks.layout(uri, analysis.text) if uri in self.notebooks.open else None
        if layout is not None:  # a notebook: its texts name cell lines, as the CLI's do
            cells = layout.notebook_cells()
            report = replace(report, findings=tuple(notebook.relabel_finding(f, cells) for f in report.findings))
        findings = report.findings
        if self.finding_weighers:
            view = DocumentView(uri, path, analysis.text, version, report, findings, index)
            findings = self.isolation.weigh(self.finding_weighers, view)
        diagnostics = report_diagnostics(report, index, version, findings)
        for extra in extra_for(self.extra_diagnostics, uri, path):
            if isinstance(extra, Finding):
                diagnostics.append(finding_diagnostic(extra, index, version))
            elif isinstance(extra, types.Diagnostic):
                diagnostics.append(extra)
        return Analysis(analysis.generation, version, analysis.text, report, index, findings, tuple(diagnostics))

    def publish(self, uri: str, version: int | None, diagnostics: list[types.Diagnostic]) -> None:
        if uri in self.notebooks.open or uri in self.notebooks.published:
            self._publish_cells(uri, diagnostics)
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def _publish_cells(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        """A notebook's diagnostics, each on its cell's URI; a cell that had some and has none
        now (or is gone, or the notebook closed) gets an empty list."""
        state = self.documents.get(uri)
        analysis = state.analysis if state is not None else None
        layout = self.notebooks.layout(uri, analysis.text) if analysis is not None else None
        per_cell = notebooks.split_diagnostics(layout, diagnostics) if layout is not None and diagnostics else {}
        if layout is not None:
            per_cell = {cell.uri: per_cell.get(cell.uri, []) for cell in layout.cells}
        for stale in self.notebooks.published.pop(uri, set()) - set(per_cell):
            per_cell[stale] = []
        for cell_uri, found in per_cell.items():
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=cell_uri, diagnostics=found, version=self.cell_version(cell_uri))
            )
        if uri in self.notebooks.open:
            self.notebooks.published[uri] = {cell_uri for cell_uri, found in per_cell.items() if found}

    def log(self, kind: types.MessageType, message: str) -> None:
        logger.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, "%s", message)
        if self._loop is None:  # no client yet: said once it is there
            self._pending_logs.append((kind, message))
            return
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def config_warnings(self, warnings: tuple[str, ...]) -> None:
        """One showMessage per distinct set of warnings (not one per document or keystroke)."""
        text = "\n".join(dict.fromkeys(warnings))
        if text and text not in self._shown_warnings:
            self._shown_warnings.add(text)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=text))

    def config_changed(self) -> None:
        self._shown_warnings.clear()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls reports here what it could not handle, and every error response it sent.

        Error responses we raise on purpose (invalid params, content modified, cancelled) are
        part of the protocol, not server faults: they are logged at the lowest level.
        """
        expected = isinstance(error, JsonRpcException) and not isinstance(error, JsonRpcInternalError)
        kind = types.MessageType.Log if expected else types.MessageType.Error
        self.log(kind, f"perfsquad: {type(error).__name__}: {error}")

    def cursor(self, uri: str) -> types.Position | None:
        """The cursor's last known position in ``uri`` (None when the client said nothing of it)."""
        return self.active_position[1] if self.active_position is not None and self.active_position[0] == uri else None

    def current_document(self, command: str) -> DocumentView:
        """The document a command without arguments is about (the active one, else the only open one)."""
        uri = self.active_uri if self.active_uri is not None and self.documents.get(self.active_uri) else None
        if uri is None and len(self.documents.uris()) == 1:
            uri = self.documents.uris()[0]
        view = self.document(uri) if uri is not None else None
        if view is None:
            raise JsonRpcInvalidParams(f"{command}: no Python document is open; open one, or give its URI")
        return view

    # --- for extensions ------------------------------------------------------------------
    async def analysis_with_metrics(self, uri: str) -> Analysis | None:
        """The settled analysis of a document, with its per-function metrics (computed off the loop)."""
        analysis = await self.documents.settled(uri)
        state = self.documents.get(uri)
        if analysis is None or state is None:
            return analysis
        return await self.documents.with_metrics_async(state, analysis)

    def document(self, uri: str) -> DocumentView | None:
        """The latest analyzed state of an open document (None if not open or not analyzed yet).

        Its ``report.functions`` (per-function metrics) are filled once hover, code lens or
        :meth:`settled_document` has asked for them; they are never computed on the edit path.
        """
        state = self.documents.get(uri)
        analysis = state.analysis if state is not None else None
        if state is None or analysis is None:
            return None
        return DocumentView(
            uri, state.path, analysis.text, analysis.version, analysis.report, analysis.findings, analysis.index
        )

    async def settled_document(self, uri: str) -> DocumentView | None:
        """Like :meth:`document`, after waiting (bounded) for a pending analysis, with metrics."""
        await self.analysis_with_metrics(uri)
        return self.document(uri)

    def refresh_overlays(self) -> None:
        """Re-publish every open document's diagnostics (weighers and extras applied again, no
        re-analysis), then ask the client to refresh inlay hints and code lenses when it can.

        Safe to call from any thread; a no-op before the server runs.
        """
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._refresh_overlays()
        else:
            loop.call_soon_threadsafe(self._refresh_overlays)

    def _refresh_overlays(self) -> None:
        try:
            self.documents.republish()
            if self.capability("workspace.inlay_hint.refresh_support"):
                self._fire(self.workspace_inlay_hint_refresh(None))
            if self.capability("workspace.code_lens.refresh_support"):
                self._fire(self.workspace_code_lens_refresh(None))
        except Exception as exc:
            self.crashed("refresh_overlays", exc)

    @staticmethod
    def _fire(future: Future[Any] | Any) -> None:
        """A request whose answer we do not need: observe its failure so nothing is reported."""
        if isinstance(future, Future):
            future.add_done_callback(lambda f: f.cancelled() or f.exception())

    # --- client facts --------------------------------------------------------------------
    def encoding(self) -> Encoding:
        try:
            return encoding_of(self.workspace.position_encoding)
        except RuntimeError:  # not initialized yet
            return Encoding.UTF16

    def capability(self, field: str) -> Any:
        try:
            return get_capability(self.client_capabilities, field, None)
        except AttributeError:
            return None

    def resolves_edits(self) -> bool:
        support = self.capability("text_document.code_action.resolve_support")
        return support is not None and "edit" in (support.properties or ())

    def markdown(self) -> bool:
        """Whether the client's hover takes Markdown: its first (preferred) format we can give."""
        formats = self.capability("text_document.hover.content_format")
        kinds = [f for f in formats or () if f in (types.MarkupKind.Markdown, types.MarkupKind.PlainText)]
        return not kinds or kinds[0] == types.MarkupKind.Markdown

    def snap(self, uri: str) -> actions.Snapshot | None:
        state, current = self.documents.get(uri), self.snapshot(uri)
        if state is None or current is None:
            return None
        return actions.Snapshot(uri, state.path, current[0], current[1], self.encoding())

    def fix_builder(self, snap: actions.Snapshot) -> actions.FixBuilder:
        """Builds fixes for the snapshot's text (blocking: call it off the event loop)."""
        state = self.documents.get(snap.uri)

        def build(codes: Collection[str]) -> list[Finding]:
            return self.documents.fixes_for(state, snap.text, codes) if state is not None else []

        return build

    async def action_edits(self, data: Any) -> tuple[actions.Snapshot, list[types.TextEdit]]:
        """The edits of one of our code actions (computed off the event loop)."""
        snap = self.snap(str(data.get("uri"))) if isinstance(data, dict) else None
        if snap is None:
            raise JsonRpcInvalidParams("perfsquad: the document of this code action is not open")
        config = self.documents.config_for(snap.path)
        build = self.fix_builder(snap)
        try:
            loop = asyncio.get_running_loop()
            return snap, await loop.run_in_executor(self.executor, actions.resolve_edits, snap, data, config, build)
        except actions.StaleDocument:
            raise JsonRpcContentModified("perfsquad: the document changed; ask again") from None
        except ValueError as exc:
            raise JsonRpcInvalidParams(f"perfsquad: {exc}") from None

    async def resolve_action(self, action: types.CodeAction) -> types.CodeAction:
        action.edit = await self.action_workspace_edit(action.data)
        return action

    async def action_workspace_edit(self, data: Any) -> types.WorkspaceEdit | None:
        """The workspace edit of one of our code actions; a notebook's goes to its cells (None: no change)."""
        document_changes = bool(self.capability("workspace.workspace_edit.document_changes"))
        nb_uri = data.get("uri") if isinstance(data, dict) else None
        if nb_uri in self.notebooks.open and data.get("action") == "fixAll":
            return await self._notebook_fix_all(str(nb_uri), data, document_changes)
        snap, edits = await self.action_edits(data)
        if not edits:
            return None
        if snap.uri not in self.notebooks.open:
            return actions.workspace_edit(snap, edits, document_changes)
        layout = self.notebooks.layout(snap.uri, snap.text)
        if layout is None:
            raise JsonRpcContentModified("perfsquad: the notebook changed; ask again")
        try:
            per_cell = notebooks.cell_edits(layout, edits)
        except ValueError as exc:
            raise JsonRpcInvalidParams(f"perfsquad: {exc}") from None
        return notebooks.workspace_edit(per_cell, {u: self.cell_version(u) for u in per_cell}, document_changes)

    async def _notebook_fix_all(self, uri: str, data: Any, document_changes: bool) -> types.WorkspaceEdit | None:
        """Every safe fix of a notebook, cell by cell (a fix never spans two cells)."""
        snap = self.snap(uri)
        if snap is None:
            raise JsonRpcInvalidParams("perfsquad: the notebook of this code action is not open")
        if data.get("version") != snap.version:
            raise JsonRpcContentModified("perfsquad: the notebook changed; ask again")
        module, layout = self.notebooks.module(uri, snap.text), self.notebooks.layout(uri, snap.text)
        if module is None or layout is None:
            raise JsonRpcContentModified("perfsquad: the notebook changed; ask again")
        config = self.documents.config_for(snap.path)
        loop = asyncio.get_running_loop()
        per_cell = await loop.run_in_executor(
            self.executor, notebooks.fix_all_edits, module, layout, snap.path, config, snap.encoding
        )
        if not per_cell:
            return None
        return notebooks.workspace_edit(per_cell, {u: self.cell_version(u) for u in per_cell}, document_changes)

    def crashed(self, where: str, exc: BaseException) -> None:
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=8))
        self.log(types.MessageType.Error, f"perfsquad: {where} failed: {type(exc).__name__}: {exc}\n{detail}")

    def started(self) -> None:
        """Called on the event loop once the client is there (at ``initialize``)."""
        self._loop = asyncio.get_running_loop()
        pending, self._pending_logs = self._pending_logs, []
        for kind, message in pending:
            self.log(kind, message)


def guarded(server: PerfsquadServer, request: bool) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Keep a handler's crash from escaping: log it; a request gets an InternalError response."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        def fail(exc: Exception) -> None:
            if isinstance(exc, JsonRpcException):
                raise exc
            server.crashed(fn.__name__, exc)
            if request:
                raise JsonRpcInternalError(f"perfsquad: {fn.__name__} failed: {type(exc).__name__}: {exc}") from None

        if asyncio.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: Any) -> Any:
                try:
                    return await fn(*args)
                except Exception as exc:
                    fail(exc)
                    return None

            return run_async

        @functools.wraps(fn)
        def run(*args: Any) -> Any:
            try:
                return fn(*args)
            except Exception as exc:
                fail(exc)
                return None

        return run

    return decorate


def _root(params: types.InitializeParams) -> Path | None:
    uri = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
    path = to_fs_path(uri) if uri else params.root_path
    return Path(path) if path else None


def _is_python(doc: types.TextDocumentItem) -> bool:
    return doc.language_id == "python" or doc.uri.endswith((".py", ".pyi"))


def _command_uri(ls: PerfsquadServer, args: tuple[Any, ...]) -> str:
    if not args:  # a plain LSP client's call: the current document
        return ls.current_document(FIX_ALL_COMMAND).uri
    first = args[0]
    uri = first.get("uri") if isinstance(first, dict) else first
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams(f"{FIX_ALL_COMMAND} expects a document URI as its argument")
    return uri


def create_server(*, extensions: bool = True) -> PerfsquadServer:
    """A configured server; ``perfsquad/server/ext_*.py`` modules are registered unless told not to."""
    server = PerfsquadServer()
    feature, command = server.feature, server.command
    notification, request = guarded(server, request=False), guarded(server, request=True)

    @feature(types.INITIALIZE)
    @request
    def initialize(ls: PerfsquadServer, params: types.InitializeParams) -> None:
        ls.started()
        ls.documents.options = parse_options(params.initialization_options)
        ls.documents.root = _root(params)
        ls.consent.client_trusted = client_trusted(params.initialization_options)

    @feature(types.INITIALIZED)
    @notification
    async def initialized(ls: PerfsquadServer, params: types.InitializedParams) -> None:
        ls.documents.config_in(ls.documents.root)  # shows bad settings right away
        if ls.capability("workspace.did_change_watched_files.dynamic_registration"):
            watcher = types.FileSystemWatcher(glob_pattern="**/pyproject.toml")
            options = types.DidChangeWatchedFilesRegistrationOptions(watchers=[watcher])
            registration = types.Registration(
                id="perfsquad-pyproject", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES, register_options=options
            )
            try:
                await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
            except JsonRpcException as exc:  # a client may refuse: pyproject saves still reconfigure
                ls.log(types.MessageType.Log, f"perfsquad: no pyproject.toml watcher: {exc}")

    @feature(types.TEXT_DOCUMENT_DID_OPEN)
    @notification
    def did_open(ls: PerfsquadServer, params: types.DidOpenTextDocumentParams) -> None:
        if _is_python(params.text_document):
            ls.documents.open(params.text_document.uri, ls.workspace.get_text_document(params.text_document.uri).path)
            ls.active_uri = params.text_document.uri

    @feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @notification
    def did_change(ls: PerfsquadServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.documents.schedule(params.text_document.uri)
        if ls.documents.get(params.text_document.uri) is not None:
            ls.active_uri = params.text_document.uri

    @feature(types.TEXT_DOCUMENT_DID_SAVE)
    @notification
    def did_save(ls: PerfsquadServer, params: types.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri.endswith("pyproject.toml"):
            ls.documents.reconfigure()
        else:
            ls.documents.schedule(params.text_document.uri, delay_ms=0)

    @feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @notification
    def did_close(ls: PerfsquadServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)

    # Notebooks: pygls keeps the notebook and its cells in its workspace before these run.
    @feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    @notification
    def notebook_did_open(ls: PerfsquadServer, params: types.DidOpenNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        ls.notebooks.open.add(uri)
        ls.documents.open(uri, to_fs_path(uri) or uri)

    @feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    @notification
    def notebook_did_change(ls: PerfsquadServer, params: types.DidChangeNotebookDocumentParams) -> None:
        ls.documents.schedule(params.notebook_document.uri)

    @feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    @notification
    def notebook_did_save(ls: PerfsquadServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.documents.schedule(params.notebook_document.uri, delay_ms=0)

    @feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    @notification
    def notebook_did_close(ls: PerfsquadServer, params: types.DidCloseNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        ls.notebooks.forget(uri)
        ls.notebooks.published.setdefault(uri, set())  # (so the close's empty publish goes to its cells)
        ls.documents.close(uri)  # (its cells' diagnostics are cleared: see publish)

    @feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @notification
    def did_change_watched_files(ls: PerfsquadServer, params: types.DidChangeWatchedFilesParams) -> None:
        if any(change.uri.endswith("pyproject.toml") for change in params.changes):
            ls.documents.reconfigure()

    @feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @notification
    async def did_change_configuration(ls: PerfsquadServer, params: types.DidChangeConfigurationParams) -> None:
        settings = settings_section(params.settings)
        if settings is None and ls.capability("workspace.configuration"):
            items = [types.ConfigurationItem(section="perfsquad")]
            try:
                settings = (await ls.workspace_configuration_async(types.ConfigurationParams(items=items)))[0]
            except (JsonRpcException, IndexError, TypeError) as exc:
                ls.log(types.MessageType.Log, f"perfsquad: workspace/configuration failed: {exc}")
        # No settings at all (a client that only says "something changed"): keep what we have.
        ls.documents.reconfigure(parse_options(settings) if settings is not None else None)

    code_action_options = types.CodeActionOptions(code_action_kinds=list(actions.KINDS), resolve_provider=True)

    @feature(types.TEXT_DOCUMENT_CODE_ACTION, code_action_options)
    @request
    async def code_action(ls: PerfsquadServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        cell = ls.cell_layout(params.text_document.uri)
        if cell is not None:
            return await notebook_code_action(ls, params, *cell)
        if ls.documents.get(params.text_document.uri) is not None:
            ls.active_uri = params.text_document.uri
            ls.active_position = (params.text_document.uri, params.range.start)
        snap = ls.snap(params.text_document.uri)
        if snap is None:
            return []
        analysis = await ls.documents.settled(snap.uri)
        built: actions.BuiltFixes = {}
        codes = actions.fix_codes(snap, params, analysis)
        if codes:  # the fixes of the findings asked about are built now (diagnostics carry none)
            loop = asyncio.get_running_loop()
            built = await loop.run_in_executor(ls.executor, actions.built_fixes, snap, codes, ls.fix_builder(snap))
        found = actions.code_actions(snap, params, analysis, built)
        if ls.resolves_edits():
            return found
        return [await ls.resolve_action(a) for a in found]

    async def notebook_code_action(
        ls: PerfsquadServer, params: types.CodeActionParams, layout: notebooks.Layout, cell: notebooks.CellPlace
    ) -> list[types.CodeAction]:
        """A cell's code actions: the request shifted onto the notebook's module, and back."""
        shift = functools.partial(layout.range_to_module, cell)
        moved = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=layout.notebook_uri),
            range=shift(params.range),
            context=types.CodeActionContext(
                diagnostics=[notebooks.shifted_diagnostic(d, shift(d.range)) for d in params.context.diagnostics],
                only=params.context.only,
                trigger_kind=params.context.trigger_kind,
            ),
        )
        found = await code_action(ls, moved)
        for action in found:
            if action.diagnostics:
                back = [(d, layout.to_cell(d.range)) for d in action.diagnostics]
                action.diagnostics = [notebooks.shifted_diagnostic(d, r[1]) for d, r in back if r is not None]
        return found

    @feature(types.CODE_ACTION_RESOLVE)
    @request
    async def code_action_resolve(ls: PerfsquadServer, params: types.CodeAction) -> types.CodeAction:
        return await ls.resolve_action(params)

    @feature(types.TEXT_DOCUMENT_HOVER)
    @request
    async def on_hover(ls: PerfsquadServer, params: types.HoverParams) -> types.Hover | None:
        uri, position = params.text_document.uri, params.position
        if ls.documents.get(uri) is not None:
            ls.active_uri, ls.active_position = uri, (uri, position)
        nb_uri = ls.notebook_of(uri)
        layout = None
        if nb_uri is not None:  # a notebook cell: the notebook's analysis, at the cell's line
            settled = await ls.analysis_with_metrics(nb_uri)
            found = ls.cell_layout(uri, settled.text) if settled is not None else None
            if found is None:
                return None
            layout, cell = found
            uri, position = nb_uri, layout.to_module(cell, position)
        analysis = await ls.analysis_with_metrics(uri)
        view = ls.document(uri)
        if analysis is None or view is None:
            return None
        pos = analysis.index.to_position(position)
        parts, rng = hover.hover_sections(analysis, pos)
        parts += ls.isolation.hover(ls.hover_providers, view, pos)
        if layout is not None:
            cells = layout.notebook_cells()  # (function metrics' reasons name module lines)
            parts = [notebook.relabel_lines(part, cells) for part in parts]
            located = layout.to_cell(rng) if rng is not None else None
            rng = located[1] if located is not None else None
        return hover.make_hover(parts, rng, ls.markdown())

    @feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    @request
    async def code_lens(ls: PerfsquadServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        uri = params.text_document.uri
        nb_uri = ls.notebook_of(uri)
        analysis = await ls.analysis_with_metrics(nb_uri or uri)
        view = ls.document(nb_uri or uri)
        if analysis is None or view is None:
            return []
        lenses = hover.code_lenses(nb_uri or uri, analysis) + ls.isolation.lenses(ls.lens_providers, view)
        if nb_uri is None:
            return lenses
        found = ls.cell_layout(uri, analysis.text)  # a cell: the lenses of its lines, shifted
        if found is None:
            return []
        kept = []
        for lens in lenses:
            located = found[0].to_cell(lens.range)
            if located is not None and located[0] == found[1]:
                kept.append(types.CodeLens(range=located[1], command=lens.command, data=lens.data))
        return kept

    @feature(types.TEXT_DOCUMENT_INLAY_HINT, types.InlayHintOptions(resolve_provider=False))
    @request
    async def inlay_hint(ls: PerfsquadServer, params: types.InlayHintParams) -> list[types.InlayHint]:
        if not ls.inlay_providers:
            return []
        view = await ls.settled_document(params.text_document.uri)
        if view is None:
            return []
        return ls.isolation.inlays(ls.inlay_providers, view, view.to_span(params.range))

    @command(FIX_ALL_COMMAND)
    @request
    async def fix_all(ls: PerfsquadServer, *args: Any) -> bool:
        uri = _command_uri(ls, args)
        snap = ls.snap(ls.notebook_of(uri) or uri)  # (a notebook cell: the whole notebook)
        if snap is None:
            raise JsonRpcInvalidParams(f"{FIX_ALL_COMMAND}: the document is not open")
        edit = await ls.action_workspace_edit(actions.fix_all_action(snap).data)
        if edit is None:
            return False
        params = types.ApplyWorkspaceEditParams(edit=edit, label="perfsquad: fix all safe findings")
        return (await ls.workspace_apply_edit_async(params)).applied

    @command(hover.SHOW_METRICS_COMMAND)
    @request
    async def show_function_metrics(ls: PerfsquadServer, *args: Any) -> str:
        """A code lens's click: what is known of a function (estimated, measured) as a message.

        Arguments: ``[uri, qualname | def line]``; without them, every function of the current
        document that has a lens (or all of them when none has)."""
        uri = args[0] if args and isinstance(args[0], str) else ls.current_document(hover.SHOW_METRICS_COMMAND).uri
        which = args[1] if len(args) > 1 else None
        view = await ls.settled_document(uri)
        if view is None:
            raise JsonRpcInvalidParams(f"{hover.SHOW_METRICS_COMMAND}: the document is not open")
        functions = [fn for fn in view.report.functions if which in (None, fn.qualname, fn.name_span.start.line)]
        texts = [hover.function_text(fn, ls.isolation.facts(ls.function_facts, view, fn.name_span.start.line))
                 for fn in functions]  # fmt: skip
        if which is None:
            chosen = [t for fn, t in zip(functions, texts, strict=True) if hover.lens_worthy(fn)]
            texts = chosen or texts
        if isinstance(which, int) and not texts:  # a measured function the static metrics do not know
            texts = ls.isolation.facts(ls.function_facts, view, which)
        message = "\n".join(texts) or f"perfsquad: no function metrics in {view.path}"
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=message))
        return message

    @feature(types.SHUTDOWN)
    @request
    def shutdown(ls: PerfsquadServer, params: None) -> None:
        ls.documents.shutdown()
        ls.executor.shutdown(wait=False, cancel_futures=True)

    if extensions:
        for problem in discover_extensions(server):
            server.log(types.MessageType.Error, problem)
    return server
