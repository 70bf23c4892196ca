"""`perfsquad leakcheck`, end to end through the CLI in a subprocess: the demo's seeded leak is
found and located, the fixed copy is flat; scripts and modules; timeouts kill the process group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from support import demo_copy, line_of

from perfsquad.analyzers import RULES
from perfsquad.engine import analyze_text
from perfsquad.profiling.leak import DEFAULT_THRESHOLD, allocation_facts, steady_growth, theil_sen_slope
from perfsquad.profiling.model import LineStat, Profile

STORE = "    _EMBED_CACHE[(request_id, text)] = vec\n"
BOUND = "    while len(_EMBED_CACHE) > 4:\n        _EMBED_CACHE.pop(next(iter(_EMBED_CACHE)))\n"


def leakcheck(*args: str, cwd: Path | None = None, timeout: float = 120) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "leakcheck", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )
    return proc.returncode, proc.stdout, proc.stderr


def leaky_or_fixed_demo(tmp_path: Path, fixed: bool) -> Path:
    demo = demo_copy(tmp_path, "demo-fixed" if fixed else "demo")
    if fixed:
        cache = demo / "memoria" / "cache.py"
        text = cache.read_text(encoding="utf-8")
        assert STORE in text, "the demo's seeded leak moved: update this test"
        cache.write_text(text.replace(STORE, STORE + BOUND), encoding="utf-8")
    return demo


def test_demo_leak_is_measured_and_located_then_flat_after_the_fix(tmp_path: Path) -> None:
    leaky = leaky_or_fixed_demo(tmp_path, fixed=False)
    cache = (leaky / "memoria" / "cache.py").resolve()
    code, out, err = leakcheck(
        "--format", "json", "--iterations", "20", "--cwd", str(leaky),
        "--callable", "memoria.cache:embed", "--", "the agent remembers",
    )  # fmt: skip
    assert code == 1, err
    result: dict[str, Any] = json.loads(out)
    assert result["schema"] == "perfsquad.leakcheck/1"
    assert result["verdict"] == "grows" and result["flat"] is False
    # One call keeps a 64-float list (~2 KiB) plus its key: well above the threshold.
    assert result["growth_per_iteration"] > 1024
    measured = result["retained"][result["warmup"] :]
    assert measured[-1] - measured[0] > 1024 * (len(measured) - 2)
    top = result["top"]
    files = {Path(t["file"]).resolve() for t in top[:2]}
    assert files == {cache}
    lines = {t["line"] for t in top if Path(t["file"]).resolve() == cache}
    store_line = line_of(cache, "_EMBED_CACHE[(request_id, text)] = vec")
    alloc_line = line_of(cache, "return [x / length for x in vec]")
    call_line = line_of(cache, "vec = _compute_embedding(text, dim)")
    assert top[0]["line"] == alloc_line and top[0]["function"] == "_compute_embedding"
    assert store_line in lines
    assert top[0]["bytes_per_iteration"] > 1024
    # The call chain of the biggest retained allocation goes through embed().
    assert [str(cache), call_line] in [[str(Path(fr["file"]).resolve()), fr["line"]] for fr in top[0]["traceback"]]

    # The static rule points at the same line.
    report = analyze_text(cache.read_text(encoding="utf-8"), str(cache), rules=RULES)
    assert ("MEM002", store_line) in {(f.code, f.span.start.line) for f in report.findings}

    fixed = leaky_or_fixed_demo(tmp_path, fixed=True)
    code, out, err = leakcheck(
        "--format", "json", "--iterations", "20", "--cwd", str(fixed),
        "--callable", "memoria.cache:embed", "--", "the agent remembers",
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["verdict"] == "flat" and result["flat"] is True
    assert abs(result["growth_per_iteration"]) < DEFAULT_THRESHOLD
    fixed_cache = fixed / "memoria" / "cache.py"
    report = analyze_text(fixed_cache.read_text(encoding="utf-8"), str(fixed_cache), rules=RULES)
    assert "MEM002" not in {f.code for f in report.findings if f.span.start.line == store_line}


def test_text_report_names_the_line(tmp_path: Path) -> None:
    leaky = leaky_or_fixed_demo(tmp_path, fixed=False)
    code, out, _ = leakcheck("--cwd", str(leaky), "--callable", "memoria.cache:embed", "--", "x")
    assert code == 1
    alloc_line = line_of(leaky / "memoria" / "cache.py", "return [x / length for x in vec]")
    assert "GROWS" in out and "B/iteration" in out
    assert f"memoria/cache.py:{alloc_line} in _compute_embedding" in out
    assert "called from memoria/cache.py:" in out


SCRIPT_LEAK = """\
import helper
helper.handle("request " * 20)
"""
HELPER = """\
_HISTORY = []


def handle(request):
    _HISTORY.append(request.upper())
