"""Never lose a byte: every write perfsquad makes is atomic and checked (issue #19, "Data loss").

A failing write (``ulimit -f``, a full disk, a read-only file or directory) leaves the original
intact and parseable, is reported for that file, and the other files are still fixed; an editor
save that lands while ``--fix`` works is kept; no write goes through a symlink out of the tree or
out of perfsquad's own directory.
"""

from __future__ import annotations

import ast
import errno
import marshal
import os
from pathlib import Path

import pytest
from faults import FIXED, LOOP, no_traceback, run_cli, snapshot

from perfsquad import autofix, files
from perfsquad.cli import main
from perfsquad.files import ChangedOnDisk, UnsafePath, WriteError, ensure_dir, write_atomically

# A file whose fixed text is far over a 16 KB file-size limit (its reading is not limited).
BIG = LOOP + "".join(f"# padding line {i:05d} so the fixed file is larger than the limit\n" for i in range(600))


def _leftovers(root: Path) -> list[str]:
    """Temporary files a write left behind (``write_atomically`` names them ``.NAME.*.tmp``)."""
    return [str(p) for p in root.rglob(".*.tmp")]


# -- fault injection: the file-size limit (EFBIG) and a full disk (ENOSPC) -----------------------
def test_fix_under_a_file_size_limit_keeps_the_original_and_fixes_the_others(tmp_path: Path) -> None:
    (tmp_path / "a_big.py").write_text(BIG)
    (tmp_path / "b_small.py").write_text(LOOP)
    proc = run_cli("check", "--fix", "--no-cache", ".", cwd=tmp_path, file_size_limit=16 * 1024)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stderr  # perfsquad failed to write a file: not "findings"
    assert "a_big.py: not fixed: cannot write" in proc.stderr and "File too large" in proc.stderr
    big = (tmp_path / "a_big.py").read_text()
    assert big == BIG, "the file that could not be written changed"
    ast.parse(big)
    assert (tmp_path / "b_small.py").read_text() == FIXED, "a file after the failed one was not fixed"
    assert _leftovers(tmp_path) == []


def test_a_full_disk_leaves_the_original_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "mod.py"
    target.write_text(LOOP)
    target.chmod(0o750)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match="No space left on device") as caught:
        write_atomically(target, FIXED.encode())
    assert caught.value.errno == errno.ENOSPC
    assert target.read_text() == LOOP and target.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mod.py"]


def test_a_replaced_file_keeps_its_permission_bits_and_a_new_one_gets_the_umask(tmp_path: Path) -> None:
    script = tmp_path / "tool.py"
    script.write_text(LOOP)
    script.chmod(0o754)
    write_atomically(script, FIXED.encode())
    assert script.read_text() == FIXED and script.stat().st_mode & 0o777 == 0o754
    fresh = tmp_path / "new.json"
    write_atomically(fresh, b"{}")
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~files._UMASK


# -- read-only files and directories (permission bits apply: see faults.py) ----------------------
def test_fix_reports_a_read_only_file_and_directory_and_goes_on(tmp_path: Path) -> None:
    locked = tmp_path / "a_locked.py"
    locked.write_text(LOOP)
    locked.chmod(0o444)
    frozen = tmp_path / "b_frozen"
    frozen.mkdir()
    (frozen / "mod.py").write_text(LOOP)
    frozen.chmod(0o555)
    (tmp_path / "c_open.py").write_text(LOOP)
    try:
        proc = run_cli("check", "--fix", "--no-cache", ".", cwd=tmp_path, obey_permissions=True)
    finally:
        frozen.chmod(0o755)
    no_traceback(proc)
    assert proc.returncode == 2, proc.stderr
    assert "a_locked.py: not fixed: cannot write" in proc.stderr and "read-only" in proc.stderr
    assert "b_frozen/mod.py: not fixed: cannot write" in proc.stderr and "Permission denied" in proc.stderr
    assert locked.read_text() == LOOP and locked.stat().st_mode & 0o777 == 0o444
    assert (frozen / "mod.py").read_text() == LOOP
    assert (tmp_path / "c_open.py").read_text() == FIXED, "the file after the failures was not fixed"
    assert "IDM001" in proc.stdout  # the two unfixed files' findings are still reported
    assert _leftovers(tmp_path) == []


# -- an editor save racing --fix ------------------------------------------------------------------
def test_an_editor_save_during_fix_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """The fix is computed from the text read; the user saves another version meanwhile (here: in
    the seam between reading and writing, ``fix_text``). The saved version wins, with a message."""
    racing = tmp_path / "a_racing.py"
    racing.write_text(LOOP)
    calm = tmp_path / "b_calm.py"
    calm.write_text(LOOP)
    saved = LOOP.replace("x * 2", "x * 3") + "# saved by the editor while perfsquad was fixing\n"
    real_fix_text = autofix.fix_text

    def editor_saves_meanwhile(text: str, path: str, *args: object, **kwargs: object) -> autofix.FixResult:
        result = real_fix_text(text, path, *args, **kwargs)  # type: ignore[arg-type]
        if Path(path).name == "a_racing.py":
            racing.write_text(saved)
        return result

    monkeypatch.setattr(autofix, "fix_text", editor_saves_meanwhile)
    code = main(["check", "--fix", "--no-cache", str(tmp_path)])
    err = capsys.readouterr().err
    assert racing.read_text() == saved, "the editor's save was overwritten"
    assert "a_racing.py: not fixed, it changed on disk while being fixed" in err
    assert calm.read_text() == FIXED
    assert code == 1  # the saved version's own finding remains: findings, not a failure


