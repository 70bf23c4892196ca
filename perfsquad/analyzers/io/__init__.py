"""I/O rules (IO): N+1 queries and calls, blocking I/O in async code."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule

RULES: tuple[type[Rule], ...] = ()
