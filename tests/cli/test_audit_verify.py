"""`perfsquad audit --verify N` and `--apply`: each fix applied alone in a scratch copy, the tests
run there, the run command timed before/after interleaved; the user's files change only with
--apply, and only for a fix that was measured faster with passing tests."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from support import ROOT

from perfsquad.audit.roadmap import RoadmapItem
from perfsquad.audit.roi import RoiEstimate, SpeedupPoint
from perfsquad.audit.verify import Verification, verify_items
from perfsquad.model import Edit, Finding, Fix, FixSafety, Span

APP = """\
def distinct_count(xs: list[int]) -> int:
    seen = []
    n = 0
    for x in xs:
        if x not in seen:
            seen.append(x)
            n += 1
    return n
"""
RUN = """\
from app import distinct_count

print(distinct_count([(i * 7919) % 5000 for i in range(16000)]))
"""
TEST = """\
from app import distinct_count


def test_distinct_count():
    assert distinct_count([1, 2, 2, 3, 1]) == 3
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "tests").mkdir()
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "run.py").write_text(RUN)
    (tmp_path / "tests" / "test_app.py").write_text(TEST)
    (tmp_path / "pyproject.toml").write_text("[tool.pytest.ini_options]\npythonpath = ['.']\n")
    return tmp_path


def _audit(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "perfsquad", "audit", ".", "--run", "python run.py", "--verify", "2",
         "--verify-rounds", "3", "--format", "json", *extra],
        cwd=project, capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


def test_verify_measures_the_fix_in_a_scratch_copy_and_leaves_the_files_alone(tmp_path: Path) -> None:
    project = _project(tmp_path)
    proc = _audit(project)
    assert proc.returncode == 0, proc.stderr
    assert (project / "app.py").read_text() == APP  # never the user's files without --apply
    [check] = json.loads((project / ".perfsquad" / "audit" / "verify.json").read_text())
    assert (check["code"], check["status"], check["tests"], check["safety"]) == ("ALG002", "measured", "passed", "unsafe")
    assert len(check["before"]) == len(check["after"]) == 3
    assert check["predicted_seconds"] is not None and check["measured_seconds"] is not None
    assert check["verified"] == (check["significant"] and check["measured_seconds"] > 0)
    assert "Verify (each fix alone in a scratch copy, 3 interleaved runs before/after):" in proc.stdout
    assert "#1 ALG002 app.py:5: predicted " in proc.stdout and "tests passed" in proc.stdout
    assert not list(tmp_path.glob("perfsquad-verify-*"))  # the scratch copies are gone


def test_apply_writes_only_a_verified_fix(tmp_path: Path) -> None:
    project = _project(tmp_path)
    proc = _audit(project, "--apply")
    assert proc.returncode == 0, proc.stderr
    [check] = json.loads((project / ".perfsquad" / "audit" / "verify.json").read_text())
    text = (project / "app.py").read_text()
    if check["verified"]:
        assert "seen = set()" in text and "seen.add(x)" in text and "applied: #1 ALG002" in proc.stdout
        compile(text, "app.py", "exec")
    else:  # (a machine too loaded to tell: then nothing is written)
        assert text == APP and "Applied 0 verified fixes" in proc.stdout


def test_a_fix_that_breaks_the_tests_is_reported_and_never_verified(tmp_path: Path) -> None:
    """A fix that changes behaviour (here: an edit counting one too many) fails the project's tests
    in the scratch copy: reported as such, and never counted as verified whatever its timing."""
    project = _project(tmp_path)
    start = Span.of(7, 12, 7, 18)  # `n += 1` -> `n += 2`
    finding = Finding("ALG002", "test", start, fix=Fix("break it", FixSafety.UNSAFE, (Edit(start, "n += 2"),)))
    est = RoiEstimate("ALG002", 0.9, SpeedupPoint(2.0, "test"), 1.0, 5, "unsafe")
    item = RoadmapItem(str(project / "app.py"), finding, "distinct_count", "ALG", "3-hotspot", est, rank=1)
    [check] = verify_items([item], root=project, run="python run.py", run_cwd=project, rounds=2, timeout=120)
    assert check.status == "measured" and check.tests == "failed" and not check.verified
    assert "tests:" in check.detail
    assert (project / "app.py").read_text() == APP
    display_only = replace(item, finding=replace(finding, fix=Fix("by hand", FixSafety.DISPLAY_ONLY, ())))
    [shown] = verify_items([display_only], root=project, run="python run.py", run_cwd=project, rounds=2)
    assert shown.status == "no-fix" and "by hand" in shown.detail


def test_agreement_is_within_a_factor_of_two() -> None:
    base = Verification(1, "X", "a.py", 1, "measured", predicted_seconds=1.0, before=(3.0, 3.0), after=(2.4, 2.4),
                        significant=True, tests="passed")  # fmt: skip
    assert base.measured_seconds == 0.6000000000000001 or abs((base.measured_seconds or 0) - 0.6) < 1e-9
    assert base.agrees is True and base.verified
    far = replace(base, after=(2.8, 2.8))  # 0.2 s measured for 1 s predicted
    assert far.agrees is False and "NOT within 2x" in far.describe()
    slower = replace(base, after=(3.5, 3.5))
    assert not slower.verified and slower.agrees is False


def test_verify_command_measures_a_named_finding(tmp_path: Path) -> None:
    project = _project(tmp_path)
    env = {"PYTHONPATH": str(ROOT), "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "perfsquad", "verify", "app.py:5:ALG002", "--run", "python run.py",
                           "--rounds", "2"], cwd=project, capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "#1 ALG002 app.py:5: predicted " in proc.stdout and "tests passed" in proc.stdout
    assert (project / "app.py").read_text() == APP
    missing = subprocess.run([sys.executable, "-m", "perfsquad", "verify", "app.py:3", "--run", "python run.py"],
                             cwd=project, capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert missing.returncode == 2 and "no finding at app.py:3" in missing.stderr and "Traceback" not in missing.stderr
    bad = subprocess.run([sys.executable, "-m", "perfsquad", "verify", "nowhere.py:1"], cwd=project,
                         capture_output=True, text=True, timeout=60, env=env)  # fmt: skip
    assert bad.returncode == 2 and "expected PATH:LINE[:CODE]" in bad.stderr
