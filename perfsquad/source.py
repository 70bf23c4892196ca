"""Decoded source text with the line table every other layer needs.

Python treats ``\\r\\n``, ``\\r`` and ``\\n`` as line breaks, and nothing else: ``str.splitlines`` also
splits on form feeds and Unicode separators, which would desynchronize us from ``ast`` line numbers.
"""

from __future__ import annotations

import bisect
import codecs
import io
import itertools
import re
import threading
import tokenize
from collections import OrderedDict

from perfsquad.model import Position, Span

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class SourceDecodeError(Exception):
    """The bytes cannot be decoded as Python source."""


def decode_source(data: bytes) -> tuple[str, bool]:
    """Decode source bytes like the interpreter does: BOM, then PEP 263 cookie, then UTF-8.

    Returns ``(text, had_bom)``. The BOM is not part of the text: column 0 is the first character
    after it. Raises :class:`SourceDecodeError` with a readable reason.
    """
    had_bom = data.startswith(codecs.BOM_UTF8)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceDecodeError(str(exc)) from None
    if encoding == "utf-8-sig":
        encoding = "utf-8"
        if had_bom:
            data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode(encoding), had_bom
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceDecodeError(f"cannot decode as {encoding}: {exc}") from None


_SHARE_FROM = 32_768
"""Texts shorter than this (characters) build their table every time: it takes microseconds."""
_RECENT_SIZE = 8
_RECENT: OrderedDict[int, SourceText] = OrderedDict()
_RECENT_LOCK = threading.Lock()


_Piece = tuple[list[int], int, int, int]
"""Lines ``[lo, hi)`` of a table (a list of line starts), each start moved by ``delta``."""
_MAX_PIECES = 16
"""Pieces of a derived table before it is made one list again (a scan of its lines)."""


