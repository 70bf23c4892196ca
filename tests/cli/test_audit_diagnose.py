"""`perfsquad diagnose FILE:FUNCTION`, finding the test that exercises a function, and cancelling
an audit (the profiled process group is killed)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from support import SIMILARITY

from perfsquad.audit.diagnose import find_exercising_test, search_dirs
from perfsquad.audit.pipeline import run_audit
from perfsquad.cli import main
from perfsquad.profiling.run import ProfileCancelled


def test_diagnose_demo_function_statically(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", f"{SIMILARITY}:group_similar", "--no-profile", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["function"] == "group_similar" and data["profile"] is None
    assert data["complexity"] == "n/a" or data["complexity"].startswith("O(")
    radon = data["radon"]
    assert radon["cyclomatic"] >= 5 and radon["rank"] in "ABCDEF" and radon["sloc"] > 10
    assert radon["halstead_volume"] > 0 and 0 < radon["maintainability"] <= 100
    codes = {f["code"] for f in data["findings"]}
    assert codes & {"VEC006", "ALG001", "ALG002", "ALG003"}, codes
    assert all(data["line"] <= f["line"] <= data["end_line"] for f in data["findings"])
    # The demo's own tests exercise it: found, named relative to the workspace root.
    assert data["exercised_by"]["kind"] == "test"
    assert data["exercised_by"]["spec"].startswith("demo/tests/test_memoria.py::test_group_similar")

    # FILE:LINE picks the innermost function around the line; text output is readable.
    line = SIMILARITY.read_text().splitlines().index("def cosine(a: list[float], b: list[float]) -> float:") + 3
    assert main(["diagnose", f"{SIMILARITY}:{line}", "--no-profile"]) == 0
    out = capsys.readouterr().out
    assert ": cosine (lines " in out and "complexity: " in out and "radon: cyclomatic " in out


def test_diagnose_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "m.py"
    src.write_text("x = 1\n\ndef f():\n    return x\n")
    assert main(["diagnose", f"{src}:g", "--no-profile"]) == 2
    assert "no function 'g'" in capsys.readouterr().err
    assert main(["diagnose", f"{src}:1", "--no-profile"]) == 2
    assert "not inside a function" in capsys.readouterr().err
    assert main(["diagnose", str(src), "--no-profile"]) == 2
    assert main(["diagnose", f"{tmp_path / 'none.py'}:f"]) == 2
    capsys.readouterr()
    # Nothing exercises f: no profile is taken, and the output says why.
    assert main(["diagnose", f"{src}:f"]) == 0
    assert "nothing found that exercises it" in capsys.readouterr().out


def test_exercising_test_lookup(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def target():\n    return 1\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_other.py").write_text("def test_other():\n    assert 'target' in 'a target string'\n")
    (tests / "test_mod.py").write_text(
        "from pkg.mod import target\n\n\nclass TestMod:\n    def test_it(self):\n        assert target() == 1\n"
    )
    dirs = search_dirs(tmp_path / "pkg" / "mod.py", tmp_path)
    assert dirs == [tests]
    # A mention in a string is not a use: the test that calls it is chosen.
    assert find_exercising_test(tmp_path, "target", dirs) == "tests/test_mod.py::TestMod::test_it"
    assert find_exercising_test(tmp_path, "missing", dirs) is None


def test_cancelling_an_audit_kills_the_profiled_process(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    (tmp_path / "slow.py").write_text(
        "import os, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def audit() -> None:
        try:
            run_audit([tmp_path], run="python slow.py", root=tmp_path, cancel=cancel, sampler="cprofile", timeout=120)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=audit)
    worker.start()
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the profiled script never started"
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    cancel.set()
    worker.join(30)
    assert not worker.is_alive()
    assert outcome and isinstance(outcome[0], ProfileCancelled)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ctrl_c_stops_the_audit_and_its_profiled_process(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    pid_file = tmp_path / "pid"
    (tmp_path / "slow.py").write_text(
        "import os, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfsquad", "audit", str(tmp_path), "--run", "python slow.py", "--out",
         str(tmp_path / "out")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A test run started in the background (`cmd &` in a shell) ignores SIGINT, and an ignored
        # signal stays ignored across exec: give the audit the default disposition, as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, "the profiled script never started"
            time.sleep(0.05)
        child = int(pid_file.read_text())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err or "cancelled" in err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert not (tmp_path / "out" / "report.html").exists()


def test_diagnose_profiles_the_test_that_calls_it_even_when_it_needs_a_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\npythonpath = ['.']\n")
    (tmp_path / "app.py").write_text("def lowest(xs):\n    return sorted(xs)[0]\n")
    (tmp_path / "tests").mkdir()
    # `unused_tcp_port` is a fixture of the pytest-asyncio plugin: the fast plugin-less attempt
    # fails, and diagnose must fall back to a normal run instead of profiling a failure.
    # The test sorts for 0.5 s of CPU time whatever the machine's speed: enough samples land in
    # lowest() for a share (60 sorts took 0.05 s here: a few samples, none on a faster machine).
    (tmp_path / "tests" / "test_app.py").write_text(
        "import time\n\nfrom app import lowest\n\n\n"
        "def test_lowest(unused_tcp_port):\n"
        "    xs = [(j * 7919) % 20011 for j in range(20000)]\n"
        "    start = time.process_time()\n"
        "    while time.process_time() - start < 0.5:\n"
        "        assert lowest(xs) == 0\n"
    )
    code = main(["diagnose", f"{tmp_path / 'app.py'}:lowest", "--format", "json", "--timeout", "120"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["exercised_by"] == {"kind": "test", "spec": "tests/test_app.py::test_lowest"}
    assert data["profile_error"] is None and data["profile"] is not None
    assert not any("exited with code" in n for n in data["notes"]), data["notes"]
    assert data["profile"]["share"] > 0


def test_diagnose_reuses_a_saved_profile_and_runs_nothing(tmp_path: Path) -> None:
    """`diagnose --profile FILE` reads the profile `perfsquad profile --out FILE` wrote: its shares
    for the function, named after the command it measured; no test or command is run (a marker
    file the would-be exerciser creates stays absent)."""
    import subprocess
    import sys

    from support import ROOT

    from perfsquad.profiling.model import FrameRef, FunctionStat, Profile

    app = tmp_path / "app.py"
    app.write_text("def slow(xs):\n    out = []\n    for x in xs:\n        out = out + [x]\n    return out\n")
    (tmp_path / "tests").mkdir()
    marker = tmp_path / "ran"
    (tmp_path / "tests" / "test_app.py").write_text(
        f"from pathlib import Path\n\n\ndef test_slow():\n    Path({str(marker)!r}).write_text('x')\n    from app import slow\n"
    )
    f = str(app)
    prof = Profile(command=("python", "bench_app.py"), sampler="py-spy", wall_seconds=2.0, cpu_seconds=2.0,
                   functions=(FunctionStat("slow", f, 1, 1.5, 1.5), FunctionStat("main", f, 9, 0.5, 2.0)), lines=(),
                   frames=(FrameRef("main", f, 9), FrameRef("slow", f, 4)),
                   stacks=(((0, 1), 1.5, 0.0), ((0,), 0.5, 0.0)))  # fmt: skip
    saved = tmp_path / "p.json"
    prof.dump(saved)
    proc = subprocess.run([sys.executable, "-m", "perfsquad", "diagnose", "app.py:slow", "--profile", str(saved)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "profile of python bench_app.py (py-spy, 2.00 s): 75.0% of the run in this function (1.500 s)" in proc.stdout
    assert "line 4: 75.0%" in proc.stdout
    assert not marker.exists()
    bad = subprocess.run([sys.executable, "-m", "perfsquad", "diagnose", "app.py:slow", "--profile", "nope.json"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert bad.returncode == 2 and "cannot read the profile nope.json" in bad.stderr and "Traceback" not in bad.stderr
