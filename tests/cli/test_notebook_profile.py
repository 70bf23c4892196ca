"""``perfsquad profile NOTEBOOK.ipynb``: the code cells run as one script (IPython lines not run),
time attributed to ``cell N:line``; ``check --profile`` weighs the notebook's findings with it; and
``profile -- jupyter nbconvert --execute ...`` says clearly when jupyter is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from support import ROOT

COSINE = (
    "def cosine(u: list[float], v: list[float]) -> float:\n"
    "    dot = 0.0\n"
    "    for x, y in zip(u, v):\n"
    "        dot += x * y\n"
    "    nu = math.sqrt(sum(x * x for x in u))\n"
    "    nv = math.sqrt(sum(y * y for y in v))\n"
    "    return dot / (nu * nv)"
)
WORK = (
    "vectors = [[float(i + j + 1) for j in range(64)] for i in range(120)]\n"
    "total = 0.0\n"
    "for a in vectors:\n"
    "    for b in vectors:\n"
    "        total += cosine(a, b)\n"
    "print(round(total, 3))"
)


def _notebook(path: Path) -> Path:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Busy"),
            new_code_cell("%matplotlib inline\nimport math\n!touch shell-ran"),
            new_code_cell(COSINE),
            new_code_cell(WORK),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _perfsquad(*args: str, cwd: Path, path: str = "/usr/bin:/bin") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfsquad", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": path},
    )  # fmt: skip


def test_a_notebook_is_profiled_cell_by_cell(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "busy.ipynb")
    run = _perfsquad("profile", "--sampler", "cprofile", "--out", "p.json", "--", "busy.ipynb", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    # the functions of cell 3 (1-based, the markdown cell counts): `cosine` on its line 1
    assert "cosine  busy.ipynb:cell 3:1  [CPU]" in run.stdout
    assert "<genexpr>  busy.ipynb:cell 3:5" in run.stdout
    assert "on CPU in: cosine (busy.ipynb:cell 3:1)" in run.stdout  # the bottleneck evidence too
    assert "without its 2 IPython lines" in run.stdout
    assert "Profiled python busy.ipynb with cprofile" in run.stdout
    assert not (tmp_path / "shell-ran").exists()  # the `!touch` line did not run
    profile = json.loads((tmp_path / "p.json").read_text())
    cosine = next(f for f in profile["functions"] if f["name"] == "cosine")
    assert cosine["file"] == str(nb.resolve()) and cosine["calls"] == 120 * 120
    # the line is the notebook module's (cell 3 starts after cell 2's 3 lines and 2 separators)
    assert cosine["line"] == 6


def test_check_weighs_a_notebooks_findings_with_its_profile(tmp_path: Path) -> None:
    _notebook(tmp_path / "busy.ipynb")
    profiled = _perfsquad("profile", "--sampler", "cprofile", "--out", "p.json", "--", "busy.ipynb", cwd=tmp_path)
    assert profiled.returncode == 0, profiled.stderr
    run = _perfsquad("check", "--no-cache", "--profile", "p.json", "--format", "json", "busy.ipynb", cwd=tmp_path)
    findings = json.loads(run.stdout)
    norms = [f for f in findings if f["code"] == "VEC002"]
    assert norms and all(f["cell"]["index"] == 2 for f in norms)
    assert all((f["measured_share"] or 0) > 0 for f in norms), norms


def test_jupyter_not_installed_is_said_clearly(tmp_path: Path) -> None:
    _notebook(tmp_path / "busy.ipynb")
    empty = tmp_path / "bin"
    empty.mkdir()
    run = _perfsquad("profile", "--", "jupyter", "nbconvert", "--execute", "busy.ipynb", cwd=tmp_path, path=str(empty))
    assert run.returncode == 2
    assert "`jupyter` is not installed here" in run.stderr and "perfsquad profile NOTEBOOK.ipynb" in run.stderr
