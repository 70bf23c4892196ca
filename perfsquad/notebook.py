"""Jupyter notebooks (``.ipynb``): their code cells as one virtual module, and back.

A notebook runs its code cells top to bottom in one namespace, so they are analyzed as one module
(a name a cell defines resolves in the cells after it). :func:`virtual_module` joins the code cells,
each after a separator comment line, and masks what is not Python (IPython's ``%magic`` and
``!shell`` lines, ``x = !cmd``, ``obj?`` help, cells under a ``%%`` cell magic whose body is not
Python) line for line, so every other line keeps its position and no finding can start on a masked
line. Findings keep the virtual module's positions inside perfsquad (the cache, the fixes, the
editor's incremental analysis all work on that one text); ``FileReport.cells`` maps them back, and
the front ends show ``cell N:line:col``.

Writing a fixed notebook back (:func:`split_fixed` then :func:`splice`) replaces only the JSON text
of the fixed cells' ``source`` values: indentation, key order, escapes, outputs, metadata and the
trailing newline stay byte for byte as they were (``nbformat.write`` would re-serialize the whole
file in its own layout). The result is validated with ``nbformat`` before it is written.

Ground level: this module imports nothing of perfsquad but the model (nbformat is imported lazily,
only when a notebook is read).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from perfsquad.model import FileReport, Finding, NotebookCell, Position, Span

SUFFIX = ".ipynb"
_SEPARATOR = "# %% [perfsquad cell {index}]"
_SEPARATOR_RE = re.compile(r"# %% \[perfsquad cell (\d+)\]\Z")
_MASK = "# [perfsquad masked {key}]"
_MASK_RE = re.compile(r"[ \t]*(?:pass  )?# \[perfsquad masked (\d+)\]\Z")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
"""Cell magics whose body is Python (IPython runs it): only their ``%%`` line is masked."""
_HELP = re.compile(r"[ \t]*(?:\?{1,2}[\w.]+|[\w.]+(?:\(\))?\?{1,2})[ \t]*\Z")
_ASSIGNED_MAGIC = re.compile(r"[ \t]*[\w.\[\]'\", ]+?[ \t]*=[ \t]*[%!](?!=)")
"""``files = !ls``, ``t = %timeit -o f()``: never valid Python (no operator ``= %``/``= !``)."""


class NotebookError(ValueError):
    """The file is not a notebook perfsquad can read (not JSON, not nbformat)."""


def is_notebook(path: str) -> bool:
    return path.endswith(SUFFIX)


@dataclass(frozen=True, slots=True)
class CodeCell:
    index: int
    """The cell's position in the notebook's ``cells`` list (0-based; markdown cells count)."""
    id: str | None
    source: str


def read_cells(data: bytes | str) -> list[CodeCell]:
    """The Python code cells of a notebook file, read with nbformat (converted to version 4 in
    memory: a version 3 notebook is read, never rewritten). A notebook of another kernel language
    (R, Julia) has none."""
    import warnings

    import nbformat

    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        with warnings.catch_warnings():  # (nbformat warns about what it repairs in memory: ids it makes up)
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4, capture_validation_error={})  # type: ignore[no-untyped-call]
    except Exception as exc:  # nbformat raises JSON, reader and schema errors of many types
        raise NotebookError(f"not a readable notebook: {exc}") from exc
    metadata = nb.get("metadata", {})
    language = (metadata.get("kernelspec", {}).get("language") or metadata.get("language_info", {}).get("name") or "python")
    if str(language).lower() != "python":
        return []
    # A cell's id as the file has it: nbformat makes one up in memory for a 4.5 cell that lacks it.
    raw = json.loads(text)
    raw_cells = raw.get("cells") if isinstance(raw, dict) and raw.get("nbformat") == 4 else None
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        cell_id = None
        if isinstance(raw_cells, list) and index < len(raw_cells) and isinstance(raw_cells[index], dict):
            found = raw_cells[index].get("id")
            cell_id = found if isinstance(found, str) else None
        cells.append(CodeCell(index, cell_id, "".join(source) if isinstance(source, list) else str(source)))
    return cells


@dataclass(frozen=True)
class VirtualModule:
    text: str
    cells: tuple[NotebookCell, ...]
    masked: dict[int, str]
    """Mask key -> the original line (without its line break) the mask stands for."""
    sources: tuple[str, ...]
    """Each code cell's original source, in the order of ``cells``."""


