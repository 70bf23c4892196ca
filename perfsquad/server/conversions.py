"""Positions between perfsquad and LSP: the one place that knows about encodings.

perfsquad counts columns in code points (:mod:`perfsquad.model`); an LSP client counts them in
the *position encoding* negotiated at ``initialize``: UTF-16 code units unless both sides agree on
something else. We prefer UTF-32 (code points: our own unit, so conversion is free), then UTF-8,
then UTF-16, which every client must support.

Lines are split the way Python (and LSP) split them: on ``\\r\\n``, ``\\r`` and ``\\n`` only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types

from perfsquad.model import Position, Span
from perfsquad.source import SourceText


class Encoding(str, enum.Enum):
    UTF32 = "utf-32"
    UTF8 = "utf-8"
    UTF16 = "utf-16"


PREFERENCE: tuple[Encoding, ...] = (Encoding.UTF32, Encoding.UTF8, Encoding.UTF16)


def negotiate(offered: Sequence[str] | None) -> Encoding:
    """The encoding to use given the client's ``general.positionEncodings``."""
    offered_set = {str(getattr(o, "value", o)).lower() for o in offered or ()}
    for encoding in PREFERENCE:
        if encoding.value in offered_set:
            return encoding
    return Encoding.UTF16


def encoding_of(value: object) -> Encoding:
    """Parse an encoding name (as stored by pygls' workspace); UTF-16 when unknown."""
    try:
        return Encoding(str(getattr(value, "value", value)).lower())
    except ValueError:
        return Encoding.UTF16


def _units(text: str, encoding: Encoding) -> int:
    if encoding is Encoding.UTF32 or text.isascii():
        return len(text)
    if encoding is Encoding.UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def to_units(line: str, column: int, encoding: Encoding) -> int:
    """A code point column of ``line`` in the client's units (clamped to the line)."""
    column = max(0, min(column, len(line)))
    return _units(line[:column], encoding)


def from_units(line: str, units: int, encoding: Encoding) -> int:
    """A client column in ``line`` as a code point column.

    Clamped to the line (LSP: a character beyond the line's end means its end); a column that
    falls inside a character (mid UTF-8 sequence or surrogate pair) maps to that character's start.
    """
    units = max(0, units)
    if encoding is Encoding.UTF32 or line.isascii():
        return min(units, len(line))
    count = 0
    for index, char in enumerate(line):
        count += _units(char, encoding)
        if count > units:
            return index
    return len(line)


@dataclass(frozen=True)
class LineIndex:
    """A text's lines, and conversions between our spans and LSP ranges for that text.

    Backed by :class:`~perfsquad.source.SourceText` (line start offsets only): lines are sliced
    on demand, so building one costs a single scan of the text.
    """

    source: SourceText
    encoding: Encoding

    @classmethod
    def of(cls, text: str, encoding: Encoding) -> LineIndex:
        return cls(SourceText.from_text(text), encoding)

    @property
    def line_count(self) -> int:
        return self.source.line_count

    def line(self, line0: int) -> str:
        """A 0-based line's text without its ending (empty beyond the end)."""
        return self.source.line(line0 + 1)

    def position(self, pos: Position) -> types.Position:
        line0 = max(pos.line - 1, 0)
        return types.Position(line=line0, character=to_units(self.line(line0), pos.column, self.encoding))

    def range(self, span: Span) -> types.Range:
        return types.Range(start=self.position(span.start), end=self.position(span.end))

    def to_position(self, pos: types.Position) -> Position:
        """An LSP position as one of ours (1-based line, code point column)."""
        return Position(pos.line + 1, from_units(self.line(pos.line), pos.character, self.encoding))

    def to_span(self, rng: types.Range) -> Span:
        return Span(self.to_position(rng.start), self.to_position(rng.end))

    def offset(self, pos: types.Position) -> int:
        """An LSP position as an offset into the text (clamped; past the last line means the end)."""
        if pos.line >= self.source.line_count:
            return len(self.source.text)
        return self.source.offset(self.to_position(pos))

    def end(self) -> types.Position:
        """The position just past the last character of the text."""
        last = max(self.source.line_count - 1, 0)
        return types.Position(line=last, character=_units(self.line(last), self.encoding))


def apply_change(text: str, change: types.TextDocumentContentChangeEvent, encoding: Encoding) -> str:
    """One ``didChange`` content change applied to ``text``.

    Lines are counted the LSP way (``\\r\\n``, ``\\r``, ``\\n`` only), unlike ``str.splitlines``,
    which also breaks at form feeds and Unicode separators and would misplace edits after them.
    """
    rng = getattr(change, "range", None)
    if rng is None:
        return change.text
    index = LineIndex.of(text, encoding)
    start, end = index.offset(rng.start), index.offset(rng.end)
    if end < start:
        start, end = end, start
    # The new text with its line table (derived from this one), which the analysis and the
    # position conversions of this version then share.
    return index.source.splice(start, end, change.text).text


def contains(span: Span, pos: Position) -> bool:
    """Whether ``pos`` lies in ``span`` (end inclusive, so a cursor just after a token counts)."""
    return span.start <= pos <= span.end


def overlaps(a: Span, b: Span) -> bool:
    return a.start <= b.end and b.start <= a.end
