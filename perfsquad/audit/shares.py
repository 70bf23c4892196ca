"""Measured share of runtime spent in a piece of source code (a finding's statement, a function).

A finding's span is widened to its innermost enclosing statement (a rule that flags a loop's
header line still means the whole loop), then measured from the profile, most exact first:

1. sampled stacks: the wall time of every sample with a frame on one of those lines (each sample
   counted once, so recursion does not double count);
2. per-line inclusive times (summed over the statement's lines, capped at the total);
3. the enclosing function's inclusive time (cProfile records functions, not lines).

The share is relative to :attr:`Profile.total_seconds` (the sampled or recorded total).
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict

from perfsquad.profiling.model import FunctionStat, LineStat, Profile
from perfsquad.profiling.weighting import statement_lines

__all__ = ["ShareIndex", "real", "statement_lines"]


@functools.lru_cache(maxsize=2048)
def real(path: str) -> str:
    """A canonical spelling of a path for matching profiles (which hold absolute paths) to files."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


def _norm(path: str) -> str:
    return real(path) if os.path.isabs(path) else os.path.normpath(path)


class ShareIndex:
    """Answers "what share of the measured run was spent in these lines of this file?"."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.total = profile.total_seconds
        self._frames_by_file: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for index, frame in enumerate(profile.frames):
            self._frames_by_file[_norm(frame.file)].append((index, frame.line))
        self._lines_by_file: dict[str, list[LineStat]] = defaultdict(list)
        for ln in profile.lines:
            self._lines_by_file[_norm(ln.file)].append(ln)
        self._functions_by_file: dict[str, list[FunctionStat]] = defaultdict(list)
        for fn in profile.functions:
            self._functions_by_file[_norm(fn.file)].append(fn)
        self._line_level = profile.sampler != "cprofile" and bool(profile.lines)
        self._relative = [f for f in {*self._frames_by_file, *self._functions_by_file} if not os.path.isabs(f)]
        self._keys: dict[str, str] = {}

    def _key(self, path: str) -> str:
        """The profile's spelling of ``path``: absolute, or a relative path it ends with."""
        cached = self._keys.get(path)
        if cached is not None:
            return cached
        key = real(path)
        if key not in self._functions_by_file and key not in self._frames_by_file:
            # Samplers may shorten file names (relative to a sys.path entry): match the longest suffix.
            suffixes = [f for f in self._relative if key.endswith(os.sep + f.lstrip("./"))]
            if suffixes:
                key = max(suffixes, key=len)
        self._keys[path] = key
        return key

    @property
    def line_level(self) -> bool:
        """Whether the profile can tell lines apart (sampled stacks or per-line times)."""
        return bool(self.profile.stacks) or self._line_level

    def measured(self, path: str) -> bool:
        """Whether the profile saw any code of this file."""
        key = self._key(path)
        return key in self._functions_by_file or key in self._frames_by_file

    def seconds_in(self, path: str, first: int, last: int, function: str | None = None) -> float:
        """Inclusive seconds spent on lines ``first..last`` of ``path``."""
        key = self._key(path)
        if self.total <= 0:
            return 0.0
        if self.profile.stacks and key in self._frames_by_file:
            wanted = {i for i, line in self._frames_by_file[key] if first <= line <= last}
            if not wanted:
                return 0.0
            return min(self.total, sum(wall for stack, wall, _ in self.profile.stacks if wanted.intersection(stack)))
        if self._line_level and key in self._lines_by_file:
            return min(self.total, sum(ln.total_seconds for ln in self._lines_by_file[key] if first <= ln.line <= last))
        # Function-level data only: the enclosing function's inclusive time (an upper bound).
        candidates = [
            fn for fn in self._functions_by_file.get(key, ()) if (function is None or fn.name == function)
            and fn.line <= last
        ]
        inside = [fn for fn in candidates if first <= fn.line <= last]
        if inside:
            return min(self.total, max(fn.total_seconds for fn in inside))
        enclosing = max(candidates, key=lambda fn: fn.line, default=None)
        return min(self.total, enclosing.total_seconds) if enclosing is not None else 0.0

    def samples_in(self, path: str, first: int, last: int) -> frozenset[int]:
        """Indices of the sampled stacks passing through lines ``first..last`` (empty without stacks)."""
        key = self._key(path)
        if not self.profile.stacks or key not in self._frames_by_file:
            return frozenset()
        wanted = {i for i, line in self._frames_by_file[key] if first <= line <= last}
        return frozenset(n for n, (stack, _, _) in enumerate(self.profile.stacks) if wanted.intersection(stack))

    def wall_of(self, samples: frozenset[int]) -> float:
        return sum(self.profile.stacks[n][1] for n in samples)

    def wall_and_idle(self, path: str, first: int, last: int) -> tuple[float, float]:
        """Inclusive (wall, idle) seconds on lines ``first..last`` (idle: time spent waiting)."""
        key = self._key(path)
        if self.profile.stacks and key in self._frames_by_file:
            wanted = {i for i, line in self._frames_by_file[key] if first <= line <= last}
            wall = idle = 0.0
            for stack, w, i in self.profile.stacks:
                if wanted.intersection(stack):
                    wall += w
                    idle += i
            return wall, idle
        rows = [ln for ln in self._lines_by_file.get(key, ()) if first <= ln.line <= last]
        return sum(ln.total_seconds for ln in rows), sum(ln.idle_seconds for ln in rows)

    def share_of(self, path: str, first: int, last: int, function: str | None = None) -> float:
        """Fraction (0..1) of the measured total spent on lines ``first..last`` of ``path``."""
        if self.total <= 0:
            return 0.0
        return self.seconds_in(path, first, last, function) / self.total

    def finding_share(self, path: str, line: int, end_line: int, function: str | None = None) -> float:
        first, last = statement_lines(path, line, end_line)
        return self.share_of(path, first, last, function)
