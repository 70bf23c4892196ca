"""Interprocedural I/O findings across modules: the workspace index through the CLI, the editor
API (``DocumentAnalyzer``), incremental edits, and the language server (pytest-lsp)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsp_harness import ProbeClient, initialize, lsp_fixture
from lsprotocol import types
from support import DEMO, ROOT

from perfsquad.analyzers import RULES
from perfsquad.api import DocumentAnalyzer
from perfsquad.cli import main
from perfsquad.engine import analyze_text
from perfsquad.incremental import IncrementalAnalyzer
from perfsquad.model import to_json
from perfsquad.semantics.index import ProjectIndex, link, summarize_source

CHAIN = "loop \u2192 self._delete_memory \u2192 storage.delete_heuristic \u2192 cursor.execute"
STORAGE = '''import sqlite3


def delete_heuristic(conn: sqlite3.Connection, hid: int) -> None:
    cursor = conn.cursor()
    cursor.execute("DELETE FROM heuristics WHERE id = ?", (hid,))


def describe(hid: int) -> str:
    return f"heuristic {hid}"
'''
AGENT = '''from app import storage


class Agent:
    def __init__(self, conn):
        self.conn = conn

    def _delete_memory(self, hid):
        storage.delete_heuristic(self.conn, hid)

    def forget(self, ids):
        for hid in ids:
            self._delete_memory(hid)

    def labels(self, ids):
        return [storage.describe(hid) for hid in ids]
'''


def make_project(root: Path) -> Path:
    (root / "pyproject.toml").write_text("[project]\nname = 'app'\n")
    pkg = root / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "storage.py").write_text(STORAGE)
    (pkg / "agent.py").write_text(AGENT)
    return pkg


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    main(["check", "--format", "json", "--select", "IO", *args])
    out, _ = capsys.readouterr()
    data: list[dict[str, object]] = json.loads(out)
    return data


def test_cli_reports_the_chain_across_two_modules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = make_project(tmp_path)
    found = check_json(capsys, "--no-cache", str(tmp_path))
    assert [(Path(str(d["filename"])).name, d["code"], d["location"]) for d in found] == [
        ("agent.py", "IO001", {"row": 13, "column": 13})
    ]
    notes = found[0]["notes"]
    assert isinstance(notes, list) and f"chain: {CHAIN}" in notes
    assert f"cursor.execute at {pkg / 'storage.py'}:6" in notes
    # The pure helper called in `labels` does no I/O: no finding there.


def test_cli_cache_follows_changes_in_the_other_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = make_project(tmp_path)
    cache = tmp_path / ".cache"
    assert len(check_json(capsys, "--cache-dir", str(cache), str(tmp_path))) == 1
    assert len(check_json(capsys, "--cache-dir", str(cache), str(tmp_path))) == 1  # warm
    # Only storage.py changes: agent.py is unchanged on disk, but its finding must go.
    (pkg / "storage.py").write_text(STORAGE.replace('cursor.execute("DELETE', 'print("DELETE'))
    assert check_json(capsys, "--cache-dir", str(cache), str(tmp_path)) == []
    (pkg / "storage.py").write_text(STORAGE)
    again = check_json(capsys, "--cache-dir", str(cache), str(tmp_path))
    assert [Path(str(d["filename"])).name for d in again] == ["agent.py"]


def test_cli_pool_and_serial_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = make_project(tmp_path)
    for i in range(30):  # enough files for the process pool
        (pkg / f"filler{i}.py").write_text(f"def f{i}(xs):\n    return [x for x in xs]\n")
    pooled = check_json(capsys, "--no-cache", "--jobs", "2", str(tmp_path))
    serial = check_json(capsys, "--no-cache", "--jobs", "1", str(tmp_path))
    assert [(Path(str(d["filename"])).name, d["code"]) for d in pooled] == [("agent.py", "IO001")]
    assert pooled == serial


def test_document_analyzer_uses_the_workspace_index(tmp_path: Path) -> None:
    pkg = make_project(tmp_path)
    doc = DocumentAnalyzer(str(pkg / "agent.py"))
    report = doc.update(AGENT)
    assert [f.code for f in report.findings if f.code.startswith("IO")] == ["IO001"]
    assert f"chain: {CHAIN}" in report.findings[0].notes
    # Without the index the chain stops at the module boundary.
    alone = DocumentAnalyzer(str(pkg / "agent.py"), project=False).update(AGENT)
    assert [f.code for f in alone.findings if f.code.startswith("IO")] == []


def test_editing_the_callee_updates_the_index(tmp_path: Path) -> None:
    pkg = make_project(tmp_path)
    agent = DocumentAnalyzer(str(pkg / "agent.py"))
    storage = DocumentAnalyzer(str(pkg / "storage.py"))
    assert any(f.code == "IO001" for f in agent.update(AGENT).findings)
    storage.update(STORAGE.replace("    cursor.execute(", "    print("))  # the open, unsaved version
    agent_again = DocumentAnalyzer(str(pkg / "agent.py"))
    assert not any(f.code == "IO001" for f in agent_again.update(AGENT).findings)


def test_incremental_edits_stay_exact_with_io_effects() -> None:
    base = (
        "import sqlite3\n\n\n"
        "def helper(conn: sqlite3.Connection, i):\n    return i\n\n\n"
        "def caller(conn: sqlite3.Connection, ids):\n    for i in ids:\n        helper(conn, i)\n"
    )
    texts = [
        base,
        base.replace("    return i\n", "    return conn.execute('SELECT 1 WHERE ? > 0', (i,))\n"),
        base.replace("    return i\n", "    x = i + 1\n    return conn.execute('SELECT 1 WHERE ? > 0', (x,))\n"),
        base,
    ]
    inc = IncrementalAnalyzer("m.py")
    codes = []
    for text in texts:
        got = inc.update(text)
        want = analyze_text(text, "m.py", rules=RULES)
        assert to_json(got.findings) == to_json(want.findings)
        codes.append([f.code for f in got.findings if f.code.startswith("IO")])
    assert codes == [[], ["IO001"], ["IO001"], []]


def test_summaries_round_trip_and_link_detects_stale_dependents(tmp_path: Path) -> None:
    pkg = make_project(tmp_path)
    summaries = []
    for name in ("storage.py", "agent.py", "__init__.py"):
        path = pkg / name
        summary = summarize_source(path.read_bytes(), str(path))
        assert summary is not None
        summaries.append((str(path), summary.to_data(), ""))
    index, stale = link(summaries)
    assert stale == [str(pkg / "agent.py")]
    agent = index.module("app.agent")
    assert agent is not None
    assert "app.storage.delete_heuristic" in index.signature_of(agent)
    assert summarize_source(b"def broken(:\n", "x.py") is None
    assert isinstance(index, ProjectIndex)


def test_only_calls_a_finding_can_show_make_a_module_stale(tmp_path: Path) -> None:
    """A module is analyzed again after linking only if a call in a loop or in an ``async def``
    (or a function of its own such a call reaches) has effects in another module."""
    pkg = make_project(tmp_path)
    modules = {
        "once.py": "from app import storage\n\ndef once(conn):\n    storage.delete_heuristic(conn, 1)\n",
        "helper.py": (
            "from app import storage\n\ndef _drop(conn, i):\n    storage.delete_heuristic(conn, i)\n\n"
            "def drop_all(conn, ids):\n    for i in ids:\n        _drop(conn, i)\n"
        ),
        "aio.py": "from app import storage\n\nasync def handler(conn):\n    storage.delete_heuristic(conn, 1)\n",
    }
    for name, text in modules.items():
        (pkg / name).write_text(text)
    summaries = []
    for path in sorted(pkg.glob("*.py")):
        summary = summarize_source(path.read_bytes(), str(path))
        assert summary is not None
        summaries.append((str(path), summary.to_data(), ""))
    _, stale = link(summaries)
    assert sorted(Path(p).name for p in stale) == ["agent.py", "aio.py", "helper.py"]
    # A summary cached before calls knew whether they are in a loop counts them as in one.
    old = [(p, (*d[:2], [(*f[:4], [c[:3] for c in f[4]]) for f in d[2]], *d[3:]), u) for p, d, u in summaries]
    _, stale_old = link(old)
    assert sorted(Path(p).name for p in stale_old) == ["agent.py", "aio.py", "helper.py", "once.py"]


def test_cli_finds_chains_through_a_local_helper_and_in_async_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = make_project(tmp_path)
    (pkg / "helper.py").write_text(
        "from app import storage\n\ndef _drop(conn, i):\n    storage.delete_heuristic(conn, i)\n\n"
        "def drop_all(conn, ids):\n    for i in ids:\n        _drop(conn, i)\n"
    )
    (pkg / "aio.py").write_text("from app import storage\n\nasync def handler(conn):\n    storage.delete_heuristic(conn, 1)\n")
    (pkg / "once.py").write_text("from app import storage\n\ndef once(conn):\n    storage.delete_heuristic(conn, 1)\n")
    found = sorted((Path(str(d["filename"])).name, str(d["code"])) for d in check_json(capsys, "--no-cache", str(pkg)))
    assert found == [("agent.py", "IO001"), ("aio.py", "IO004"), ("helper.py", "IO001")]


# -- the language server ---------------------------------------------------------------------------
client = lsp_fixture()


async def test_server_publishes_the_cross_module_chain(client: ProbeClient, tmp_path: Path) -> None:
    pkg = make_project(tmp_path)
    await initialize(client, tmp_path)
    uri = (pkg / "agent.py").as_uri()
    client.open(uri, AGENT)
    diagnostics = await client.diagnostics_for(uri, version=1)
    io = [d for d in diagnostics if str(d.code).startswith("IO")]
    assert [(d.code, d.range.start.line, d.range.start.character) for d in io] == [("IO001", 12, 12)]
    assert len(io[0].message) <= 80  # the chain is in the hover, once
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=io[0].range.start)
    )
    assert hover is not None and CHAIN in str(hover.contents)


def test_demo_seeded_cross_module_n_plus_one_is_flagged_with_its_chain(capsys: pytest.CaptureFixture[str]) -> None:
    demo = DEMO
    found = check_json(capsys, "--no-cache", str(demo))
    messages = {(Path(str(d["filename"])).name, str(d["code"]), str(d["notes"])) for d in found}
    chain = "loop \u2192 self._recall_memory \u2192 store.load_memory \u2192 cursor.execute"
    assert any(name == "agent.py" and code == "IO001" and chain in notes for name, code, notes in messages), messages
    assert any(name == "store.py" and "loop \u2192 _load_one \u2192 conn.execute" in n for name, _, n in messages)
    assert ("store.py", "IO006") in {(n, c) for n, c, _ in messages}


def test_relinked_files_keep_their_other_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file re-analyzed once the workspace index is linked runs only the index-reading rules
    again; its other findings are the first pass's. The result is what the editor computes for
    the file with the whole index."""
    pkg = make_project(tmp_path)
    agent = pkg / "agent.py"
    agent.write_text(AGENT + "\n\ndef names(rows):\n    out = []\n    for r in rows:\n        out.append(r.name)\n    return out\n")
    main(["check", "--format", "json", "--no-cache", "--jobs", "1", str(tmp_path)])
    out, _ = capsys.readouterr()
    cli = [(d["code"], d["location"]["row"], d["message"]) for d in json.loads(out) if d["filename"] == str(agent)]
    assert {code for code, _, _ in cli} >= {"IO001", "IDM001"}
    editor = DocumentAnalyzer(str(agent)).update(agent.read_text())
    assert cli == [(f.code, f.span.start.line, f.message) for f in editor.findings]


def test_only_the_project_rules_read_the_workspace_index() -> None:
    from perfsquad.analyzers import RULES, project_rules

    root = ROOT / "perfsquad" / "analyzers"
    readers = {p.relative_to(root).as_posix() for p in root.rglob("*.py") if ".effects" in p.read_text()}
    # The I/O family, and VEC006 (a pair loop calling a similarity function of another module, #17).
    assert readers and all(name.startswith("io/") or name == "vectorize/all_pairs_similarity.py" for name in readers)
    io_codes = {r.code for r in RULES if r.__module__.startswith("perfsquad.analyzers.io.")}
    assert {r.code for r in project_rules()} == io_codes | {"VEC006"}
