"""Consent before the server runs the workspace's code (#19: hostile repositories).

Opening a cloned repository runs nothing: analysis never executes user code. The commands that do
(``perfsquad.profile``, ``perfsquad.benchmark``, ``perfsquad.leakcheck``, ``perfsquad.auditPerformance``
when it will profile, ``perfsquad.quickDiagnose`` with its short profile) run the repository's
scripts, tests or the ``profile-command`` of its ``pyproject.toml``; each first calls
:meth:`Consent.require`. The first time in a session for a workspace folder it asks the user with
``window/showMessageRequest`` ("Run" / "Cancel"); "Run" is remembered for that folder until the
server exits, anything else (Cancel, the message dismissed, a client that cannot answer) runs
nothing and the command fails with a message saying so.

A client that already asked the user may say so: ``initializationOptions.workspaceTrusted: true``
(the VS Code extension sends it when VS Code's Workspace Trust, its own one-time consent to run a
folder's code, is granted; in an untrusted workspace it does not offer these commands at all). It is
read from ``initialize`` only, never from ``workspace/didChangeConfiguration`` settings.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types

RUN, CANCEL = "Run", "Cancel"
TRUST_OPTION = "workspaceTrusted"


class ConsentDeclined(RuntimeError):
    """The user did not allow running the workspace's code; nothing ran."""


def client_trusted(initialization_options: Any) -> bool:
    """Whether ``initialize`` said the user already trusts the workspace (see the module docstring)."""
    return isinstance(initialization_options, dict) and initialization_options.get(TRUST_OPTION) is True


class Consent:
    def __init__(self) -> None:
        self.granted: set[str] = set()
        self.client_trusted = False
        self._lock: asyncio.Lock | None = None

    def allowed(self, workspace: Path | None) -> bool:
        return self.client_trusted or _key(workspace) in self.granted

    async def require(self, ls: Any, workspace: Path | None, what: str) -> None:
        """Return if running ``what`` in ``workspace`` is allowed (asking once); else raise ConsentDeclined."""
        if self.allowed(workspace):
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # (two commands at once: one question)
            if self.allowed(workspace):
                return
            where = f"the workspace {workspace}" if workspace is not None else "this workspace"
            message = (
                f"perfsquad: {what} runs code from {where}: its scripts, its tests or the profile-command of "
                "its pyproject.toml. Run this workspace's code for this session?"
            )
            params = types.ShowMessageRequestParams(
                type=types.MessageType.Warning, message=message,
                actions=[types.MessageActionItem(title=RUN), types.MessageActionItem(title=CANCEL)],
            )  # fmt: skip
            try:
                answer = await ls.window_show_message_request_async(params)
            except Exception:  # (a client that cannot answer: nothing runs)
                answer = None
            if answer is not None and getattr(answer, "title", None) == RUN:
                self.granted.add(_key(workspace))
                return
        refusal = f"{what}: not run: running this workspace's code was not allowed (answer {RUN} to allow it)"
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"perfsquad: {refusal}"))
        raise ConsentDeclined(refusal)


def _key(workspace: Path | None) -> str:
    return str(workspace.resolve()) if workspace is not None else ""
