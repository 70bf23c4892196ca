"""Algorithm rules (ALG): complexity traps, and the Big-O estimator (``complexity``)."""

from __future__ import annotations

from perfsquad.analyzers.algorithms.list_pop_front_in_loop import ListPopFrontInLoop
from perfsquad.analyzers.algorithms.membership_in_list_in_loop import MembershipInListInLoop
from perfsquad.analyzers.base import Rule

RULES: tuple[type[Rule], ...] = (ListPopFrontInLoop, MembershipInListInLoop)