def virtual_module(cells: Iterable[CodeCell]) -> VirtualModule:
    """One module of the code cells, each after a separator line, magics masked line for line."""
    parts: list[str] = []
    spans: list[NotebookCell] = []
    masked: dict[int, str] = {}
    sources: list[str] = []
    line = 1
    for cell in cells:
        parts.append(_SEPARATOR.format(index=cell.index) + "\n")
        line += 1
        body = _mask(cell.source, masked)
        lines = len(_LINE_BREAK.split(body))
        parts.append(body if body.endswith(("\n", "\r")) else body + "\n")
        if body.endswith(("\n", "\r")):
            lines -= 1  # (the empty text after a final line break is no line of the cell)
        spans.append(NotebookCell(cell.index, cell.id, line, max(lines, 1)))
        sources.append(cell.source)
        line += max(lines, 1)
    return VirtualModule("".join(parts), tuple(spans), masked, tuple(sources))


def _mask(source: str, masked: dict[int, str]) -> str:
    """``source`` with its IPython-only lines replaced by mask lines (same line count, same line
    breaks): a comment at the left margin, ``pass`` plus the comment when indented (a block whose
    only statement was a magic stays a block)."""
    pieces = _LINE_BREAK.split(source)
    breaks = _LINE_BREAK.findall(source)
    first = next((i for i, text in enumerate(pieces) if text.strip()), None)
    whole_cell = False
    if first is not None and pieces[first].lstrip().startswith("%%"):
        name = pieces[first].lstrip()[2:].split(maxsplit=1)
        whole_cell = not name or name[0] not in _PYTHON_CELL_MAGICS
        to_mask = set(range(len(pieces))) if whole_cell else {first}
    else:
        to_mask = set()
    if not whole_cell:
        to_mask |= _magic_lines(pieces, skip=to_mask)
    out = []
    for i, text in enumerate(pieces):
        if i in to_mask and text.strip():
            key = len(masked)
            masked[key] = text
            indent = text[: len(text) - len(text.lstrip())]
            mask = _MASK.format(key=key)
            out.append(f"{indent}pass  {mask}" if indent and not whole_cell else mask)
        else:
            out.append(text)
    return "".join(text + (breaks[i] if i < len(breaks) else "") for i, text in enumerate(out))


def _magic_lines(lines: Sequence[str], skip: set[int]) -> set[int]:
    """The lines that start a statement with IPython syntax (and the lines a trailing backslash
    continues them onto). A line inside brackets or a triple-quoted string never starts a
    statement: ``(a\\n % b)`` is a modulo, not a magic."""
    found: set[int] = set()
    depth = 0
    quote: str | None = None
    continued = False
    magic_continues = False
    for i, line in enumerate(lines):
        if i in skip:
            continue
        if magic_continues:
            found.add(i)
            magic_continues = line.endswith("\\")
            continue
        at_start = depth == 0 and quote is None and not continued
        stripped = line.lstrip()
        if at_start and (
            stripped.startswith(("%", "!")) or _HELP.match(line) or _ASSIGNED_MAGIC.match(line)
        ):
            found.add(i)
            magic_continues = line.endswith("\\")
            continue
        depth, quote, continued = _scan(line, depth, quote)
    return found


def _scan(line: str, depth: int, quote: str | None) -> tuple[int, str | None, bool]:
    """Bracket depth and open triple quote after ``line``; whether a backslash continues it."""
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if quote is not None:
            if ch == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            i += 1
            continue
        if ch == "#":
            break
        if ch in "\"'":
            triple = line[i : i + 3]
            if triple in ('"""', "'''"):
                quote = triple
                i += 3
                continue
            end = i + 1
            while end < n and line[end] != ch:
                end += 2 if line[end] == "\\" else 1
            i = end + 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        i += 1
    if quote is not None and len(quote) == 1:
        quote = None
    return depth, quote, quote is None and line.endswith("\\")


