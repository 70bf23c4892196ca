"""Reading ``workspace/executeCommand`` arguments, shared by the command extensions."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException


def unwrap(args: Sequence[Any]) -> Sequence[Any]:
    """The arguments, unwrapped once when a client sent them as one list."""
    if len(args) == 1 and isinstance(args[0], list):
        return args[0]  # some clients wrap the arguments once more
    return args


def int_option(opts: dict[str, Any], key: str, default: int, minimum: int, command: str) -> int:
    """``opts[key]`` (or ``default``) as an integer of at least ``minimum`` (``True`` is not one)."""
    value = opts.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{command}: {key} must be an integer >= {minimum}")
    return value


def tell_plain_client(ls: Any, args: Sequence[Any], text: str) -> None:
    """Show a command's summary with ``window/showMessage`` when it was called without arguments:
    that is a plain LSP client's call (the VS Code client always passes arguments and shows the
    result itself), and such a client shows nothing of a command's result."""
    if args:
        return
    with contextlib.suppress(Exception):  # (a message must never fail the command)
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"perfsquad: {text}"))


def page_options(opts: dict[str, Any], command: str) -> tuple[str | None, bool]:
    """(``cspSource``, ``show``) of a command that answers a page: a VS Code webview passes its
    ``cspSource`` and draws the page itself; without it the page is shown by the client
    (``show``, default true then)."""
    csp = opts.get("cspSource")
    if csp is not None and not isinstance(csp, str):
        raise ValueError(f"{command}: cspSource must be a string")
    show = opts.get("show", csp is None)
    return csp, bool(show)


async def show_page(server: Any, ls: Any, path: Path) -> bool:
    """Ask the client to open a page perfsquad wrote (``window/showDocument``, external: a browser
    for HTML) when it can; True when it says it did. A refusal or an error is not the command's."""
    if server.capability("window.show_document") is None:
        return False
    with contextlib.suppress(Exception):  # a client that refuses still gets the command's answer
        result = await ls.window_show_document_async(types.ShowDocumentParams(uri=path.as_uri(), external=True))
        return bool(getattr(result, "success", False))
    return False


class CommandFailed(JsonRpcException):
    """A command that failed for a reason the user can act on (a timeout, a cancel, the workload
    raised), already told to them with one ``window/showMessage``: the error response carries the
    same message, the LSP code ``RequestFailed`` and ``data: {"shown": true}`` (a client that
    shows errors itself, like ours, need not say it twice), and no traceback anywhere."""

    CODE = -32803
    MESSAGE = "Request failed"

    def __init__(self, message: str) -> None:
        super().__init__(message=message, data={"shown": True})


def fail(ls: Any, text: str, kind: types.MessageType = types.MessageType.Error) -> CommandFailed:
    """Tell the user ``text`` once (``window/showMessage``) and return the error to raise."""
    with contextlib.suppress(Exception):  # (a message must never hide the failure)
        ls.window_show_message(types.ShowMessageParams(type=kind, message=text))
    return CommandFailed(text)
