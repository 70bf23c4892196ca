"""Cancellable ``$/progress`` for long commands (profile, audit, leak check), shared by the extensions.

The server asks the client to create a work-done progress (when it supports it), begins it as
cancellable, and ties the client's cancel button (``window/workDoneProgress/cancel``) to a
``threading.Event`` the worker checks: the runner then kills the command's process group.
Reports may come from any thread. A client that refuses progress still gets its result.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types

_tokens = itertools.count(1)
CANCEL_GRACE_S = 10.0
"""How long a cancelled command waits for its worker to kill its child and return."""
T = TypeVar("T")


class CommandProgress:
    def __init__(self, ls: Any, name: str, cancel: threading.Event) -> None:
        self.ls = ls
        self.name = name
        self.cancel = cancel
        self.token: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def begin(self, title: str, message: str | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        if not self.ls.capability("window.work_done_progress"):
            return
        token = f"perfsquad-{self.name}-{next(_tokens)}"
        progress = self.ls.work_done_progress
        try:
            await progress.create_async(token)
            progress.begin(token, types.WorkDoneProgressBegin(title=title, cancellable=True, message=message))
        except Exception as exc:  # a client that refuses progress still gets its result
            self.ls.log(types.MessageType.Warning, f"perfsquad: no progress reporting: {exc!r}")
            return
        self.token = token
        future = progress.tokens.get(token)
        if future is not None:
            future.add_done_callback(lambda f: self.cancel.set() if f.cancelled() else None)

    def report(self, message: str) -> None:
        """Thread-safe: call it from the worker."""
        if self.token is not None and self._loop is not None:
            value = types.WorkDoneProgressReport(message=message)
            self._loop.call_soon_threadsafe(self.ls.work_done_progress.report, self.token, value)

    def end(self, message: str = "done") -> None:
        if self.token is not None:
            with contextlib.suppress(Exception):
                self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self.token = None

    async def in_thread(
        self, fn: Callable[..., T], /, *args: Any, cancelled: tuple[type[Exception], ...] = (), **kwargs: Any
    ) -> T:
        """Run the command's work off the event loop. A cancelled request (the client's
        ``$/cancelRequest``, answered ``RequestCancelled`` by pygls) sets the cancel event so
        that the worker kills what it started (its process group), and waits for the worker to
        return (at most :data:`CANCEL_GRACE_S`): the command's "running" state is cleared only
        once its child is gone. The work's own ``cancelled`` exceptions become the request's
        error ("... cancelled")."""
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args, **kwargs))
        work.add_done_callback(lambda done: done.cancelled() or done.exception())  # (always retrieved)
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            self.cancel.set()
            await asyncio.wait({work}, timeout=CANCEL_GRACE_S)
            raise
        except cancelled as exc:
            raise RuntimeError(str(exc)) from None