"""
SCRIPT_FLAT = """\
import helper
helper.total = sum(len(str(i)) for i in range(1000))
"""


@pytest.mark.parametrize(("script", "expected"), [(SCRIPT_LEAK, 1), (SCRIPT_FLAT, 0)])
def test_script_mode_reruns_the_top_level(tmp_path: Path, script: str, expected: int) -> None:
    (tmp_path / "helper.py").write_text(HELPER, encoding="utf-8")
    (tmp_path / "job.py").write_text(script, encoding="utf-8")
    code, out, err = leakcheck("--format", "json", "--iterations", "15", "--cwd", str(tmp_path), "--", "job.py")
    assert code == expected, err
    result = json.loads(out)
    if expected == 1:
        assert result["growth_per_iteration"] > 100
        assert (Path(result["top"][0]["file"]).name, result["top"][0]["line"]) == ("helper.py", 5)
    else:
        assert result["flat"]


def test_module_mode_and_script_flag(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text(HELPER, encoding="utf-8")
    (tmp_path / "job.py").write_text(SCRIPT_LEAK, encoding="utf-8")
    code, out, _ = leakcheck("--format", "json", "--cwd", str(tmp_path), "--", "-m", "job")
    assert code == 1 and json.loads(out)["top"][0]["line"] == 5
    code, out, _ = leakcheck("--format", "json", "--cwd", str(tmp_path), "--script", "job.py")
    assert code == 1 and json.loads(out)["verdict"] == "grows"


def test_errors_are_reported_not_crashed(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def boom():\n    raise ValueError('nope')\n", encoding="utf-8")
    code, _, err = leakcheck("--cwd", str(tmp_path), "--callable", "bad:boom")
    assert code == 2 and "ValueError: nope" in err
    code, _, err = leakcheck("--cwd", str(tmp_path), "--callable", "missing_module:f")
    assert code == 2 and "ModuleNotFoundError" in err
    code, _, err = leakcheck("--cwd", str(tmp_path), "--callable", "no-colon")
    assert code == 2 and "MODULE:FUNCTION" in err
    code, _, err = leakcheck("--cwd", str(tmp_path), "--", "absent.py")
    assert code == 2 and "no such script" in err
    code, _, err = leakcheck("--cwd", str(tmp_path))
    assert code == 2 and "nothing to run" in err
    code, _, err = leakcheck("--cwd", str(tmp_path), "--frames", "0", "--callable", "bad:boom")
    assert code == 2 and "the frames must be between 1 and 100" in err  # (the words of the editor's options too)


def test_one_frame_still_locates_the_line_without_a_chain(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text(HELPER, encoding="utf-8")
    code, out, _ = leakcheck(
        "--format", "json", "--frames", "1", "--cwd", str(tmp_path), "--callable", "helper:handle", "--", "abc" * 50
    )  # fmt: skip
    assert code == 1
    top = json.loads(out)["top"][0]
    assert (Path(top["file"]).name, top["line"], top["function"]) == ("helper.py", 5, "handle")
    assert [(Path(f["file"]).name, f["line"]) for f in top["traceback"]] == [("helper.py", 5)]


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    (tmp_path / "hang.py").write_text(
        textwrap.dedent(
            f"""\
            import subprocess, sys, time

            def run():
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
                with open({str(pid_file)!r}, "w") as fh:
                    fh.write(str(child.pid))
                time.sleep(600)
            """
        ),
        encoding="utf-8",
    )
    start = time.monotonic()
    code, _, err = leakcheck("--cwd", str(tmp_path), "--timeout", "3", "--callable", "hang:run")
    assert code == 2 and "timed out after 3 s" in err
    assert time.monotonic() - start < 60
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # reaped by init once killed; bounded wait, not pacing
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if _is_zombie(pid):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"grandchild {pid} survived the timeout")


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except (OSError, IndexError):
        return True


def test_growth_ignores_one_off_steps_and_outliers_but_not_periodic_leaks() -> None:
    flat_with_step = [1000.0] * 6 + [5000.0] * 8
    assert theil_sen_slope(flat_with_step) > 0  # a plain slope is fooled by the step...
    assert steady_growth(flat_with_step) == 0.0  # ...the growth in both halves is not
    leak = [1000.0 + 300 * i for i in range(12)]
    leak[5] += 10_000  # one outlier
    assert theil_sen_slope(leak) == pytest.approx(300.0)
    assert steady_growth(leak) == pytest.approx(300.0)
    every_third = [1000.0 + 900 * (i // 3) for i in range(15)]
    assert steady_growth(every_third) == pytest.approx(300.0, rel=0.35)
    assert theil_sen_slope([5.0]) == 0.0


def _profile(lines: list[LineStat], wall: float, peak: int | None) -> Profile:
    return Profile(
        command=("x.py",), sampler="cprofile", wall_seconds=wall, cpu_seconds=wall, functions=(),
        lines=tuple(lines), peak_memory_bytes=peak,
    )  # fmt: skip


def test_allocation_facts_for_the_classifier() -> None:
    mib = 2**20
    heavy = LineStat("/p/app.py", 10, "build", self_seconds=0.6, total_seconds=0.6, alloc_bytes=400 * mib)
    light = LineStat("/p/app.py", 20, "other", self_seconds=0.4, total_seconds=0.4, alloc_bytes=1 * mib)
    facts = allocation_facts(_profile([heavy, light], wall=1.0, peak=450 * mib))
    assert facts is not None
    assert facts.memory_bound
    assert facts.heavy_lines == (("/p/app.py", 10, 400 * mib),)
    assert facts.heavy_time_share == pytest.approx(0.6)
    assert facts.alloc_rate == pytest.approx(450 * mib)
    assert facts.top_line_share == pytest.approx(400 / 450)
    assert any("app.py:10" in e for e in facts.evidence)
    # Same allocations spread over a long run: not allocation-dominated.
    slow = allocation_facts(_profile([heavy, light], wall=100.0, peak=450 * mib))
    assert slow is not None and not slow.memory_bound
    # Time elsewhere: not memory-bound either.
    cold = LineStat("/p/app.py", 10, "build", self_seconds=0.01, total_seconds=0.01, alloc_bytes=400 * mib)
    busy = LineStat("/p/app.py", 30, "loop", self_seconds=0.99, total_seconds=0.99)
    assert not allocation_facts(_profile([cold, busy], wall=1.0, peak=450 * mib)).memory_bound  # type: ignore[union-attr]
    assert allocation_facts(_profile([busy], wall=1.0, peak=None)) is None


# -- slow workloads (issue #20: the demo's run.py took 17 minutes traced and timed out at 120 s) --------

SLOW_LEAK = """\
import time
import helper