class SourceText:
    """A text and its line table: the offset of the first character of each line.

    The table is a list, or, for a text an edit derived from another (:meth:`splice`), pieces of
    older lists: the lines before the edit, the edit's own, the lines after it with their starts
    moved. Lookups (:meth:`start`, :meth:`line_index`) read the pieces; :attr:`line_starts` makes
    them one list when asked."""

    __slots__ = ("_table", "line_count", "newline", "plain", "text")

    def __init__(self, text: str, line_starts: list[int], newline: str, plain: bool = False) -> None:
        self.text = text
        self.newline = newline
        """The file's dominant line ending, used for inserted text."""
        self.plain = plain
        """``\n`` is the text's only line break (no ``\r`` anywhere): :meth:`splice` may derive."""
        self._table: tuple[list[_Piece], list[int], list[int]] = ([], [], [])
        """The pieces, the index of each one's first line, and that line's start: one value, so
        that a thread reading it while another makes the table one list sees one or the other."""
        self.line_count = 0
        self._set([(line_starts, 0, len(line_starts), 0)])

    def _set(self, pieces: list[_Piece]) -> None:
        counts, firsts, count = [], [], 0
        kept: list[_Piece] = []
        for piece in pieces:
            table, lo, hi, delta = piece
            if hi > lo:
                kept.append(piece)
                counts.append(count)
                firsts.append(table[lo] + delta)
                count += hi - lo
        self._table = (kept, counts, firsts)
        self.line_count = count  # (the same when a table is made one list)

    @property
    def line_starts(self) -> list[int]:
        """Offset of the first character of each line (index 0 is line 1; not to be modified)."""
        return self._compact()

    def _compact(self) -> list[int]:
        """The table as one list (made once, then kept as the only piece)."""
        pieces = self._table[0]
        if len(pieces) == 1 and pieces[0][1] == 0 and pieces[0][3] == 0 and pieces[0][2] == len(pieces[0][0]):
            return pieces[0][0]
        starts: list[int] = []
        for table, lo, hi, delta in pieces:
            starts.extend(map(delta.__add__, table[lo:hi]) if delta else table[lo:hi])
        self._set([(starts, 0, len(starts), 0)])
        return starts

    def start(self, index: int) -> int:
        """Offset of the first character of line ``index + 1`` (``0 <= index < line_count``)."""
        pieces, counts, _ = self._table
        p = bisect.bisect_right(counts, index) - 1 if len(pieces) > 1 else 0
        table, lo, _, delta = pieces[p]
        return table[lo + index - counts[p]] + delta

    def line_index(self, offset: int) -> int:
        """``bisect_right(line_starts, offset) - 1``: the index of the line ``offset`` lies on
        (-1 before the first line's start)."""
        pieces, counts, firsts = self._table
        p = bisect.bisect_right(firsts, offset) - 1
        if p < 0:
            return -1
        table, lo, hi, delta = pieces[p]
        return counts[p] + bisect.bisect_right(table, offset - delta, lo, hi) - 1 - lo

    def _lines(self, first: int, stop: int, shift: int) -> list[_Piece]:
        """The pieces of lines ``[first, stop)``, their starts moved by ``shift``."""
        out: list[_Piece] = []
        pieces, counts, _ = self._table
        for (table, lo, hi, delta), at in zip(pieces, counts, strict=True):
            a, b = max(first, at), min(stop, at + hi - lo)
            if a < b:
                out.append((table, lo + a - at, lo + b - at, delta + shift))
        return out

    @classmethod
    def from_text(cls, text: str, *, share: bool = True) -> SourceText:
        """The line table of ``text``. A large text seen recently (the same ``str`` object, as the
        editor hands one version of a document to the change applier, the analyzer and the
        position converter) shares its table: building one costs a scan of the whole text.
        ``share=False`` for a text nobody else will ask about (a file read to summarize it): the
        table is not kept, so neither is the text."""
        if not share or len(text) < _SHARE_FROM:
            return cls._build(text)
        key = id(text)
        with _RECENT_LOCK:
            hit = _RECENT.get(key)
            if hit is not None and hit.text is text:
                _RECENT.move_to_end(key)
                return hit
        table = cls._build(text)
        table._share()
        return table

    def _share(self) -> None:
        with _RECENT_LOCK:
            _RECENT[id(self.text)] = self  # the table holds the text: its id cannot be reused while cached
            while len(_RECENT) > _RECENT_SIZE:
                _RECENT.popitem(last=False)

    def splice(self, start: int, end: int, inserted: str) -> SourceText:
        """The text with ``[start, end)`` replaced by ``inserted``, with its line table (shared
        like :meth:`from_text`'s). When ``\n`` is the only line break of both, the table is
        derived from this one, in pieces: the lines before the edit, the inserted text's, the
        lines after it with their starts moved; a keystroke in a large file then costs neither
        a scan of the whole text nor a copy of its table (0.6 ms on sympy's 8,000-line
        ``polytools.py`` for a copy). Otherwise (a ``\r`` may join or split a ``\r\n`` at
        the seams) the table is built anew."""
        text = self.text[:start] + inserted + self.text[end:]
        if not self.plain or "\r" in inserted or len(text) < _SHARE_FROM:
            return SourceText.from_text(text)
        kept = self.line_index(start) + 1  # lines whose break lies before the edit
        tail = self.line_index(end) + 1  # the first line whose break lies after it
        added: list[int] = []
        at = inserted.find("\n")
        while at >= 0:
            added.append(start + at + 1)
            at = inserted.find("\n", at + 1)
        pieces = self._lines(0, kept, 0)
        pieces.append((added, 0, len(added), 0))
        pieces += self._lines(tail, self.line_count, len(inserted) - (end - start))
        table = SourceText(text, [], "\n", True)
        table._set(pieces)
        if len(table._table[0]) > _MAX_PIECES:
            table._compact()
        table._share()
        return table

    @staticmethod
    def forget(text: str) -> None:
        """Stop sharing the line table of ``text`` (the editor closed its document)."""
        with _RECENT_LOCK:
            hit = _RECENT.get(id(text))
            if hit is not None and hit.text is text:
                del _RECENT[id(text)]

    @classmethod
    def _build(cls, text: str) -> SourceText:
        if "\r" not in text:
            # The common case, at C speed: "\n" is the only line break.
            lengths = [len(line) + 1 for line in text.split("\n")]
            lengths.pop()
            return cls(text, list(itertools.accumulate(lengths, initial=0)), "\n", True)
        starts = [0]
        counts = {"\n": 0, "\r\n": 0, "\r": 0}
        for m in _LINE_BREAK.finditer(text):
            starts.append(m.end())
            counts[m.group()] += 1
        newline = max(counts, key=lambda k: counts[k]) if any(counts.values()) else "\n"
        return cls(text, starts, newline)

    def _end(self, lineno: int) -> int:
        """Where line ``lineno`` (1-based, ending included) ends."""
        return self.start(lineno) if lineno < self.line_count else len(self.text)

    def line(self, lineno: int) -> str:
        """Line ``lineno`` (1-based) without its line ending."""
        if lineno < 1 or lineno > self.line_count:
            return ""
        return self.text[self.start(lineno - 1) : self._end(lineno)].rstrip("\r\n")

    def lines_slice(self, first: int, last: int) -> slice:
        """Where lines ``first..last`` (1-based, endings included) lie in the text (or in another
        text of the same length, such as one with its null bytes blanked)."""
        return slice(self.start(first - 1), self.start(last) if last < self.line_count else None)

    def line_with_ending(self, lineno: int) -> str:
        return self.text[self.start(lineno - 1) : self._end(lineno)]

    def char_column(self, lineno: int, byte_col: int) -> int:
        """Convert an ``ast`` UTF-8 byte column to a code point column."""
        line = self.line(lineno)
        if line.isascii():
            return byte_col
        return len(line.encode("utf-8", "surrogatepass")[:byte_col].decode("utf-8", "replace"))

    def offset(self, pos: Position) -> int:
        """Absolute character offset of a position (clamped to the text)."""
        if pos.line < 1:
            return 0
        if pos.line > self.line_count:
            return len(self.text)
        start = self.start(pos.line - 1)
        return min(start + pos.column, start + len(self.line(pos.line)))

    def position(self, offset: int) -> Position:
        """The position of an absolute character offset."""
        idx = self.line_index(offset)
        return Position(idx + 1, offset - self.start(idx))

    def segment(self, span: Span) -> str:
        return self.text[self.offset(span.start) : self.offset(span.end)]