# -- positions ---------------------------------------------------------------------------------------
def attach(report: FileReport, module: VirtualModule) -> FileReport:
    """``report`` (of ``module.text``) with its cell map, its texts naming cell lines
    (:func:`relabel_lines`); a finding that would start on a separator or a masked line (none
    should) is dropped."""
    cells = module.cells
    lines = _lines(module.text)
    kept = tuple(relabel_finding(f, cells) for f in report.findings if _on_code_line(cells, lines, f.span.start.line))
    functions = tuple(
        replace(m, complexity_reason=relabel_lines(m.complexity_reason, cells)) if m.complexity_reason else m
        for m in report.functions
    )
    return replace(report, findings=kept, functions=functions, cells=cells)


_LINE_MENTION = re.compile(r"(?<!\d, )\bline (\d+)\b")
"""``line 12``, not the ``line 2`` of ``cell 3, line 2``: relabelling twice changes nothing."""


def relabel_lines(text: str, cells: Sequence[NotebookCell]) -> str:
    """``text`` with its mentions of module lines (``line 12``, as rules' evidence and notes and the
    Big-O reasons say them) as the cell's: ``cell 3, line 2``."""

    def cell_line(match: re.Match[str]) -> str:
        located = in_cell(cells, Position(int(match.group(1)), 0))
        if located is None:
            return match.group(0)
        return f"cell {located[0].index + 1}, line {located[1].line}"

    return _LINE_MENTION.sub(cell_line, text) if "line " in text else text


def relabel_finding(finding: Finding, cells: Sequence[NotebookCell]) -> Finding:
    """A finding whose message, evidence and notes name cell lines instead of module lines."""
    return replace(
        finding,
        message=relabel_lines(finding.message, cells),
        evidence=relabel_lines(finding.evidence, cells) if finding.evidence is not None else None,
        notes=tuple(relabel_lines(n, cells) for n in finding.notes),
    )


def _on_code_line(cells: Sequence[NotebookCell], lines: Sequence[str], line: int) -> bool:
    if locate_cell(cells, line) is None:
        return False
    return not (0 < line <= len(lines) and _MASK_RE.match(lines[line - 1]))


def _lines(text: str, keepends: bool = False) -> list[str]:
    """The lines of a text as perfsquad counts them (``\r\n``, ``\r``, ``\n``: not
    ``str.splitlines``, which also breaks at form feeds and other separators)."""
    if not keepends:
        lines = _LINE_BREAK.split(text)
        return lines[:-1] if lines and lines[-1] == "" else lines
    out, last = [], 0
    for match in _LINE_BREAK.finditer(text):
        out.append(text[last : match.end()])
        last = match.end()
    if last < len(text):
        out.append(text[last:])
    return out


def locate_cell(cells: Sequence[NotebookCell], line: int) -> NotebookCell | None:
    """The cell holding virtual line ``line`` (None for a separator line)."""
    lo, hi = 0, len(cells)
    while lo < hi:
        mid = (lo + hi) // 2
        if cells[mid].first_line <= line:
            lo = mid + 1
        else:
            hi = mid
    if lo == 0:
        return None
    cell = cells[lo - 1]
    return cell if line < cell.first_line + cell.line_count else None


def in_cell(cells: Sequence[NotebookCell], pos: Position) -> tuple[NotebookCell, Position] | None:
    """A virtual position as (cell, position within the cell: 1-based line, 0-based column)."""
    cell = locate_cell(cells, pos.line)
    if cell is None:
        return None
    return cell, Position(pos.line - cell.first_line + 1, pos.column)


def span_in_cell(cells: Sequence[NotebookCell], span: Span) -> tuple[NotebookCell, Span] | None:
    """A virtual span in its start's cell; an end past that cell is clamped to the cell's last line
    (one finding, one cell: a cell is what an editor underlines)."""
    start = in_cell(cells, span.start)
    if start is None:
        return None
    cell, begin = start
    end = in_cell(cells, span.end)
    if end is None or end[0].index != cell.index:
        return cell, Span(begin, Position(cell.line_count, 0) if cell.line_count > begin.line else begin)
    return cell, Span(begin, end[1])


