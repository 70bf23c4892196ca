"""Run a command under a profiler, always in a subprocess, with a timeout, cancellable.

Samplers:

* ``py-spy`` (default when usable): two non-blocking py-spy samplers attach to the target, one
  counting every sample (``--idle``: wall time) and one only on-CPU samples; their difference per
  stack is the *idle* (waiting) time. Overhead is a few percent (see ``bench/profiler_overhead.py``).
  Needs ptrace: a clear :class:`ProfilerError` says how to allow it; ``auto`` falls back to cProfile.
* ``cprofile``: deterministic, exact call counts, function-level only, higher overhead on call-heavy
  code. Time in blocking builtins (``time.sleep``, socket and file reads, sqlite) counts as idle.

``memory=True`` adds a separate tracemalloc pass (its overhead would distort timings): peak traced
memory and the bytes allocated by each line that were alive at the peak, a census of the objects
alive at the start and at the peak, and the objects freed only by the cycle collector; the timed
run then also counts the collector's collections and pauses (``gc.callbacks``; see
:mod:`perfsquad.profiling.memory`).

The target runs in its own process group; timeout and cancellation kill the whole group (SIGTERM,
then SIGKILL after a grace period). Its stdout/stderr are captured, never mixed with ours (the
language server's stdout is the LSP channel).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from perfsquad.profiling import procs
from perfsquad.profiling.formats import from_pstats, from_samples
from perfsquad.profiling.model import FrameRef, Profile
from perfsquad.profiling.target import Target, command_for

CHILD = Path(__file__).with_name("_child.py")
DEFAULT_RATE = 100
DEFAULT_TIMEOUT = 300.0
MIN_SAMPLES = 30
"""Fewer samples than this and the profile says it is not reliable."""
_ATTACH_SECONDS = 10.0
_PTRACE_HINT = (
    "py-spy needs ptrace to read the target's memory and it is not permitted here. Run as root, "
    "allow it with `sudo sysctl kernel.yama.ptrace_scope=0`, or in a container start with "
    "`--cap-add SYS_PTRACE`; or profile without ptrace: use the cprofile sampler."
)
Progress = Callable[[str], None]


class ProfilerError(RuntimeError):
    """The profile could not be taken; the message says why and what to do."""


class ProfileCancelled(ProfilerError):
    pass


class ProfileFailed(ProfilerError):
    """The command ran but its run measures nothing usable (it failed early, or was too short).

    The message gives the reason and the tail of the command's stderr; callers keep what they had
    (a failed run never replaces a loaded profile)."""


TOO_FEW_SAMPLES = 5
"""A sampled run with fewer samples than this measured nothing: it is a failure, not a profile."""
PYTEST_FAILURES = {2: "interrupted (collection errors)", 3: "internal error", 4: "usage error", 5: "no tests collected"}
"""pytest's exit codes that mean no test ran as asked (1, some tests failed, still measured them)."""


def run_failure(profile: Profile, target: Target) -> str | None:
    """Why ``profile`` is not a usable measurement of ``target``, or None when it is."""
    code = profile.exit_code
    if target.mode == "module" and target.target == "pytest" and code in PYTEST_FAILURES:
        return f"pytest exited with code {code}: {PYTEST_FAILURES[code]}"
    short = (profile.samples is not None and profile.samples < MIN_SAMPLES) or (
        profile.samples is None and profile.wall_seconds < MIN_SAMPLES / DEFAULT_RATE
    )
    if code and short:
        return f"it exited with code {code} after {profile.wall_seconds:.2f} s, before anything could be measured"
    if profile.samples is not None and profile.samples < TOO_FEW_SAMPLES:
        return (
            f"the run was too short to measure ({profile.samples} samples in {profile.wall_seconds:.2f} s): "
            "run a longer workload, or use the cprofile sampler"
        )
    return None


