"""Memory rules (MEM): leaks, unbounded caches, needless materialization."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule

RULES: tuple[type[Rule], ...] = ()
