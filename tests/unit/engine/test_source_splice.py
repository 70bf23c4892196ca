"""``SourceText.splice``: an edit's line table derived from the previous one equals the table built
from scratch, whatever the edit (line breaks added, removed, joined at the seams, ``\\r`` anywhere),
and the editor's ``apply_change`` shares it with the analysis of that version."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfsquad import source
from perfsquad.source import SourceText

texts = st.text(alphabet="ab\n", max_size=60) | st.text(alphabet="ab\n\r", max_size=60)


@pytest.fixture(autouse=True)
def _derive_small_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "_SHARE_FROM", 0)  # derive and share at any size


@settings(max_examples=400, deadline=None)
@given(base=texts, inserted=texts, data=st.data())
def test_a_spliced_table_equals_a_built_one(base: str, inserted: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(base)))
    end = data.draw(st.integers(start, len(base)))
    old = SourceText.from_text(base)
    new = old.splice(start, end, inserted)
    expected = SourceText._build(base[:start] + inserted + base[end:])
    assert new.text == expected.text
    assert new.line_starts == expected.line_starts
    assert new.newline == expected.newline
    assert SourceText.from_text(new.text) is new  # shared: the analysis of this text finds it


def test_a_spliced_table_is_derived_when_only_newlines_break_lines() -> None:
    base = "".join(f"line {i}\n" for i in range(50))
    old = SourceText.from_text(base)
    calls: list[str] = []
    original = SourceText._build

    def counting(text: str) -> SourceText:
        calls.append(text)
        return original(text)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(SourceText, "_build", staticmethod(counting))
        new = old.splice(old.line_starts[10], old.line_starts[12], "x = 1\ny = 2\nz = 3\n")
        assert calls == []  # derived, no scan of the whole text
        crlf = old.splice(0, 0, "a\r\n")
        assert len(calls) == 1  # a \r: built anew
    assert new.line_count == 52 and new.line(11) == "x = 1" and new.line(14) == "line 12"
    assert crlf.line_starts == original(crlf.text).line_starts


def test_apply_change_shares_the_derived_table() -> None:
    from lsprotocol import types

    from perfsquad.server.conversions import apply_change

    base = "".join(f"v{i} = {i}\n" for i in range(100))
    SourceText.from_text(base)
    change = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=3, character=0), end=types.Position(line=3, character=0)),
        text="inserted = True\n",
    )
    text = apply_change(base, change, "utf-16")
    assert text.splitlines()[3] == "inserted = True"
    table = SourceText.from_text(text)
    assert table.line_starts == SourceText._build(text).line_starts
    assert SourceText.from_text(text) is table


@settings(max_examples=200, deadline=None)
@given(
    base=st.text(alphabet="ab\n", max_size=80),
    edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 6), st.text(alphabet="ab\n", max_size=8)), max_size=40),
)
def test_a_table_spliced_edit_after_edit_reads_like_a_built_one(base: str, edits: list[tuple[int, int, str]]) -> None:
    """A derived table is pieces of older ones (made one list again past a few): after every edit
    of a long run, each line's start, the line of every offset and the count are those of a table
    built from the text, without the derived one being made a list first."""
    import bisect

    table = SourceText.from_text(base)
    for at, length, inserted in edits:
        text = table.text
        start = min(at, len(text))
        end = min(start + length, len(text))
        table = table.splice(start, end, inserted)
        expected = SourceText._build(table.text).line_starts
        assert len(table._table[0]) <= source._MAX_PIECES
        assert table.line_count == len(expected)
        assert [table.start(i) for i in range(len(expected))] == expected
        for offset in range(len(table.text) + 1):
            assert table.line_index(offset) == bisect.bisect_right(expected, offset) - 1
        for lineno in range(1, len(expected) + 1):
            assert table.line_with_ending(lineno) == SourceText._build(table.text).line_with_ending(lineno)
    assert table.line_starts == SourceText._build(table.text).line_starts


def test_a_table_made_one_list_while_another_thread_reads_it() -> None:
    """The server's threads share a version's table: one may make it one list (``line_starts``)
    while another looks lines up. Every lookup sees the pieces or the list, never half of each."""
    import sys
    import threading

    base = "".join(f"line {i}\n" for i in range(60))
    tables = []
    for _ in range(300):  # tables of several pieces each, all to be made one list
        table = SourceText.from_text(base)
        for j in range(3):
            table = table.splice(len(table.text) // (j + 2), len(table.text) // (j + 2), "x\ny\n")
        tables.append(table)
    expected_tables = [SourceText._build(table.text).line_starts for table in tables]
    errors: list[BaseException] = []
    stop = threading.Event()
    started = threading.Event()

    def read() -> None:
        started.set()
        try:
            while not stop.is_set():
                for table, expected in zip(tables, expected_tables, strict=True):
                    offset = expected[-1]
                    assert table.line_index(offset) == len(expected) - 1
                    assert table.start(len(expected) - 1) == offset
        except BaseException as exc:  # reported below
            errors.append(exc)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    reader = threading.Thread(target=read)
    try:
        reader.start()
        started.wait()
        for table, expected in zip(tables, expected_tables, strict=True):
            assert table.line_starts == expected  # made one list while the reader reads
    finally:
        stop.set()
        reader.join()
        sys.setswitchinterval(switch)
    assert not errors, errors
