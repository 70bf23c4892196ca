"""The rule registry: one explicit, ordered list with one line per rule, resolved and validated at import.

Adding a rule: write ``analyzers/<family>/<pattern_name>.py`` with one ``Rule`` subclass and add
its line to ``REGISTRY`` below (the order is the order of the output, so new rules go at the end
of their family); nothing else is edited by hand. Then regenerate the docs (``python -m
perfsquad.docs``) and calibrate its speedup on each Python (``python bench/calibrate.py --rule CODE``:
the tables are read by :mod:`perfsquad.calibration`).
"""

from __future__ import annotations

import importlib

from perfsquad.rule import Rule

REGISTRY: tuple[str, ...] = (
    # idioms
    "idioms.list_comprehension_loop:ListComprehensionLoop",
    "idioms.set_comprehension_loop:SetComprehensionLoop",
    "idioms.dict_comprehension_loop:DictComprehensionLoop",
    "idioms.string_concat_loop:StringConcatLoop",
    "idioms.sum_loop:SumLoop",
    "idioms.keys_membership:KeysMembership",
    "idioms.sorted_for_min_max:SortedForMinMax",
    "idioms.any_all_loop:AnyAllLoop",
    "idioms.range_len_index:RangeLenIndex",
    "idioms.counter_by_hand:CounterByHand",
    "idioms.setdefault_by_hand:SetdefaultByHand",
    "idioms.dict_lookup_in_key_loop:DictLookupInKeyLoop",
    "idioms.map_filter_lambda:MapFilterLambda",
    "idioms.list_copy_for_iteration:ListCopyForIteration",
    "idioms.items_half_unused:ItemsHalfUnused",
    "idioms.list_copy_loop:ListCopyLoop",
    "idioms.first_element_copy:FirstElementCopy",
    "idioms.repeated_append:RepeatedAppend",
    "idioms.set_update_loop:SetUpdateLoop",
    "idioms.running_max_loop:RunningMaxLoop",
    # algorithms
    "algorithms.list_pop_front_in_loop:ListPopFrontInLoop",
    "algorithms.membership_in_list_in_loop:MembershipInListInLoop",
    "algorithms.list_search_in_loop:ListSearchInLoop",
    "algorithms.sort_in_loop:SortInLoop",
    "algorithms.quadratic_concatenation:QuadraticConcatenation",
    "algorithms.nested_loop_join:NestedLoopJoin",
    "algorithms.overlapping_recursion:OverlappingRecursion",
    "algorithms.linear_search_in_sorted_list:LinearSearchInSortedList",
    "algorithms.eager_list_before_early_exit:EagerListBeforeEarlyExit",
    # io
    "io.query_in_loop:QueryInLoop",
    "io.await_in_loop:AwaitInLoop",
    "io.connection_in_loop:ConnectionInLoop",
    "io.blocking_call_in_async:BlockingCallInAsync",
    "io.file_open_in_loop:FileOpenInLoop",
    "io.insert_in_loop:InsertInLoop",
    # vectorize
    "vectorize.dot_product_loop:DotProductLoop",
    "vectorize.norm_loop:NormLoop",
    "vectorize.elementwise_loop:ElementwiseLoop",
    "vectorize.array_reduction_loop:ArrayReductionLoop",
    "vectorize.math_elementwise:MathElementwise",
    "vectorize.all_pairs_similarity:AllPairsSimilarity",
    "vectorize.triple_loop_matmul:TripleLoopMatmul",
    "vectorize.numba_candidate:NumbaCandidate",
    # memory
    "memory.cache_on_method:CacheOnMethod",
    "memory.unbounded_cache:UnboundedCache",
    "memory.module_container_grows:ModuleContainerGrows",
    "memory.read_whole_file_to_iterate:ReadWholeFileToIterate",
    "memory.materialized_once:MaterializedOnce",
    "memory.small_class_without_slots:SmallClassWithoutSlots",
    "memory.growing_string_kept:GrowingStringKept",
    "memory.records_in_loop:RecordsInLoop",
)
"""``"<family>.<module>:<Class>"`` under ``perfsquad.analyzers``, in output order."""


class RegistryError(Exception):
    pass


def _resolve(entries: tuple[str, ...]) -> tuple[type[Rule], ...]:
    """Import each registry line's rule class (a wrong line fails at import, naming the line)."""
    rules: list[type[Rule]] = []
    for entry in entries:
        module_name, _, class_name = entry.partition(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        rule = getattr(module, class_name, None)
        if not (isinstance(rule, type) and issubclass(rule, Rule)):
            raise RegistryError(f"invalid rule registry: {entry!r} names no Rule subclass")
        rules.append(rule)
    return tuple(rules)


RULES: tuple[type[Rule], ...] = _resolve(REGISTRY)


def family_rules(prefix: str) -> tuple[type[Rule], ...]:
    """The registered rules whose code starts with ``prefix`` (``"ALG"``, ``"IO"``...), in order."""
    return tuple(rule for rule in RULES if rule.family().value == prefix)


def project_rules(rules: tuple[type[Rule], ...] = RULES) -> tuple[type[Rule], ...]:
    """The rules whose findings depend on the workspace index (``Rule.reads_project``)."""
    return tuple(rule for rule in rules if rule.reads_project)


def _validate(rules: tuple[type[Rule], ...]) -> None:
    problems: list[str] = []
    seen_codes: set[str] = set()
    seen_names: set[str] = set()
    for rule in rules:
        problems.extend(rule.validate())
        if rule.code in seen_codes:
            problems.append(f"duplicate code {rule.code}")
        if rule.name in seen_names:
            problems.append(f"duplicate name {rule.name}")
        seen_codes.add(rule.code)
        seen_names.add(rule.name)
    if problems:
        raise RegistryError("invalid rule registry:\n  " + "\n  ".join(problems))


def rule_by_code(code: str) -> type[Rule] | None:
    code = code.upper()
    for rule in RULES:
        if rule.code == code or rule.name == code.lower():
            return rule
    return None


_validate(RULES)
