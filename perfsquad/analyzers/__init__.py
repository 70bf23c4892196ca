"""The rule registry: an explicit, ordered tuple of rules, validated at import.

Adding a rule: write ``analyzers/<family>/<pattern_name>.py`` with one ``Rule`` subclass, add it
here, regenerate the docs (``python -m perfsquad.docs``) and calibrate its speedup
(``python bench/calibrate.py --rule CODE``).
"""

from __future__ import annotations

import json
from importlib import resources

from perfsquad.analyzers.base import Rule
from perfsquad.analyzers.idioms.any_all_loop import AnyAllLoop
from perfsquad.analyzers.idioms.counter_by_hand import CounterByHand
from perfsquad.analyzers.idioms.dict_comprehension_loop import DictComprehensionLoop
from perfsquad.analyzers.idioms.keys_membership import KeysMembership
from perfsquad.analyzers.idioms.list_comprehension_loop import ListComprehensionLoop
from perfsquad.analyzers.idioms.range_len_index import RangeLenIndex
from perfsquad.analyzers.idioms.set_comprehension_loop import SetComprehensionLoop
from perfsquad.analyzers.idioms.setdefault_by_hand import SetdefaultByHand
from perfsquad.analyzers.idioms.sorted_for_min_max import SortedForMinMax
from perfsquad.analyzers.idioms.string_concat_loop import StringConcatLoop
from perfsquad.analyzers.idioms.sum_loop import SumLoop
from perfsquad.model import Speedup

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
)


class RegistryError(Exception):
    pass


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


def _load_speedups(rules: tuple[type[Rule], ...]) -> None:
    """Attach measured speedups from ``perfsquad/data/speedups.json`` (written by bench/calibrate.py)."""
    try:
        raw = resources.files("perfsquad").joinpath("data/speedups.json").read_text(encoding="utf-8")
        data = json.loads(raw)
    except (OSError, ValueError):
        return
    measured_by = f"bench/calibrate.py on Python {data.get('python', '?')}, {data.get('date', '?')}"
    for rule in rules:
        entry = data.get("rules", {}).get(rule.code)
        if not entry:
            continue
        ratios = [float(r) for r in entry.get("sizes", {}).values()]
        if ratios:
            rule._speedup = Speedup(
                low=min(ratios),
                high=max(ratios),
                scales_with=entry.get("scales_with", rule.bench.scales_with if rule.bench else "input size"),
                measured_by=measured_by,
            )


def rule_by_code(code: str) -> type[Rule] | None:
    code = code.upper()
    for rule in RULES:
        if rule.code == code or rule.name == code.lower():
            return rule
    return None


_validate(RULES)
_load_speedups(RULES)
