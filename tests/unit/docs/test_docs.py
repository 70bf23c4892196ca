"""The generated rule reference in docs/rules/ is current, and every rule has a speedup record."""

from __future__ import annotations

from pathlib import Path

from support import RULE_DOCS as DOCS

from perfsquad.analyzers import RULES
from perfsquad.docs import generate


def test_rule_docs_are_up_to_date(tmp_path: Path) -> None:
    for fresh in generate(tmp_path):
        committed = DOCS / fresh.name
        assert committed.exists(), f"run `python -m perfsquad.docs`: {committed.name} is missing"
        assert committed.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
            f"docs/rules/{fresh.name} is stale: run `python -m perfsquad.docs`"
        )


def test_every_rule_with_a_fix_is_calibrated() -> None:
    for rule in RULES:
        if rule.fix_safety is not None:
            assert rule.bench is not None, f"{rule.code} has a fix but no benchmark"
            speedup = rule.speedup()
            assert speedup is not None, f"{rule.code}: run `python bench/calibrate.py --rule {rule.code}`"
            assert speedup.low > 0 and speedup.high >= speedup.low
            assert "bench/calibrate.py" in speedup.measured_by
