"""LSP notebook documents: a notebook is analyzed as one document, published per cell.

With ``notebookDocumentSync`` the client sends a notebook's cells through
``notebookDocument/didOpen|didChange|didSave|didClose`` (pygls keeps the notebook and its cells'
text documents in its workspace) and asks hover, code actions and code lenses about a *cell* URI.
The server keeps one document per notebook, keyed by the notebook's URI: its text is the virtual
module of its Python code cells (``perfsquad.notebook.virtual_module``: the cells joined in order,
each after a separator line, IPython lines masked), analyzed like any file. A :class:`Layout`
records where each cell's lines sit in that text, so diagnostics are split and shifted onto each
cell's URI, and a request about a cell is shifted onto the notebook's text and its answer back.

Only lines shift: a cell's line is the same text in the module (masked lines excepted, and no
finding starts on one), so columns, in any encoding, are the same.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from lsprotocol import types

from perfsquad import notebook
from perfsquad.config import Config
from perfsquad.model import NotebookCell
from perfsquad.server.actions import minimal_edit
from perfsquad.server.conversions import Encoding

NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[
        types.NotebookDocumentFilterWithNotebook(
            notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")]
        )
    ],
    save=True,
)
"""What the server asks clients to sync: Jupyter notebooks' Python cells."""

_KEPT_LAYOUTS = 4


@dataclass(frozen=True)
class CellPlace:
    uri: str
    index: int
    """The cell's index in the notebook (0-based, every kind of cell counts)."""
    first: int
    """The 0-based line of the module holding the cell's first line."""
    count: int


@dataclass(frozen=True)
class Layout:
    """Where each code cell of one text of a notebook sits in the module made of them."""

    notebook_uri: str
    text: str
    cells: tuple[CellPlace, ...]

    def notebook_cells(self) -> tuple[NotebookCell, ...]:
        """The cells as ``perfsquad.notebook`` sees them (1-based first lines)."""
        return tuple(NotebookCell(c.index, None, c.first + 1, c.count) for c in self.cells)

    def cell(self, uri: str) -> CellPlace | None:
        return next((c for c in self.cells if c.uri == uri), None)

    def at_line(self, line: int) -> CellPlace | None:
        return next((c for c in self.cells if c.first <= line < c.first + c.count), None)

    def to_module(self, cell: CellPlace, pos: types.Position) -> types.Position:
        return types.Position(line=pos.line + cell.first, character=pos.character)

    def range_to_module(self, cell: CellPlace, rng: types.Range) -> types.Range:
        return types.Range(start=self.to_module(cell, rng.start), end=self.to_module(cell, rng.end))

    def to_cell(self, rng: types.Range) -> tuple[CellPlace, types.Range] | None:
        """A module range in its cell (None when it starts outside a cell or ends in another)."""
        cell = self.at_line(rng.start.line)
        if cell is None or not cell.first <= rng.end.line < cell.first + cell.count + 1:
            return None
        end = rng.end
        if end.line == cell.first + cell.count and end.character != 0:
            return None  # (the end of the cell's last line may only be given as the next line's start)
        shifted = types.Range(
            start=types.Position(line=rng.start.line - cell.first, character=rng.start.character),
            end=types.Position(line=end.line - cell.first, character=end.character),
        )
        return cell, shifted


def code_cells(nb: types.NotebookDocument, text_of: Callable[[str], str | None]) -> list[tuple[str, int, str]]:
    """(cell URI, index in the notebook, text) of the notebook's code cells with a text."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.kind != types.NotebookCellKind.Code:
            continue
        text = text_of(cell.document)
        if text is not None:
            found.append((cell.document, index, text))
    return found


def build(notebook_uri: str, cells: Sequence[tuple[str, int, str]]) -> tuple[notebook.VirtualModule, Layout]:
    module = notebook.virtual_module(notebook.CodeCell(index, None, text) for _, index, text in cells)
    places = tuple(
        CellPlace(uri, place.index, place.first_line - 1, place.line_count)
        for (uri, _, _), place in zip(cells, module.cells, strict=True)
    )
    return module, Layout(notebook_uri, module.text, places)


class Notebooks:
    """The open notebooks' layouts (the latest few texts of each), and the cells published to."""

    def __init__(self) -> None:
        self.open: set[str] = set()
        self._layouts: dict[str, OrderedDict[str, Layout]] = {}
        self._modules: dict[tuple[str, str], notebook.VirtualModule] = {}
        self.published: dict[str, set[str]] = {}
        """Notebook URI -> the cell URIs that last got diagnostics from it (to clear them)."""

    def remember(self, module: notebook.VirtualModule, layout: Layout) -> None:
        kept = self._layouts.setdefault(layout.notebook_uri, OrderedDict())
        kept[layout.text] = layout
        kept.move_to_end(layout.text)
        self._modules[(layout.notebook_uri, layout.text)] = module
        while len(kept) > _KEPT_LAYOUTS:
            text, _ = kept.popitem(last=False)
            self._modules.pop((layout.notebook_uri, text), None)

    def layout(self, notebook_uri: str, text: str) -> Layout | None:
        kept = self._layouts.get(notebook_uri)
        return kept.get(text) if kept is not None else None

    def module(self, notebook_uri: str, text: str) -> notebook.VirtualModule | None:
        return self._modules.get((notebook_uri, text))

    def forget(self, notebook_uri: str) -> None:
        self.open.discard(notebook_uri)
        for text in self._layouts.pop(notebook_uri, {}):
            self._modules.pop((notebook_uri, text), None)


