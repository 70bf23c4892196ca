"""pygls' protocol with two changes: our position-encoding preference, and answers to malformed requests.

- pygls picks the first encoding in the client's list; we want UTF-32, then UTF-8, then UTF-16
  (:func:`perfsquad.server.conversions.negotiate`), so the client's list is reordered before
  pygls sees it. pygls then uses the same encoding for incremental document sync.
- ``didChange`` is applied with LSP line semantics (see :meth:`lsp_text_document__did_change`).
- A request whose params do not deserialize makes pygls raise from the JSON decoder, and the
  client never gets a response to its id. Here it gets an ``InvalidParams`` error response, and a
  malformed notification is logged instead of popping up an error.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from perfsquad.server.conversions import apply_change, encoding_of, negotiate

logger = logging.getLogger(__name__)


class _Answered:
    """Stands in for a message that could not be deserialized and has been dealt with."""

    jsonrpc = "answered"


ANSWERED = _Answered()


class PerfsquadProtocol(LanguageServerProtocol):
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
        super().handle_message(message)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