deadline = time.perf_counter() + 0.4  # a slow iteration: tracing every one would not fit the budget
while time.perf_counter() < deadline:
    pass
helper.handle("request " * 20)
"""
SLOW_FLAT = """\
import time
import helper

deadline = time.perf_counter() + 0.4
while time.perf_counter() < deadline:
    pass
helper.total = sum(len(str(i)) for i in range(1000))
"""


def test_demo_run_py_finishes_untraced_and_names_what_keeps_the_memory(tmp_path: Path) -> None:
    demo = leaky_or_fixed_demo(tmp_path, fixed=False)
    code, out, err = leakcheck("--cwd", str(demo), "--", "run.py", timeout=240)
    assert code == 1, err
    assert "Traceback" not in err
    cache = demo / "memoria" / "cache.py"
    defined = line_of(cache, "_EMBED_CACHE: dict")
    assert "GROWS" in out and "(untraced:" in out, out
    assert f"memoria/cache.py:{defined} memoria.cache._EMBED_CACHE: +" in out, out
    assert "memoria.cache.Embedder.embed" in out  # the lru_cache on a method keeps every Embedder
    code, out, err = leakcheck("--format", "json", "--cwd", str(demo), "--", "run.py", timeout=240)
    result = json.loads(out)
    assert result["method"] == "untraced" and result["warmup"] == 1
    assert 3 <= result["iterations"] - result["warmup"] < 19  # fewer iterations, at least 3 measured
    top = result["top"][0]
    assert (top["holder"], Path(top["file"]).resolve(), top["line"]) == ("memoria.cache._EMBED_CACHE", cache.resolve(), defined)
    # 400 embeddings of 64 floats a run: about 400 x (56 + 8 x 64 + 64 x 24) bytes
    assert 600 * 1024 < top["bytes_per_iteration"] < 1200 * 1024


@pytest.mark.parametrize(("script", "expected"), [(SLOW_LEAK, 1), (SLOW_FLAT, 0)])
def test_untraced_method_still_tells_a_leak_from_a_flat_workload(tmp_path: Path, script: str, expected: int) -> None:
    (tmp_path / "helper.py").write_text(HELPER, encoding="utf-8")
    (tmp_path / "job.py").write_text(script, encoding="utf-8")
    code, out, err = leakcheck(
        "--format", "json", "--iterations", "8", "--budget", "1", "--cwd", str(tmp_path), "--", "job.py"
    )  # fmt: skip
    assert code == expected, err
    result = json.loads(out)
    assert result["method"] == "untraced"
    if expected == 1:  # one 160-character string kept per iteration: a single small object
        assert result["growth_per_iteration"] >= DEFAULT_THRESHOLD
        assert (result["top"][0]["holder"], result["top"][0]["line"]) == ("helper._HISTORY", 1)
    else:
        assert result["flat"] and result["growth_per_iteration"] < DEFAULT_THRESHOLD


def test_a_timeout_says_what_timed_out_and_the_flag_to_raise(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(30)\n", encoding="utf-8")
    code, out, err = leakcheck("--cwd", str(tmp_path), "--timeout", "2", "--", "slow.py")
    assert code == 2 and out == ""
    assert "perfsquad leakcheck: timed out after 2 s: slow.py was stopped (raise --timeout to give it longer)" in err
    assert "Traceback" not in err