def py_spy_executable() -> str | None:
    """py-spy next to our interpreter (installed with perfsquad), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    if beside.exists():
        return str(beside)
    return shutil.which("py-spy")


def _is_wrapper_frame(frame: FrameRef) -> bool:
    name = os.path.basename(frame.file)
    return frame.file == str(CHILD) or name in ("runpy.py", "<frozen runpy>") or frame.file == "<frozen runpy>"


def _wait(
    proc: subprocess.Popen[bytes], deadline: float, cancel: threading.Event | None, what: str, timeout: float
) -> int:
    """Wait for ``proc``; on timeout or cancel kill its process group and raise."""
    try:
        return procs.wait(proc, deadline=deadline, cancel=cancel)
    except procs.Cancelled:
        raise ProfileCancelled(f"cancelled: {what} was stopped") from None
    except procs.TimedOut:
        raise ProfilerError(f"timed out after {timeout:g} s: {what} was stopped (raise the timeout)") from None
    except KeyboardInterrupt:
        raise ProfileCancelled(f"interrupted: {what} was stopped") from None


@contextlib.contextmanager
def _group(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """``proc``'s whole group is killed when the block ends, however it ends (after a normal exit
    of the workload: the background children it left)."""
    try:
        yield proc
    finally:
        procs.kill_group(proc)


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class _Run:
    """One wrapper-run of a Python target in a scratch directory."""

    def __init__(
        self, target: Target, work: Path, cwd: Path | None, env: dict[str, str] | None, gc: bool = False
    ) -> None:
        if target.python is None:
            raise ProfilerError(f"not a Python command: {target.display}")
        self.target = target
        self.work = work
        self.cwd = cwd
        self.env = {**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"}
        self.result = work / "result.json"
        self.stdout = work / "stdout.txt"
        self.stderr = work / "stderr.txt"
        self.gc = gc
        """Count the collector's work (``--gc``) in this run."""
        self.last: dict[str, Any] = {}
        """The facts of the last run."""

    def argv(self, *flags: str) -> list[str]:
        assert self.target.python is not None
        if self.gc:
            flags = (*flags, "--gc")
        return [self.target.python, str(CHILD), *flags, "--result", str(self.result),
                self.target.mode, self.target.target, *self.target.args]  # fmt: skip

    def start(self, argv: list[str], pass_fds: tuple[int, ...] = ()) -> subprocess.Popen[bytes]:
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            try:
                return procs.spawn(argv, cwd=self.cwd, env=self.env, stdout=out, stderr=err, pass_fds=pass_fds)
            except OSError as exc:
                raise ProfilerError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None

    def facts(self, code: int) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.result.read_text(encoding="utf-8"))
            self.last = data
            return data
        except (OSError, ValueError):
            detail = _tail(self.stderr)
            raise ProfilerError(
                f"{self.target.display} exited with code {code} before perfsquad could measure it"
                + (f":\n{detail}" if detail else "")
            ) from None


def _warnings_for(facts: dict[str, Any], run: _Run) -> tuple[str, ...]:
    if facts.get("exit_code"):
        last = _tail(run.stderr, 1) or facts.get("error") or ""
        return (f"the command exited with code {facts['exit_code']}" + (f": {last}" if last else ""),)
    return ()


class _Sampler:
    """A py-spy process attached to ``pid``, writing raw collapsed stacks to ``out``."""

    def __init__(self, exe: str, pid: int, out: Path, rate: int, idle: bool) -> None:
        argv = [exe, "record", "-p", str(pid), "--nonblocking", "--full-filenames", "-f", "raw", "-o", str(out), "-r", str(rate)]
        if idle:
            argv.append("--idle")
        self.out = out
        self.proc = procs.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self.started = threading.Event()
        self.reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self.reader.start()

    def _read(self, stream: IO[bytes] | None) -> None:
        assert stream is not None
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").strip()
            self.lines.append(line)
            if "Sampling process" in line:
                self.started.set()
        self.started.set()

    def wait_started(self, timeout: float) -> None:
        self.started.wait(timeout)
        if self.proc.poll() is not None and not any("Sampling process" in ln for ln in self.lines):
            text = "\n".join(self.lines[-5:])
            if re.search(r"[Pp]ermission denied|[Oo]peration not permitted|ptrace", text):
                raise ProfilerError(f"{_PTRACE_HINT}\npy-spy said: {text}")
            raise ProfilerError(f"py-spy could not attach: {text or 'no output'}")

    def finish(self, timeout: float = 15.0) -> str:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)  # py-spy writes what it has on SIGINT
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        procs.kill_group(self.proc)
        self.reader.join(2)
        try:
            return self.out.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        procs.kill_group(self.proc, grace=0)


