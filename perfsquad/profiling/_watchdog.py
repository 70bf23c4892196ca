"""The watchdog of perfsquad's user processes (run by path, stdlib only, never imported).

perfsquad starts it once, in its own session, with a pipe on its stdin, and tells it line by line
which process groups and temporary directories are alive (``+g PGID``, ``-g PGID``, ``+d PATH``,
``-d PATH``). When the pipe ends without ``q`` (perfsquad died: killed with SIGKILL, crashed, the
language server's process killed by the editor), it kills every group still registered (SIGTERM,
then SIGKILL after a grace period: the workload's background children too) and removes the
directories. A normal exit of perfsquad ends the pipe with nothing registered.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time

GRACE_SECONDS = 1.0


def _signal_groups(groups: set[int], sig: int) -> None:
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, sig)


def main() -> None:
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # (only the end of the pipe ends the watchdog)
    groups: set[int] = set()
    dirs: set[str] = set()
    for line in sys.stdin.buffer:
        op, _, arg = line.decode("utf-8", "surrogateescape").rstrip("\n").partition(" ")
        if op == "q":
            return
        if op in ("+g", "-g") and arg.isdigit():
            (groups.add if op == "+g" else groups.discard)(int(arg))
        elif op == "+d":
            dirs.add(arg)
        elif op == "-d":
            dirs.discard(arg)
    if groups:
        _signal_groups(groups, signal.SIGTERM)
        time.sleep(GRACE_SECONDS)
        _signal_groups(groups, signal.SIGKILL)
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