def split_diagnostics(layout: Layout, diagnostics: Iterable[types.Diagnostic]) -> dict[str, list[types.Diagnostic]]:
    """Each code cell's diagnostics, shifted into the cell (every cell gets a list, maybe empty).
    A diagnostic that starts outside a cell (none should) is dropped; one that ends in a later
    cell is cut at the end of its own."""
    per_cell: dict[str, list[types.Diagnostic]] = {cell.uri: [] for cell in layout.cells}
    for diagnostic in diagnostics:
        rng = diagnostic.range
        cell = layout.at_line(rng.start.line)
        if cell is None:
            continue
        if rng.end.line >= cell.first + cell.count:
            rng = types.Range(start=rng.start, end=types.Position(line=cell.first + cell.count, character=0))
        located = layout.to_cell(rng)
        if located is None:
            continue
        per_cell[cell.uri].append(shifted_diagnostic(diagnostic, located[1]))
    return per_cell


def shifted_diagnostic(diagnostic: types.Diagnostic, rng: types.Range) -> types.Diagnostic:
    return types.Diagnostic(
        range=rng,
        message=diagnostic.message,
        severity=diagnostic.severity,
        code=diagnostic.code,
        code_description=diagnostic.code_description,
        source=diagnostic.source,
        data=diagnostic.data,
        tags=diagnostic.tags,
        related_information=diagnostic.related_information,
    )


def cell_edits(layout: Layout, edits: Iterable[types.TextEdit]) -> dict[str, list[types.TextEdit]]:
    """Module edits as edits of the cells they fall in. Raises ValueError for an edit that leaves
    its cell (a fix never applied to a notebook: it would join cells)."""
    out: dict[str, list[types.TextEdit]] = {}
    for edit in edits:
        located = layout.to_cell(edit.range)
        if located is None:
            raise ValueError("the fix spans two notebook cells")
        cell, rng = located
        out.setdefault(cell.uri, []).append(types.TextEdit(range=rng, new_text=edit.new_text))
    return out


def workspace_edit(
    per_cell: dict[str, list[types.TextEdit]], versions: dict[str, int | None], document_changes: bool
) -> types.WorkspaceEdit:
    """One workspace edit of several cells (versioned when the client supports it)."""
    if document_changes:
        changes: list[types.TextDocumentEdit] = []
        for uri, edits in per_cell.items():
            doc = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=versions.get(uri))
            changes.append(types.TextDocumentEdit(text_document=doc, edits=list(edits)))
        return types.WorkspaceEdit(document_changes=changes)
    return types.WorkspaceEdit(changes={uri: list(edits) for uri, edits in per_cell.items()})


def fix_all_edits(
    module: notebook.VirtualModule, layout: Layout, path: str, config: Config, encoding: Encoding
) -> dict[str, list[types.TextEdit]]:
    """Every safe fix of a notebook as one minimal edit per changed cell (blocking: off the loop).
    Analyzed with the notebook's project index, as its diagnostics are."""
    from perfsquad.autofix import fix_cells
    from perfsquad.workspace import index_for

    fixed = fix_cells(module, path, config, project=index_for(path, config))
    if fixed is None:
        return {}
    changed, _ = fixed
    by_index = {cell.index: cell for cell in layout.cells}
    sources = dict(zip((cell.index for cell in module.cells), module.sources, strict=True))
    return {
        by_index[index].uri: [minimal_edit(sources[index], new, encoding)]
        for index, new in changed.items()
        if index in by_index
    }