def _run_py_spy(
    run: _Run, exe: str, rate: int, deadline: float, timeout: float, cancel: threading.Event | None,
    progress: Progress,
) -> Profile:  # fmt: skip
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    try:
        proc = run.start(run.argv("--ready-fd", str(ready_w), "--go-fd", str(go_r)), pass_fds=(ready_w, go_r))
    finally:
        os.close(ready_w)
        os.close(go_r)
    samplers: list[_Sampler] = []
    try:
        with os.fdopen(ready_r, "rb") as ready:
            start_limit = procs.start_timeout()
            try:
                started = procs.wait_readable(
                    ready.fileno(), proc, deadline=min(deadline, time.monotonic() + start_limit), cancel=cancel
                )
            except procs.Cancelled:
                raise ProfileCancelled(f"cancelled: {run.target.display} was stopped") from None
            except procs.TimedOut:
                raise ProfilerError(
                    f"{run.target.python} did not start {run.target.display} within {start_limit:g} s "
                    f"(no handshake from perfsquad's wrapper; it was stopped; raise {procs.START_TIMEOUT_ENV} "
                    "if the interpreter is slow to start)"
                ) from None
            if not started or not ready.read(1):
                _wait(proc, deadline, cancel, run.target.display, timeout)
                raise ProfilerError(f"{run.target.python} failed to start:\n{_tail(run.stderr)}")
        progress(f"attaching py-spy at {rate} Hz")
        samplers = [
            _Sampler(exe, proc.pid, run.work / "wall.txt", rate, idle=True),
            _Sampler(exe, proc.pid, run.work / "active.txt", rate, idle=False),
        ]
        for sampler in samplers:
            sampler.wait_started(_ATTACH_SECONDS)
        os.write(go_w, b"g")
        progress(f"running {run.target.display}")
        code = _wait(proc, deadline, cancel, run.target.display, timeout)
    except BaseException:
        procs.kill_group(proc)
        for sampler in samplers:
            sampler.stop()
        raise
    finally:
        os.close(go_w)
    procs.kill_group(proc)  # (the workload's background children)
    progress("collecting samples")
    wall_raw, active_raw = samplers[0].finish(), samplers[1].finish()
    facts = run.facts(code)
    profile = from_samples(
        command=run.target.display.split(" "),
        wall_raw=wall_raw,
        active_raw=active_raw,
        rate=rate,
        wall_seconds=float(facts["wall_seconds"]),
        cpu_seconds=float(facts["cpu_seconds"]),
        exit_code=int(facts["exit_code"]),
        drop_root=_is_wrapper_frame,
    )
    warnings = _warnings_for(facts, run)
    if (profile.samples or 0) < MIN_SAMPLES:
        warnings += (
            f"only {profile.samples or 0} samples at {rate} Hz: the run was too short to sample reliably "
            "(raise the sampling rate, run the workload longer, or use the cprofile sampler)",
        )
    return replace(profile, warnings=warnings)


def _run_cprofile(
    run: _Run, deadline: float, timeout: float, cancel: threading.Event | None, progress: Progress
) -> Profile:
    stats = run.work / "profile.pstats"
    progress(f"running {run.target.display} under cProfile")
    with _group(run.start(run.argv("--cprofile", str(stats)))) as proc:
        code = _wait(proc, deadline, cancel, run.target.display, timeout)
    facts = run.facts(code)
    profile = from_pstats(
        stats,
        command=run.target.display.split(" "),
        wall_seconds=float(facts["wall_seconds"]),
        cpu_seconds=float(facts["cpu_seconds"]),
        exit_code=int(facts["exit_code"]),
        drop=lambda name, file: _is_wrapper_frame(FrameRef(name, file, 0))
        or (file == "<builtin>" and name == "method 'disable' of '_lsprof.Profiler' objects"),
    )
    return replace(profile, warnings=_warnings_for(facts, run))


