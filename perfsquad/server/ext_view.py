"""The profile view: ``perfsquad.profileView``, the loaded profile as something to look at.

* ``perfsquad.profileView`` (no argument needed): the newest loaded profile (``perfsquad.profile``,
  ``loadProfile`` or the last audit) as an icicle graph, a hot-functions table and a hot-lines
  table (:mod:`perfsquad.profiling.flame`). Returns ``data`` (JSON-ready), ``html`` (one
  self-contained page, :mod:`perfsquad.profiling.flame_html`) and ``path``: the page is also kept
  as ``.perfsquad/profile.html`` in the workspace (atomic, refused through a symlink).
  Options (one object): ``cspSource`` (a VS Code webview's source, for the page's security
  policy) and ``show`` (default true unless ``cspSource`` is given): ask the client to open the
  page with ``window/showDocument`` when it supports it, so an editor without a view of its own
  (Neovim, Emacs) still gets one. With no profile loaded, ``available`` is false and
  ``message`` says how to get one (never an error: there is nothing wrong with asking).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfsquad.files import write_output
from perfsquad.profiling.flame import profile_view
from perfsquad.profiling.flame_html import render
from perfsquad.server.arguments import page_options, show_page, unwrap
from perfsquad.server.extensions import loaded_profile, workspace_root

if TYPE_CHECKING:
    from perfsquad.server.app import PerfsquadServer

NO_PROFILE = (
    "No profile loaded: run \"perfsquad: Profile Current File\" (perfsquad.profile), load one "
    "(perfsquad.loadProfile) or run an audit first."
)


def _options(args: Any) -> dict[str, Any]:
    args = unwrap(args)
    if not args:
        return {}
    if len(args) == 1 and isinstance(args[0], dict):
        return args[0]
    raise ValueError("perfsquad.profileView takes no argument or one object ({\"show\": false})")


def register(server: PerfsquadServer) -> None:
    def root() -> Path | None:
        return workspace_root(server)

    @server.command("perfsquad.profileView")
    async def profile_view_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        csp, show = page_options(_options(args), "perfsquad.profileView")
        profile = loaded_profile(server)
        if profile is None:
            return {"available": False, "message": NO_PROFILE}
        workspace = root()

        def build() -> tuple[dict[str, Any], str, Path | str]:
            data = profile_view(profile, workspace)
            page = render(data, csp_source=csp)
            if workspace is None:
                return data, page, "no workspace folder: the page is not kept"
            try:
                # The page kept for other editors never carries a webview's policy source.
                kept = page if csp is None else render(data)
                return data, page, write_output(workspace / ".perfsquad" / "profile.html", kept.encode("utf-8"))
            except OSError as exc:
                return data, page, str(exc)

        data, page, out = await asyncio.get_running_loop().run_in_executor(None, build)
        shown = show and isinstance(out, Path) and await show_page(server, ls, out)
        return {
            "available": True,
            "headline": data["headline"],
            "data": data,
            "html": page,
            "path": str(out) if isinstance(out, Path) else None,
            "note": None if isinstance(out, Path) else f"profile.html not written: {out}",
            "shown": shown,
        }
