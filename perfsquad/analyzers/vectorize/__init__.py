"""Vectorization rules (VEC): pure-Python numeric loops that NumPy does in one call."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule

RULES: tuple[type[Rule], ...] = ()
