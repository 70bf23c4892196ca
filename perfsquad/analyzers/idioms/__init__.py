"""Idiom rules (IDM): the Hettinger pass — say it the Pythonic way, which is also the fast way."""

from __future__ import annotations

from perfsquad.analyzers.base import Rule
from perfsquad.analyzers.idioms.any_all_loop import AnyAllLoop
from perfsquad.analyzers.idioms.counter_by_hand import CounterByHand
from perfsquad.analyzers.idioms.dict_comprehension_loop import DictComprehensionLoop
from perfsquad.analyzers.idioms.dict_lookup_in_key_loop import DictLookupInKeyLoop
from perfsquad.analyzers.idioms.keys_membership import KeysMembership
from perfsquad.analyzers.idioms.list_comprehension_loop import ListComprehensionLoop
from perfsquad.analyzers.idioms.list_copy_for_iteration import ListCopyForIteration
from perfsquad.analyzers.idioms.map_filter_lambda import MapFilterLambda
from perfsquad.analyzers.idioms.range_len_index import RangeLenIndex
from perfsquad.analyzers.idioms.set_comprehension_loop import SetComprehensionLoop
from perfsquad.analyzers.idioms.setdefault_by_hand import SetdefaultByHand
from perfsquad.analyzers.idioms.sorted_for_min_max import SortedForMinMax
from perfsquad.analyzers.idioms.string_concat_loop import StringConcatLoop
from perfsquad.analyzers.idioms.sum_loop import SumLoop

RULES: tuple[type[Rule], ...] = (
    ListComprehensionLoop,
    SetComprehensionLoop,
    DictComprehensionLoop,
    StringConcatLoop,
    SumLoop,
    KeysMembership,
    SortedForMinMax,
    AnyAllLoop,
    RangeLenIndex,
    CounterByHand,
    SetdefaultByHand,
    DictLookupInKeyLoop,
    MapFilterLambda,
    ListCopyForIteration,
)
