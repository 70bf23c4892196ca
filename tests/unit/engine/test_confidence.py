"""Confidence and evidence: carried by findings, filtered by the `confidence` setting, and test
files demoted to hints one level lower (perfsquad.engine.postprocess, perfsquad.config)."""

from __future__ import annotations

import ast
from typing import Any, ClassVar

from perfsquad.config import Config, config_from_mapping
from perfsquad.engine import analyze_text
from perfsquad.model import Confidence, finding_from_json, to_json
from perfsquad.rule import Invalid, Rule


class _Sure(Rule):
    """A toy rule: reports every ``for`` loop, with a confidence named by the loop's target."""

    code = "ALG901"
    name = "toy-sure"
    message = "a loop"
    node_types: ClassVar[tuple[type[ast.AST], ...]] = (ast.For,)
    valid = ("x = 1",)
    invalid = (Invalid("for high in xs: pass"),)

    def check(self, node: ast.For, ctx: Any) -> None:
        level = Confidence(ast.unparse(node.target))
        ctx.report(self, node, confidence=level, evidence=f"because {level.value}")


CODE = "for high in xs: pass\nfor medium in xs: pass\nfor low in xs: pass\n"


def _levels(config: Config, path: str = "pkg/mod.py") -> list[tuple[str, str, str | None]]:
    report = analyze_text(CODE, path, config, rules=(_Sure,))
    return [(f.confidence.value, f.severity.value, f.evidence) for f in report.findings]


def test_default_reports_high_and_medium_with_their_evidence() -> None:
    assert _levels(Config()) == [("high", "warning", "because high"), ("medium", "warning", "because medium")]


def test_confidence_low_shows_everything_and_high_only_the_surest() -> None:
    assert [c for c, _, _ in _levels(config_from_mapping({"confidence": "low"}))] == ["high", "medium", "low"]
    assert [c for c, _, _ in _levels(config_from_mapping({"confidence": "HIGH"}))] == ["high"]


def test_a_bad_confidence_setting_warns_and_keeps_the_default() -> None:
    config = config_from_mapping({"confidence": "sometimes"})
    assert config.confidence is Confidence.MEDIUM
    assert any("confidence" in w for w in config.warnings)


def test_test_files_are_hints_one_level_lower() -> None:
    for path in ("pkg/tests/test_mod.py", "tests/helpers.py", "pkg/test_mod.py", "pkg/mod_test.py", "conftest.py"):
        assert _levels(Config(), path) == [("medium", "hint", "because high; in a test file")], path
    low = config_from_mapping({"confidence": "low"})
    assert [c for c, _, _ in _levels(low, "pkg/tests/a.py")] == ["medium", "low", "low"]


def test_test_file_treatment_is_configurable() -> None:
    assert _levels(config_from_mapping({"tests": "off"}), "tests/test_a.py") == []
    normal = _levels(config_from_mapping({"tests": "normal"}), "tests/test_a.py")
    assert normal == _levels(Config(), "pkg/mod.py")
    extra = config_from_mapping({"extend-test-paths": ["benchmarks"]})
    assert _levels(extra, "pkg/benchmarks/b.py")[0][1] == "hint"
    assert config_from_mapping({"tests": "maybe"}).warnings


def test_config_key_changes_with_confidence_and_tests() -> None:
    keys = {Config().key(), config_from_mapping({"confidence": "low"}).key(), config_from_mapping({"tests": "off"}).key()}
    assert len(keys) == 3


def test_confidence_and_evidence_survive_json() -> None:
    finding = analyze_text(CODE, "m.py", Config(), rules=(_Sure,)).findings[0]
    again = finding_from_json(to_json(finding))
    assert again == finding and again.confidence is Confidence.HIGH and again.evidence == "because high"
