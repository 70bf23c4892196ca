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
from dataclasses import dataclass

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


@dataclass(slots=True)
class SourceText:
    text: str
    line_starts: list[int]
    """Offset of the first character of each line (index 0 is line 1)."""
    newline: str
    """The file's dominant line ending, used for inserted text."""
    plain: bool = False
    """``\n`` is the text's only line break (no ``\r`` anywhere): :meth:`splice` may derive."""

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
        derived from this one: the line starts before the edit kept, those after it shifted, the
        inserted text's added; a keystroke in a large file then costs no scan of the whole text
        (0.6 ms on sympy's 8,000-line ``polytools.py``). Otherwise (a ``\r`` may join or split a
        ``\r\n`` at the seams) the table is built anew."""
        text = self.text[:start] + inserted + self.text[end:]
        if not self.plain or "\r" in inserted or len(text) < _SHARE_FROM:
            return SourceText.from_text(text)
        starts = self.line_starts
        kept = starts[: bisect.bisect_right(starts, start)]  # lines whose break lies before the edit
        at = inserted.find("\n")
        while at >= 0:
            kept.append(start + at + 1)
            at = inserted.find("\n", at + 1)
        tail = starts[bisect.bisect_left(starts, end + 1) :]  # lines whose break lies after it
        delta = len(inserted) - (end - start)
        kept.extend(map(delta.__add__, tail) if delta else tail)
        table = SourceText(text, kept, "\n", True)
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

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line(self, lineno: int) -> str:
        """Line ``lineno`` (1-based) without its line ending."""
        if lineno < 1 or lineno > len(self.line_starts):
            return ""
        start = self.line_starts[lineno - 1]
        end = self.line_starts[lineno] if lineno < len(self.line_starts) else len(self.text)
        line = self.text[start:end]
        return line.rstrip("\r\n")

    def lines_slice(self, first: int, last: int) -> slice:
        """Where lines ``first..last`` (1-based, endings included) lie in the text (or in another
        text of the same length, such as one with its null bytes blanked)."""
        return slice(self.line_starts[first - 1], self.line_starts[last] if last < len(self.line_starts) else None)

    def line_with_ending(self, lineno: int) -> str:
        start = self.line_starts[lineno - 1]
        end = self.line_starts[lineno] if lineno < len(self.line_starts) else len(self.text)
        return self.text[start:end]

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
        if pos.line > len(self.line_starts):
            return len(self.text)
        start = self.line_starts[pos.line - 1]
        return min(start + pos.column, start + len(self.line(pos.line)))

    def position(self, offset: int) -> Position:
        """The position of an absolute character offset."""
        import bisect

        idx = bisect.bisect_right(self.line_starts, offset) - 1
        return Position(idx + 1, offset - self.line_starts[idx])

    def segment(self, span: Span) -> str:
        return self.text[self.offset(span.start) : self.offset(span.end)]