# -- writing back ------------------------------------------------------------------------------------
def cell_ranges(text: str) -> list[tuple[int, int, int]]:
    """(cell index, first line, last line) of each cell in a (fixed) virtual text, from its
    separator lines."""
    lines = _lines(text)
    starts = [(i + 1, int(m.group(1))) for i, line in enumerate(lines) if (m := _SEPARATOR_RE.match(line))]
    ranges = []
    for k, (line, index) in enumerate(starts):
        end = starts[k + 1][0] - 1 if k + 1 < len(starts) else len(lines)
        ranges.append((index, line + 1, end))
    return ranges


def split_fixed(module: VirtualModule, fixed: str) -> dict[int, str] | None:
    """The code cells whose source a fix changed: cell index -> new source, masked lines restored
    and the cell's final line break (or its absence) kept. None when the fixed text lost a
    separator or a mask (a fix across cells: never written)."""
    ranges = cell_ranges(fixed)
    if [r[0] for r in ranges] != [c.index for c in module.cells]:
        return None
    keepends = _lines(fixed, keepends=True)
    changed: dict[int, str] = {}
    seen: set[int] = set()
    for (index, first, last), original in zip(ranges, module.sources, strict=True):
        body_lines = []
        for text in keepends[first - 1 : last]:
            bare = text.rstrip("\r\n")
            match = _MASK_RE.match(bare)
            if match:
                key = int(match.group(1))
                if key in seen or key not in module.masked:
                    return None
                seen.add(key)
                body_lines.append(module.masked[key] + text[len(bare) :])
            else:
                body_lines.append(text)
        body = "".join(body_lines)
        if not original.endswith(("\n", "\r")) and body.endswith("\n"):
            body = body[:-1]
        if body != original:
            changed[index] = body
    if seen != set(module.masked):
        return None
    return changed


@dataclass(frozen=True)
class _Value:
    start: int
    end: int


def source_spans(raw: str) -> dict[int, _Value]:
    """Where each cell's ``source`` value sits in the notebook's JSON text (cell index -> offsets),
    found by walking the JSON (``json``'s own decoder skips every other value)."""
    decoder = json.JSONDecoder()
    spans: dict[int, _Value] = {}
    pos = _ws(raw, 0)
    if not raw.startswith("{", pos):
        raise NotebookError("not a JSON object")
    for key, start, _ in _members(raw, pos, decoder):
        if key != "cells":
            continue
        if not raw.startswith("[", start):
            raise NotebookError("`cells` is not a list")
        for index, cell_start in enumerate(_items(raw, start, decoder)):
            if raw.startswith("{", cell_start):
                for cell_key, value_start, value_end in _members(raw, cell_start, decoder):
                    if cell_key == "source":
                        spans[index] = _Value(value_start, value_end)
    return spans


def _ws(raw: str, pos: int) -> int:
    while pos < len(raw) and raw[pos] in " \t\r\n":
        pos += 1
    return pos


def _members(raw: str, pos: int, decoder: json.JSONDecoder) -> Iterable[tuple[str, int, int]]:
    """(key, value start, value end) of the object at ``pos``."""
    pos = _ws(raw, pos + 1)
    if raw.startswith("}", pos):
        return
    while True:
        key, pos = json.decoder.scanstring(raw, pos + 1)  # type: ignore[attr-defined]
        pos = _ws(raw, pos)
        pos = _ws(raw, pos + 1)  # the ':'
        _, end = decoder.raw_decode(raw, pos)
        yield key, pos, end
        pos = _ws(raw, end)
        if raw.startswith("}", pos):
            return
        pos = _ws(raw, pos + 1)  # the ','


