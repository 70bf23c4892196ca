"""What process hygiene costs and how fast it cleans up (#19). Prints a table.

* ``bench`` timing error: ``perfsquad.audit.bench.time_once`` on ``sleep S`` (a known duration), the
  median of ``--repeat`` runs minus S: what the wait adds to every benchmark figure.
* a normal finish with a background child left running: seconds until ``time_once`` returns (it
  kills the group: the SIGTERM grace only applies to children that ignore SIGTERM).
* SIGTERM to ``perfsquad profile --sampler cprofile`` (a real subprocess) with a workload that
  sleeps: seconds from the signal until perfsquad has exited, the workload's group is empty and its
  temporary directory is gone; and the exit code.

Run it against another checkout to compare: ``PYTHONPATH=/other/checkout python bench/process_hygiene.py``
(the code measured is the one ``perfsquad`` imports from; it is named in the output).

Usage: python bench/process_hygiene.py [--repeat 21]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import perfsquad
from perfsquad.audit.bench import time_once

WORKLOAD = """\
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
open(os.environ["PIDFILE"], "w").write(f"{os.getpgid(0)}")
time.sleep(300)
"""


def _group_alive(pgid: int) -> bool:
    """A process of group ``pgid`` is running (zombies waiting for init to reap them are not)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _running(int(entry)):
            try:
                if os.getpgid(int(entry)) == pgid:
                    return True
            except OSError:
                continue
    return False


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed child waits for init to reap it)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def timing_error(repeat: int, seconds: float) -> float:
    runs = [time_once(["sleep", str(seconds)]) - seconds for _ in range(repeat)]
    return statistics.median(runs)


def background_finish(repeat: int) -> tuple[float, int]:
    """Median seconds per run, and how many background children were still alive after their run."""
    runs, survivors = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeat):
            pidfile = Path(tmp) / f"bg{i}"
            start = time.perf_counter()
            time_once(["sh", "-c", f"sleep 300 & echo $! > {pidfile}; sleep 0.05"])
            runs.append(time.perf_counter() - start)
            pid = int(pidfile.read_text())
            if _running(pid):
                survivors += 1
                os.kill(pid, signal.SIGKILL)  # (ours, by its pid: the old code leaves it running)
    return statistics.median(runs), survivors


def sigterm_cleanup() -> tuple[float, int, bool, bool]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "work.py").write_text(WORKLOAD, encoding="utf-8")
        scratch = work / "tmp"
        scratch.mkdir()
        pidfile = work / "pgid"
        env = {**os.environ, "TMPDIR": str(scratch), "PIDFILE": str(pidfile),
               "PYTHONPATH": os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parent.parent)}  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-m", "perfsquad", "profile", "--sampler", "cprofile", "--",
                                 sys.executable, "work.py"], cwd=work, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        while not pidfile.exists():
            time.sleep(0.05)
        pgid = int(pidfile.read_text())
        start = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
        while _group_alive(pgid) and time.perf_counter() - start < 10:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        left = _group_alive(pgid)
        temp_left = bool(os.listdir(scratch))
        if left:
            os.killpg(pgid, signal.SIGKILL)
        return elapsed, code, left, temp_left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    print(f"perfsquad from {Path(perfsquad.__file__).parent}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}")
    rows = [
        ("time_once(sleep 0.05): median added (ms)", f"{timing_error(args.repeat, 0.05) * 1000:.2f}"),
        ("time_once(sleep 0.2): median added (ms)", f"{timing_error(args.repeat, 0.2) * 1000:.2f}"),
    ]
    repeat = max(args.repeat // 3, 3)
    seconds, survivors = background_finish(repeat)
    rows += [
        ("normal finish with a background child: median s", f"{seconds:.3f}"),
        ("normal finish: background children still alive", f"{survivors} of {repeat}"),
    ]
    elapsed, code, left, temp_left = sigterm_cleanup()
    rows += [
        ("SIGTERM to profile: s until exited and group gone", f"{elapsed:.3f}" + (" (group still alive)" if left else "")),
        ("SIGTERM to profile: exit code", str(code)),
        ("SIGTERM to profile: workload group left / temp dir left", f"{left} / {temp_left}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  value")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
