"""Every rule's VALID/INVALID examples, run as tests (Fixit style)."""

from __future__ import annotations

import ast

import pytest
from support import every_rule

from perfsquad.analyzers import RULES
from perfsquad.autofix import fix_text
from perfsquad.engine import analyze_text
from perfsquad.fixes.apply import apply_edits
from perfsquad.rule import DOC_SECTIONS, MESSAGE_LIMIT, Invalid, Rule

VALID = [(rule, i, code) for rule in RULES for i, code in enumerate(rule.valid)]
INVALID = [(rule, i, ex) for rule in RULES for i, ex in enumerate(rule.invalid)]


def _codes(source: str, rule: type[Rule]) -> list[str]:
    report = analyze_text(source, "example.py", rules=(rule,), config=every_rule())
    assert report.rule_errors == (), report.rule_errors
    return [f.code for f in report.findings]


@pytest.mark.parametrize(("rule", "index", "source"), VALID, ids=[f"{r.code}-valid-{i}" for r, i, _ in VALID])
def test_valid_examples_are_not_flagged(rule: type[Rule], index: int, source: str) -> None:
    assert _codes(source, rule) == []


@pytest.mark.parametrize(("rule", "index", "example"), INVALID, ids=[f"{r.code}-invalid-{i}" for r, i, _ in INVALID])
def test_invalid_examples_are_flagged_and_fixed(rule: type[Rule], index: int, example: Invalid) -> None:
    report = analyze_text(example.code, "example.py", rules=(rule,), config=every_rule())
    assert report.rule_errors == ()
    assert [f.code for f in report.findings] == [rule.code] * example.count
    # messages are short like ruff's (#20): the speedup and its provenance are in the hover only
    assert all(len(f.message) <= MESSAGE_LIMIT for f in report.findings), [f.message for f in report.findings]
    assert len(rule.message) <= MESSAGE_LIMIT, rule.message
    first = report.findings[0]
    if example.fixed is None:
        assert first.fix is None or example.safety is None
        return
    assert first.fix is not None, "expected a fix"
    assert first.fix.safety is example.safety
    fixed_once = apply_edits(example.code, first.fix.edits)
    result = fix_text(example.code, "example.py", unsafe=True, rules=(rule,), config=every_rule())
    assert result.text == example.fixed
    assert result.converged
    ast.parse(result.text)
    if example.count == 1:
        assert fixed_once == example.fixed
    # Re-running converges: the fixed code is not flagged again by this rule.
    assert _codes(result.text, rule) == []


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_documentation_has_every_section(rule: type[Rule]) -> None:
    sections = rule.doc_sections()
    for name in DOC_SECTIONS:
        assert sections.get(name, "").strip(), f"{rule.code} lacks '## {name}'"
    if rule.fix_safety is not None:
        assert rule.fix_safety.value in sections["Fix safety"].lower() or "unsafe" in sections["Fix safety"].lower()


def test_registry_codes_are_unique_and_ordered() -> None:
    codes = [r.code for r in RULES]
    assert len(codes) == len(set(codes))
    assert all(r.validate() == [] for r in RULES)
