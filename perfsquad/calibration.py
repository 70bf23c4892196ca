"""The measured speedup tables, one per Python version, and which one applies to the user's code.

``bench/calibrate.py`` (and ``bench/vectorize.py`` for the VEC rules) time every rule's
before/after micro-benchmark on one Python and write ``perfsquad/data/speedups/<X.Y>.json``; the
tables ship with the package. This module is their only reader: findings (``Context.report``),
the VEC rules' figures on lists, ``perfsquad rules`` / ``explain``, hovers, the docs and the
roadmap's ROI all get their figures from a :class:`Calibration`.

Which table: the one of the interpreter that runs the user's code, i.e. the ``python`` setting
(``[tool.perfsquad]``, the editor's settings or ``--python``: an interpreter path or a version
``X.Y``), else the running interpreter; when no table was measured on that version, the nearest
one. A :class:`Calibration` says which table it is and why (``describe``), and every speedup it
hands out names it in ``measured_by``.

An interpreter's version is found without running it where possible: the ``pyvenv.cfg`` of its
virtual environment, or the name of the file it resolves to (``python3.12``). Only as a last
resort is it run, isolated (``-I -S -c``, no site, no user code, a timeout), and only when its
file is named like a Python interpreter.

The ``readability`` group: a rule whose ratio at n=1,000 on the chosen table is below 1.0, or
below 1.0 at any larger calibrated size (its rewrite measured *slower* on that Python, where the
sizes are the ones a performance finding is about) is not a performance finding. :mod:`perfsquad.config`
keeps such rules off unless selected by code or by the group name, and below warning severity.
"""

from __future__ import annotations

import functools
import json
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from perfsquad.model import Speedup

GROUP_SIZE = 1000
"""The size at which a rule's ratio decides its group (the ``readability`` threshold is 1.0)."""
PERFORMANCE, READABILITY = "performance", "readability"
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")
_NAME_RE = re.compile(r"^(?:python|pypy)(\d+)\.(\d+)(?:\.exe)?$", re.IGNORECASE)
_PROBE_TIMEOUT = 5.0

Version = tuple[int, int]


