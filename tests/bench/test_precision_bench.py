"""The precision benchmark's machinery (bench/precision.py) scores, samples and gates as it says.

The real corpora are not fetched here: a tiny package in a temporary directory stands in for a
project, and perfsquad runs on it as a subprocess exactly as on the real ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from support import BENCH

sys.path.insert(0, str(BENCH))

import corpus
import precision

SOURCE = """\
import os


def doubled(xs):
    out = []
    for x in xs:
        out.append(x * 2)
    return out


class Box:
    @property
    def size(self):
        def inner():
            return 1

        return inner()
"""
LOOP_LINE = 6  # `for x in xs:`, reported as IDM001 (append in a loop)


def finding(line: int, rule: str = "IDM001", file: str = "pkg/a.py", snippet: str = "x") -> precision.Finding:
    return precision.Finding("proj", file, line, 0, rule, "msg", precision.is_test_file(file), snippet)


def label(line: int, verdict: str = "TP", rule: str = "IDM001", snippet: str = "x", **extra: Any) -> dict[str, Any]:
    return {"project": "proj", "file": "pkg/a.py", "line": line, "rule": rule, "verdict": verdict,
            "snippet": snippet, **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("pandas/tests/frame/test_api.py", True),
        ("sympy/core/tests/helpers.py", True),
        ("pkg/test/util.py", True),
        ("pkg/test_models.py", True),
        ("pkg/models_test.py", True),
        ("pkg/conftest.py", True),
        ("pandas/_testing/asserters.py", False),
        ("django/test/utils.py", True),
        ("pkg/testing.py", False),
        ("pkg/contest.py", False),
    ],
)
def test_test_files_are_told_by_directory_or_pytest_name(path: str, expected: bool) -> None:
    assert precision.is_test_file(path) is expected


def test_a_label_matches_on_its_line_first_then_on_its_snippet_nearby() -> None:
    moved = finding(30, snippet="out.append(x)")
    same = finding(10, snippet="other")
    far = finding(80, snippet="far.append(y)")
    labels = [
        label(10, snippet="stale"),  # exact line wins even though the snippet changed
        label(12, verdict="FP", kind="misread", snippet="out.append(x)"),  # moved by 18 lines
        label(50, snippet="far.append(y)"),  # 30 lines away: too far
        label(10, rule="ALG002"),  # another rule: never matches
    ]
    unmatched = precision.match_labels([moved, same, far], labels)
    assert same.label is labels[0]
    assert moved.label is labels[1]
    assert far.label is None
    assert unmatched == [labels[2], labels[3]]


def test_one_label_claims_one_finding() -> None:
    twins = [finding(5), finding(5)]
    unmatched = precision.match_labels(twins, [label(5), label(5), label(5)])
    assert [f.label is not None for f in twins] == [True, True]
    assert len(unmatched) == 1


def test_scores_count_verdicts_per_rule_family_and_overall() -> None:
    run = precision.ProjectRun("proj", "kind", lines=2000)
    run.findings = [finding(1), finding(2), finding(3, rule="ALG002"), finding(4, file="pkg/tests/t.py")]
    unmatched = precision.match_labels(
        run.findings, [label(1), label(2, verdict="FP", kind="no-growth"), label(3, verdict="debatable", rule="ALG002")]
    )
    result = precision.score([run], unmatched)
    assert result["rules"]["IDM001"] == {"findings": 3, "labelled": 2, "TP": 1, "debatable": 0, "FP": 1,
                                         "precision": 0.5, "fp_rate": 0.5}  # fmt: skip
    assert result["families"]["ALG"]["debatable"] == 1
    assert result["overall"]["labelled"] == 3
    assert result["unlabelled"] == 1
    assert result["in_tests"] == 1
    assert result["per_kloc"] == 2.0
    assert "| IDM001 | 3 | 2 | 1 | 0 | 1 | 50% | 50% |" in precision.report(result)


def test_the_vanished_tp_is_reported_loudly() -> None:
    run = precision.ProjectRun("proj", "kind", lines=100)
    gone = label(9, snippet="gone()")
    result = precision.score([run], precision.match_labels([], [gone]))
    assert "**TP LOST** IDM001 proj:pkg/a.py:9 (no longer found) `gone()`" in precision.report(result)


def test_low_confidence_findings_are_scored_apart_and_a_hidden_tp_is_lost() -> None:
    run = precision.ProjectRun("proj", "kind", lines=1000)
    shown = finding(1)
    hidden_fp = finding(2)
    hidden_tp = finding(3, rule="ALG002")
    for f in (hidden_fp, hidden_tp):
        f.extra["confidence"] = "low"
    run.findings = [shown, hidden_fp, hidden_tp]
    labels = [label(1), label(2, verdict="FP"), label(3, rule="ALG002")]
    result = precision.score([run], precision.match_labels(run.findings, labels))
    assert result["overall"]["findings"] == 1 and result["overall"]["FP"] == 0
    assert result["hidden"]["overall"]["labelled"] == 2 and result["hidden"]["families"]["ALG"]["TP"] == 1
    text = precision.report(result)
    assert "**TP LOST** ALG002 proj:pkg/a.py:3 (hidden (low confidence))" in text
    assert "Labelled findings no longer reported by default: 2 (1 TP)." in text


def test_allocation_gives_every_rule_its_floor_and_the_rest_in_proportion() -> None:
    counts = precision.allocate({"A": 100, "B": 3, "C": 50, "D": 10}, 40)
    assert counts["B"] == 3  # all it has
    assert min(counts["A"], counts["C"], counts["D"]) >= 5
    assert sum(counts.values()) == 40
    assert counts["A"] > counts["C"] > counts["D"]
    assert precision.allocate({"A": 2, "B": 4}, 100) == {"A": 2, "B": 4}
    assert precision.allocate({r: 9 for r in "ABCDE"}, 10) == {r: 5 for r in "ABCDE"}  # floors beat the cap


def test_the_sample_skips_labelled_findings_and_repeats_with_its_seed() -> None:
    findings = [finding(n, rule=f"IDM00{n % 3}") for n in range(60)]
    precision.match_labels(findings, [label(3, rule="IDM000")])
    first = precision.draw_sample(findings, 20, seed=7)
    assert len(first) == 20
    assert all(f.label is None for f in first)
    assert first == precision.draw_sample(findings, 20, seed=7)
    assert first != precision.draw_sample(findings, 20, seed=8)


def test_the_enclosing_function_counts_decorators_and_nesting() -> None:
    spans = precision.scopes(SOURCE)
    assert precision.enclosing(spans, LOOP_LINE) == "doubled"
    assert precision.enclosing(spans, 12) == "Box.size"  # the decorator line
    assert precision.enclosing(spans, 15) == "Box.size.<locals>.inner"
    assert precision.enclosing(spans, 1) == "<module>"


def test_a_split_hands_each_rule_to_one_group() -> None:
    rows = [{"rule": r, "family": precision.rule_family(r)} for r in ("ALG001", "IDM001", "IDM012", "MEM002", "VEC004")]
    groups = precision.split_by_groups(rows, [["ALG", "IDM001"], ["MEM", "IDM012"], ["IDM"]])
    assert [[r["rule"] for r in g] for g in groups] == [["ALG001", "IDM001"], ["IDM012", "MEM002"], ["VEC004"]]


def test_labels_without_a_verdict_are_skipped_and_bad_ones_reported(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    rows = [label(1), label(2, verdict=None), label(3, verdict="maybe"), label(4, verdict="FP"), {"verdict": "TP"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n")
    labels, problems = precision.load_labels(path)
    assert [lab["line"] for lab in labels] == [1]
    assert len(problems) == 4


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A one-file package standing in for a pinned corpus named ``proj``."""
    package = tmp_path / "proj-1.0" / "pkg"
    package.mkdir(parents=True)
    (package / "a.py").write_text(SOURCE)
    monkeypatch.setitem(corpus.CORPORA, "proj", ("proj", "1.0", "pkg"))
    monkeypatch.setitem(precision.PROJECTS, "proj", "stand-in")

    def prepare(name: str) -> Path:
        if name == "proj":
            return package
        raise corpus.SetupError(f"no wheel for {name}")

    monkeypatch.setattr(precision, "prepare_corpus", prepare)
    return package


