"""Verify, don't promise: apply a roadmap item's fix in a scratch copy and measure it.

For each item with a fix (safe or unsafe; a display-only or by-hand item says what a change would
need instead), in a scratch copy of the project (never the user's files):

1. the fix is applied to its file (the edits of that one finding, the text checked to parse);
2. the project's tests run there (``[tool.perfsquad] test-command``, default ``python -m pytest
   -q`` when a ``tests/`` folder or ``test_*.py`` file exists; skipped with a note otherwise),
   after a baseline run of the same tests on the unchanged copy;
3. the run command is timed on the unchanged copy and on the fixed one, *interleaved* (before,
   after, before, after...: a burst of load lands on both), with the ``bench``/``compare``
   statistics (Welch's t-test, the same significance rule as ``perfsquad compare``);
4. the prediction is restated on the unprofiled baseline (share * (1 - 1/speedup) * the baseline's
   mean), next to the measured saving, and whether it is within 2x.

Commands run with the scratch copy first on ``PYTHONPATH`` (an editable install of the project
would otherwise import the user's files), in their own process group, with a timeout.
``--apply`` then writes the verified fixes (faster, tests passing) to the user's files, through
the same checked atomic writes as ``--fix``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfsquad.audit.bench import BenchError, time_once
from perfsquad.audit.compare import DEFAULT_ALPHA, DEFAULT_MIN_EFFECT
from perfsquad.audit.roadmap import RoadmapItem
from perfsquad.audit.stats import mean, welch
from perfsquad.autofix import FixFailed, FixSkipped, write_edits
from perfsquad.model import FixSafety
from perfsquad.profiling import procs

IGNORED = (".git", ".hg", ".svn", ".perfsquad", "__pycache__", ".venv", "venv", ".tox", ".nox", "node_modules",
           ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.egg-info", "build", "dist", ".e2e")  # fmt: skip
WITHIN = 2.0
"""A measured saving "agrees" with the prediction when the two are within this factor."""

Progress = Callable[[str], None]


class VerifyError(RuntimeError):
    """Verification could not run (the message says why)."""


@dataclass(frozen=True)
class Verification:
    rank: int
    code: str
    path: str
    line: int
    status: str
    """``measured``, ``no-fix`` (display-only or by hand), ``fix-failed``, ``run-failed``."""
    detail: str = ""
    predicted_seconds: float | None = None
    before: tuple[float, ...] = ()
    after: tuple[float, ...] = ()
    p_value: float | None = None
    significant: bool = False
    tests: str = "skipped"
    """``passed``, ``failed``, ``skipped`` (no tests), ``already-failing`` (failed before the fix)."""
    safety: str = "manual"

    @property
    def measured_seconds(self) -> float | None:
        if not self.before or not self.after:
            return None
        return mean(self.before) - mean(self.after)

    @property
    def agrees(self) -> bool | None:
        """Measured and predicted savings within :data:`WITHIN` of each other (None: nothing to compare)."""
        m, p = self.measured_seconds, self.predicted_seconds
        if m is None or p is None:
            return None
        if p <= 0:
            return not self.significant or m <= 0
        return m > 0 and p / WITHIN <= m <= p * WITHIN

    @property
    def verified(self) -> bool:
        """Faster (significantly), and the tests pass (or there are none)."""
        m = self.measured_seconds
        return self.significant and m is not None and m > 0 and self.tests in ("passed", "skipped")

    def describe(self) -> str:
        head = f"#{self.rank} {self.code} {self.path}:{self.line}"
        if self.status != "measured":
            return f"{head}: {self.status}: {self.detail}"
        m = self.measured_seconds or 0.0
        base = mean(self.before) if self.before else 0.0
        pred = "no prediction" if self.predicted_seconds is None else f"predicted {self.predicted_seconds:.3g} s"
        verdict = (
            "significant" if self.significant else "not significant"
        ) + (f" (p={self.p_value:.3g})" if self.p_value is not None else "")
        agree = {True: "within 2x of the prediction", False: "NOT within 2x of the prediction", None: ""}[self.agrees]
        parts = [
            f"{head}: {pred}, measured {m:+.3g} s of {base:.3g} s ({len(self.before)}+{len(self.after)} runs, "
            f"{verdict})",
            agree,
            f"tests {self.tests}",
            f"fix {self.safety}",
        ]
        if self.detail:
            parts.append(self.detail)
        return "; ".join(p for p in parts if p)

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "code": self.code,
            "filename": self.path,
            "line": self.line,
            "status": self.status,
            "detail": self.detail,
            "predicted_seconds": self.predicted_seconds,
            "measured_seconds": self.measured_seconds,
            "before": list(self.before),
            "after": list(self.after),
            "p_value": self.p_value,
            "significant": self.significant,
            "within_2x": self.agrees,
            "tests": self.tests,
            "verified": self.verified,
            "safety": self.safety,
        }


def test_command(root: Path, configured: str | None) -> list[str] | None:
    """The project's test command: the configured one, else pytest when there are tests."""
    if configured:
        return shlex.split(configured)
    has_tests = (root / "tests").is_dir() or any(root.glob("test_*.py")) or any(root.glob("*/tests"))
    return ["python", "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"] if has_tests else None