def _run_external(
    target: Target, exe: str, work: Path, rate: int, cwd: Path | None, deadline: float, timeout: float,
    cancel: threading.Event | None, progress: Progress,
) -> Profile:  # fmt: skip
    out = work / "wall.txt"
    argv = [exe, "record", "--idle", "--subprocesses", "--full-filenames", "-f", "raw", "-o", str(out), "-r", str(rate), "--",
            target.target, *target.args]  # fmt: skip
    progress(f"running {target.display} under py-spy")
    started = time.perf_counter()
    with open(work / "stderr.txt", "wb") as err:
        try:
            proc = procs.spawn(argv, cwd=cwd, stdout=err, stderr=err)
        except OSError as exc:
            raise ProfilerError(f"cannot start py-spy: {exc}") from None
    with _group(proc):
        code = _wait(proc, deadline, cancel, target.display, timeout)
    wall = time.perf_counter() - started
    raw = out.read_text(encoding="utf-8", errors="replace") if out.exists() else ""
    if not raw and code != 0:
        text = _tail(work / "stderr.txt")
        hint = f"\n{_PTRACE_HINT}" if re.search(r"[Pp]ermission denied|not permitted", text) else ""
        raise ProfilerError(f"py-spy failed on {target.display} (exit {code}):\n{text}{hint}")
    return from_samples(
        command=[target.target, *target.args], wall_raw=raw, active_raw=None, rate=rate,
        wall_seconds=wall, cpu_seconds=None, exit_code=code,
    )  # fmt: skip


def _memory_pass(
    run: _Run, deadline: float, timeout: float, cancel: threading.Event | None, progress: Progress
) -> dict[str, Any]:
    progress("memory pass (tracemalloc, census, cycles)")
    with _group(run.start(run.argv("--memory"))) as proc:
        code = _wait(proc, deadline, cancel, run.target.display, timeout)
    return run.facts(code)


def profile_command(
    spec: str | Sequence[str] | Target,
    *,
    sampler: str = "auto",
    cwd: Path | str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory: bool = False,
    cancel: threading.Event | None = None,
    on_progress: Progress | None = None,
    rate: int = DEFAULT_RATE,
    python: str | None = None,
    env: dict[str, str] | None = None,
) -> Profile:
    """Profile ``spec`` (see :func:`perfsquad.profiling.target.command_for`) and return its Profile.

    Raises :class:`ProfilerError` (clear message) or :class:`ProfileCancelled`.
    """
    if sampler not in ("auto", "py-spy", "cprofile"):
        raise ProfilerError(f"unknown sampler {sampler!r}: use auto, py-spy or cprofile")
    target = spec if isinstance(spec, Target) else command_for(spec, python)
    progress: Progress = on_progress or (lambda _msg: None)
    workdir = Path(cwd) if cwd is not None else None
    exe = py_spy_executable()
    warnings: list[str] = []
    if sampler == "py-spy" and exe is None:
        raise ProfilerError("py-spy is not installed: `pip install py-spy`, or use the cprofile sampler")
    chosen = "py-spy" if sampler == "py-spy" or (sampler == "auto" and exe is not None) else "cprofile"
    if chosen == "cprofile" and sampler == "auto":
        warnings.append("py-spy is not installed; used cProfile (function-level, higher overhead)")
    if target.mode == "external" and chosen == "cprofile":
        raise ProfilerError(f"{target.display} is not a Python command: only py-spy can profile it")
    deadline = time.monotonic() + timeout
    with procs.temp_dir("perfsquad-profile-") as work:
        ran_notebook: tuple[str, str] | None = None
        shown = target.display
        if target.mode == "notebook":
            target, ran_notebook, note = _notebook_script(target, work, workdir)
            warnings.append(note)
            if workdir is None:  # (Jupyter runs a notebook in its own folder)
                workdir = Path(ran_notebook[1]).parent
        if target.mode == "external":
            assert exe is not None
            profile = _run_external(target, exe, work, rate, workdir, deadline, timeout, cancel, progress)
        else:
            run = _Run(target, work, workdir, env, gc=memory)
            if chosen == "py-spy":
                assert exe is not None
                try:
                    profile = _run_py_spy(run, exe, rate, deadline, timeout, cancel, progress)
                except ProfilerError as exc:
                    if sampler != "auto" or isinstance(exc, ProfileCancelled) or _PTRACE_HINT not in str(exc):
                        raise
                    warnings.append(f"py-spy could not attach, used cProfile instead. {_PTRACE_HINT}")
                    profile = _run_cprofile(run, deadline, timeout, cancel, progress)
            else:
                profile = _run_cprofile(run, deadline, timeout, cancel, progress)
            if memory:
                facts = _memory_pass(_Run(target, work, workdir, env), deadline, timeout, cancel, progress)
                lines = {(str(f), int(n)): int(size) for f, n, size in facts.get("memory_lines", [])}
                peak = facts.get("peak_memory_bytes")
                profile = replace(
                    profile.with_memory(int(peak) if peak is not None else None, lines),
                    gc=run.last.get("gc"), census=facts.get("census"), cycles=facts.get("cycles"),
                )  # fmt: skip
        if ran_notebook is not None:
            profile = replace(_renamed(profile, *ran_notebook), command=tuple(shown.split(" ")))
        failure = run_failure(profile, target)
        if failure is not None:
            tail = _tail(work / "stderr.txt")
            raise ProfileFailed(f"profiling {shown} failed: {failure}" + (f"\nstderr:\n{tail}" if tail else ""))
    if target.mode == "external" and os.path.basename(target.target) == "jupyter":
        warnings.append(
            "under `jupyter` the kernel runs each cell as anonymous code, so its time is not given to cells: "
            "`perfsquad profile NOTEBOOK.ipynb` does"
        )
    return replace(profile, warnings=(*warnings, *profile.warnings))