def test_a_real_run_scores_samples_and_gates(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels = tmp_path / "labels.jsonl"
    snippet = "for x in xs:"
    labels.write_text(json.dumps(label(LOOP_LINE, snippet=snippet, file="pkg/a.py")) + "\n")
    out = tmp_path / "sample.jsonl"
    args = ["--projects", "proj", "--labels", str(labels), "--json", str(tmp_path / "r.json"), "--check"]
    assert precision.main([*args, "--sample", "10", "--out", str(out)]) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["projects"][0]["lines"] == len(SOURCE.splitlines())
    assert [(f["rule"], f["file"], f["line"], f["label"]["verdict"]) for f in result["findings"]] == [
        ("IDM001", "pkg/a.py", LOOP_LINE, "TP")
    ]
    assert out.read_text() == ""  # the one finding is labelled already
    assert "| IDM001 | 1 | 1 | 1 | 0 | 0 | 100% | 0% |" in capsys.readouterr().out

    # The TP is no longer reported (its line moved and changed): the gate fails.
    (project / "a.py").write_text("\n" * 40 + SOURCE.replace("for x in xs", "for y in xs").replace("x * 2", "y * 2"))
    assert precision.main(args) == 1
    assert "**TP LOST**" in capsys.readouterr().out

    # Unlabelled, it goes to the sample with its context, function and empty label fields.
    assert precision.main(["--projects", "proj", "--labels", str(tmp_path / "none"), "--sample", "5",
                           "--out", str(out), "--split", "ALG,IDM"]) == 0  # fmt: skip
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["function"] == "doubled"
    assert row["snippet"] == "for y in xs:"
    assert f">>{40 + LOOP_LINE:5} | " in row["context"]
    assert (row["verdict"], row["kind"], row["reason"]) == (None, None, None)
    assert out.with_suffix(".1.jsonl").read_text() == ""
    assert json.loads(out.with_suffix(".2.jsonl").read_text()) == row


def test_a_project_that_cannot_be_fetched_is_reported_not_fatal(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--projects", "proj,django", "--labels", str(tmp_path / "none"), "--json", str(tmp_path / "r.json")]
    assert precision.main(args) == 0
    assert "FAILED: setup failed: no wheel for django" in capsys.readouterr().out
    assert precision.main([*args, "--check"]) == 1


def test_the_gate_holds_each_rule_to_its_own_fp_share(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps(label(LOOP_LINE, verdict="FP", snippet="for x in xs:", kind="no-growth")) + "\n")
    args = ["--projects", "proj", "--labels", str(labels), "--check", "--max-fp", "1.0"]
    assert precision.main(args) == 1
    assert "IDM001: FP share of its labelled findings 100% > 20%" in capsys.readouterr().err
    assert precision.main([*args, "--max-rule-fp", "1.0"]) == 0
