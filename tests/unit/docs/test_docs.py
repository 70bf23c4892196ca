"""The generated rule reference in docs/rules/ is current, and every rule has a speedup record."""

from __future__ import annotations

from pathlib import Path

from support import ROOT
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


def test_every_rule_with_a_fix_is_calibrated_on_every_shipped_python() -> None:
    from perfsquad.calibration import Calibration, tables

    for table in tables():
        calibration = Calibration(table, table.version, "test")
        for rule in RULES:
            if rule.fix_safety is not None:
                assert rule.bench is not None, f"{rule.code} has a fix but no benchmark"
                speedup = calibration.speedup(rule.code)
                assert speedup is not None, f"{rule.code}: run `python bench/calibrate.py --rule {rule.code}` on {table.python}"
                assert speedup.low > 0 and speedup.high >= speedup.low
                assert "bench/calibrate.py" in speedup.measured_by and f"Python {table.python}" in speedup.measured_by


def test_every_rule_file_has_its_registry_line() -> None:
    """A rule file without its one registry line would silently never run: every public module of a
    family folder defines exactly one registered Rule subclass, and the registry names no other."""
    import importlib
    import inspect

    from perfsquad.analyzers import REGISTRY
    from perfsquad.rule import Rule

    root = ROOT / "perfsquad" / "analyzers"
    defined = set()
    for path in sorted(root.glob("*/*.py")):
        if path.name.startswith("_"):
            continue
        module_name = f"{path.parent.name}.{path.stem}"
        module = importlib.import_module(f"perfsquad.analyzers.{module_name}")
        rules = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, Rule) and obj.__module__ == module.__name__
        ]
        assert len(rules) == 1, f"{path}: one Rule subclass per rule file, found {len(rules)}"
        defined.add(f"{module_name}:{rules[0].__name__}")
    assert defined == set(REGISTRY), (
        f"not in REGISTRY: {sorted(defined - set(REGISTRY))}; no such rule: {sorted(set(REGISTRY) - defined)}"
    )
