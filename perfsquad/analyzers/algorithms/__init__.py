"""Algorithm rules (ALG): complexity traps and the estimator."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule

RULES: tuple[type[Rule], ...] = ()
