"""Shared pieces of the pytest-lsp end-to-end tests (tests/lsp/).

``ProbeClient`` records everything the server sends (diagnostics, messages, refresh requests,
applied edits) and lets a test *wait* for the one it expects: waits resolve on the notification
itself, never on a sleep (the timeout is only a safety net against a hung server).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

PROFILES = ["visual-studio-code", "neovim"]
TESTS = Path(__file__).resolve().parent
SERVER = [sys.executable, "-m", "perfsquad", "serve"]
PROBE_SERVER = [sys.executable, str(TESTS / "lsp_probe" / "server.py")]
WAIT = 60.0  # seconds; a safety net for a hung server, never a pacing device

# A file with one unsafe finding (IDM010: counting by hand) and one safe one (IDM001: list built in a
# loop), both of the performance group (faster on every calibrated Python; perfsquad.calibration).
SAMPLE = """\
def total(xs):
    counts = {}
    for x in xs:
        counts[x] = counts.get(x, 0) + 1
    return counts


def names(d):
    out = []
    for k in d:
        out.append(k)
    return out
"""


class ProbeClient(LanguageClient):
    """A pytest-lsp client that keeps every message and can wait for a matching one."""

    def __init__(self) -> None:
        super().__init__(converter_factory=default_converter)
        self.profile = ""
        self.root = Path()
        self.events: list[tuple[str, Any]] = []
        self._waiters: list[tuple[str, Callable[[Any], bool], asyncio.Future[Any]]] = []
        self.apply_edit_result = True
        self.consent_answer: str | None = "Run"
        """The title the client answers ``window/showMessageRequest`` with (None: dismissed)."""

    # --- recording ------------------------------------------------------------------------
    def record(self, kind: str, params: Any) -> None:
        self.events.append((kind, params))
        for waiter in list(self._waiters):
            wanted, predicate, future = waiter
            if wanted == kind and not future.done() and predicate(params):
                future.set_result(params)
                self._waiters.remove(waiter)

    def mark(self) -> int:
        """A point in the event history: ``wait_for(..., since=mark)`` ignores what came before."""
        return len(self.events)

    def seen(self, kind: str, since: int = 0) -> list[Any]:
        return [p for k, p in self.events[since:] if k == kind]

    async def wait_for(self, kind: str, predicate: Callable[[Any], bool] = lambda _: True, *, since: int = 0) -> Any:
        for k, params in self.events[since:]:
            if k == kind and predicate(params):
                return params
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append((kind, predicate, future))
        return await asyncio.wait_for(future, WAIT)

    async def diagnostics_for(
        self, uri: str, *, version: int | None = None, since: int = 0, where: Callable[[Any], bool] | None = None
    ) -> list[types.Diagnostic]:
        """The diagnostics of the first publish for ``uri`` (at ``version``) after ``since``."""

        def match(p: types.PublishDiagnosticsParams) -> bool:
            if p.uri != uri or (version is not None and p.version != version):
                return False
            return where is None or where(p)

        params = await self.wait_for("diagnostics", match, since=since)
        return list(params.diagnostics)

    # --- driving --------------------------------------------------------------------------
    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
            )
        )

    def change(self, uri: str, version: int, *changes: types.TextDocumentContentChangeEvent) -> None:
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=list(changes),
            )
        )

    def replace_all(self, uri: str, version: int, text: str) -> None:
        self.change(uri, version, types.TextDocumentContentChangeWholeDocument(text=text))

    def close(self, uri: str) -> None:
        self.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )


def make_client() -> ProbeClient:
    client = ProbeClient()
    recorded = {
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: "diagnostics",
        types.WINDOW_SHOW_MESSAGE: "show",
        types.WINDOW_LOG_MESSAGE: "log",
    }
    own = {*recorded, types.WINDOW_SHOW_DOCUMENT}
    register_lsp_features(client, {m: f for m, f in DEFAULT_CLIENT_FEATURES.items() if m not in own})

    def recorder(kind: str, method: str) -> Callable[[Any], None]:
        def handler(params: Any) -> None:
            if method == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
                client.diagnostics[params.uri] = params.diagnostics
            elif method == types.WINDOW_SHOW_MESSAGE:
                client.messages.append(params)
            else:
                client.log_messages.append(params)
            client.record(kind, params)

        return handler

    for method, kind in recorded.items():
        client.feature(method)(recorder(kind, method))

    @client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
    def inlay_refresh(params: Any) -> None:
        client.record("inlay-refresh", params)

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def lens_refresh(params: Any) -> None:
        client.record("lens-refresh", params)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.record("apply-edit", params)
        return types.ApplyWorkspaceEditResult(applied=client.apply_edit_result)

    @client.feature(types.WINDOW_SHOW_DOCUMENT)
    def show_document(params: types.ShowDocumentParams) -> types.ShowDocumentResult:
        client.record("show-document", params)
        return types.ShowDocumentResult(success=True)

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        client.record("message-request", params)  # (the consent to run the workspace's code)
        titles = [a.title for a in params.actions or []]
        return types.MessageActionItem(title=client.consent_answer) if client.consent_answer in titles else None

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        client.record("register", params)

    return client


def config(server: list[str] = SERVER) -> ClientServerConfig:
    return ClientServerConfig(server_command=server, client_factory=make_client)


def capabilities(
    profile: str, *, encodings: Sequence[str] | None = None, resolve: bool = True,
    hover_formats: Sequence[str] | None = None,
) -> Any:  # fmt: skip
    caps = client_capabilities(profile)
    if hover_formats is not None and caps.text_document is not None:  # e.g. eglot 1.9: ["plaintext"]
        caps.text_document.hover = types.HoverClientCapabilities(
            content_format=[types.MarkupKind(k) for k in hover_formats]
        )
    if encodings is not None:
        caps.general = caps.general or types.GeneralClientCapabilities()
        caps.general.position_encodings = [types.PositionEncodingKind(e) for e in encodings]
    if not resolve and caps.text_document and caps.text_document.code_action:
        caps.text_document.code_action.resolve_support = None
    return caps


async def initialize(
    client: ProbeClient,
    root: Path,
    *,
    options: Any = None,
    encodings: Sequence[str] | None = None,
    resolve: bool = True,
    hover_formats: Sequence[str] | None = None,
) -> types.InitializeResult:
    params = types.InitializeParams(
        capabilities=capabilities(client.profile, encodings=encodings, resolve=resolve, hover_formats=hover_formats),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options,
    )
    return await client.initialize_session(params)


def alive(pid: int) -> bool:
    """Whether a process is running (a zombie is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def lsp_fixture(server: list[str] = SERVER, *, shared: bool = False) -> Any:
    """A ``client`` fixture run once per capability profile.

    By default each test gets its own server and initializes the session itself (to choose
    settings and capabilities). ``shared=True``: one initialized server per profile for the whole
    module (rooted in a fresh directory, ``client.root``), which saves a server start per test; the
    module must then run its tests on the module's event loop
    (``pytest.mark.asyncio(loop_scope="module")``).
    """
    scope = "module" if shared else "function"

    @pytest_lsp.fixture(params=PROFILES, config=config(server), scope=scope)
    async def client(request: Any, lsp_client: ProbeClient) -> Any:
        lsp_client.profile = request.param
        if shared:
            lsp_client.root = request.getfixturevalue("tmp_path_factory").mktemp(request.param)
            await initialize(lsp_client, lsp_client.root)
        yield
        await lsp_client.shutdown_session()

    return client


def unit_length(ch: str, encoding: str) -> int:
    """How many code units one character takes in an LSP position encoding."""
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-16":
        return len(ch.encode("utf-16-le")) // 2
    return 1


def apply_text_edits(text: str, edits: Sequence[types.TextEdit], encoding: str = "utf-16") -> str:
    """Apply LSP edits the way a client does (the test's own implementation, not the server's).

    Lines are split with ``str.splitlines``: the texts used with it have no form feeds.
    """
    lines = text.splitlines(keepends=True) or [""]

    def offset(pos: types.Position) -> int:
        start = sum(len(line) for line in lines[: pos.line])
        line = lines[pos.line].rstrip("\r\n") if pos.line < len(lines) else ""
        units = 0
        for i, ch in enumerate(line):
            if units >= pos.character:
                return start + i
            units += unit_length(ch, encoding)
        return start + len(line)

    spans = [(offset(e.range.start), offset(e.range.end), e.new_text) for e in edits]
    for start, end, new_text in sorted(spans, reverse=True):
        text = text[:start] + new_text + text[end:]
    return text


def workspace_edits(edit: types.WorkspaceEdit | None, uri: str) -> list[types.TextEdit]:
    """The text edits for ``uri`` in a WorkspaceEdit, whichever form the server chose."""
    assert edit is not None, "the action carries no edit"
    found: list[types.TextEdit] = []
    if edit.changes:
        found += list(edit.changes.get(uri, []))
    for change in edit.document_changes or ():
        if isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri:
            found += [e for e in change.edits if isinstance(e, types.TextEdit)]
    return found


def by_code(diagnostics: Sequence[types.Diagnostic], code: str) -> types.Diagnostic:
    matches = [d for d in diagnostics if d.code == code]
    assert matches, f"no {code} among {[d.code for d in diagnostics]}"
    return matches[0]
