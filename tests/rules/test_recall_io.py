"""Recall of I/O bottlenecks real libraries have (#17), through the CLI on the fixtures of
``tests/fixtures/recall/io_*``: I/O behind an ABC or a Protocol, connections opened and committed
per call, ORM lazy relationships read per row, awaits of the project's own coroutines in a loop.

Every line carrying ``# expect: CODE[, CODE]`` must be reported with exactly those I/O codes at
default settings, ``# expect: none`` lines are traps, and no other line of a fixture may get an
I/O finding. The fixtures are copied out of ``tests/`` so that they are judged as a user's code
(test files are demoted to hints).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import ROOT

RECALL = ROOT / "tests" / "fixtures" / "recall"
EXPECT = re.compile(r"#\s*expect:\s*(none|[A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)")


def _fixture_files() -> list[Path]:
    files: list[Path] = []
    for entry in sorted(RECALL.glob("io_*")):
        files.extend(sorted(entry.rglob("*.py")) if entry.is_dir() else [entry])
    return files


def _expectations(root: Path) -> dict[tuple[str, int], set[str]]:
    out: dict[tuple[str, int], set[str]] = {}
    for path in _fixture_files():
        rel = path.relative_to(RECALL).as_posix()
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            m = EXPECT.search(line)
            if m:
                codes = m.group(1)
                out[(rel, lineno)] = set() if codes == "none" else {c.strip() for c in codes.split(",")}
    return out


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--no-cache", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("recall") / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'recall'\n")
    for entry in RECALL.glob("io_*"):
        if entry.is_dir():
            shutil.copytree(entry, root / entry.name)
        else:
            shutil.copy(entry, root / entry.name)
    return root


@pytest.fixture(scope="module")
def findings(project: Path) -> list[dict[str, Any]]:
    result = _run(project, "--format", "json", "--select", "IO", ".")
    assert result.returncode == 1, result.stderr
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def _by_line(findings: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for f in findings:
        out.setdefault((Path(f["filename"]).as_posix(), f["location"]["row"]), []).append(f)
    return out


def test_every_expectation_holds_and_nothing_else_fires(project: Path, findings: list[dict[str, Any]]) -> None:
    expected = _expectations(project)
    assert len(expected) >= 30
    got = {key: {f["code"] for f in fs} for key, fs in _by_line(findings).items()}
    wrong = {key: (codes, got.get(key, set())) for key, codes in expected.items() if got.get(key, set()) != codes}
    assert not wrong, wrong
    unexpected = {key: codes for key, codes in got.items() if key not in expected}
    assert not unexpected, unexpected


def _one(findings: list[dict[str, Any]], file: str, code: str, needle: str) -> dict[str, Any]:
    """The finding of ``code`` on the line of ``file`` holding ``needle``."""
    lines = (RECALL / file).read_text().splitlines()
    row = next(i for i, line in enumerate(lines, 1) if needle in line)
    hits = [f for f in findings if f["filename"] == file and f["location"]["row"] == row and f["code"] == code]
    assert len(hits) == 1, (file, row, code, findings)
    return hits[0]


def _shown(f: dict[str, Any]) -> str:
    """What the user reads: the message, then the notes the hover shows (a chain longer than the
    message's 80 characters is there, #20)."""
    return " ".join([f["message"], *f.get("notes", [])])


def test_abc_dispatch_names_the_implementations_and_their_count(findings: list[dict[str, Any]]) -> None:
    f = _one(findings, "io_storage/service.py", "IO001", "self._delete_memory(note_id)")
    assert "self.storage.delete_note" in _shown(f)
    assert "2 of 3 implementations of NoteStore.delete_note do I/O" in _shown(f)
    assert "PostgresNoteStore" in _shown(f) and "SQLiteNoteStore" in _shown(f)
    assert "InMemoryNoteStore aside" in _shown(f)
    assert f["confidence"] == "high"
    protocol = _one(findings, "io_protocol.py", "IO001", "fetcher.fetch(k)")
    assert "2 of 2 implementations of Fetcher.fetch" in _shown(protocol)  # one structural, one nominal


def test_connection_per_call_shows_the_chain_and_the_advice(findings: list[dict[str, Any]]) -> None:
    loop = _one(findings, "io_storage/service.py", "IO003", "store.save_note(note_id, body)")
    assert "loop \u2192 store.save_note \u2192 self._connection \u2192 sqlite3.connect" in _shown(loop)
    assert "one long-lived connection" in _shown(loop) and "commit once per batch" in _shown(loop)
    assert any("journal_mode=WAL" in n and "synchronous=NORMAL" in n for n in loop["notes"])
    lines = (RECALL / "io_storage/sqlite_store.py").read_text().splitlines()
    save = next(i for i, line in enumerate(lines, 1) if "def save_note" in line)
    method = [f for f in findings if f["filename"] == "io_storage/sqlite_store.py" and f["location"]["row"] == save + 1]
    assert [f["code"] for f in method] == ["IO003"]
    assert "Every call of `save_note` opens and closes its own database connection" in method[0]["message"]
    assert method[0]["confidence"] == "medium"
    # kept connections are no finding: opened once in __init__, or cached on self
    assert not [f for f in findings if f["filename"] == "io_storage/postgres_store.py"]


def test_orm_lazy_relationship_names_the_loader(findings: list[dict[str, Any]]) -> None:
    f = _one(findings, "io_orm.py", "IO001", "[inv.customer.name for inv in invoices]")
    assert "Invoice.customer" in _shown(f) and "selectinload" in _shown(f)
    django = _one(findings, "io_django.py", "IO001", "out.append(b.author.name)")
    assert "select_related('author')" in _shown(django)


def test_await_of_an_unproven_coroutine_is_medium(findings: list[dict[str, Any]]) -> None:
    f = _one(findings, "io_await.py", "IO002", "merged.append(await self._merge_group(group))")
    assert f["confidence"] == "medium"
    assert "asyncio.gather" in _shown(f) and "I/O is not proven" in f["evidence"]


def test_unsafe_fix_adds_selectinload_to_the_query(project: Path, tmp_path: Path) -> None:
    work = tmp_path / "orm"
    work.mkdir()
    shutil.copy(project / "io_orm.py", work / "io_orm.py")
    before = (work / "io_orm.py").read_text()
    safe = _run(work, "--select", "IO001", "--fix", "io_orm.py")
    assert safe.returncode == 1 and (work / "io_orm.py").read_text() == before  # unsafe: never by --fix alone
    fixed = _run(work, "--select", "IO001", "--fix", "--unsafe-fixes", "io_orm.py")
    assert fixed.returncode in (0, 1), fixed.stderr
    text = (work / "io_orm.py").read_text()
    assert "session.scalars(select(Invoice).options(selectinload(Invoice.customer))).all()" in text
    assert "session.execute(select(Line).options(selectinload(Line.invoice))).scalars().all()" in text
    compile(text, "io_orm.py", "exec")
    after = json.loads(_run(work, "--select", "IO001", "--format", "json", "io_orm.py").stdout or "[]")
    rows = {f["location"]["row"] for f in after}
    lines = text.splitlines()
    fixed_rows = {i for i, line in enumerate(lines, 1) if "inv.customer.name for inv in invoices" in line}
    assert not rows & fixed_rows


def _service_rows(findings: list[dict[str, Any]]) -> set[tuple[int, str]]:
    return {(f["location"]["row"], f["code"]) for f in findings if f["filename"] == "io_storage/service.py"}


def test_the_cache_follows_an_implementation_that_stops_doing_io(project: Path, tmp_path: Path) -> None:
    """service.py never changes on disk; whether its calls on ``NoteStore`` do I/O depends on the
    implementations in other modules: when one of the two backends becomes pure, 1 of 2 is no
    majority and the dispatch finding goes; restored, it comes back (the cache is warm)."""
    work = tmp_path / "proj"
    shutil.copytree(project, work)
    cache = tmp_path / "cache"

    def rows() -> set[tuple[int, str]]:
        result = _run(work, "--format", "json", "--select", "IO", "--cache-dir", str(cache), ".")
        assert result.returncode in (0, 1), result.stderr
        return _service_rows(json.loads(result.stdout))

    forget = next(
        i for i, line in enumerate((work / "io_storage/service.py").read_text().splitlines(), 1) if "_delete_memory(note_id)" in line
    )
    first = rows()
    assert (forget, "IO001") in first
    assert rows() == first  # warm
    postgres = work / "io_storage" / "postgres_store.py"
    original = postgres.read_text()
    postgres.write_text(original.replace("self.conn.execute(", "print(").replace("psycopg.connect(dsn)", "dsn"))
    assert (forget, "IO001") not in rows()
    postgres.write_text(original)
    assert rows() == first


def test_the_editor_sees_the_dispatch_through_its_workspace_index(project: Path) -> None:
    from perfsquad.api import DocumentAnalyzer

    service = project / "io_storage" / "service.py"
    report = DocumentAnalyzer(str(service)).update(service.read_text())
    io = [f for f in report.findings if f.code.startswith("IO")]
    assert any("2 of 3 implementations of NoteStore.delete_note do I/O" in " ".join([f.message, *f.notes]) for f in io), io
    alone = DocumentAnalyzer(str(service), project=False).update(service.read_text())
    assert not [f for f in alone.findings if "implementations" in " ".join([f.message, *f.notes])]


def test_a_connection_per_call_behind_an_interface(findings: list[dict[str, Any]]) -> None:
    f = _one(findings, "io_connections.py", "IO003", "sink.deliver(event)")
    assert "2 of 2 implementations of Sink.deliver open a connection per call: " in _shown(f)
    assert "not once per item" in _shown(f) and "httpx.Client" in _shown(f)
