"""Errors are per file; exit 0 means clean, 1 findings, 2 perfsquad failed; no traceback reaches a
user (issue #19, "Crashes with a traceback and exit 1").

Each case once crashed a whole run with a traceback and exit 1, which CI reads as "findings".
"""

from __future__ import annotations

import marshal
import tempfile
from pathlib import Path

import pytest
from faults import FIXED, LOOP, no_traceback, run_cli

from perfsquad import api, cli
from perfsquad.cli import main

CLEAN = "def f(xs):\n    return [x * 2 for x in xs]\n"


# -- the walk: symlink loops, unreadable directories, vanishing files -----------------------------
def test_symlink_loops_anywhere_in_the_tree_are_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(LOOP)
    (tmp_path / "x.py").symlink_to("y.py")  # x.py -> y.py -> x.py
    (tmp_path / "y.py").symlink_to("x.py")
    (tmp_path / "self.py").symlink_to("self.py")
    sub = tmp_path / "pkg" / "sub"
    sub.mkdir(parents=True)
    (sub / "up").symlink_to("..")  # a directory loop: never followed
    (sub / "inner.py").write_text(LOOP)
    proc = run_cli("check", ".", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1  # the findings decide, not the skipped links
    assert "mod.py:3:5: IDM001" in proc.stdout and "pkg/sub/inner.py:3:5: IDM001" in proc.stdout
    assert "Found 2 findings in 2 files." in proc.stdout  # (the directory loop was not walked twice)
    for name in ("x.py", "y.py", "self.py"):
        assert f"perfsquad: warning: ./{name}: skipped, a symlink loop" in proc.stderr
    proc = run_cli("check", "--fix", ".", cwd=tmp_path)  # --fix goes through the same walk
    no_traceback(proc)
    assert proc.returncode == 0 and (tmp_path / "mod.py").read_text() == FIXED


def test_an_unreadable_directory_is_a_warning_and_the_rest_is_checked(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(LOOP)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "hidden.py").write_text(LOOP)
    secret.chmod(0o000)
    try:
        proc = run_cli("check", "--no-cache", ".", cwd=tmp_path, obey_permissions=True)
        named = run_cli("check", "--no-cache", "secret/hidden.py", cwd=tmp_path, obey_permissions=True)
        root = run_cli("check", "--no-cache", "secret", cwd=tmp_path, obey_permissions=True)
    finally:
        secret.chmod(0o755)
    no_traceback(proc)
    assert proc.returncode == 1 and "mod.py:3:5: IDM001" in proc.stdout
    assert "perfsquad: warning: ./secret: skipped, cannot list it: Permission denied" in proc.stderr
    no_traceback(named)  # a file named on the command line that cannot be reached: perfsquad failed
    assert named.returncode == 2 and "perfsquad: error: secret/hidden.py: Permission denied" in named.stderr
    no_traceback(root)  # the directory named itself: not "All checks passed (0 files)"
    assert root.returncode == 2 and "perfsquad: error: secret: Permission denied" in root.stderr


def test_a_clean_tree_with_a_skipped_path_exits_0(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(CLEAN)
    (tmp_path / "loop.py").symlink_to("loop.py")
    proc = run_cli("check", ".", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0 and "loop.py: skipped" in proc.stderr


def test_a_file_removed_after_the_walk_is_skipped_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a_gone.py").write_text(LOOP)
    (tmp_path / "b_kept.py").write_text(LOOP)
    real_discover = api.discover

    def walk_then_remove(*args: object, **kwargs: object) -> object:
        found = list(real_discover(*args, **kwargs))  # type: ignore[arg-type]
        (tmp_path / "a_gone.py").unlink()  # removed between the walk and the read
        return iter(found)

    monkeypatch.setattr(api, "discover", walk_then_remove)
    code = main(["check", "--no-cache", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1 and "b_kept.py:3:5: IDM001" in out and "a_gone.py:" not in out
    assert "a_gone.py: skipped, removed before it could be read" in err


# -- caches of the wrong shape ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "damage",
    ["report-of-wrong-shape", "entry-of-wrong-shape", "not-a-dict", "summary-of-wrong-shape", "garbage"],
)
def test_a_cache_of_the_wrong_shape_is_rebuilt(tmp_path: Path, damage: str) -> None:
    """Valid marshal data of another structure (another version's cache, a hand edit) once crashed
    every later run until ``.perfsquad`` was deleted by hand."""
    mod = tmp_path / "mod.py"
    mod.write_text(LOOP)
    first = run_cli("check", ".", cwd=tmp_path)
    assert first.returncode == 1
    cache = tmp_path / ".perfsquad" / "cache"
    [reports] = cache.glob("reports-*.marshal")
    [index] = cache.glob("index-*.marshal")
    entries = marshal.loads(reports.read_bytes())
    [(key, (mtime_ns, size, digest, _report))] = entries.items()
    if damage == "report-of-wrong-shape":  # the stat fields match: the report itself is used
        reports.write_bytes(marshal.dumps({key: (mtime_ns, size, digest, {"path": key, "findings": [7]})}))
    elif damage == "entry-of-wrong-shape":
        reports.write_bytes(marshal.dumps({key: (mtime_ns, size), 3: "x"}))
    elif damage == "not-a-dict":
        reports.write_bytes(marshal.dumps([key, mtime_ns]))
        index.write_bytes(marshal.dumps((1, 2)))
    elif damage == "summary-of-wrong-shape":
        # The report is a hit and the last linking differs: the cached summary is linked.
        index.write_bytes(marshal.dumps({key: (digest, ("mod", key, [], 2, {}, {}), "")}))  # (classes: 2)
        index.with_suffix(".key").write_text("another run")
    else:
        reports.write_bytes(b"\x00not marshal at all")
        index.write_bytes(b"")
    for _ in range(2):  # the first run rebuilds the cache, the second uses it
        proc = run_cli("check", ".", cwd=tmp_path)
        no_traceback(proc)
        assert proc.returncode == 1 and proc.stdout == first.stdout, proc.stderr
    rebuilt = marshal.loads(reports.read_bytes())
    assert set(rebuilt) == {key} and rebuilt[key][2] == digest


# -- configuration of the wrong type --------------------------------------------------------------
@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("tool = 1\n", "`tool`"),
        ('tool = "perfsquad"\n', "`tool`"),
        ("[tool]\nperfsquad = 1\n", "must be a table"),
        ("[tool.perfsquad]\nselect = 1\n", "`select`"),
        ("[tool.perfsquad]\nexclude = 1\n", "`exclude`"),
        ("[tool.perfsquad]\nmax-file-bytes = 'big'\n", "`max-file-bytes`"),
        ("[tool.perfsquad]\nseverity = 1\n", "`severity`"),
        ("[tool.perfsquad]\nper-file-ignores = ['x']\n", "`per-file-ignores`"),
        ("[tool.perfsquad]\nconfidence = 1\n", "`confidence`"),
    ],
)
def test_a_configuration_error_is_a_warning_naming_the_key(tmp_path: Path, toml: str, named: str) -> None:
    (tmp_path / "pyproject.toml").write_text(toml)
    (tmp_path / "mod.py").write_text(LOOP)
    proc = run_cli("check", ".", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 1 and "mod.py:3:5: IDM001" in proc.stdout  # analyzed with the defaults
    assert named in proc.stderr, proc.stderr


def test_audit_reads_a_wrong_type_tool_table_without_crashing(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = 1\n")
    (tmp_path / "mod.py").write_text(LOOP)
    proc = run_cli("audit", ".", "--format", "json", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 0 and (tmp_path / ".perfsquad" / "audit" / "report.json").is_file()


# -- --out to an unwritable path ---------------------------------------------------------------------
def test_audit_out_under_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(LOOP)
    (tmp_path / "taken").write_text("a file, not a directory\n")
    proc = run_cli("audit", ".", "--out", "taken/reports", cwd=tmp_path)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "perfsquad audit: error: reports not written to taken/reports: cannot create directory" in proc.stderr
    assert (tmp_path / "taken").read_text() == "a file, not a directory\n"


def test_audit_out_in_a_read_only_directory_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(LOOP)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        proc = run_cli("audit", ".", "--out", "locked/reports", cwd=tmp_path, obey_permissions=True)
    finally:
        locked.chmod(0o755)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "perfsquad audit: error: reports not written to locked/reports" in proc.stderr
    assert "Permission denied" in proc.stderr and list(locked.iterdir()) == []


# -- the top-level handler ----------------------------------------------------------------------------
def _explode(args: object) -> int:
    raise RuntimeError("boom")


def test_an_unexpected_error_is_one_line_a_log_file_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".perfsquad").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "cmd_check", _explode)
    code = main(["check", "."])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert line.startswith("perfsquad: internal error: RuntimeError: boom; details in ")
    log = Path(line.rsplit("details in ", 1)[1])
    assert log.parent == tmp_path / ".perfsquad" / "logs"
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: boom" in text and "_explode" in text


def test_without_a_perfsquad_directory_the_crash_log_goes_to_the_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(cli, "cmd_explain", lambda code, python=None: _explode(code))
    assert main(["explain", "IDM001"]) == 2
    err = capsys.readouterr().err
    [log] = scratch.glob("perfsquad-crash-*.log")
    assert f"details in {log}" in err and "RuntimeError: boom" in log.read_text()
    assert list(work.iterdir()) == []  # nothing made in the working directory


def test_a_symlinked_logs_directory_is_not_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    work = tmp_path / "work"
    (work / ".perfsquad").mkdir(parents=True)
    (work / ".perfsquad" / "logs").symlink_to(outside)
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(cli, "cmd_check", _explode)
    assert main(["check", "."]) == 2
    assert list(outside.iterdir()) == [] and len(list(scratch.glob("perfsquad-crash-*.log"))) == 1
    assert "details in" in capsys.readouterr().err


def test_profile_out_to_an_unwritable_path_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text("total = sum(i * i for i in range(200_000))\n")
    (tmp_path / "taken").write_text("a file, not a directory\n")
    proc = run_cli("profile", "--sampler", "cprofile", "--out", "taken/profile.json", "--", "python", "work.py",
                   cwd=tmp_path)  # fmt: skip
    no_traceback(proc)
    assert proc.returncode == 2
    assert "perfsquad: error: cannot create directory" in proc.stderr and "taken" in proc.stderr
    assert (tmp_path / "taken").read_text() == "a file, not a directory\n"
