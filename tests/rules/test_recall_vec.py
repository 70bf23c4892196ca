"""The recall corpus of issue #17 (vectors, scans, idioms): `perfsquad check` run as a user would on
tests/fixtures/recall/{vec_*, vec_pkg/, scans_*, idioms_*}.

Every line marked `# expect: CODE` must carry that finding at the default confidence (high or
medium), every `# expect: none` line must carry none of the selected rules' findings at any
confidence (the traps), and no other line may carry a finding: the corpus says exactly what is
reported. The I/O fixtures of the same folder (io_*.py) have their own test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from support import ROOT

RECALL = ROOT / "tests" / "fixtures" / "recall"
SELECT = "VEC,ALG003,IDM008,IDM020,MEM004"
_EXPECT = re.compile(r"#\s*expect:\s*([A-Za-z0-9, ]+)$")


def _files() -> list[Path]:
    found = [*RECALL.glob("vec_*.py"), *RECALL.glob("scans_*.py"), *RECALL.glob("idioms_*.py")]
    found += (RECALL / "vec_pkg").glob("*.py")
    return sorted(found)


def _expectations(path: Path) -> dict[int, set[str]]:
    """Line -> the codes expected there (an empty set: a trap)."""
    marks: dict[int, set[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = _EXPECT.search(line)
        if m:
            codes = {c.strip() for c in m.group(1).split(",") if c.strip()}
            marks[number] = set() if codes == {"none"} else codes
    return marks


@pytest.fixture(scope="module")
def findings() -> dict[tuple[str, int], list[dict[str, object]]]:
    """Every finding of the selected rules on the corpus, at every confidence, by (file, line)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--no-cache", "--format", "json", "--tests", "normal",
         "--confidence", "low", "--select", SELECT, *(str(p.relative_to(ROOT)) for p in _files())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    by_line: dict[tuple[str, int], list[dict[str, object]]] = defaultdict(list)
    for f in json.loads(proc.stdout):
        path = (ROOT / f["filename"]).resolve()
        by_line[(str(path), f["location"]["row"])].append(f)
    return by_line


def test_the_corpus_has_shapes_and_traps() -> None:
    marks = [m for p in _files() for m in _expectations(p).values()]
    codes = {c for m in marks for c in m}
    assert {"VEC001", "VEC002", "VEC006", "ALG003", "IDM008", "IDM020", "MEM004"} <= codes
    assert sum(1 for m in marks if not m) >= 15  # traps


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.relative_to(RECALL).as_posix())
def test_every_expectation_and_nothing_else(path: Path, findings: dict[tuple[str, int], list[dict[str, object]]]) -> None:
    marks = _expectations(path)
    problems: list[str] = []
    for line, expected in marks.items():
        here = findings.get((str(path.resolve()), line), [])
        shown = {str(f["code"]) for f in here if f["confidence"] in ("high", "medium")}
        if not expected and here:
            problems.append(f"line {line}: trap reported: {[(f['code'], f['confidence']) for f in here]}")
        missing = expected - shown
        if missing:
            problems.append(f"line {line}: missing {sorted(missing)} (got {sorted(shown)})")
    for (file, line), here in findings.items():
        if file == str(path.resolve()) and line not in marks:
            problems.append(f"line {line}: unexpected {[f['code'] for f in here]}")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_vec006_messages_carry_the_chain_and_the_recipe(findings: dict[tuple[str, int], list[dict[str, object]]]) -> None:
    pairs = [f for found in findings.values() for f in found if f["code"] == "VEC006"]
    assert len(pairs) == 5
    # The message is at most 80 characters (#20): a longer chain is whole in the first note (the hover).
    assert all(len(str(f["message"])) <= 80 for f in pairs)
    by_text = {" ".join(map(str, [f["message"], *f["notes"]])) for f in pairs}  # type: ignore[list-item]
    # in the class: the method named, with the line of its def
    assert any("self._compute_similarity (line " in m and "cosine similarity of notes[i].embedding" in m for m in by_text)
    # across modules, through the workspace index: the caller's name, the callee's key and where it is
    assert any(
        "cosine_similarity → vec_pkg.vec_math.cosine_similarity (" in m and "vec_math.py:6)" in m for m in by_text
    )
    for f in pairs:
        notes = " ".join(map(str, f["notes"]))  # type: ignore[call-overload]
        assert "@" in notes and ".T" in notes
    recipes = [f for f in pairs if any(str(n).startswith("Recipe:") for n in f["notes"])]  # type: ignore[attr-defined]
    assert len(recipes) == 5
    assert any("[row.embedding for row in notes]" in " ".join(map(str, f["notes"])) for f in pairs)  # type: ignore[call-overload]
