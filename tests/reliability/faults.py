"""Fault injection for the reliability tests: run the CLI in a subprocess under a file-size limit
(``ulimit -f``) and/or subject to permission bits.

The tests run as root here, and root ignores permission bits. Dropping to another uid needs an
interpreter that uid can run (this machine's venv points into ``/root``, which it cannot), so the
child stays root but loses the capabilities that bypass the bits: ``CAP_DAC_OVERRIDE``,
``CAP_DAC_READ_SEARCH`` and ``CAP_FOWNER`` are removed from its bounding set (``prctl
PR_CAPBSET_DROP``) before ``exec``, and a root process gets no capability outside that set. It
then owns the test's files and obeys their owner bits: a ``0444`` file is read-only to it, a
``000`` directory unreadable. Run as another user, the bits apply without any of this.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from support import ROOT

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3

LOOP = "def f(xs):\n    out = []\n    for x in xs:\n        out.append(x * 2)\n    return out\n"
FIXED = "def f(xs):\n    out = [x * 2 for x in xs]\n    return out\n"
"""A file with one safe fix (IDM001), and the text ``--fix`` makes of it."""


def _drop_dac_capabilities() -> None:
    if os.geteuid() != 0:
        return  # (permission bits already apply)
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_cli(
    *args: str, cwd: Path, file_size_limit: int | None = None, obey_permissions: bool = False
) -> subprocess.CompletedProcess[str]:
    """``python -m perfsquad ARGS`` in ``cwd`` from this checkout. ``file_size_limit``: bytes any
    file the process writes may reach (``ulimit -f``: a write beyond fails with ``EFBIG``).
    ``obey_permissions``: permission bits apply even though the tests run as root."""
    steps: list[Callable[[], None]] = []
    if file_size_limit is not None:
        limit = file_size_limit
        steps.append(lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    if obey_permissions:
        steps.append(_drop_dac_capabilities)

    def preexec() -> None:
        for step in steps:
            step()

    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "perfsquad", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec if steps else None,
    )


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr


def snapshot(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` (not following links) and its bytes."""
    files = {}
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                files[str(path.relative_to(root))] = path.read_bytes()
    return files
