"""End to end (issue #20, item 4): the editor's audit and roadmap with a loaded profile, against the CLI.

On a copy of the demo, profiled once by ``perfsquad profile --out`` and loaded into the server with
``perfsquad.loadProfile``:

* ``perfsquad.auditPerformance`` (no ``run``) ranks with that profile: measured items with their saving in
  seconds, never "No profile", and nothing is run (the copy's configured ``profile-command`` would fail,
  and the consent to run code is refused: neither is reached);
* ``perfsquad.optimizationRoadmap`` lists the same items in the same order as the server's audit and as
  ``perfsquad audit --profile FILE`` (the CLI) with the same profile;
* both answer rendered pages whose every item links to its file and line: the Markdown roadmap is a
  table of ``[path:line](file://...#Lline)`` links (no code block), the HTML pages' rows carry the
  ``file://`` link and the file/line a VS Code webview opens; a plain client (no arguments) is sent the
  page with ``window/showDocument`` and the summary with ``window/showMessage``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from lsp_harness import ProbeClient, initialize, lsp_fixture
from lsprotocol import types
from support import DEMO, ROOT

client = lsp_fixture()

FAILING_COMMAND = "python -c \"raise SystemExit('the configured command ran')\""


@pytest.fixture(scope="module")
def demo_profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a copy of the demo whose configured profile-command fails, a profile of its workload)."""
    base = tmp_path_factory.mktemp("views")
    demo = base / "demo"
    shutil.copytree(DEMO, demo, ignore=shutil.ignore_patterns(".perfsquad", "__pycache__"))
    profile = base / "demo-profile.json"
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "profile", "--out", str(profile), "--", "run.py"],
        cwd=demo, capture_output=True, text=True, timeout=300, env={**_env(), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0 and profile.exists(), proc.stderr[-2000:]
    (demo / "pyproject.toml").write_text(f"[tool.perfsquad]\nprofile-command = {json.dumps(FAILING_COMMAND)}\n")
    return demo, profile


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _cli_roadmap(demo: Path, profile: Path, out: Path) -> list[dict[str, Any]]:
    """``perfsquad audit DEMO --profile FILE``'s roadmap (its JSON report)."""
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "audit", str(demo), "--profile", str(profile), "--out", str(out),
         "--format", "json"],
        cwd=demo, capture_output=True, text=True, timeout=300, env={**_env(), "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "No profile" not in proc.stdout and "the loaded profile" in proc.stdout
    return list(json.loads((out / "report.json").read_text())["roadmap"])


def _order(items: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(item["code"], str(Path(item["filename"]).resolve()), item["line"]) for item in items]


class Rows(HTMLParser):
    """The roadmap table's rows of a report page: (rank, code, the place's href, data-file, data-line)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.scripts: list[dict[str, str | None]] = []
        self._row: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "tr" and "roadmap-row" in a.get("class", ""):
            self._row = {"rank": a["data-rank"], "code": a["data-code"]}
            self.rows.append(self._row)
        elif tag == "a" and self._row is not None and "src" in a.get("class", "").split() and "href" not in self._row:
            self._row.update(href=a["href"], file=a["data-file"], line=a["data-line"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None


def _rows(page: str) -> Rows:
    parser = Rows()
    parser.feed(page)
    return parser


def _assert_linked(page: str, items: list[dict[str, Any]]) -> None:
    """Every roadmap row of the page links to its item's file at its line."""
    rows = _rows(page).rows
    assert len(rows) == min(len(items), 50)
    for row, item in zip(rows, items[:50], strict=True):
        path = Path(item["filename"]).resolve()
        assert (row["rank"], row["code"]) == (str(item["rank"]), item["code"])
        assert row["href"] == f"{path.as_uri()}#L{item['line']}" and row["file"] == str(path)
        assert row["line"] == str(item["line"])


async def _execute(client: ProbeClient, command: str, *args: object) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=list(args))
    )


