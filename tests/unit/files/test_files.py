"""Caches and records are replaced in one step, even by concurrent writers in one process."""

from __future__ import annotations

import threading
from pathlib import Path

from perfsquad.files import write_atomically


def test_concurrent_writers_never_leave_half_a_file(tmp_path: Path) -> None:
    target = tmp_path / "reports.marshal"
    contents = [bytes([i]) * 200_000 for i in range(4)]
    errors: list[BaseException] = []

    def writer(data: bytes) -> None:
        try:
            for _ in range(25):
                write_atomically(target, data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(c,)) for c in contents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes() in contents
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports.marshal"]  # no temporary file left


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    write_atomically(target, b"old")
    blocker = tmp_path / "dir.json"
    blocker.mkdir()
    try:
        write_atomically(blocker, b"new")  # cannot replace a directory with a file
    except OSError:
        pass
    else:
        raise AssertionError("replacing a directory succeeded")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.json", "record.json"]
