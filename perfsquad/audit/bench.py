"""Recording benchmark runs: repeated wall-clock timings of a command, kept in the workspace.

A record (schema ``perfsquad.bench/1``) lives at ``.perfsquad/bench/NAME.json`` so before/after
survives restarts. Each run is a subprocess in its own process group with a timeout; a timeout,
Ctrl-C or a cancel event kills the whole group. Warm-up runs are executed and discarded (they
fill the OS file cache and the interpreter's ``__pycache__``). Optionally one extra, profiled run
stores a :class:`~perfsquad.profiling.model.Profile` so ``compare`` can show per-function deltas.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import platform
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfsquad.audit.stats import Summary
from perfsquad.files import write_output
from perfsquad.profiling import procs
from perfsquad.profiling.model import Profile, profile_from_json

SCHEMA = "perfsquad.bench/1"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """A benchmark could not be recorded or read (the message says why)."""


class BenchCancelled(BenchError):
    pass


@dataclass(frozen=True)
class BenchRecord:
    name: str
    command: tuple[str, ...]
    cwd: str
    runs: tuple[float, ...]
    """Wall-clock seconds of each measured run (warm-up runs excluded)."""
    warmup: int
    timeout: float
    created: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())
    python: str = field(default_factory=platform.python_version)
    machine: str = field(default_factory=lambda: f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs")
    profile: Profile | None = None
    schema: str = SCHEMA
    summary: Summary | None = None
    """n, mean, std, min and max when the file kept no individual runs (``runs`` is then empty)."""
    origin: str = "perfsquad"
    """The file format it was read from: ``perfsquad``, ``pyperf`` or ``pytest-benchmark``."""

    def sample(self) -> Summary:
        """The statistics of the measured runs (or the summary the file kept instead)."""
        if self.runs:
            return Summary.of(self.runs)
        if self.summary is not None:
            return self.summary
        raise BenchError(f"{self.name}: no measured runs")

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "name": self.name,
            "command": list(self.command),
            "cwd": self.cwd,
            "runs": list(self.runs),
            "warmup": self.warmup,
            "timeout": self.timeout,
            "created": self.created,
            "python": self.python,
            "machine": self.machine,
            "profile": self.profile.to_json() if self.profile is not None else None,
        }

    def dump(self, path: Path, fmt: str = "perfsquad") -> None:
        """Write the record, in perfsquad's format or pyperf's (``fmt="pyperf"``)."""
        if fmt == "pyperf":
            from perfsquad.audit.interop import pyperf_json

            data = pyperf_json(self)
        else:
            data = self.to_json()
        write_output(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def record_from_json(data: Any, source: str = "record") -> BenchRecord:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BenchError(f"{source}: not a {SCHEMA} benchmark record")
    try:
        runs = tuple(float(x) for x in data["runs"])
        profile = profile_from_json(data["profile"]) if data.get("profile") else None
        return BenchRecord(
            name=str(data["name"]),
            command=tuple(str(c) for c in data["command"]),
            cwd=str(data.get("cwd", "")),
            runs=runs,
            warmup=int(data.get("warmup", 0)),
            timeout=float(data.get("timeout", 0.0)),
            created=str(data.get("created", "")),
            python=str(data.get("python", "")),
            machine=str(data.get("machine", "")),
            profile=profile,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BenchError(f"{source}: malformed benchmark record ({exc})") from None


def workspace_root(start: Path | None = None) -> Path:
    """The workspace a record belongs to: the nearest directory with a pyproject.toml or .git, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "pyproject.toml").is_file() or (directory / ".git").exists():
            return directory
    return here


def bench_dir(root: Path) -> Path:
    return root / ".perfsquad" / "bench"


def valid_name(name: str) -> bool:
    return bool(_NAME_RE.match(name)) and name not in (".", "..")


def default_name() -> str:
    return "run-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def resolve_record(ref: str, store: Path) -> Path:
    """A record given as a file path or as a name stored under ``store``."""
    as_path = Path(ref)
    if as_path.suffix == ".json" and as_path.is_file():
        return as_path
    if valid_name(ref):
        candidate = store / f"{ref}.json"
        if candidate.is_file():
            return candidate
    if as_path.is_file():
        return as_path
    known = sorted(p.stem for p in store.glob("*.json")) if store.is_dir() else []
    hint = f" (recorded: {', '.join(known)})" if known else f" (no records under {store})"
    raise BenchError(f"no benchmark record named {ref!r}{hint}")


