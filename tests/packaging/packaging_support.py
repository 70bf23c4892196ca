"""Helpers of the packaging tests (a subprocess with a timeout, an environment without this
session's Python settings), imported by conftest.py and the tests of this folder."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

GIT_ID = ["-c", "user.name=perfsquad tests", "-c", "user.email=tests@perfsquad.invalid", "-c", "commit.gpgsign=false"]


def run(cmd: list[str], cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """A subprocess with a timeout; on an unexpected exit code the assertion shows its output."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    if check:
        assert proc.returncode == 0, f"{cmd} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this session's Python settings: nothing leaks the checkout in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(extra)
    return env
