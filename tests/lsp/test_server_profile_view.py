"""End to end: ``perfsquad.profileView`` through the language server (pytest-lsp, VS Code and Neovim profiles).

With no profile loaded it says how to get one; with one loaded (``perfsquad.loadProfile``) it answers the
flame tree, the hot tables and a self-contained page, keeps the page in ``.perfsquad/profile.html`` and,
called without arguments as a plain client would, asks the client to open it (``window/showDocument``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lsp_harness import ProbeClient, initialize, lsp_fixture
from lsprotocol import types

from perfsquad.profiling.model import FrameRef, FunctionStat, LineStat, Profile

client = lsp_fixture()


def _saved_profile(root: Path) -> Path:
    app = str(root / "app.py")
    frames = (FrameRef("<module>", app, 9), FrameRef("crunch", app, 3), FrameRef("wait", app, 6))
    profile = Profile(
        ("python", app),
        "py-spy",
        2.0,
        1.4,
        (FunctionStat("crunch", app, 2, 1.5, 1.5), FunctionStat("wait", app, 5, 0.5, 0.5, idle_seconds=0.5)),
        (LineStat(app, 3, "crunch", 1.5, 1.5), LineStat(app, 6, "wait", 0.5, 0.5, idle_seconds=0.5)),
        samples=200,
        idle_samples=50,
        frames=frames,
        stacks=(((0, 1), 1.5, 0.0), ((0, 2), 0.5, 0.5)),
    )
    path = root / "saved-profile.json"
    path.write_text(json.dumps(profile.to_json()), encoding="utf-8")
    return path


async def _execute(client: ProbeClient, command: str, *args: object) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(args))
    )


async def test_profile_view_without_and_with_a_profile(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path)
    empty = await _execute(client, "perfsquad.profileView")
    assert empty["available"] is False and "perfsquad: Profile Current File" in empty["message"]
    assert not (tmp_path / ".perfsquad" / "profile.html").exists()

    await _execute(client, "perfsquad.loadProfile", str(_saved_profile(tmp_path)))
    mark = client.mark()
    view = await _execute(client, "perfsquad.profileView")
    assert view["available"] is True
    tree = view["data"]["tree"]
    (module,) = tree["children"]
    assert [c["name"] for c in module["children"]] == ["crunch", "wait"]
    assert module["children"][0]["share"] == 0.75 and module["children"][1]["idle"] == 0.5
    assert [f["name"] for f in view["data"]["functions"] if f["name"] != "<module>"][:2] == ["crunch", "wait"]
    assert view["data"]["lines"][0]["line"] == 3
    page = Path(view["path"])
    assert page == tmp_path / ".perfsquad" / "profile.html"
    kept = page.read_text(encoding="utf-8")
    assert 'id="flame"' in kept and "crunch" in kept and kept == view["html"]
    # A plain client gets the page opened for it.
    shown = await client.wait_for("show-document", since=mark)
    assert shown.uri == page.as_uri() and shown.external is True and view["shown"] is True

    # The VS Code client draws it in a webview: its policy source goes in the answer's page only,
    # and nothing is opened outside.
    mark = client.mark()
    webview = await _execute(client, "perfsquad.profileView", {"cspSource": "vscode-webview://abc"})
    assert "vscode-webview://abc" in webview["html"] and "vscode-webview://abc" not in page.read_text(encoding="utf-8")
    assert webview["shown"] is False and not client.seen("show-document", since=mark)


async def test_profile_view_rejects_bad_options(client: ProbeClient, tmp_path: Path) -> None:
    await initialize(client, tmp_path)
    await _execute(client, "perfsquad.loadProfile", str(_saved_profile(tmp_path)))
    try:
        await _execute(client, "perfsquad.profileView", {"cspSource": 3})
    except Exception as exc:  # the request's error, the server still serving
        assert "cspSource" in str(exc)
    else:
        raise AssertionError("a bad option must be an error")
    again = await _execute(client, "perfsquad.profileView", {"show": False})
    assert again["available"] is True and again["shown"] is False
