"""Fixing through ``perfsquad.autofix``: ``check --fix``/``--diff`` and the fix loop with the workspace index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from perfsquad.autofix import fix_file, fix_paths, fix_text
from perfsquad.semantics.index import ProjectIndex, summarize_source

DB = 'def load_one(conn, i):\n    return conn.execute("SELECT * FROM t WHERE id = ?", (i,)).fetchone()\n'
MAIN = """from pkg.db import load_one


def fetch_all(conn, ids):
    rows = []
    for i in ids:
        rows.append(load_one(conn, i))
    return rows


def squares(xs):
    out = []
    for x in xs:
        out.append(x * x)
    return out
"""
LOOP = "def f(xs):\n    result = []\n    for x in xs:\n        result.append(x)\n    return result\n"


def _package(tmp_path: Path) -> Path:
    """``pkg/main.py`` queries in a loop through ``pkg/db.load_one`` (a cross-module N+1, found only
    with the workspace index) and has two append loops with safe fixes."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "db.py").write_text(DB)
    (pkg / "main.py").write_text(MAIN)
    return pkg


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("cache", [["--no-cache"], []], ids=["no-cache", "cache"])
def test_fix_reports_what_a_plain_check_of_the_fixed_tree_reports(tmp_path: Path, cache: list[str]) -> None:
    _package(tmp_path)
    fixed = _cli(tmp_path, *cache, "--fix", "pkg")
    assert "rows = [load_one(conn, i) for i in ids]" in (tmp_path / "pkg" / "main.py").read_text()
    assert "out = [x * x for x in xs]" in (tmp_path / "pkg" / "main.py").read_text()
    assert "Fixed 2 findings." in fixed.stdout
    # The cross-module N+1 is still there: --fix must say so, and fail, as a plain check does.
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "pkg/main.py:5:13: IO001 " in fixed.stdout
    assert "All checks passed" not in fixed.stdout
    plain = _cli(tmp_path, *cache, "pkg")
    assert plain.returncode == 1
    findings = [line for line in plain.stdout.splitlines() if not line.startswith(("Found", "Fixed"))]
    assert findings == [line for line in fixed.stdout.splitlines() if not line.startswith(("Found", "Fixed"))]
    assert "Found 1 finding in 3 files." in plain.stdout and "Found 1 finding in 3 files." in fixed.stdout
    # --no-cache writes no cache (the fix run's throwaway one is gone); the default does.
    assert (tmp_path / ".perfsquad").exists() == (cache == [])


def test_diff_says_would_fix_and_writes_nothing(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    result = _cli(tmp_path, "--no-cache", "--diff", "pkg")
    assert result.returncode == 1
    assert "Would fix 2 findings." in result.stdout and "Fixed" not in result.stdout
    assert "+    rows = [load_one(conn, i) for i in ids]" in result.stdout
    assert (pkg / "main.py").read_text() == MAIN
    # The reports --diff prints are those of the files as they are (unfixed): three findings.
    assert "Found 3 findings in 3 files." in result.stdout


def test_fix_says_fixed_one(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(LOOP)
    result = _cli(tmp_path, "--no-cache", "--fix", "a.py")
    assert "Fixed 1 finding." in result.stdout and "All checks passed (1 file)." in result.stdout
    assert result.returncode == 0


def test_fix_with_complexity_reports_the_fixed_files_functions(tmp_path: Path) -> None:
    """The reports after --fix are a plain check's, metrics included (the fixed file's were lost)."""
    (tmp_path / "a.py").write_text(LOOP)
    result = _cli(tmp_path, "--no-cache", "--fix", "--complexity", "a.py")
    assert "Fixed 1 finding." in result.stdout
    assert "a.py:1: f O(n) cyclomatic=2" in result.stdout


def test_fix_paths_links_the_whole_tree(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    result = fix_paths([pkg], unsafe=False, jobs=1)
    assert result.applied == 2 and [Path(f.path).name for f in result.files] == ["main.py"]
    assert [(Path(r.path).name, [f.code for f in r.findings]) for r in result.reports] == [
        ("__init__.py", []),
        ("db.py", []),
        ("main.py", ["IO001"]),
    ]


def test_fix_text_reanalyzes_with_the_index(tmp_path: Path) -> None:
    """The loop's final report includes the cross-module finding when given the workspace index."""
    pkg = _package(tmp_path)
    index = ProjectIndex()
    for name in ("__init__.py", "db.py", "main.py"):
        summary = summarize_source((pkg / name).read_bytes(), str(pkg / name))
        assert summary is not None
        index.add(summary)
    path = str(pkg / "main.py")
    with_index = fix_text(MAIN, path, project=index)
    without = fix_text(MAIN, path)
    assert with_index.text == without.text and with_index.applied == 2 and with_index.converged
    assert [f.code for f in with_index.report.findings] == ["IO001"]
    assert [f.code for f in without.report.findings] == []


def test_fix_file_keeps_encoding_mode_and_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    source = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + LOOP.replace("\n", "\r\n")
    real.write_bytes(source.encode("latin-1"))
    real.chmod(0o755)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    fixed = fix_file(link)
    assert fixed is not None and fixed.applied == 1
    assert link.is_symlink()
    data = real.read_bytes()
    assert data.startswith(b"# -*- coding: latin-1 -*-\n# caf\xe9\n")
    assert b"    result = [x for x in xs]\r\n    return result\r\n" in data
    assert real.stat().st_mode & 0o777 == 0o755
    assert fix_file(link) is None  # converged: nothing left
    assert not list(tmp_path.glob("*.tmp*"))


def test_an_editor_index_keeps_the_documents_text_not_the_fixed_one(tmp_path: Path) -> None:
    """Fix All only offers the fixed text: the editor's (live) index must still describe the
    document as it is (here: ``load_one`` stays at line 8, not the fixed text's line 6)."""
    pkg = _package(tmp_path)
    text = LOOP.replace("f(xs)", "squares(xs)") + "\n\n" + DB
    path = pkg / "store.py"
    path.write_text(text)
    index = ProjectIndex()
    index.live = True
    result = fix_text(text, str(path), project=index)
    assert result.applied == 1 and "def load_one" in result.text.splitlines()[5]
    summary = index.function("pkg.store.load_one")
    assert summary is not None and summary.line == 8


def test_fix_never_writes_through_a_symlink_out_of_the_tree(tmp_path: Path) -> None:
    """A ``.py`` symlink inside the checked tree pointing outside it (a cloned repository can ship
    one) is reported, and skipped by ``--fix`` with a message; a link inside the tree is fixed."""
    outside = tmp_path / "elsewhere.py"
    outside.write_text(LOOP)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "escape.py").symlink_to(outside)
    inner = tree / "real.py"
    inner.write_text(LOOP)
    (tree / "alias.py").symlink_to(inner)
    proc = _cli(tmp_path, "--fix", "--no-cache", "tree")
    assert outside.read_text() == LOOP, "a file outside the tree was rewritten"
    assert "escape.py: not fixed, it is a symlink to" in proc.stderr
    assert "result = [x for x in xs]" in inner.read_text()
    assert (tree / "alias.py").is_symlink() and (tree / "escape.py").is_symlink()
    assert proc.returncode == 1 and "IDM001" in proc.stdout  # the link's finding is still reported
    with pytest.raises(Exception, match="outside the checked tree"):
        fix_file(tree / "escape.py", within=[tree])
