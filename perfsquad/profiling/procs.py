"""The processes that run user code: started, waited for and ended in one place.

Every command that runs the user's code (``profile`` and its samplers, ``leakcheck``, ``bench``,
``diagnose``, ``audit``'s run and ``--verify``, ``verify``, and the same commands in the language
server) starts it with :func:`spawn` and ends it with :func:`kill_group`:

* **its own process group** (``start_new_session``): the workload and everything it starts (the
  background children of a test suite, a server it launches) are one group;
* **the whole group is killed** (SIGTERM, then SIGKILL after :data:`GRACE_SECONDS`) when the
  workload finishes normally (its background children must not outlive it), on a timeout, on
  cancel, and on any exception unwinding the wait: :func:`wait` kills before it re-raises;
* **signals to perfsquad**: the CLI calls :func:`install_signal_handlers`, which turns SIGTERM and
  SIGHUP into :class:`Terminated` (SIGINT is already ``KeyboardInterrupt``); the exception unwinds
  through the waits (which kill the group) and the temporary directories (removed), and the CLI
  exits with ``128 + signal``;
* **death of perfsquad** (SIGKILL, a crash, the editor killing the language server): a watchdog
  process (``_watchdog.py``, perfsquad's own interpreter, its own session) holds a pipe from this
  process and knows the live groups and temporary directories; when the pipe ends it kills the
  groups and removes the directories. On Linux the direct child also gets ``PR_SET_PDEATHSIG``
  (SIGKILL when the thread that started it dies), so even a watchdog killed first leaves no
  leader behind (not for ``bench``'s timed runs: see :func:`spawn`);
* **every wait has a deadline**: the caller's timeout for the run, and :func:`start_timeout`
  (``PERFSQUAD_START_TIMEOUT``, 60 s by default) for a handshake with the child.

A process that leaves its group on purpose (``setsid``, a daemon) escapes all of this; nothing in
perfsquad's own children does.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

WATCHDOG = Path(__file__).with_name("_watchdog.py")
GRACE_SECONDS = 2.0
START_TIMEOUT_ENV = "PERFSQUAD_START_TIMEOUT"
DEFAULT_START_TIMEOUT = 60.0
_STEP = 0.05


class Terminated(BaseException):
    """perfsquad received SIGTERM or SIGHUP (a BaseException, like KeyboardInterrupt: it unwinds
    every ``except Exception``, killing the children and removing the temporary directories)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class TimedOut(Exception):
    """A wait passed its deadline (the group is already killed)."""


class Cancelled(Exception):
    """A wait was cancelled (the group is already killed)."""


def _raise_terminated(signum: int, _frame: Any) -> None:
    for sig in _HANDLED:  # (a second signal must not interrupt the cleanup the first one started)
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


_HANDLED = tuple(s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


def install_signal_handlers() -> dict[int, Any]:
    """SIGTERM and SIGHUP raise :class:`Terminated` in the main thread (the CLI; no-op elsewhere).
    Returns the previous handlers, for :func:`restore_signal_handlers`."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {int(sig): signal.signal(sig, _raise_terminated) for sig in _HANDLED}


def restore_signal_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def start_timeout() -> float:
    """Seconds a child may take to reach its handshake (``PERFSQUAD_START_TIMEOUT``, else 60)."""
    try:
        value = float(os.environ.get(START_TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_START_TIMEOUT
    return value if value > 0 else DEFAULT_START_TIMEOUT


# -- the watchdog --------------------------------------------------------------------------------


class _Watchdog:
    """One watchdog process per perfsquad process, started on first use (see the module docstring)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid = os.getpid()
        self.live: set[str] = set()

    def _start(self) -> IO[bytes] | None:
        if self.proc is not None and self.pid == os.getpid() and self.proc.poll() is None and self.proc.stdin:
            return self.proc.stdin
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(WATCHDOG)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        except OSError:
            self.proc = None
            return None
        self.pid = os.getpid()
        assert self.proc.stdin is not None
        with contextlib.suppress(OSError):  # (re-register what is alive: a new watchdog knows nothing)
            self.proc.stdin.write("".join(f"+{entry}\n" for entry in sorted(self.live)).encode("utf-8", "surrogateescape"))
            self.proc.stdin.flush()
        return self.proc.stdin

    def tell(self, op: str, entry: str) -> None:
        with self.lock:
            (self.live.add if op == "+" else self.live.discard)(entry)
            if op == "-" and self.proc is None:
                return
            for _attempt in range(2):
                stream = self._start()
                if stream is None:
                    return
                try:
                    stream.write(f"{op}{entry}\n".encode("utf-8", "surrogateescape"))
                    stream.flush()
                    return
                except OSError:  # (the watchdog was killed: start another)
                    self.proc = None

    def forget_after_fork(self) -> None:
        """In a forked child (a process pool's worker): this pipe is the parent's, not ours."""
        if self.proc is not None and self.proc.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                self.proc.stdin.close()  # (through the file object: its fd is never closed twice)
        self.proc = None
        self.live = set()
        self.lock = threading.Lock()


_WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG.forget_after_fork)