def _show(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@dataclass(frozen=True, eq=False)
class Table:
    """One calibration file: the ratios measured on one Python version."""

    version: Version
    python: str
    """The full version it was measured on, e.g. ``3.12.1``."""
    date: str
    rules: Mapping[str, Any]


@functools.cache
def tables() -> tuple[Table, ...]:
    """Every shipped table, oldest Python first (empty when the data files are missing)."""
    found: list[Table] = []
    try:
        folder = resources.files("perfsquad").joinpath("data/speedups")
        entries = list(folder.iterdir())
    except (OSError, ValueError):
        return ()
    for entry in entries:
        m = re.fullmatch(r"(\d+)\.(\d+)\.json", entry.name)
        if m is None:
            continue
        try:
            data = json.loads(entry.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("rules"), dict):
            version = (int(m.group(1)), int(m.group(2)))
            found.append(Table(version, str(data.get("python", _show(version))), str(data.get("date", "?")), data["rules"]))
    return tuple(sorted(found, key=lambda t: t.version))


def nearest(version: Version) -> Table | None:
    """The table of ``version``, else the one nearest to it (the newer one on a tie)."""
    shipped = tables()
    if not shipped:
        return None
    return min(shipped, key=lambda t: (abs((t.version[0] - version[0]) * 100 + t.version[1] - version[1]), -t.version[1]))


# -- which interpreter runs the user's code --------------------------------------------------------


def _running() -> Version:
    return sys.version_info[0], sys.version_info[1]


def _pyvenv_version(executable: Path) -> Version | None:
    """The ``version``/``version_info`` of the ``pyvenv.cfg`` of the virtual environment holding ``executable``."""
    for folder in (executable.parent.parent, executable.parent):
        try:
            text = (folder / "pyvenv.cfg").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            key, _, value = line.partition("=")
            if key.strip().lower() in ("version", "version_info"):
                m = re.match(r"\s*(\d+)\.(\d+)", value)
                if m:
                    return int(m.group(1)), int(m.group(2))
    return None


def _probe(executable: Path) -> Version | None:
    """Ask the interpreter itself, isolated: no site, no user paths, nothing but one print."""
    if _NAME_RE.match(executable.name) is None and executable.name.lower() not in ("python", "python3", "python.exe"):
        return None
    if not os.access(executable, os.X_OK):
        return None
    try:
        out = subprocess.run(
            [str(executable), "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    m = _VERSION_RE.match(out)
    return (int(m.group(1)), int(m.group(2))) if m else None


@functools.lru_cache(maxsize=32)
def interpreter_version(setting: str, probe: bool = True) -> tuple[Version | None, str]:
    """The version of the interpreter a ``python`` setting names, and how it was found.

    ``setting`` is a version (``3.12``, ``3.12.1``) or a path to an interpreter or to a virtual
    environment's folder. ``(None, why)`` when it cannot be told. ``probe``: whether the
    interpreter may be run (isolated) when nothing else tells; False for a setting from a
    repository's configuration (nothing a repository names runs without the user's consent).
    """
    setting = setting.strip()
    m = _VERSION_RE.match(setting)
    if m:
        return (int(m.group(1)), int(m.group(2))), f"the configured version is {m.group(1)}.{m.group(2)}"
    path = Path(setting).expanduser()
    if path.is_dir():
        venv_python = path / ("Scripts/python.exe" if (path / "Scripts").is_dir() else "bin/python")
        found = _pyvenv_version(venv_python)
        if found is not None:
            return found, f"the configured environment {setting} is Python {_show(found)} (its pyvenv.cfg)"
        path = venv_python
    if not path.exists():
        return None, f"the configured interpreter {setting} does not exist"
    found = _pyvenv_version(path)
    if found is not None:
        return found, f"the configured interpreter {setting} is Python {_show(found)} (its pyvenv.cfg)"
    named = _NAME_RE.match(path.resolve().name)
    if named:
        found = int(named.group(1)), int(named.group(2))
        return found, f"the configured interpreter {setting} is Python {_show(found)} ({path.resolve().name})"
    if not probe:
        return None, (
            f"the interpreter {setting} named by the project's configuration was not run to ask its version "
            "(give it with --python or the editor's `python` setting to allow it)"
        )
    found = _probe(path)
    if found is not None:
        return found, f"the configured interpreter {setting} is Python {_show(found)}"
    return None, f"cannot tell the version of the configured interpreter {setting}"


# -- the chosen table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """The table chosen for one interpreter, and why (see the module docstring)."""

    table: Table | None
    target: Version
    """The version of the interpreter that runs the user's code."""
    reason: str
    """Why ``target``: e.g. ``the configured interpreter .venv/bin/python is Python 3.12 (its pyvenv.cfg)``."""

    def describe(self) -> str:
        """Which table and why, e.g. ``measured on Python 3.12.1 (the running interpreter is Python 3.12)``."""
        if self.table is None:
            return f"no calibration table shipped ({self.reason})"
        if self.table.version != self.target:
            return (
                f"measured on Python {self.table.python}, the nearest table: {_show(self.table.version)} "
                f"for Python {_show(self.target)} ({self.reason})"
            )
        return f"measured on Python {self.table.python} ({self.reason})"

    @property
    def key(self) -> str:
        """What changes findings (the table and the words naming it): part of the cache key."""
        return f"{self.table.version if self.table else None}|{self.describe()}"

    def entry(self, code: str) -> Mapping[str, Any] | None:
        entry = self.table.rules.get(code) if self.table is not None else None
        return entry if isinstance(entry, Mapping) else None

    def speedup(self, code: str) -> Speedup | None:
        """The rule's measured ratios on this table (None when the rule was not measured)."""
        return _speedup(self, code, "sizes")

    def list_speedup(self, code: str) -> Speedup | None:
        """A VEC rule's ratios for its NumPy rewrite applied to Python *lists* (conversion included)."""
        return _speedup(self, code, "lists")

    def ratio(self, code: str, n: int = GROUP_SIZE) -> float | None:
        """The rule's ratio at the calibrated size nearest ``n`` (None when not measured)."""
        speedup = self.speedup(code)
        point = speedup.at(n) if speedup is not None else None
        return point[1] if point is not None else None

    @functools.cached_property
    def readability(self) -> frozenset[str]:
        """The rules measured slower at n=1,000 or above on this table: the ``readability`` group."""
        if self.table is None:
            return frozenset()
        return frozenset(code for code in self.table.rules if measured_slower(self.speedup(code)))

    def group(self, code: str) -> str:
        return READABILITY if code in self.readability else PERFORMANCE


@functools.lru_cache(maxsize=256)
def _speedup(calibration: Calibration, code: str, key: str) -> Speedup | None:
    entry = calibration.entry(code)
    table = calibration.table
    if entry is None or table is None or not isinstance(entry.get(key), Mapping):
        return None
    sizes = tuple(sorted((int(n), float(r)) for n, r in entry[key].items() if str(n).isdigit()))
    if not sizes:
        return None
    ratios = [r for _, r in sizes]
    measured_by = str(entry.get("measured_by") or f"bench/calibrate.py on Python {table.python}, {table.date}")
    if table.version != calibration.target or calibration.reason != _RUNNING_REASON:
        measured_by += f"; {calibration.describe()}"
    scales_with = str(entry.get("scales_with", "input size"))
    if key == "lists":
        scales_with = "n = list length; NumPy on Python lists, conversion included"
    break_even = entry.get("break_even") if key == "sizes" else None
    return Speedup(
        low=min(ratios),
        high=max(ratios),
        scales_with=scales_with,
        measured_by=measured_by,
        sizes=sizes,
        break_even=int(break_even) if isinstance(break_even, int | float) else None,
    )


_RUNNING_REASON = "the running interpreter"


@functools.lru_cache(maxsize=32)
def choose(setting: str | None = None, probe: bool = True) -> Calibration:
    """The calibration for the interpreter a ``python`` setting names (None: the running one);
    ``probe``: see :func:`interpreter_version`."""
    target, reason = None, _RUNNING_REASON
    if setting:
        target, reason = interpreter_version(setting, probe)
        if target is None:
            reason = f"{reason}; using the running interpreter, Python {_show(_running())}"
    if target is None:
        target = _running()
    return Calibration(nearest(target), target, reason)


def measured_slower(speedup: Speedup | None) -> bool:
    """Whether a rewrite was measured slower at n=1,000 or at any larger size (a rule's figures, or a
    VEC rule's on lists): no gain where the inputs are large enough to matter. Such a rule is in the
    ``readability`` group, and such a finding is never escalated to a warning, wherever it runs."""
    if speedup is None:
        return False
    point = speedup.at(GROUP_SIZE)
    if point is not None and point[1] < 1.0:
        return True
    return any(ratio < 1.0 for n, ratio in speedup.sizes if n > GROUP_SIZE)


def running() -> Calibration:
    """The calibration for the running interpreter (``perfsquad rules``, docs, a rule's ``speedup()``)."""
    return choose(None)


# -- the estimated saving (Amdahl), shared by the audit's ROI and the profile weighting -----------
def times(ratio: float) -> str:
    """A speedup ratio for people: ``1.06x``, ``33.7x``, ``1230x``."""
    return f"{ratio:.0f}x" if abs(ratio) >= 100 else f"{ratio:.3g}x"


@dataclass(frozen=True)
class SpeedupPoint:
    ratio: float
    """old time / new time."""
    basis: str
    """Where the ratio comes from, e.g. ``calibrated at n=100000 (bench/calibrate.py, Python 3.11.7)``."""


def saved_share(share: float, ratio: float) -> float:
    """The share of the run a rewrite saves: ``share * (1 - 1/ratio)``; nothing when it is not faster."""
    if share <= 0 or ratio <= 1.0:
        return 0.0  # unmeasured code, or a rewrite no faster there, saves nothing
    return share * (1.0 - 1.0 / ratio)


def rule_speedup(code: str, *, measured: bool, fallback: Speedup | None = None) -> SpeedupPoint | None:
    """The calibrated speedup of a rule: the least gain from n=1,000 up for measured code, else the median.

    ``fallback`` is the finding's own speedup, from the table of the interpreter its analysis was
    configured for (or, for a vectorization finding on lists, the figures measured on lists): it
    wins over the running Python's table, which serves only findings that carry none.
    """
    speedup = fallback if fallback is not None else running().speedup(code)
    if speedup is None:
        return None
    if not speedup.sizes:
        ratio = speedup.high if measured else (speedup.low + speedup.high) / 2
        return SpeedupPoint(ratio, f"{speedup.scales_with}; {speedup.measured_by}")
    points = sorted(speedup.sizes)
    ratios = [r for _, r in points]
    where = f"range {times(min(ratios))}-{times(max(ratios))} over n={points[0][0]}..{points[-1][0]}; {speedup.measured_by}"
    if measured:
        large = [(n, r) for n, r in points if n >= GROUP_SIZE] or points[-1:]
        n, ratio = min(large, key=lambda p: p[1])
        return SpeedupPoint(ratio, f"calibrated at n={n}, the least gain from n={GROUP_SIZE} up; {where}")
    median = statistics.median(ratios)
    return SpeedupPoint(median, f"median over n={', '.join(str(n) for n, _ in points)}; {where}")
