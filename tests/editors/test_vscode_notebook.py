"""A Jupyter notebook in a real VS Code (code-server 4.100.3), separately from ``test_vscode.py``
so it can run alone: ``pytest tests/editors/test_vscode_notebook.py``.

code-server opens ``.ipynb`` files in its notebook editor with VS Code's built-in ``vscode.ipynb``
extension (the ``jupyter-notebook`` serializer ships with VS Code; the Jupyter extension is only
needed to run cells, and it is not installed: the gallery is unreachable here). The extension's
client syncs the notebook's Python cells to the server (LSP notebook document sync). The test
checks, on screen and on disk: the squiggle in the cosine cell, the quick fix applied from that
cell, the notebook saved by VS Code and still read and validated by nbformat with its other cells
and outputs intact. Screenshots go to tests/editors/vscode/artifacts/ (``nb-*.png``).

It reuses the code-server, .vsix and install fixtures of ``test_vscode.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from test_vscode import ARTIFACTS, _step, code_server, e2e_prefix, run_driver, vsix  # noqa: F401 (fixtures)

COSINE = (
    "def cosine(u: np.ndarray, v: np.ndarray) -> float:\n"
    "    dot = sum(x * y for x, y in zip(u, v))\n"
    "    return dot / (np.linalg.norm(u) * np.linalg.norm(v))"
)


def _notebook(path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Similarity\nA pure-Python cosine over NumPy vectors."),
            new_code_cell("%matplotlib inline\nimport numpy as np", execution_count=1),
            new_code_cell(COSINE, execution_count=2),
            new_code_cell(
                "cosine(np.ones(3), np.ones(3))",
                execution_count=3,
                outputs=[new_output("execute_result", data={"text/plain": "1.0"}, execution_count=3)],
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, str(path))


def test_vscode_notebook_quick_fix(code_server: dict[str, object], e2e_prefix: Path, tmp_path: Path) -> None:  # noqa: F811
    workspace = code_server["workspace"]
    assert isinstance(workspace, Path)
    notebook = workspace / "similarity.ipynb"
    _notebook(notebook)
    before = nbformat.read(str(notebook), as_version=4)
    result = run_driver(
        "drive_notebook.js", code_server, e2e_prefix, tmp_path,
        FILE=notebook.name,
        FILE_PATH=str(notebook),
        LINE="zip(u,",  # (Monaco renders spaces as non-breaking ones: texts without spaces match surely)
        FIX="Fix VEC001",
        FIXED="np.dot(u,",
    )  # fmt: skip
    elapsed = float(result["elapsed"])  # type: ignore[arg-type]

    # The notebook editor showed the cells, and the squiggle sits in the cosine cell.
    assert int(_step(result, "notebook opened")["cells"]) >= 3  # type: ignore[call-overload]
    assert int(_step(result, "squiggle in cell")["squiggles"]) >= 1  # type: ignore[call-overload]
    problems = "\n".join(_step(result, "problems listed")["problems"])  # type: ignore[arg-type]
    assert "VEC001" in problems

    # The quick fix, offered in the cell and applied there; the notebook saved by VS Code.
    actions = _step(result, "quick fixes offered")["actions"]
    assert any("Fix VEC001" in a and "(unsafe)" in a for a in actions), actions  # type: ignore[union-attr]
    _step(result, "squiggle gone")

    # On disk: still a valid notebook (nbformat reads and validates it); only the cosine cell changed.
    after = nbformat.read(str(notebook), as_version=4)
    nbformat.validate(after)
    assert [c.cell_type for c in after.cells] == [c.cell_type for c in before.cells]
    assert after.cells[2].source == COSINE.replace("sum(x * y for x, y in zip(u, v))", "np.dot(u, v)")
    for i in (0, 1, 3):
        assert after.cells[i].source == before.cells[i].source
    assert after.cells[3].outputs == before.cells[3].outputs  # the output survived the save
    shutil.copyfile(notebook, ARTIFACTS / "similarity-after.ipynb")
    print(f"real VS Code notebook drive: {elapsed:.0f} s")