def _items(raw: str, pos: int, decoder: json.JSONDecoder) -> Iterable[int]:
    """The start of each item of the array at ``pos``."""
    pos = _ws(raw, pos + 1)
    if raw.startswith("]", pos):
        return
    while True:
        _, end = decoder.raw_decode(raw, pos)
        yield pos
        pos = _ws(raw, end)
        if raw.startswith("]", pos):
            return
        pos = _ws(raw, pos + 1)


def splice(raw: str, sources: dict[int, str]) -> str:
    """``raw`` with the ``source`` values of the cells in ``sources`` replaced, each written in the
    layout its old value had: a list of lines (one per JSON line, at the old items' indentation) or
    one string; non-ASCII escaped as ``\\uXXXX`` only if the file escapes it."""
    if not sources:
        return raw
    spans = source_spans(raw)
    ascii_only = raw.isascii()
    out = []
    last = 0
    for index in sorted(sources):
        if index not in spans:
            raise NotebookError(f"cell {index + 1} has no source to replace")
        span = spans[index]
        old = raw[span.start : span.end]
        out.append(raw[last : span.start])
        out.append(_serialize_like(old, sources[index], ascii_only))
        last = span.end
    out.append(raw[last:])
    return "".join(out)


def _serialize_like(old: str, source: str, ascii_only: bool) -> str:
    if not old.startswith("["):
        return json.dumps(source, ensure_ascii=ascii_only)
    lines = source.splitlines(keepends=True)
    if not lines:
        return "[]"
    inner = old[1:]
    item_ws = inner[: len(inner) - len(inner.lstrip())]
    close_ws = old[len(old.rstrip()[:-1].rstrip()) : -1] if old.rstrip().endswith("]") else ""
    if not item_ws:  # `[]` before, or one line `["a", "b"]`: keep it on one line
        sep = ", " if ", " in old else ","
        return "[" + sep.join(json.dumps(line, ensure_ascii=ascii_only) for line in lines) + "]"
    sep = "," + item_ws
    return "[" + item_ws + sep.join(json.dumps(line, ensure_ascii=ascii_only) for line in lines) + close_ws + "]"


def validate(raw: str) -> None:
    """Raise :class:`NotebookError` unless nbformat reads ``raw`` as a valid notebook."""
    import nbformat

    try:
        nb = nbformat.reads(raw, as_version=nbformat.NO_CONVERT)  # type: ignore[no-untyped-call]
        nbformat.validate(nb)
    except Exception as exc:
        raise NotebookError(f"the fixed notebook would not be valid: {exc}") from exc


def raw_position(raw: str, cell_index: int, pos: Position) -> Position | None:
    """Where a position within a cell's source (1-based line, 0-based column) lies in the
    notebook's JSON text (1-based line, 0-based column): what a SARIF region of the ``.ipynb``
    file points at. None when the cell has no source value there."""
    spans = source_spans(raw)
    if cell_index not in spans:
        return None
    value = spans[cell_index]
    old = raw[value.start : value.end]
    decoder = json.JSONDecoder()
    strings: list[tuple[int, str]] = []  # (offset of the opening quote in raw, decoded text)
    if old.startswith("["):
        for start in _items(raw, value.start, decoder):
            text, _ = decoder.raw_decode(raw, start)
            strings.append((start, str(text)))
    else:
        strings.append((value.start, str(json.loads(old))))
    line = 1
    for start, text in strings:
        pieces = _lines(text, keepends=True) or [""]
        at = 0
        for piece in pieces:
            if line == pos.line:
                bare = piece.rstrip("\r\n")
                offset = _raw_offset(raw, start, at + min(pos.column, len(bare)))
                before = raw[:offset]
                return Position(before.count("\n") + 1, offset - (before.rfind("\n") + 1))
            at += len(piece)
            if piece.endswith(("\n", "\r")):
                line += 1
    return None


def _raw_offset(raw: str, quote: int, chars: int) -> int:
    """The offset in ``raw`` of the ``chars``-th decoded character of the JSON string at ``quote``."""
    i = quote + 1
    for _ in range(chars):
        if raw[i] == "\\":
            i += 6 if raw[i + 1] == "u" else 2
        else:
            i += 1
    return i