def test_write_atomically_refuses_to_replace_bytes_it_did_not_read(tmp_path: Path) -> None:
    target = tmp_path / "mod.py"
    target.write_text("edited\n")
    with pytest.raises(ChangedOnDisk):
        write_atomically(target, b"fixed\n", expect=b"original\n")
    assert target.read_text() == "edited\n" and _leftovers(tmp_path) == []


# -- symlinks: sources --------------------------------------------------------------------------
def test_fix_never_rewrites_a_file_outside_the_tree_through_a_py_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.py"
    victim.write_text(LOOP)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "escape.py").symlink_to(victim)
    (tree / "real.py").write_text(LOOP)
    (tree / "alias.py").symlink_to(tree / "real.py")  # a link inside the tree: its target is fixed
    proc = run_cli("check", "--fix", "--no-cache", ".", cwd=tree)
    no_traceback(proc)
    assert victim.read_text() == LOOP
    assert "escape.py: not fixed, it is a symlink to" in proc.stderr
    assert (tree / "real.py").read_text() == FIXED and (tree / "alias.py").is_symlink()
    assert proc.returncode == 1  # the link's finding is reported, unfixed
    # Naming the link itself names the link, not the file elsewhere it points to.
    proc = run_cli("check", "--fix", "--no-cache", "escape.py", cwd=tree)
    assert victim.read_text() == LOOP and "outside the checked tree" in proc.stderr


# -- symlinks: perfsquad's own directory (a hostile clone) ----------------------------------------
def _cache_names(tmp_path: Path) -> list[str]:
    """The cache files a `check` of a one-file tree writes (their names are predictable)."""
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / "mod.py").write_text(LOOP)
    assert run_cli("check", ".", cwd=probe).returncode == 1
    return sorted(p.name for p in (probe / ".perfsquad" / "cache").iterdir())


def test_a_cloned_repository_shipping_symlinks_in_its_perfsquad_cache_writes_nothing_outside(tmp_path: Path) -> None:
    names = _cache_names(tmp_path)
    assert ".gitignore" in names and any(n.endswith(".key") for n in names)
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    cache = repo / ".perfsquad" / "cache"
    cache.mkdir(parents=True)
    (repo / "mod.py").write_text(LOOP)
    for name in names:  # every file perfsquad would write there is a link to a file outside
        victim = outside / f"victim-{name}"
        if name != ".gitignore":  # (.gitignore: a dangling link, which a write would create)
            victim.write_text("precious\n")
        (cache / name).symlink_to(victim)
    before = snapshot(outside)
    proc = run_cli("check", ".", cwd=repo)
    no_traceback(proc)
    assert proc.returncode == 1 and "IDM001" in proc.stdout
    assert snapshot(outside) == before, "a file outside the repository was written"
    assert not (outside / "victim-.gitignore").exists()
    assert "cache not saved: refusing to write" in proc.stderr and "symlink" in proc.stderr
    assert all((cache / name).is_symlink() for name in names)


@pytest.mark.parametrize("link", [".perfsquad", ".perfsquad/cache"])
def test_a_symlinked_perfsquad_directory_is_refused(tmp_path: Path, link: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "mod.py").write_text(LOOP)
    (repo / link).parent.mkdir(parents=True, exist_ok=True)
    (repo / link).symlink_to(outside)
    proc = run_cli("check", ".", cwd=repo)
    no_traceback(proc)
    assert proc.returncode == 1
    assert f"refusing to write under {repo / link}: it is a symlink" in proc.stderr
    assert list(outside.iterdir()) == []


def test_audit_reports_are_never_written_through_a_symlinked_perfsquad_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    (repo / ".perfsquad").mkdir(parents=True)
    (repo / "mod.py").write_text(LOOP)
    (repo / ".perfsquad" / "audit").symlink_to(outside)
    proc = run_cli("audit", ".", cwd=repo)
    no_traceback(proc)
    assert proc.returncode == 2
    assert "perfsquad audit: error: reports not written to" in proc.stderr and "symlink" in proc.stderr
    assert list(outside.iterdir()) == []


def test_ensure_dir_checks_only_perfsquads_own_directory(tmp_path: Path) -> None:
    """The user's own directories may be links (a home on another disk); from ``.perfsquad`` down
    none may be."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "home").symlink_to(real)
    made = ensure_dir(tmp_path / "home" / "proj" / ".perfsquad" / "cache")
    assert (real / "proj" / ".perfsquad" / "cache").is_dir() and made.is_dir()
    (real / "proj" / ".perfsquad" / "logs").symlink_to(tmp_path)
    with pytest.raises(UnsafePath):
        ensure_dir(tmp_path / "home" / "proj" / ".perfsquad" / "logs" / "x")
    with pytest.raises(UnsafePath):
        write_atomically(real / "proj" / ".perfsquad" / "logs", b"")


def test_the_index_key_file_is_replaced_never_written_through(tmp_path: Path) -> None:
    """The old code wrote the key file with ``write_text``, which follows a planted link."""
    from perfsquad.caches import SummaryCache

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    index = SummaryCache(cache_dir, "key")
    index.key_path.symlink_to(victim)
    index.set_linked_key("abc")
    with pytest.raises(UnsafePath):
        index.save()
    assert victim.read_text() == "precious\n"
    index.key_path.unlink()
    index.save()
    assert index.key_path.read_text() == "abc" and marshal.loads(index.path.read_bytes()) == {}


def test_a_replaced_file_keeps_its_owner_when_root_writes_it(tmp_path: Path) -> None:
    """Root (as these tests run) fixing a user's file must not hand it to root."""
    target = tmp_path / "mod.py"
    target.write_text(LOOP)
    owner = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())  # (nobody, as root)
    os.chown(target, *owner)
    write_atomically(target, FIXED.encode())
    info = target.stat()
    assert (info.st_uid, info.st_gid) == owner and target.read_text() == FIXED