def scratch_copy(root: Path, into: Path) -> Path:
    """A copy of ``root`` (symlinks kept as links, caches and environments left out)."""
    target = into / root.name
    shutil.copytree(root, target, symlinks=True, ignore=shutil.ignore_patterns(*IGNORED))
    return target


def _env(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(copy)] + ([str(copy / "src")] if (copy / "src").is_dir() else [])
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run_tests(argv: list[str], cwd: Path, timeout: float) -> tuple[bool, str]:
    with tempfile.TemporaryFile() as output:
        try:
            proc = procs.spawn(argv, cwd=cwd, env=_env(cwd), stdout=output, stderr=subprocess.STDOUT)
        except OSError as exc:
            return False, f"cannot run {' '.join(argv)}: {exc.strerror or exc}"
        try:
            code = procs.wait(proc, deadline=time.monotonic() + timeout)
        except procs.TimedOut:
            return False, f"timed out after {timeout:g} s"
        finally:
            procs.kill_group(proc)  # (the background children a test run left behind)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    tail = text.strip().splitlines()[-1:] or [""]
    return code in (0, 5), tail[0]  # 5: pytest collected nothing


def _apply_one(item: RoadmapItem, root: Path, copy: Path) -> str | None:
    """Apply the item's fix to its file in ``copy`` (encoding, BOM, line endings kept); an error
    message, or None."""
    fix = item.finding.fix
    if fix is None:
        return "no fix"
    try:
        rel = Path(item.path).resolve().relative_to(root)
    except ValueError:
        return f"{item.path} is outside the audited project"
    try:
        write_edits(copy / rel, fix.edits, within=[copy])
    except (FixSkipped, FixFailed) as exc:
        return f"the fix could not be applied: {exc}"
    return None


def _time_interleaved(
    argv: list[str], before: Path, after: Path, rounds: int, timeout: float, cancel: threading.Event | None
) -> tuple[list[float], list[float]]:
    b: list[float] = []
    a: list[float] = []
    for i in range(rounds):
        pair = ((before, b), (after, a)) if i % 2 == 0 else ((after, a), (before, b))
        for cwd, bucket in pair:
            bucket.append(_time_in(argv, cwd, timeout, cancel))
    return b, a


def _time_in(argv: list[str], cwd: Path, timeout: float, cancel: threading.Event | None) -> float:
    return time_once(argv, cwd=cwd, timeout=timeout, cancel=cancel, env=_env(cwd))


