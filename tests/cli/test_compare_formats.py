"""`perfsquad compare` on the benchmark files Python projects already keep: pyperf JSON (written by
pyperf itself, and by `perfsquad bench --format pyperf`) and pytest-benchmark JSON (real runs of
pytest-benchmark), with the same statistics and the same verdict as pyperf's own `compare_to`.

The pairs are far apart (or identical) so both tools' tests are conclusive: pyperf uses Student's
pooled t-test with no minimum effect, perfsquad Welch's with a 2% minimum effect, and they may
disagree on a borderline pair (docs/audits.md)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyperf
import pytest
from support import ROOT

ENV = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}


def sh(*cmd: str | Path, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(map(str, cmd)), cwd=cwd, capture_output=True, text=True, timeout=300, env=ENV)
    if check:
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


def perfsquad_compare(before: Path, after: Path, cwd: Path) -> Any:
    proc = sh(sys.executable, "-m", "perfsquad", "compare", before, after, "--format", "json", cwd=cwd)
    return json.loads(proc.stdout)


def pyperf_verdict(before: Path, after: Path, cwd: Path) -> str:
    """`python -m pyperf compare_to`'s verdict: faster, slower or not significant."""
    out = sh(sys.executable, "-m", "pyperf", "compare_to", before, after, cwd=cwd).stdout
    if "not significant" in out.lower():  # "Not significant!" or "hidden because not significant"
        return "not significant"
    assert "faster" in out or "slower" in out, out
    return "faster" if "faster" in out else "slower"


def our_verdict(result: dict[str, Any]) -> str:
    verdict: str = result["verdict"]
    if verdict.startswith("significant speedup"):
        return "faster"
    if verdict.startswith("significant slowdown"):
        return "slower"
    assert verdict == "no significant change", verdict
    return "not significant"


def test_pyperf_timeit_files_same_verdict_and_statistics(tmp_path: Path) -> None:
    def timeit(out: str, stmt: str) -> Path:
        sh(sys.executable, "-m", "pyperf", "timeit", "--quiet", "--processes", "3", "--values", "3", "--warmups", "1",
           "--loops", "200", "--name", "sum", "-o", out, stmt, cwd=tmp_path)  # fmt: skip
        return tmp_path / out

    slow, fast = timeit("slow.json", "sum(range(20000))"), timeit("fast.json", "sum(range(200))")
    for before, after, expected in ((slow, fast, "faster"), (fast, slow, "slower")):
        result = perfsquad_compare(before, after, tmp_path)
        assert pyperf_verdict(before, after, tmp_path) == our_verdict(result) == expected
    # The same statistics as pyperf's over the same values (every run's, warm-ups excluded).
    result = perfsquad_compare(slow, fast, tmp_path)
    for side, path in (("before", slow), ("after", fast)):
        bench = pyperf.Benchmark.load(str(path))
        assert result[side]["format"] == "pyperf" and result[side]["name"] == "sum"
        assert result[side]["runs"] == list(bench.get_values())
        assert result[side]["n"] == bench.get_nvalue() == 9
        assert result[side]["mean"] == pytest.approx(bench.mean())
        assert result[side]["std"] == pytest.approx(bench.stdev())
    # pyperf's gzip-compressed files read the same.
    (tmp_path / "slow.json.gz").write_bytes(gzip.compress(slow.read_bytes()))
    assert perfsquad_compare(tmp_path / "slow.json.gz", fast, tmp_path)["t"] == result["t"]


def test_bench_format_pyperf_is_read_by_pyperf_compare_to(tmp_path: Path) -> None:
    def bench(out: str, seconds: float) -> Path:
        proc = sh(sys.executable, "-m", "perfsquad", "bench", "--runs", "5", "--warmup", "1", "--name", "sleep",
                  "--format", "pyperf", "--out", out, "--",
                  sys.executable, "-c", f"import time; time.sleep({seconds})", cwd=tmp_path)  # fmt: skip
        assert "(pyperf format)" in proc.stdout
        return tmp_path / out

    slow, fast = bench("slow.json", 0.25), bench("fast.json", 0.01)
    data = json.loads(slow.read_text())
    assert data["benchmarks"][0]["runs"] and data["metadata"]["unit"] == "second"
    loaded = pyperf.Benchmark.load(str(slow))  # pyperf's own reader accepts it
    assert loaded.get_name() == "sleep" and loaded.get_nvalue() == 5
    assert "Mean +- std dev" in sh(sys.executable, "-m", "pyperf", "show", slow, cwd=tmp_path).stdout
    for before, after, expected in ((slow, fast, "faster"), (fast, slow, "slower")):
        result = perfsquad_compare(before, after, tmp_path)
        assert pyperf_verdict(before, after, tmp_path) == our_verdict(result) == expected
        assert result["before"]["command"][-1].startswith("import time")  # the command survives the trip
    # --profile cannot be written in pyperf's format: a clear error, no file.
    proc = sh(sys.executable, "-m", "perfsquad", "bench", "--format", "pyperf", "--profile", "--out", "p.json", "--",
              sys.executable, "-c", "pass", cwd=tmp_path, check=False)  # fmt: skip
    assert proc.returncode == 2 and "--profile needs the perfsquad format" in proc.stderr
    assert not (tmp_path / "p.json").exists()