# -- starting, waiting, killing --------------------------------------------------------------------


def _pdeathsig() -> Any:
    """A ``preexec_fn`` setting PR_SET_PDEATHSIG to SIGKILL (Linux only; None elsewhere). The libc
    function is looked up here, in the parent, so the child only makes one call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigkill = 1, int(signal.SIGKILL)

    def preexec() -> None:
        prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)

    return preexec


_PREEXEC = _pdeathsig()


def spawn(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: dict[str, str] | None = None,
    stdin: Any = subprocess.DEVNULL,
    stdout: Any = None,
    stderr: Any = None,
    pass_fds: Sequence[int] = (),
    pdeathsig: bool = True,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as the leader of a new process group, known to the watchdog. Raises OSError.

    ``pdeathsig=False``: no ``PR_SET_PDEATHSIG`` (its ``preexec_fn`` makes Python fork instead of
    vfork, a few milliseconds per start: ``bench`` times the start, so it relies on the watchdog)."""
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdin=stdin, stdout=stdout, stderr=stderr, pass_fds=tuple(pass_fds),
        start_new_session=True, preexec_fn=_PREEXEC if pdeathsig else None,
    )  # fmt: skip
    _WATCHDOG.tell("+", f"g {proc.pid}")
    return proc


def group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (on Linux a zombie is not: a killed
    background child waits for its new parent, often a slow init, to reap it)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _running_member(pgid) if os.path.isdir("/proc/self") else True


def _running_member(pgid: int) -> bool:
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()  # state, ppid, pgrp, ...
            except (OSError, IndexError):
                continue
            if len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
                return True
    return False


def _wait_group(proc: subprocess.Popen[bytes], seconds: float) -> bool:
    """Reap the leader and wait until the group is empty; whether it emptied within ``seconds``."""
    end = time.monotonic() + seconds
    while True:
        proc.poll()
        if proc.returncode is not None and not group_alive(proc.pid):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.01)


def kill_group(proc: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> None:
    """End ``proc``'s whole process group: nothing if it is already empty, else SIGTERM, and
    SIGKILL to whatever is left after ``grace`` seconds (children ignoring SIGTERM included)."""
    try:
        if _wait_group(proc, 0):
            return
        for sig, seconds in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            if _wait_group(proc, seconds):
                return
    finally:
        _WATCHDOG.tell("-", f"g {proc.pid}")


def wait(proc: subprocess.Popen[bytes], *, deadline: float, cancel: threading.Event | None = None) -> int:
    """The exit code of ``proc``; :class:`TimedOut` past ``deadline`` (``time.monotonic``),
    :class:`Cancelled` when ``cancel`` is set. On those, and on any exception unwinding the wait
    (KeyboardInterrupt, :class:`Terminated`), the group is killed first."""
    pidfd = _pidfd(proc)
    try:
        while True:
            if pidfd is not None:  # (woken the moment the child exits: bench times are exact)
                select.select([pidfd], [], [], _STEP)
                code = proc.poll()
                if code is not None:
                    return code
            else:
                try:
                    return proc.wait(_STEP)
                except subprocess.TimeoutExpired:
                    pass
            _check(deadline, cancel)
    except BaseException:
        kill_group(proc)
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _check(deadline: float, cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled
    if time.monotonic() > deadline:
        raise TimedOut


def _pidfd(proc: subprocess.Popen[bytes]) -> int | None:
    """A file descriptor readable when ``proc`` exits (Linux 5.3+), else None."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(proc.pid)
    except OSError:
        return None
    return fd


def wait_readable(
    fd: int, proc: subprocess.Popen[bytes], *, deadline: float, cancel: threading.Event | None = None
) -> bool:
    """Wait until ``fd`` (a handshake pipe from ``proc``) is readable: True; False if ``proc`` exited
    first. Past ``deadline`` or on cancel the group is killed and TimedOut/Cancelled raised."""
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], _STEP)
            if ready:
                return True
            if proc.poll() is not None:
                return False
            _check(deadline, cancel)
    except BaseException:
        kill_group(proc)
        raise


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory removed on every way out (the watchdog removes it if perfsquad dies)."""
    path = tempfile.mkdtemp(prefix=prefix)
    _WATCHDOG.tell("+", f"d {path}")
    try:
        yield Path(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)
        _WATCHDOG.tell("-", f"d {path}")
