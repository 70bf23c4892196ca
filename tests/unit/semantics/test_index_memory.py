"""The workspace index keeps nothing of a file it summarizes but the summary (issue #19: memory
returned after closing documents)."""

from __future__ import annotations

from pathlib import Path

from perfsquad import source
from perfsquad.semantics.index import ProjectIndex


def test_summarizing_a_large_file_keeps_no_line_table_of_its_text(tmp_path: Path) -> None:
    body = "".join(f"def f{n}(path):\n    with open(path) as fh:\n        return fh.read()\n\n\n" for n in range(800))
    assert len(body) > source._SHARE_FROM  # a text the shared line-table cache would keep
    path = tmp_path / "big.py"
    path.write_text(body, encoding="utf-8")
    index = ProjectIndex(tmp_path)
    index.add_text(str(path), path.read_bytes())
    assert index.function("big.f0") is not None
    with source._RECENT_LOCK:
        kept = [table.text for table in source._RECENT.values()]
    assert body not in kept
