"""pygls' protocol with two changes: our position-encoding preference, and answers to malformed requests.

- pygls picks the first encoding in the client's list; we want UTF-32, then UTF-8, then UTF-16
  (:func:`perfsquad.server.conversions.negotiate`), so the client's list is reordered before
  pygls sees it. pygls then uses the same encoding for incremental document sync.
- ``didChange`` is applied with LSP line semantics (see :meth:`lsp_text_document__did_change`).
- A request whose params do not deserialize makes pygls raise from the JSON decoder, and the
  client never gets a response to its id. Here it gets an ``InvalidParams`` error response, and a
  malformed notification is logged instead of popping up an error.
- pygls 2.1 keeps the future of every notification handled by a generator or a coroutine (all of
  its built-in document-sync handlers: ``didOpen``, ``didChange``, ``didClose``...) in
  ``_request_futures`` under a random id, and never removes it: one entry (and its closure) per
  keystroke, forever. Only requests' futures are kept here (:meth:`_execute_handler`).
- ``$/cancelRequest`` of a request handled by a generator (every ``workspace/executeCommand``)
  cancels only the generator's result: pygls answers ``RequestCancelled`` but the command's own
  coroutine runs on. Here cancelling the result cancels the step it waits on as well.
- A command's :class:`~perfsquad.server.arguments.CommandFailed` (a failure already told to the
  user in words) is not logged with a traceback.
- A request after ``shutdown`` gets an ``InvalidRequest`` error (pygls drops it unanswered), and
  ``exit`` records the process's exit code (0 after ``shutdown``, else 1: the LSP spec) in
  :attr:`exit_code` (pygls' ``sys.exit`` from inside its loop is swallowed by its own runner).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from concurrent.futures import Future
from functools import partial
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from perfsquad.server.arguments import CommandFailed
from perfsquad.server.conversions import apply_change, encoding_of, negotiate

logger = logging.getLogger(__name__)


def _without_expected_tracebacks(record: logging.LogRecord) -> bool:
    """pygls logs every failed request with its traceback; a :class:`CommandFailed` is a failure
    the user was told about in words (perfsquad.server.app.report_server_error logs its message)."""
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, CommandFailed)


logging.getLogger("pygls.protocol.json_rpc").addFilter(_without_expected_tracebacks)


class _Answered:
    """Stands in for a message that could not be deserialized and has been dealt with."""

    jsonrpc = "answered"


ANSWERED = _Answered()


class PerfsquadProtocol(LanguageServerProtocol):
    exit_code: int | None = None
    """Set by ``exit``: what the process should exit with (see the module's docstring)."""

    def _execute_handler(
        self,
        msg_id: Any,
        handler: Callable[..., Any],
        callback: Callable[[Future[Any]], None],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        if isinstance(callback, partial) and callback.func == self._send_handler_result:
            return  # a request: pygls removes it when it answers (or on $/cancelRequest)
        # A notification, or one step of a generator handler: nobody can look it up by its
        # random id; keeping it would leak it.
        future = self._request_futures.pop(msg_id, None)
        parent = callback.keywords.get("result_future") if isinstance(callback, partial) else None
        if future is not None and isinstance(parent, Future):
            # A step of a generator: cancelling the generator's result (a request cancelled by
            # the client, or shutdown) cancels what it waits on, e.g. a command's coroutine.
            parent.add_done_callback(lambda done: future.cancel() if done.cancelled() else None)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        self.exit_code = 0 if self._shutdown else 1
        yield from super().lsp_exit(*args)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Generator[Any, Any, types.InitializeResult]:
        general = params.capabilities.general
        if general is not None and general.position_encodings:
            chosen = negotiate(general.position_encodings)
            rest = [e for e in general.position_encodings if str(getattr(e, "value", e)) != chosen.value]
            general.position_encodings = [types.PositionEncodingKind(chosen.value), *rest]
        result: types.InitializeResult = yield from super().lsp_initialize(params)
        return result

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Generator[Any, Any, None]:
        """Apply the changes with LSP line semantics, then call the server's handler.

        pygls splits lines with ``str.splitlines``, which also breaks at form feeds and Unicode
        line separators: an edit after one of those would land on the wrong line.
        """
        uri = params.text_document.uri
        if unquote(uri) not in self.workspace.text_documents:
            logger.warning("didChange for a document that is not open: %s", uri)
            return
        doc = self.workspace.get_text_document(uri)
        encoding = encoding_of(self.workspace.position_encoding)
        text = doc.source
        for change in params.content_changes:
            text = apply_change(text, change, encoding)
        item = types.TextDocumentItem(
            uri=uri, language_id=doc.language_id or "python", version=params.text_document.version, text=text
        )
        self.workspace.put_text_document(item)
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            method = data.get("method") if isinstance(data, dict) else None
            detail = exc.__cause__ or exc
            if isinstance(data, dict) and "id" in data and method is not None:
                message = f"invalid params for {method}: {_first_line(detail)}"
                logger.warning("answering malformed request %r: %s", data.get("id"), message)
                self._send_response(data["id"], error=JsonRpcInvalidParams(message).to_response_error())
                return ANSWERED
            if method is not None:
                self._log_malformed(str(method), detail)
                return ANSWERED
            raise

    def _log_malformed(self, method: str, detail: BaseException) -> None:
        params = types.LogMessageParams(
            type=types.MessageType.Warning,
            message=f"perfsquad: ignored malformed {method} notification: {_first_line(detail)}",
        )
        self.notify(types.WINDOW_LOG_MESSAGE, params)

    def handle_message(self, message: Any) -> None:
        if message is ANSWERED:
            return
        method = getattr(message, "method", None)
        if self._shutdown and method not in (None, types.EXIT) and getattr(message, "id", None) is not None:
            # The spec: a request after shutdown is answered with InvalidRequest (pygls drops it).
            error = JsonRpcInvalidRequest(f"perfsquad: the server is shutting down; {method} refused")
            self._send_response(message.id, error=error.to_response_error())
            return
        super().handle_message(message)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
