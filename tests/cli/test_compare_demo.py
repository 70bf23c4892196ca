"""End to end: `perfsquad bench` records real runs of the demo, `perfsquad compare` judges them.

Speed is never asserted here beyond the verdicts themselves: the vectorized all-pairs similarity
must come out as a significant speedup (with the ratio printed), and two records of the same
code as no significant change.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from support import ROOT

from perfsquad.cli import main

VARIANTS = str(ROOT / "bench" / "demo_variants.py")


def bench(capsys: pytest.CaptureFixture[str], store: Path, name: str, *cmd: str, runs: int = 3) -> dict[str, object]:
    code = main(["bench", "--runs", str(runs), "--warmup", "1", "--name", name, "--dir", str(store), "--", *cmd])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"wrote {store / (name + '.json')}" in out
    data = json.loads((store / f"{name}.json").read_text())
    assert data["schema"] == "perfsquad.bench/1" and len(data["runs"]) == runs
    assert all(isinstance(x, float) and x > 0 for x in data["runs"])
    return data


def test_demo_vectorized_similarity_is_a_significant_speedup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--runs", "1", "--warmup", "0", "--dir", str(tmp_path), "--name", "check", "--",
                 sys.executable, VARIANTS, "check", "--n", "60"]) == 0  # fmt: skip
    capsys.readouterr()
    bench(capsys, tmp_path, "before", sys.executable, VARIANTS, "pure", "--n", "150", runs=5)
    bench(capsys, tmp_path, "after", sys.executable, VARIANTS, "numpy", "--n", "150", runs=5)
    code = main(["compare", "before", "after", "--dir", str(tmp_path)])
    out, _ = capsys.readouterr()
    assert code == 0
    m = re.search(r"verdict: significant speedup \u00d7(\d+\.\d\d)", out)
    assert m, out
    ratio = float(m.group(1))
    assert ratio > 1.0
    assert "Welch's t-test: t = " in out and "mean " in out and " ± " in out

    # The same comparison as JSON: the ratio is mean(before) / mean(after) of the recorded runs.
    assert main(["compare", str(tmp_path / "before.json"), str(tmp_path / "after.json"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    before, after = data["before"]["runs"], data["after"]["runs"]
    assert data["ratio"] == pytest.approx((sum(before) / len(before)) / (sum(after) / len(after)))
    assert f"{data['ratio']:.2f}" == m.group(1)
    assert data["significant"] is True and data["p_value"] < 0.05


def test_same_code_twice_is_no_significant_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The demo's simulated remote sync spends its time waiting, so machine load barely moves it;
    # the two records' runs are interleaved (--append) so drifting load hits both alike.
    cmd = (sys.executable, "-S", VARIANTS, "sync", "--n", "16")
    for i in range(3):
        for name in ("first", "second"):
            code = main(["bench", "--runs", "2", "--warmup", "1" if i == 0 else "0", "--name", name, "--append",
                         "--dir", str(tmp_path), "--", *cmd])  # fmt: skip
            assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    for name in ("first", "second"):
        assert len(json.loads((tmp_path / f"{name}.json").read_text())["runs"]) == 6
    assert main(["compare", "first", "second", "--dir", str(tmp_path)]) == 0
    out, _ = capsys.readouterr()
    assert "verdict: no significant change" in out, out


def test_bench_and_compare_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--dir", str(tmp_path), "--name", "x"]) == 2
    assert "after `--`" in capsys.readouterr().err
    assert main(["bench", "--dir", str(tmp_path), "--name", "../evil", "--", sys.executable, "-c", "pass"]) == 2
    assert "bad record name" in capsys.readouterr().err
    code = main(["bench", "--dir", str(tmp_path), "--name", "fails", "--runs", "1", "--warmup", "0", "--",
                 sys.executable, "-c", "import sys; sys.stderr.write('boom'); sys.exit(3)"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "exited with code 3" in err and "boom" in err
    assert not (tmp_path / "fails.json").exists()
    code = main(["bench", "--dir", str(tmp_path), "--name", "slow", "--runs", "1", "--warmup", "0",
                 "--timeout", "0.5", "--", sys.executable, "-c", "import time; time.sleep(30)"])  # fmt: skip
    assert code == 2 and "timed out after 0.5 s" in capsys.readouterr().err
    bench(capsys, tmp_path, "one", sys.executable, "-c", "pass", runs=1)
    code = main(["bench", "--append", "--name", "one", "--dir", str(tmp_path), "--", sys.executable, "-c", "1"])
    assert code == 2 and "records another command" in capsys.readouterr().err
    assert main(["compare", "nope", "nada", "--dir", str(tmp_path)]) == 2
    assert "no benchmark record named 'nope'" in capsys.readouterr().err
    (tmp_path / "junk.json").write_text("{not json")
    assert main(["compare", str(tmp_path / "junk.json"), str(tmp_path / "junk.json")]) == 2
    assert "cannot read benchmark record" in capsys.readouterr().err


WORKLOAD = """\
def parse(n):
    total = 0
    for i in range(n):
        total += i % 7
    return total


def render(n):
    total = 0
    for i in range(n):
        total += i % 5
    return total


parse({parse})
render({render})
"""


def test_profiled_records_show_per_function_deltas_and_a_moved_bottleneck(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Same total work, moved from parse() to render(): no real speedup, the bottleneck moved.
    for name, (p, r) in {"before": (3_000_000, 600_000), "after": (600_000, 3_000_000)}.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "app.py").write_text(WORKLOAD.format(parse=p, render=r))
        code = main(["bench", "--runs", "3", "--warmup", "0", "--profile", "--sampler", "cprofile", "--name", name,
                     "--dir", str(tmp_path / "store"), "--", sys.executable, str(folder / "app.py")])  # fmt: skip
        assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["compare", "before", "after", "--dir", str(tmp_path / "store"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    deltas = {d["name"]: d for d in data["function_deltas"]}
    assert deltas["parse"]["delta_seconds"] < 0 < deltas["render"]["delta_seconds"]
    assert deltas["parse"]["before_seconds"] > deltas["parse"]["after_seconds"]
    moved = any("bottleneck moved" in w and "parse" in w and "render" in w for w in data["warnings"])
    # Equal work on both sides: normally "no significant change" plus the warning; should machine load
    # make the totals differ by 10% or more, the top function changing is no longer "merely moved".
    assert moved == (not data["significant"] or abs(data["change"]) < 0.10)
