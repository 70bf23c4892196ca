"""End to end: LSP notebook document sync. A notebook's Python cells are analyzed as one module;
diagnostics, hovers, code actions (quick fix, ignore, fix all) and code lenses are per cell URI.

VS Code's capability profile (the client that syncs notebooks); one server for the module.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_lsp
from lsp_harness import ProbeClient, apply_text_edits, capabilities, config
from lsprotocol import types

pytestmark = [
    pytest.mark.filterwarnings("error::pytest_lsp.LspSpecificationWarning"),
    pytest.mark.asyncio(loop_scope="module"),
]

IMPORTS = "%matplotlib inline\n!pip install numpy\nimport numpy as np\n"
COSINE = (
    "def cosine(u: np.ndarray, v: np.ndarray) -> float:\n"
    "    dot = sum(x * y for x, y in zip(u, v))\n"
    "    return dot / (np.linalg.norm(u) * np.linalg.norm(v))\n"
)
SQUARES = "def squares(values: list[float]) -> list[float]:\n    out = []\n    for v in values:\n        out.append(v * v)\n    return out\n"
FIXED_SQUARES = "def squares(values: list[float]) -> list[float]:\n    out = [v * v for v in values]\n    return out\n"


@pytest_lsp.fixture(params=["visual-studio-code"], config=config(), scope="module")
async def client(request: Any, lsp_client: ProbeClient) -> Any:
    lsp_client.profile = request.param
    lsp_client.root = request.getfixturevalue("tmp_path_factory").mktemp("notebooks")
    caps = capabilities(lsp_client.profile)
    # (VS Code's client says it syncs notebooks; pytest-lsp's recorded profile predates it)
    caps.notebook_document = types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities(execution_summary_support=True)
    )
    root = lsp_client.root.as_uri()
    result = await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=caps, root_uri=root, workspace_folders=[types.WorkspaceFolder(uri=root, name="notebooks")]
        )
    )
    lsp_client.server_capabilities = result.capabilities  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


class Notebook:
    """A notebook the test opens: a markdown cell, then code cells (index 1, 2, ...)."""

    def __init__(self, client: ProbeClient, name: str, sources: list[str]) -> None:
        self.client = client
        self.uri = (client.root / name).as_uri()
        self.cells = [f"vscode-notebook-cell:{client.root / name}#cell{i}" for i in range(len(sources) + 1)]
        self.texts = ["# Title", *sources]
        self.version = 1

    def open(self) -> None:
        kinds = [types.NotebookCellKind.Markup] + [types.NotebookCellKind.Code] * (len(self.cells) - 1)
        self.client.notebook_document_did_open(
            types.DidOpenNotebookDocumentParams(
                notebook_document=types.NotebookDocument(
                    uri=self.uri, notebook_type="jupyter-notebook", version=1,
                    cells=[types.NotebookCell(kind=k, document=c) for k, c in zip(kinds, self.cells, strict=True)],
                ),
                cell_text_documents=[
                    types.TextDocumentItem(uri=c, language_id="markdown" if i == 0 else "python", version=1, text=t)
                    for i, (c, t) in enumerate(zip(self.cells, self.texts, strict=True))
                ],
            )
        )  # fmt: skip

    def edit(self, cell: int, text: str) -> None:
        self.version += 1
        self.texts[cell] = text
        change = types.NotebookDocumentCellContentChanges(
            document=types.VersionedTextDocumentIdentifier(uri=self.cells[cell], version=self.version),
            changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
        self.client.notebook_document_did_change(
            types.DidChangeNotebookDocumentParams(
                notebook_document=types.VersionedNotebookDocumentIdentifier(uri=self.uri, version=self.version),
                change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[change])),
            )
        )

    def close(self) -> None:
        self.client.notebook_document_did_close(
            types.DidCloseNotebookDocumentParams(
                notebook_document=types.NotebookDocumentIdentifier(uri=self.uri),
                cell_text_documents=[types.TextDocumentIdentifier(uri=c) for c in self.cells],
            )
        )

    async def diagnostics(self, cell: int, since: int = 0, *, nonempty: bool | None = None) -> list[types.Diagnostic]:
        def where(p: types.PublishDiagnosticsParams) -> bool:
            return nonempty is None or bool(p.diagnostics) == nonempty

        return await self.client.diagnostics_for(self.cells[cell], since=since, where=where)


async def _actions(client: ProbeClient, uri: str, diagnostic: types.Diagnostic, only: list[str] | None = None) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic], only=only),
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


def _cell_edits(edit: types.WorkspaceEdit | None) -> dict[str, list[types.TextEdit]]:
    assert edit is not None
    if edit.document_changes:
        out: dict[str, list[types.TextEdit]] = {}
        for change in edit.document_changes:
            assert isinstance(change, types.TextDocumentEdit)
            out.setdefault(change.text_document.uri, []).extend(e for e in change.edits if isinstance(e, types.TextEdit))
        return out
    return {uri: list(edits) for uri, edits in (edit.changes or {}).items()}


async def test_the_server_advertises_notebook_sync(client: ProbeClient) -> None:
    sync = client.server_capabilities.notebook_document_sync  # type: ignore[attr-defined]
    assert isinstance(sync, types.NotebookDocumentSyncOptions) and sync.save
    (selector,) = sync.notebook_selector
    assert selector.notebook == "jupyter-notebook"
    assert [c.language for c in selector.cells or ()] == ["python"]


async def test_diagnostics_land_on_their_cells_in_cell_positions(client: ProbeClient) -> None:
    nb = Notebook(client, "cells.ipynb", [IMPORTS, COSINE, SQUARES])
    nb.open()
    cosine = await nb.diagnostics(2, nonempty=True)
    squares = await nb.diagnostics(3, nonempty=True)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in cosine] == [("VEC001", 1, 10)]
    assert cosine[0].range.end == types.Position(line=1, character=42)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in squares] == [("IDM001", 2, 4)]
    assert await nb.diagnostics(1) == []  # the magics' cell: nothing, and no masked-line finding
    # `np` comes from cell 1: without that cell's import the annotations say nothing numeric
    since = client.mark()
    nb.edit(1, "%matplotlib inline\n")
    assert await nb.diagnostics(2, since, nonempty=False) == []
    nb.close()


async def test_hover_on_a_cell_shows_its_finding(client: ProbeClient) -> None:
    nb = Notebook(client, "hover.ipynb", [IMPORTS, COSINE])
    nb.open()
    (diagnostic,) = await nb.diagnostics(2, nonempty=True)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=nb.cells[2]), position=types.Position(1, 20))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "**VEC001**" in hover.contents.value
    assert hover.range == diagnostic.range  # in the cell's own lines
    # the function's Big-O reason names the cell's line, not the notebook module's
    on_name = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=nb.cells[2]), position=types.Position(0, 6))
    )
    assert on_name is not None and isinstance(on_name.contents, types.MarkupContent)
    assert "(cell 3, line 2: `sum(x * y for x, y in zip(u, v))`" in on_name.contents.value, on_name.contents.value
    assert on_name.range == types.Range(start=types.Position(0, 4), end=types.Position(0, 10))
    nb.close()


async def test_quick_fix_edits_the_cell_and_clears_its_diagnostic(client: ProbeClient) -> None:
    nb = Notebook(client, "fix.ipynb", [IMPORTS, SQUARES])
    nb.open()
    (diagnostic,) = await nb.diagnostics(2, nonempty=True)
    found = await _actions(client, nb.cells[2], diagnostic)
    fix = next(a for a in found if a.title.startswith("Fix IDM001"))
    assert fix.diagnostics and fix.diagnostics[0].range == diagnostic.range
    resolved = await client.code_action_resolve_async(fix)
    edits = _cell_edits(resolved.edit)
    assert list(edits) == [nb.cells[2]]
    fixed = apply_text_edits(nb.texts[2], edits[nb.cells[2]])
    assert fixed == FIXED_SQUARES
    since = client.mark()
    nb.edit(2, fixed)
    assert await nb.diagnostics(2, since) == []
    nb.close()


async def test_ignore_comment_goes_on_the_cells_line(client: ProbeClient) -> None:
    nb = Notebook(client, "ignore.ipynb", [IMPORTS, SQUARES])
    nb.open()
    (diagnostic,) = await nb.diagnostics(2, nonempty=True)
    ignore = next(a for a in await _actions(client, nb.cells[2], diagnostic) if a.title.startswith("Ignore"))
    edits = _cell_edits((await client.code_action_resolve_async(ignore)).edit)[nb.cells[2]]
    assert apply_text_edits(nb.texts[2], edits).split("\n")[2] == "    for v in values:  # perfsquad: ignore[IDM001]"
    nb.close()


async def test_fix_all_fixes_each_cell_separately(client: ProbeClient) -> None:
    other = SQUARES.replace("squares", "cubes").replace("v * v", "v * v * v")
    nb = Notebook(client, "all.ipynb", [SQUARES, IMPORTS, other])
    nb.open()
    (diagnostic,) = await nb.diagnostics(1, nonempty=True)
    await nb.diagnostics(3, nonempty=True)
    action = next(a for a in await _actions(client, nb.cells[1], diagnostic) if a.kind == "source.fixAll.perfsquad")
    edits = _cell_edits((await client.code_action_resolve_async(action)).edit)
    assert set(edits) == {nb.cells[1], nb.cells[3]}
    assert apply_text_edits(nb.texts[1], edits[nb.cells[1]]) == FIXED_SQUARES
    assert "out = [v * v * v for v in values]" in apply_text_edits(nb.texts[3], edits[nb.cells[3]])
    nb.close()


async def test_closing_the_notebook_clears_its_cells(client: ProbeClient) -> None:
    nb = Notebook(client, "close.ipynb", [IMPORTS, SQUARES])
    nb.open()
    await nb.diagnostics(2, nonempty=True)
    since = client.mark()
    nb.close()
    assert await nb.diagnostics(2, since) == []


async def test_cells_added_and_removed_change_the_analysis(client: ProbeClient) -> None:
    """Removing the cell that imports `np` drops the cosine cell's finding; a new cell importing it
    again brings the finding back, on the same cell URI at the same in-cell position."""
    nb = Notebook(client, "structure.ipynb", [IMPORTS, COSINE])
    nb.open()
    (first,) = await nb.diagnostics(2, nonempty=True)

    def structure(version: int, change: types.NotebookDocumentCellChangeStructure) -> None:
        client.notebook_document_did_change(
            types.DidChangeNotebookDocumentParams(
                notebook_document=types.VersionedNotebookDocumentIdentifier(uri=nb.uri, version=version),
                change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(structure=change)),
            )
        )

    since = client.mark()
    structure(2, types.NotebookDocumentCellChangeStructure(
        array=types.NotebookCellArrayChange(start=1, delete_count=1),
        did_close=[types.TextDocumentIdentifier(uri=nb.cells[1])],
    ))  # fmt: skip
    assert await nb.diagnostics(2, since, nonempty=False) == []

    since = client.mark()
    new_cell = f"{nb.cells[0]}-new"
    structure(3, types.NotebookDocumentCellChangeStructure(
        array=types.NotebookCellArrayChange(
            start=1, delete_count=0, cells=[types.NotebookCell(kind=types.NotebookCellKind.Code, document=new_cell)]
        ),
        did_open=[types.TextDocumentItem(uri=new_cell, language_id="python", version=1, text="import numpy as np\n")],
    ))  # fmt: skip
    (again,) = await nb.diagnostics(2, since, nonempty=True)
    assert (again.code, again.range) == (first.code, first.range)
    nb.close()