def _notebook_script(target: Target, work: Path, cwd: Path | None) -> tuple[Target, tuple[str, str], str]:
    """A notebook target as a script target: its code cells written as the one module they make
    (``perfsquad.notebook.virtual_module``: same lines, IPython-only lines masked, so they do not
    run). Returns the script target, (script path, notebook path) to rename frames with, and a note."""
    from perfsquad import notebook

    path = Path(target.target)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    try:
        module = notebook.virtual_module(notebook.read_cells(path.read_bytes()))
    except OSError as exc:
        raise ProfilerError(f"cannot read {target.target}: {exc.strerror or exc}") from None
    except notebook.NotebookError as exc:
        raise ProfilerError(f"{target.target}: {exc}") from None
    if not module.cells:
        raise ProfilerError(f"{target.target} has no Python code cells to run")
    script = work / "notebook_cells.py"
    script.write_text(module.text, encoding="utf-8")
    skipped = len(module.masked)
    note = (
        f"ran the notebook's {len(module.cells)} code cells as one script, top to bottom"
        + (f", without its {skipped} IPython line{'s' if skipped != 1 else ''} (magics, shell)" if skipped else "")
        + "; lines are shown as `cell N:line`"
    )
    return Target(target.python, "script", str(script), target.args), (str(script), str(path.resolve())), note


def _renamed(profile: Profile, old: str, new: str) -> Profile:
    """``profile`` with every frame of file ``old`` (a notebook's script) put in file ``new`` (the
    notebook). Lines stay the module's lines, as a notebook's findings are (``check --profile``
    matches them); front ends show them as ``cell N:line`` (``perfsquad.notebook.in_cell``)."""

    def ref(r: FrameRef) -> FrameRef:
        return replace(r, file=new) if r.file == old else r

    return replace(
        profile,
        functions=tuple(
            replace(f, file=new if f.file == old else f.file, callers=tuple(map(ref, f.callers))) for f in profile.functions
        ),
        lines=tuple(
            replace(ln, file=new if ln.file == old else ln.file, callers=tuple(map(ref, ln.callers))) for ln in profile.lines
        ),
        frames=tuple(map(ref, profile.frames)),
    )
