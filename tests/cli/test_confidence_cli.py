"""`check --confidence` / `--tests`, and confidence with evidence in JSON, SARIF and text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfsquad.cli import main

# `rows` is a parameter (evidence of scale: high); `allowed` holds the arguments of one call (low).
CODE = """\
def total(rows):
    out = []
    for r in rows:
        if r not in out:
            out.append(r)
    return out


def named(xs, *names):
    allowed = list(names)
    return [x for x in xs if x in allowed]
"""


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str, name: str = "mod.py") -> list[dict]:
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(CODE)
    (tmp_path / "pyproject.toml").write_text("")
    main(["check", "--no-cache", "--format", "json", "--select", "ALG002", *args, str(target)])
    return json.loads(capsys.readouterr().out)


def test_json_carries_confidence_and_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = _check(tmp_path, capsys)
    assert [f["location"]["row"] for f in found] == [4]
    assert found[0]["confidence"] == "high" and "parameter `rows`" in found[0]["evidence"]
    everything = _check(tmp_path, capsys, "--confidence", "low")
    assert [(f["location"]["row"], f["confidence"]) for f in everything] == [(4, "high"), (11, "low")]
    assert "arguments of one call" in everything[1]["evidence"]


def test_tests_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hinted = _check(tmp_path, capsys, name="tests/test_mod.py")
    assert [(f["severity"], f["confidence"]) for f in hinted] == [("hint", "medium")]
    assert _check(tmp_path, capsys, "--tests", "off", name="tests/test_mod.py") == []
    normal = _check(tmp_path, capsys, "--tests", "normal", name="tests/test_mod.py")
    assert [(f["severity"], f["confidence"]) for f in normal] == [("warning", "high")]


def test_sarif_rank_and_text_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "mod.py"
    target.write_text(CODE)
    main(["check", "--no-cache", "--format", "sarif", "--select", "ALG002", "--confidence", "low", str(target)])
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    assert [(r["rank"], r["properties"]["confidence"]) for r in results] == [(90.0, "high"), (30.0, "low")]
    assert "parameter `rows`" in results[0]["properties"]["evidence"]
    main(["check", "--no-cache", "--select", "ALG002", str(target)])
    out = capsys.readouterr().out
    assert "evidence (high confidence): " in out and "parameter `rows`" in out