async def test_audit_and_roadmap_use_the_loaded_profile_and_rank_like_the_cli(
    client: ProbeClient, demo_profile: tuple[Path, Path], tmp_path: Path
) -> None:
    demo, profile = demo_profile
    await initialize(client, demo, options={"debounceMs": 10})
    client.consent_answer = None  # running the workspace's code is refused: nothing may need it
    loaded = await _execute(client, "perfsquad.loadProfile", str(profile))
    assert loaded["headline"]
    mark = client.mark()

    audit = await _execute(client, "perfsquad.auditPerformance", {"uri": demo.as_uri(), "out": str(tmp_path / "a"),
                                                                  "show": False})  # fmt: skip
    assert audit["measured"] is True and audit["profile_error"] is None, audit["summary"]
    assert not [n for n in audit["notes"] if "No profile" in n]
    assert any("loaded profile of `python run.py`" in n for n in audit["notes"])
    assert "ranked with the loaded profile of `python run.py`" in audit["summary"]
    assert not client.seen("message-request", since=mark)  # no consent asked: nothing was run
    top = audit["roadmap"][0]
    assert (top["code"], Path(top["filename"]).name) == ("VEC006", "similarity.py")
    assert top["share"] > 0.2 and top["saved_seconds"] > 0.5  # ROI in seconds of the measured run
    server_audit = json.loads(Path(audit["json"]).read_text())["roadmap"]

    roadmap = await _execute(client, "perfsquad.optimizationRoadmap", {"uri": demo.as_uri(), "limit": 100,
                                                                       "show": False})  # fmt: skip
    assert roadmap["measured"] is True and "no profile" not in roadmap["summary"].lower()
    items = roadmap["items"]
    assert roadmap["total"] == len(items) == len(server_audit)

    cli = _cli_roadmap(demo, profile, tmp_path / "cli")
    # One ranking: the editor's roadmap, the editor's audit and the CLI's audit, item for item.
    assert _order(items) == _order(server_audit) == _order(cli)
    assert [i["saved_seconds"] for i in items] == [i["saved_seconds"] for i in cli]
    assert "start with VEC006 at similarity.py:" in roadmap["summary"]
    assert any(i["code"].startswith("HOT") for i in items)  # hot code no finding explains, as the audit has it

    # The Markdown roadmap: a table, not a code block, each place a link to its file at its line.
    markdown = Path(roadmap["markdown"])
    assert markdown == demo / ".perfsquad" / "roadmap.md" and markdown.read_text() == roadmap["text"]
    assert "```" not in roadmap["text"] and "| # | where | rule |" in roadmap["text"]
    for item in items[:20]:
        path = Path(item["filename"]).resolve()
        assert f"[{path.relative_to(demo.resolve())}:{item['line']}]({path.as_uri()}#L{item['line']})" in roadmap["text"]
    # The links point at the findings' lines: the top item's line is the pair loop in group_similar.
    source = (demo / "memoria" / "similarity.py").read_text().splitlines()
    assert source[items[0]["line"] - 1].lstrip().startswith("for ")

    # The rendered pages: every roadmap row linked (file:// href, and the file and line the webview opens).
    page = Path(roadmap["html"])
    assert page == demo / ".perfsquad" / "roadmap.html"
    _assert_linked(page.read_text(), items)
    _assert_linked(Path(audit["html"]).read_text(), server_audit)
    assert not _rows(page.read_text()).scripts  # the kept page runs nothing
    assert not client.seen("show-document", since=mark)  # (show: false)


async def test_views_for_a_webview_and_for_a_plain_client(
    client: ProbeClient, demo_profile: tuple[Path, Path]
) -> None:
    demo, profile = demo_profile
    await initialize(client, demo, options={"debounceMs": 10})
    client.consent_answer = None
    await _execute(client, "perfsquad.loadProfile", str(profile))

    # VS Code: the page comes in the answer, with the webview's policy and the one script that
    # turns a click on a place into {open, line}; nothing is opened outside.
    mark = client.mark()
    web = await _execute(client, "perfsquad.optimizationRoadmap", {"uri": demo.as_uri(), "cspSource": "vscode-webview://x",
                                                                   "limit": 100})  # fmt: skip
    assert web["shown"] is False and not client.seen("show-document", since=mark)
    parsed = _rows(web["page"])
    assert "vscode-webview://x" in web["page"] and len(parsed.scripts) == 1 and parsed.scripts[0].get("nonce")
    assert "postMessage({ open: link.dataset.file, line: Number(link.dataset.line) })" in web["page"]
    _assert_linked(web["page"], web["items"])
    assert "vscode-webview://x" not in Path(web["html"]).read_text()

    # A plain client (no arguments): the page opened with window/showDocument, the summary shown.
    mark = client.mark()
    plain = await _execute(client, "perfsquad.optimizationRoadmap")
    shown = await client.wait_for("show-document", since=mark)
    assert shown.uri == (demo / ".perfsquad" / "roadmap.html").as_uri() and plain["shown"] is True
    messages = [m.message for m in client.seen("show", since=mark)]
    assert any(m.startswith("perfsquad: roadmap:") and "start with VEC006" in m for m in messages), messages

    mark = client.mark()
    audit = await _execute(client, "perfsquad.auditPerformance")
    shown = await client.wait_for("show-document", since=mark)
    assert shown.uri == Path(audit["html"]).as_uri() and audit["shown"] is True and audit["measured"] is True
    messages = [m.message for m in client.seen("show", since=mark)]
    assert any(m.startswith("perfsquad: audit:") and "loaded profile" in m for m in messages), messages
    assert not client.seen("message-request", since=mark)