def verify_items(
    items: Sequence[RoadmapItem],
    *,
    root: Path,
    run: str,
    run_cwd: Path,
    tests: str | None = None,
    rounds: int = 5,
    timeout: float = 300.0,
    cancel: threading.Event | None = None,
    progress: Progress | None = None,
) -> list[Verification]:
    """Verify ``items`` one by one, each against the unchanged project (see the module docstring)."""
    say = progress or (lambda _m: None)
    root = root.resolve()
    try:
        rel_cwd = run_cwd.resolve().relative_to(root)
    except ValueError:
        raise VerifyError(f"the run command's folder {run_cwd} is outside the project {root}") from None
    argv = shlex.split(run)
    if not argv:
        raise VerifyError("no run command to measure")
    out: list[Verification] = []
    with procs.temp_dir("perfsquad-verify-") as tmp:
        base = scratch_copy(root, Path(tmp) / "before")
        test_argv = test_command(base, tests)
        baseline_ok: bool | None = None
        if test_argv is not None:
            say(f"verify: baseline tests: {' '.join(test_argv)}")
            baseline_ok, _ = _run_tests(test_argv, base, timeout)
        try:
            _time_in(argv, base / rel_cwd, timeout, cancel)  # warm-up (caches, bytecode)
        except BenchError as exc:
            raise VerifyError(f"the run command fails on the unchanged project: {exc}") from None
        for item in items:
            common = dict(rank=item.rank, code=item.finding.code, path=item.path, line=item.line)
            fix = item.finding.fix
            if fix is None or fix.safety is FixSafety.DISPLAY_ONLY:
                need = fix.title if fix is not None else "a change by hand"
                out.append(Verification(**common, status="no-fix",  # type: ignore[arg-type]
                                        detail=f"no automatic fix: {need} ({item.finding.message})"))  # fmt: skip
                continue
            say(f"verify: #{item.rank} {item.finding.code} {item.path}:{item.line}")
            after = scratch_copy(root, Path(tmp) / f"after-{item.rank}")
            error = _apply_one(item, root, after)
            if error is not None:
                out.append(Verification(**common, status="fix-failed", detail=error,  # type: ignore[arg-type]
                                        safety=fix.safety.value))  # fmt: skip
                shutil.rmtree(after, ignore_errors=True)
                continue
            tests_state = "skipped"
            detail = ""
            if test_argv is not None:
                ok, tail = _run_tests(test_argv, after, timeout)
                tests_state = "passed" if ok else ("already-failing" if baseline_ok is False else "failed")
                if not ok:
                    detail = f"tests: {tail}"
            else:
                detail = "no tests found: behaviour not checked (set [tool.perfsquad] test-command)"
            try:
                before_runs, after_runs = _time_interleaved(argv, base / rel_cwd, after / rel_cwd, rounds, timeout, cancel)
            except BenchError as exc:
                out.append(Verification(**common, status="run-failed", detail=str(exc),  # type: ignore[arg-type]
                                        tests=tests_state, safety=fix.safety.value))  # fmt: skip
                shutil.rmtree(after, ignore_errors=True)
                continue
            shutil.rmtree(after, ignore_errors=True)
            predicted = None
            est = item.estimate
            if est.share is not None and est.speedup is not None:
                ratio = est.speedup.ratio
                predicted = mean(before_runs) * est.share * (1 - 1 / ratio) if ratio > 1 else 0.0
            p_value: float | None = None
            significant = False
            if len(before_runs) >= 2:
                test = welch(before_runs, after_runs)
                p_value = test.p_value
                mb, ma = mean(before_runs), mean(after_runs)
                change = (ma - mb) / mb if mb > 0 else 0.0
                significant = test.p_value < DEFAULT_ALPHA and abs(change) >= DEFAULT_MIN_EFFECT
            out.append(Verification(
                **common, status="measured", detail=detail, predicted_seconds=predicted,  # type: ignore[arg-type]
                before=tuple(before_runs), after=tuple(after_runs), p_value=p_value, significant=significant,
                tests=tests_state, safety=fix.safety.value,
            ))  # fmt: skip
    return out
