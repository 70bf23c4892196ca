"""One normalized, versioned Profile model for every runner, importer and consumer.

Schema ``perfsquad.profile/1`` (JSON; documented in docs/profile-schema.md):

* run facts: ``command``, ``sampler``, ``wall_seconds``, ``cpu_seconds``, ``peak_memory_bytes``,
  ``samples``/``idle_samples`` (sampling runners), ``created``, ``python``;
* ``functions``: per function self/total seconds, idle seconds, calls when known, callers;
* ``lines``: per line self/total seconds, idle seconds, allocated bytes when a memory pass ran;
* with a memory pass: ``gc`` (the collector's cost), ``census`` (objects by type at start and
  peak, the largest containers) and ``cycles`` (objects freed only by the collector).

Times are wall-clock seconds; ``idle`` is the part of them spent off-CPU (waiting on I/O, sleep,
locks). Paths are absolute as the profiled interpreter saw them.
"""

from __future__ import annotations

import datetime
import json
import platform
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

SCHEMA = "perfsquad.profile/1"


@dataclass(frozen=True)
class FrameRef:
    name: str
    file: str
    line: int
    """The function's first line (for functions) or the line itself (for lines)."""


@dataclass(frozen=True)
class FunctionStat:
    name: str
    file: str
    line: int
    self_seconds: float
    total_seconds: float
    idle_seconds: float = 0.0
    calls: int | None = None
    callers: tuple[FrameRef, ...] = ()


@dataclass(frozen=True)
class LineStat:
    file: str
    line: int
    function: str
    self_seconds: float
    total_seconds: float
    idle_seconds: float = 0.0
    alloc_bytes: int | None = None
    callers: tuple[FrameRef, ...] = ()


@dataclass(frozen=True)
class Profile:
    command: tuple[str, ...]
    sampler: str
    wall_seconds: float
    cpu_seconds: float | None
    functions: tuple[FunctionStat, ...]
    lines: tuple[LineStat, ...]
    samples: int | None = None
    idle_samples: int | None = None
    peak_memory_bytes: int | None = None
    exit_code: int | None = None
    frames: tuple[FrameRef, ...] = ()
    """Distinct frames (function, file, current line) referenced by ``stacks``."""
    stacks: tuple[tuple[tuple[int, ...], float, float], ...] = ()
    """Sampled stacks, root first, as frame indices, with wall and idle seconds (sampling runners)."""
    warnings: tuple[str, ...] = ()
    """Things the user should know about this run (fallbacks, a failing exit code...)."""
    gc: dict[str, Any] | None = None
    """The cyclic collector's cost in the timed run (``profile --memory``; see
    :mod:`perfsquad.profiling.memory`): collections, pauses, examined and freed objects per generation."""
    census: dict[str, Any] | None = None
    """Objects alive at the start and at the peak of the memory pass: by type, the largest."""
    cycles: dict[str, Any] | None = None
    """Objects freed only by the cycle collector during the memory pass, by type and allocating line."""
    created: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())
    python: str = field(default_factory=platform.python_version)
    schema: str = SCHEMA

    @property
    def total_seconds(self) -> float:
        """Time the shares are relative to: the sampled/recorded total, else wall time."""
        total = sum(f.self_seconds for f in self.functions)
        return total if total > 0 else self.wall_seconds

    def with_memory(self, peak: int | None, lines: dict[tuple[str, int], int]) -> Profile:
        merged = []
        seen = set()
        for ln in self.lines:
            key = (ln.file, ln.line)
            seen.add(key)
            merged.append(replace(ln, alloc_bytes=lines.get(key)))
        for (file, line), size in lines.items():
            if (file, line) not in seen:
                merged.append(LineStat(file, line, "", 0.0, 0.0, alloc_bytes=size))
        return replace(self, lines=tuple(merged), peak_memory_bytes=peak)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["command"] = list(self.command)
        data["warnings"] = list(self.warnings)
        return data

    def dump(self, path: Path) -> None:
        """Write the profile atomically (``files.WriteError`` if it cannot be; the old one stays)."""
        from perfsquad.files import write_output

        write_output(path, (json.dumps(self.to_json(), indent=1) + "\n").encode("utf-8"))


def _refs(items: Any) -> tuple[FrameRef, ...]:
    return tuple(FrameRef(r["name"], r["file"], r["line"]) for r in items or ())


class ProfileFormatError(ValueError):
    pass


def profile_from_json(data: Any) -> Profile:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ProfileFormatError(f"not a {SCHEMA} document")
    try:
        functions = tuple(
            FunctionStat(
                f["name"], f["file"], f["line"], f["self_seconds"], f["total_seconds"],
                f.get("idle_seconds", 0.0), f.get("calls"), _refs(f.get("callers")),
            )
            for f in data["functions"]
        )  # fmt: skip
        lines = tuple(
            LineStat(
                ln["file"], ln["line"], ln.get("function", ""), ln["self_seconds"], ln["total_seconds"],
                ln.get("idle_seconds", 0.0), ln.get("alloc_bytes"), _refs(ln.get("callers")),
            )
            for ln in data["lines"]
        )  # fmt: skip
        return Profile(
            command=tuple(data.get("command", ())),
            sampler=data["sampler"],
            wall_seconds=data["wall_seconds"],
            cpu_seconds=data.get("cpu_seconds"),
            functions=functions,
            lines=lines,
            samples=data.get("samples"),
            idle_samples=data.get("idle_samples"),
            peak_memory_bytes=data.get("peak_memory_bytes"),
            exit_code=data.get("exit_code"),
            frames=_refs(data.get("frames")),
            stacks=tuple((tuple(s[0]), float(s[1]), float(s[2])) for s in data.get("stacks", ())),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
            created=data.get("created", ""),
            python=data.get("python", ""),
            gc=data.get("gc"),
            census=data.get("census"),
            cycles=data.get("cycles"),
        )
    except (KeyError, TypeError) as exc:
        raise ProfileFormatError(f"malformed profile: missing {exc}") from None
