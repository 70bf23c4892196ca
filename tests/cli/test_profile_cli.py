"""`perfsquad profile` and `perfsquad check --profile` as a user runs them (subprocesses, issue #20).

A run that died before anything could be measured is a failure (exit 2, its reason and stderr's tail,
no hotspot table, no profile written); a profile adds information to `check` and never hides findings:
the cold ones keep their severity and say they were not reached.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from support import DEMO, ROOT

APP = """\
import time


def crunch(values):
    out = []
    for v in values:
        out.append(v * 2)
    return out


def never_called(items):
    out = []
    for item in items:
        out.append(item)
    return out


def main():
    start, data = time.process_time(), list(range(200_000))
    while time.process_time() - start < 0.6:
        crunch(data)


if __name__ == "__main__":
    main()
"""


def _perfsquad(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "perfsquad", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180)  # fmt: skip


def test_a_run_that_dies_at_once_exits_2_with_its_reason_and_no_hotspots(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (tmp_path / "nopytest.py").write_text("import pytest_is_not_installed_here\n", encoding="utf-8")  # as pytest missing
    proc = _perfsquad("profile", "--python", sys.executable, "--", "nopytest.py", cwd=tmp_path)
    assert proc.returncode == 2, proc
    assert "failed: it exited with code 1" in proc.stderr
    assert "No module named 'pytest_is_not_installed_here'" in proc.stderr  # stderr's tail
    assert "Bottleneck" not in proc.stdout and "bound" not in proc.stdout and "Hotspots" not in proc.stdout
    assert "Traceback" not in proc.stderr.split("stderr:")[0]  # (the user's traceback is quoted, ours never)
    # ... as `python nopytest.py` prints it: from the program's first frame, no runner's frame above it
    quoted = proc.stderr.split("stderr:")[1]
    assert 'File "' in quoted and "nopytest.py" in quoted.split('File "')[1].split("\n")[0], quoted
    assert "_child.py" not in quoted and "runpy" not in quoted, quoted
    assert not (tmp_path / ".perfsquad" / "profile.json").exists()


def test_check_with_a_profile_keeps_cold_findings_and_raises_the_hot_one(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    proc = _perfsquad("profile", "--sampler", "cprofile", "--python", sys.executable, "--", "app.py", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plain = json.loads(_perfsquad("check", "--no-cache", "--format", "json", "app.py", cwd=tmp_path).stdout)
    weighed = json.loads(_perfsquad("check", "--no-cache", "--format", "json", "--profile",
                                    ".perfsquad/profile.json", "app.py", cwd=tmp_path).stdout)  # fmt: skip
    assert len(weighed) == len(plain)  # nothing hidden
    by_line = {f["location"]["row"]: f for f in weighed}
    before = {f["location"]["row"]: f for f in plain}
    cold = by_line[13]  # never_called's append
    assert cold["severity"] == before[13]["severity"] and "not reached in the measured run" in cold["message"]
    hot = by_line[6]  # crunch's loop
    assert "not reached" not in hot["message"]
    assert any(n.startswith("estimated saving") for n in hot.get("notes", ())), hot


def test_on_the_demo_the_hot_vectorization_is_raised_and_the_slower_rewrite_is_not(tmp_path: Path) -> None:
    """The issue's case: VEC006 (a large measured win, in the loop holding most of the run) becomes an
    error; VEC001 on lists (its rewrite measured slower there) is not raised; nothing is hidden."""
    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo, ignore=shutil.ignore_patterns("__pycache__", ".perfsquad"))
    proc = _perfsquad("profile", "--python", sys.executable, "--out", str(tmp_path / "p.json"), "--", "run.py",
                      cwd=demo)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    plain = json.loads(_perfsquad("check", "--no-cache", "--format", "json", "memoria", cwd=demo).stdout)
    weighed = json.loads(_perfsquad("check", "--no-cache", "--format", "json", "--profile", str(tmp_path / "p.json"),
                                    "memoria", cwd=demo).stdout)  # fmt: skip
    assert len(weighed) == len(plain)
    group = next(f for f in weighed if f["code"] == "VEC006" and f["location"]["row"] == 54)  # group_similar's loop
    assert group["severity"] == "error" and group["measured_share"] > 0.3, group
    dot = next(f for f in weighed if f["code"] == "VEC001")  # the dot product on lists: slower with NumPy
    before = next(f for f in plain if f["code"] == "VEC001")
    assert dot["measured_share"] > 0 and dot["severity"] in ("info", before["severity"]) and dot["severity"] != "error"
    assert any(n.startswith("estimated saving: none") for n in dot["notes"]), dot["notes"]


def test_diagnose_of_a_run_that_fails_to_start_says_so_and_no_share(tmp_path: Path) -> None:
    """Quick Diagnose with a run that dies at once: the failure and its reason, never "0.0% of the run"."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    (tmp_path / "broken.py").write_text("import not_installed_anywhere\n", encoding="utf-8")
    proc = _perfsquad("diagnose", "app.py:crunch", "--python", sys.executable, "--run", "broken.py",
                      "--format", "json", cwd=tmp_path)  # fmt: skip
    data = json.loads(proc.stdout)
    assert data["profile"] is None, data  # (no share: no "0.0%")
    assert "No module named 'not_installed_anywhere'" in str(data["profile_error"]), data["profile_error"]
