"""The rule registry: an explicit, ordered tuple of rules, validated at import.

Adding a rule: write ``analyzers/<family>/<pattern_name>.py`` with one ``Rule`` subclass, add it
to its family's ``RULES`` tuple (``analyzers/<family>/__init__.py``), regenerate the docs (``python -m perfsquad.docs``) and calibrate its speedup
(``python bench/calibrate.py --rule CODE``).
"""

from __future__ import annotations

import json
from importlib import resources

from perfsquad.analyzers import algorithms, idioms, io, memory, vectorize
from perfsquad.analyzers.base import Rule
from perfsquad.model import Speedup

# Each family package owns its own ordered ``RULES`` tuple; this is their concatenation.
RULES: tuple[type[Rule], ...] = idioms.RULES + algorithms.RULES + io.RULES + vectorize.RULES + memory.RULES

PROJECT_RULES: tuple[type[Rule], ...] = io.RULES
"""The rules whose findings depend on the workspace index (they read the context's effect view:
what other modules' functions do). When the index changes, only these run again on a file (``api._relink``);
a test checks that no other rule reads it."""


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
            by_size = sorted((int(n), float(r)) for n, r in entry["sizes"].items() if str(n).isdigit())
            break_even = entry.get("break_even")
            rule._speedup = Speedup(
                low=min(ratios),
                high=max(ratios),
                scales_with=entry.get("scales_with", rule.bench.scales_with if rule.bench else "input size"),
                measured_by=entry.get("measured_by", measured_by),
                sizes=tuple(by_size),
                break_even=int(break_even) if isinstance(break_even, int | float) else None,
            )


def rule_by_code(code: str) -> type[Rule] | None:
    code = code.upper()
    for rule in RULES:
        if rule.code == code or rule.name == code.lower():
            return rule
    return None


_validate(RULES)
_load_speedups(RULES)
