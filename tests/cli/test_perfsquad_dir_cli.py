"""`.perfsquad/` ignores itself (#20): profiles, audits, benches and caches are never committed by accident."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import ROOT

from perfsquad.files import ensure_dir


def test_the_first_run_writes_a_gitignore_that_ignores_everything_inside(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f(xs):\n    out = []\n    for x in xs:\n        out.append(x)\n    return out\n")
    proc = subprocess.run([sys.executable, "-m", "perfsquad", "check", "a.py"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    ignore = tmp_path / ".perfsquad" / ".gitignore"
    assert ignore.read_text().splitlines()[-1] == "*"
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True, timeout=30)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path,
                            capture_output=True, text=True, check=True, timeout=30).stdout  # fmt: skip
    assert status.split() == ["??", "a.py"], status


def test_an_existing_directory_gets_one_and_the_users_own_is_kept(tmp_path: Path) -> None:
    old = tmp_path / ".perfsquad"
    old.mkdir()
    ensure_dir(old / "audit")
    assert (old / ".gitignore").read_text().splitlines()[-1] == "*"
    (old / ".gitignore").write_text("profile.json\n")  # the user's choice stays
    ensure_dir(old / "bench")
    assert (old / ".gitignore").read_text() == "profile.json\n"
    ensure_dir(tmp_path / "elsewhere")  # only perfsquad's own directory
    assert not (tmp_path / ".gitignore").exists()
