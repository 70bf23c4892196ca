"""bench/vectorize.py's interprocedural all-pairs measurement (#17): the two versions it times agree,
and the pure-Python version is exactly the shape VEC006 reports through a method call."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from support import BENCH, ROOT

sys.path.insert(0, str(BENCH))

import vectorize


def test_the_matrix_recipe_gives_the_pair_loops_groups() -> None:
    figures = vectorize.interprocedural(n=40, dim=16, threshold=0.7)
    assert figures["pairs"] == 40 * 39 // 2
    # the clustered data links some vectors and not all: the comparison is not vacuous
    assert 1 < figures["groups"] < 40
    items = [vectorize._Item(v) for v in vectorize._clustered(40, 16)]
    loop = vectorize.PairLoopConsolidator().groups(items, 0.7)
    assert loop == vectorize.matrix_groups(items, 0.7)
    assert vectorize.matrix_groups(items, 1.01) == [[i] for i in range(40)]


def test_vec006_reports_the_benchmarked_pair_loop() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--no-cache", "--format", "json", "--select", "VEC006",
         "bench/vectorize.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    found = json.loads(proc.stdout)
    lines = (ROOT / "bench" / "vectorize.py").read_text(encoding="utf-8").splitlines()
    # (the chain is whole in the first note when the 80-character message cannot hold it, #20)
    shown = [(f, " ".join([f["message"], *f["notes"]])) for f in found]
    flagged = [(f, text) for f, text in shown if "self._compute_similarity" in text]
    assert len(flagged) == 1
    assert lines[flagged[0][0]["location"]["row"] - 1].strip() == "for i in range(len(items)):"
    assert "items[i].embedding" in flagged[0][1]
