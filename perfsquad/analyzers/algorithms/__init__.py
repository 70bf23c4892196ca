"""Algorithm rules (ALG): complexity traps, and the Big-O estimator (``complexity``)."""

from __future__ import annotations

from perfsquad.analyzers.algorithms.linear_search_in_sorted_list import LinearSearchInSortedList
from perfsquad.analyzers.algorithms.list_pop_front_in_loop import ListPopFrontInLoop
from perfsquad.analyzers.algorithms.list_search_in_loop import ListSearchInLoop
from perfsquad.analyzers.algorithms.membership_in_list_in_loop import MembershipInListInLoop
from perfsquad.analyzers.algorithms.nested_loop_join import NestedLoopJoin
from perfsquad.analyzers.algorithms.overlapping_recursion import OverlappingRecursion
from perfsquad.analyzers.algorithms.quadratic_concatenation import QuadraticConcatenation
from perfsquad.analyzers.algorithms.sort_in_loop import SortInLoop
from perfsquad.analyzers.base import Rule

RULES: tuple[type[Rule], ...] = (
    ListPopFrontInLoop,
    MembershipInListInLoop,
    ListSearchInLoop,
    SortInLoop,
    QuadraticConcatenation,
    NestedLoopJoin,
    OverlappingRecursion,
    LinearSearchInSortedList,
)
