"""Fixtures of the packaging tests: this checkout as a committed git repository (a hook repository
for pre-commit) and as a built wheel installed in a fresh virtual environment, each made once per
session (building and installing reach PyPI through pip's configuration)."""

from __future__ import annotations

import shutil
import sys
import venv
from pathlib import Path

import pytest
from packaging_support import GIT_ID, clean_env, run
from support import ROOT


@pytest.fixture(scope="session")
def source_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The checkout's files as git sees them (tracked and new, not ignored; edits included) committed
    in a new repository: (its path, the commit)."""
    repo = tmp_path_factory.mktemp("perfsquad-src")
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if src.is_file() and not src.is_symlink():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    run(["git", "init", "-q"], cwd=repo)
    run(["git", "add", "-A"], cwd=repo)
    run(["git", *GIT_ID, "commit", "-q", "-m", "snapshot"], cwd=repo)
    return repo, run(["git", "rev-parse", "HEAD"], cwd=repo).stdout.strip()


@pytest.fixture(scope="session")
def wheel(source_repo: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build --wheel`` of the snapshot (an isolated build: setuptools from PyPI)."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source_repo[0])], env=clean_env())
    (built,) = out.glob("perfsquad-*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (no site packages of this one) with only the wheel and its
    dependencies installed; its bin/ directory."""
    root = tmp_path_factory.mktemp("wheel-venv")
    venv.EnvBuilder(with_pip=True, clear=True).create(root)
    bindir = root / "bin"
    run([str(bindir / "python"), "-m", "pip", "install", "--quiet", str(wheel)], env=clean_env())
    return bindir