def test_identical_samples_are_not_significant_for_both(tmp_path: Path) -> None:
    values = [0.1002, 0.0998, 0.1011, 0.0991, 0.1004, 0.0996]
    for name, sample in (("a.json", values), ("b.json", [v + 1e-6 for v in reversed(values)])):
        runs = [pyperf.Run([v], metadata={"name": "same", "loops": 1}, collect_metadata=False) for v in sample]
        pyperf.Benchmark(runs).dump(str(tmp_path / name))
    result = perfsquad_compare(tmp_path / "a.json", tmp_path / "b.json", tmp_path)
    assert pyperf_verdict(tmp_path / "a.json", tmp_path / "b.json", tmp_path) == our_verdict(result)
    assert our_verdict(result) == "not significant" and result["p_value"] > 0.5


BENCH_TESTS = """\
import os

N = int(os.environ["SUM_N"])


def test_sum(benchmark):
    benchmark(sum, range(N))


def test_sorted(benchmark):
    data = list(range(N, 0, -1))
    benchmark(sorted, data)
"""


def test_pytest_benchmark_runs_compared_name_by_name(tmp_path: Path) -> None:
    (tmp_path / "test_speed.py").write_text(BENCH_TESTS)

    def run(out: str, n: int, *extra: str) -> Path:
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_speed.py", f"--benchmark-json={out}",
             "--benchmark-min-rounds=10", "--benchmark-max-time=0.2", *extra],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**ENV, "SUM_N": str(n)}, check=True,
        )  # fmt: skip
        return tmp_path / out

    before = run("before.json", 50_000, "--benchmark-save-data")
    after = run("after.json", 500, "--benchmark-save-data")
    proc = sh(sys.executable, "-m", "perfsquad", "compare", before, after, "--format", "json", cwd=tmp_path)
    results = json.loads(proc.stdout)
    assert [r["before"]["name"] for r in results] == ["test_speed.py::test_sum", "test_speed.py::test_sorted"]
    for r in results:
        assert r["before"]["format"] == "pytest-benchmark" and our_verdict(r) == "faster"
        assert r["before"]["n"] == len(r["before"]["runs"]) >= 10
    text = sh(sys.executable, "-m", "perfsquad", "compare", before, after, cwd=tmp_path).stdout
    assert "== test_speed.py::test_sum" in text and text.count("verdict: significant speedup") == 2

    # Without --benchmark-save-data the file keeps n, mean, stddev, min, max: the same test.
    for path in (before, after):
        data = json.loads(path.read_text())
        for b in data["benchmarks"]:
            del b["stats"]["data"]
        (tmp_path / f"summary-{path.name}").write_text(json.dumps(data))
    summary = perfsquad_compare(tmp_path / "summary-before.json", tmp_path / "summary-after.json", tmp_path)
    for full, short in zip(results, summary, strict=True):
        assert short["before"]["runs"] == [] and short["before"]["n"] == full["before"]["n"]
        for key in ("t", "df", "p_value", "ratio"):
            assert short[key] == pytest.approx(full[key], rel=1e-9, abs=1e-300), key
        assert short["verdict"] == full["verdict"]

    # A benchmark only one side has is named and skipped.
    data = json.loads(after.read_text())
    data["benchmarks"] = data["benchmarks"][:1]
    (tmp_path / "one.json").write_text(json.dumps(data))
    proc = sh(sys.executable, "-m", "perfsquad", "compare", before, tmp_path / "one.json", cwd=tmp_path)
    assert "test_sorted is in only one of the files" in proc.stderr and proc.stdout.count("verdict:") == 1


def test_unknown_json_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"benchmarks": 3}')
    (tmp_path / "y.json").write_text('{"version": "1.0", "benchmarks": [{"runs": [{"values": ["fast"]}]}]}')
    for name in ("x.json", "y.json"):
        proc = sh(sys.executable, "-m", "perfsquad", "compare", name, name, cwd=tmp_path, check=False)
        assert proc.returncode == 2 and "perfsquad compare: error:" in proc.stderr and "Traceback" not in proc.stderr