def read_json(path: Path) -> Any:
    """A benchmark file's JSON (gzip-compressed too, as pyperf writes ``.json.gz``)."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return json.loads(raw.decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise BenchError(f"{path}: cannot read benchmark record: {exc}") from None


def load_records(path: Path) -> list[BenchRecord]:
    """Every benchmark of a file, whatever its format: a perfsquad record (one), a pyperf file or
    suite, or pytest-benchmark's ``--benchmark-json`` / saved run (one per benchmark)."""
    from perfsquad.audit import interop

    data = read_json(path)
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        return [record_from_json(data, str(path))]
    return interop.records_from_json(data, str(path))


def load_record(path: Path) -> BenchRecord:
    """The one benchmark of a file (an error names them when there are several)."""
    records = load_records(path)
    if len(records) != 1:
        names = ", ".join(r.name for r in records)
        raise BenchError(f"{path}: {len(records)} benchmarks ({names}); expected one")
    return records[0]


def time_once(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float = 300.0,
    cancel: threading.Event | None = None,
    env: dict[str, str] | None = None,
) -> float:
    """Wall-clock seconds of one run of ``argv`` (output discarded); raises BenchError on failure."""
    display = " ".join(argv)
    with tempfile.TemporaryFile() as err:
        try:
            start = time.perf_counter()
            proc = procs.spawn(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=env, pdeathsig=False)
        except OSError as exc:
            raise BenchError(f"cannot run {display}: {exc.strerror or exc}") from None
        try:
            code = procs.wait(proc, deadline=time.monotonic() + timeout, cancel=cancel)
            elapsed = time.perf_counter() - start
        except procs.Cancelled:
            raise BenchCancelled(f"cancelled: {display} was stopped") from None
        except procs.TimedOut:
            raise BenchError(f"timed out after {timeout:g} s: {display} was stopped (raise the timeout)") from None
        except KeyboardInterrupt:
            raise BenchCancelled(f"interrupted: {display} was stopped") from None
        finally:
            procs.kill_group(proc)  # (the background children a run left behind)
        if code != 0:
            err.seek(0)
            tail = err.read()[-2000:].decode("utf-8", "replace").strip()
            raise BenchError(f"{display} exited with code {code}" + (f":\n{tail}" if tail else ""))
    return elapsed


def run_bench(
    argv: Sequence[str],
    *,
    name: str,
    runs: int = 5,
    warmup: int = 1,
    timeout: float = 300.0,
    cwd: Path | None = None,
    profile: bool = False,
    sampler: str = "auto",
    cancel: threading.Event | None = None,
    on_progress: Progress | None = None,
) -> BenchRecord:
    """Time ``argv`` ``warmup`` + ``runs`` times (and once more under the profiler if asked)."""
    if not argv:
        raise BenchError("nothing to benchmark: give a command after `--`")
    if runs < 1 or warmup < 0:
        raise BenchError("the runs must be at least 1 and the warmup at least 0")
    progress = on_progress or (lambda _msg: None)
    for i in range(warmup):
        progress(f"warm-up {i + 1}/{warmup}")
        time_once(argv, cwd=cwd, timeout=timeout, cancel=cancel)
    times: list[float] = []
    for i in range(runs):
        seconds = time_once(argv, cwd=cwd, timeout=timeout, cancel=cancel)
        times.append(seconds)
        progress(f"run {i + 1}/{runs}: {seconds:.4f} s")
    prof: Profile | None = None
    if profile:
        from perfsquad.profiling.run import ProfileCancelled, ProfilerError, profile_command

        progress("profiled run")
        try:
            prof = profile_command(list(argv), sampler=sampler, cwd=cwd, timeout=timeout, cancel=cancel,
                                   on_progress=progress)  # fmt: skip
        except ProfileCancelled as exc:
            raise BenchCancelled(str(exc)) from None
        except ProfilerError as exc:
            raise BenchError(f"profiled run failed: {exc}") from None
    return BenchRecord(
        name=name,
        command=tuple(argv),
        cwd=str((cwd or Path.cwd()).resolve()),
        runs=tuple(times),
        warmup=warmup,
        timeout=timeout,
        profile=prof,
    )
