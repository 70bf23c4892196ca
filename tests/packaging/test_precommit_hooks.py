"""The hooks of .pre-commit-hooks.yaml, run by the real pre-commit (from PyPI) in a throwaway git
repository whose .pre-commit-config.yaml names a committed snapshot of this checkout as its hook
repository: pre-commit clones it and pip-installs perfsquad into its own environment."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from packaging_support import clean_env, run

SLOW = """\
def first_small(items: list[int]) -> int:
    return sorted(items)[0]
"""
FIXABLE = """\
def total_length(d: dict[str, int]) -> int:
    n = 0
    for k in d.keys():
        n += len(k)
    return n
"""
CLEAN = """\
def total_length(d: dict[str, int]) -> int:
    return sum(len(k) for k in d)
"""
NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
         "source": ["def first_small(items):\n", "    return sorted(items)[0]\n"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip


@pytest.fixture(scope="module")
def project(source_repo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo, rev = source_repo
    work = tmp_path_factory.mktemp("precommit-project")
    run(["git", "init", "-q"], cwd=work)
    (work / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {repo.as_posix()}\n    rev: {rev}\n    hooks:\n"
        "      - id: perfsquad\n      - id: perfsquad-fix\n        stages: [manual]\n",
        encoding="utf-8",
    )
    return work


def pre_commit(work: Path, *args: str) -> tuple[int, str]:
    env = clean_env(PRE_COMMIT_HOME=str(work.parent / "pre-commit-home"), PRE_COMMIT_COLOR="never")
    proc = run([sys.executable, "-m", "pre_commit", *args], cwd=work, env=env, timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def stage(work: Path, files: dict[str, str]) -> None:
    run(["git", "rm", "-q", "-r", "--cached", "--ignore-unmatch", "."], cwd=work)
    for old in work.glob("*.py*"):
        old.unlink()
    for name, text in files.items():
        (work / name).write_text(text, encoding="utf-8")
    run(["git", "add", ".pre-commit-config.yaml", *files], cwd=work)


def test_check_hook_fails_on_a_finding_and_passes_on_clean_code(project: Path) -> None:
    stage(project, {"slow.py": SLOW, "clean.py": CLEAN})
    code, out = pre_commit(project, "run", "perfsquad")
    assert code == 1, out
    assert "slow.py:2:12: IDM007" in out and "clean.py" not in out.replace("Passed", "")

    stage(project, {"clean.py": CLEAN})
    code, out = pre_commit(project, "run", "perfsquad")
    assert code == 0, out
    assert "Passed" in out


def test_check_hook_reads_notebooks(project: Path) -> None:
    stage(project, {"nb.ipynb": json.dumps(NOTEBOOK, indent=1) + "\n", "clean.py": CLEAN})
    code, out = pre_commit(project, "run", "perfsquad")
    assert code == 1, out
    assert "nb.ipynb:cell 1:2:12: IDM007" in out


def test_fix_hook_applies_the_safe_fix(project: Path) -> None:
    stage(project, {"fixable.py": FIXABLE})
    code, out = pre_commit(project, "run", "--hook-stage", "manual", "perfsquad-fix")
    assert code == 1, out  # a hook that changed a file fails the commit, as with ruff --fix
    assert "files were modified by this hook" in out
    fixed = (project / "fixable.py").read_text(encoding="utf-8")
    assert "for k in d:" in fixed and ".keys()" not in fixed
    run(["git", "add", "fixable.py"], cwd=project)
    code, out = pre_commit(project, "run", "--hook-stage", "manual", "perfsquad-fix")
    assert code == 0, out
    code, out = pre_commit(project, "run", "perfsquad")
    assert code == 0, out
