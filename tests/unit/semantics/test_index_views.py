"""The analysis of a module sees the workspace index without that module (``IndexView``): its own
functions come from the text it analyzes, never from the index's older copy of the file, and the
editor never re-summarizes the document's previous text at an edit (issue #20: edit latency)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfsquad.api import DocumentAnalyzer
from perfsquad.semantics import index as index_module
from perfsquad.semantics.index import ProjectIndex

BASE = """\
from abc import ABC, abstractmethod


class NoteStore(ABC):
    @abstractmethod
    def delete_note(self, note_id: int) -> None: ...


def purge(store: NoteStore, ids: list[int]) -> None:
    for note_id in ids:
        store.delete_note(note_id)
"""

SQL = """\
import sqlite3

from app.base import NoteStore


class SQLiteNoteStore(NoteStore):
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path)

    def delete_note(self, note_id: int) -> None:
        self.conn.execute("DELETE FROM notes WHERE id = ?", (note_id,))
        self.conn.commit()
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "base.py").write_text(BASE)
    (tmp_path / "app" / "sql.py").write_text(SQL)
    return tmp_path


def test_an_edit_never_summarizes_the_documents_own_previous_text(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summarized: list[str] = []
    real = index_module.summarize_source

    def spy(data: bytes, path: str) -> object:
        summarized.append(Path(path).name)
        return real(data, path)

    monkeypatch.setattr(index_module, "summarize_source", spy)
    path = project / "app" / "base.py"
    doc = DocumentAnalyzer(str(path))
    doc.update(BASE, want_fixes=False, metrics=False)
    assert sorted(summarized) == ["__init__.py", "base.py", "sql.py"]  # the index, built from disk
    summarized.clear()
    # A new import: analyzed whole, and its text is left in the index for other modules.
    doc.update("import os\n" + BASE, want_fixes=False, metrics=False)
    # An edit of the loop's function: its dispatch through NoteStore asks the index for subclasses.
    edited = "import os\n" + BASE.replace("ids: list[int]", "ids: list[int], limit: int = 0")
    report = doc.update(edited, want_fixes=False, metrics=False)
    assert summarized == []  # (before: base.py's previous text was summarized again, at every such edit)
    found = [(f.code, f.span.start.line) for f in report.findings]
    assert found == [("IO001", 12)]
    assert "SQLiteNoteStore" in " ".join(report.findings[0].notes)


def test_a_module_view_answers_about_other_modules_only(project: Path) -> None:
    index = ProjectIndex(project)
    for name in ("base.py", "sql.py"):
        path = project / "app" / name
        index.add_text(str(path), path.read_bytes())
    from_base = index.seen_from("app.base")
    assert from_base.function("app.base.purge") is None and index.function("app.base.purge") is not None
    assert from_base.bases("app.base.NoteStore") is None and from_base.module("app.base") is None
    assert from_base.function("app.sql.SQLiteNoteStore.delete_note") is not None
    assert from_base.subclasses("app.base.NoteStore") == ("app.sql.SQLiteNoteStore",)
    from_sql = index.seen_from("app.sql")
    assert from_sql.subclasses("app.base.NoteStore") == ()  # its own class: the analysis has it
    assert from_sql.bases("app.base.NoteStore") is not None
    assert from_sql.classes_defining("delete_note") == ("app.base.NoteStore",)
