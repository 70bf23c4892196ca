"""End to end through the CLI: the readability group (rules measured slower on the configured
Python) is off unless selected, never a warning, never applied by ``--fix`` unless selected; the
speedup table follows the configured interpreter (or version, else the nearest) and says which;
``perfsquad rules`` and ``explain`` show the group and the figure with the Python it comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfsquad.calibration import choose, running, tables
from perfsquad.cli import main

# IDM008 (an early-return loop -> any()/all()) measures 0.4x on every calibrated CPython; IDM006
# (`in d.keys()` -> `in d`) is faster everywhere. Both fixes are safe.
SLOW, FAST = "IDM008", "IDM006"
SOURCE = (
    "def has_admin(users):\n"
    "    for user in users:\n"
    "        if user.is_admin:\n"
    "            return True\n"
    "    return False\n"
    "\n"
    "def known(d: dict[str, int], k: str) -> bool:\n"
    "    return k in d.keys()\n"
)


@pytest.fixture(autouse=True)
def _tables_agree() -> None:
    for table in tables():
        cal = choose(f"{table.version[0]}.{table.version[1]}")
        assert cal.group(SLOW) == "readability" and cal.group(FAST) == "performance", table.python


def _project(tmp_path: Path, table: str = "") -> Path:
    (tmp_path / "pyproject.toml").write_text(f"[tool.perfsquad]\n{table}", encoding="utf-8")
    path = tmp_path / "mod.py"
    path.write_text(SOURCE, encoding="utf-8")
    return path


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    main(["check", "--no-cache", "--format", "json", *args])
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _codes(findings: list[dict[str, object]]) -> set[object]:
    return {f["code"] for f in findings}


@pytest.mark.parametrize(
    ("table", "args", "reported"),
    [
        ("", (), False),
        ('select = ["ALL"]\n', (), False),
        ('select = ["IDM"]\n', (), False),
        ('select = ["IDM008"]\n', (), True),
        ('extend-select = ["IDM008"]\n', (), True),
        ('extend-select = ["readability"]\n', (), True),
        ('extend-select = ["readability"]\nignore = ["IDM008"]\n', (), False),
        ("", ("--select", "ALL,IDM008"), True),
        ("", ("--select", "IDM"), False),
    ],
    ids=["default", "ALL", "prefix", "code", "extend-select", "group", "ignored", "cli-code", "cli-prefix"],
)
def test_readability_rules_are_reported_only_when_selected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], table: str, args: tuple[str, ...], reported: bool
) -> None:
    path = _project(tmp_path, table)
    findings = _check(capsys, "--config", str(tmp_path / "pyproject.toml"), *args, str(path))
    assert (SLOW in _codes(findings)) is reported
    for f in findings:
        if f["code"] == SLOW:
            assert f["severity"] == "info"  # never a performance warning


def test_a_severity_setting_cannot_raise_a_readability_rule_to_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _project(tmp_path, 'extend-select = ["IDM008"]\n[tool.perfsquad.severity]\nIDM = "error"\n')
    severities = {f["code"]: f["severity"] for f in _check(capsys, str(path))}
    assert severities == {SLOW: "info", FAST: "error"}


def test_fix_never_applies_an_unselected_slower_rewrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _project(tmp_path)
    main(["check", "--no-cache", "--fix", str(path)])
    capsys.readouterr()
    fixed = path.read_text(encoding="utf-8")
    assert "return k in d\n" in fixed  # the performance fix
    assert "for user in users:" in fixed and "any(" not in fixed  # the slower one left alone

    _project(tmp_path, 'extend-select = ["IDM008"]\n')
    main(["check", "--no-cache", "--fix", str(path)])
    capsys.readouterr()
    assert "return any(user.is_admin for user in users)" in path.read_text(encoding="utf-8")


def _venv(root: Path, version: str) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text(f"home = /usr/bin\nversion = {version}\n", encoding="utf-8")
    python = root / "bin" / "python"
    python.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    return python


def test_the_configured_interpreter_picks_the_table_and_the_output_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    python = _venv(tmp_path / ".venv", "3.12.1")
    path = _project(tmp_path, 'python = ".venv/bin/python"\n')
    twelve = choose("3.12").table
    assert twelve is not None
    (finding,) = [f for f in _check(capsys, str(path)) if f["code"] == FAST]
    speedup = finding["speedup"]
    assert isinstance(speedup, dict)
    assert f"Python {twelve.python}" in speedup["measured_by"]
    assert f"the configured interpreter {python} is Python 3.12 (its pyvenv.cfg)" in speedup["measured_by"]
    ratios = choose(str(python)).speedup(FAST)
    assert ratios is not None and (speedup["low"], speedup["high"]) == (ratios.low, ratios.high)

    main(["check", "--no-cache", str(path)])
    out = capsys.readouterr().out
    assert f"Speedups measured on Python {twelve.python} (the configured interpreter {python} is Python 3.12" in out


def test_a_version_without_a_table_uses_the_nearest_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newest = tables()[-1]
    later = f"{newest.version[0]}.{newest.version[1] + 1}"
    path = _project(tmp_path)
    main(["check", "--no-cache", "--python", later, str(path)])
    out = capsys.readouterr().out
    nearest = f"{newest.version[0]}.{newest.version[1]}"
    assert f"Speedups measured on Python {newest.python}, the nearest table: {nearest} for Python {later}" in out
    assert f"measured by bench/calibrate.py on Python {newest.python}" in out  # each finding's figure


def test_rules_lists_each_rules_group_and_ratio_for_the_chosen_python(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    cal = running()
    assert cal.describe() in out.splitlines()[0] and "n=1,000" in out.splitlines()[0]
    lines = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert "readability" in lines[SLOW] and f"n=1,000: {cal.ratio(SLOW):.2f}x" in lines[SLOW]
    assert "performance" in lines[FAST]
    assert "not measured" in lines["IO003"]

    other = next(t for t in tables() if t.version != cal.target)
    version = f"{other.version[0]}.{other.version[1]}"
    assert main(["rules", "--python", version, "--format", "json"]) == 0
    rows = {r["code"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[SLOW]["group"] == "readability" and rows[FAST]["group"] == "performance"
    assert rows[SLOW]["ratio_at_1000"] == choose(version).ratio(SLOW)
    assert f"Python {other.python}" in rows[SLOW]["calibration"]


def test_explain_names_the_python_its_figure_comes_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", SLOW]) == 0
    out = capsys.readouterr().out
    cal = running()
    assert f"Group: readability ({cal.ratio(SLOW):.2f}x at n=1,000, {cal.describe()})" in out
    for table in tables():  # the page's table lists every calibrated Python
        assert f"| {table.python} |" in out
    assert main(["explain", FAST, "--python", "3.13"]) == 0
    out = capsys.readouterr().out
    thirteen = choose("3.13")
    assert thirteen.table is not None
    assert f"Group: performance ({thirteen.ratio(FAST):.2f}x at n=1,000, measured on Python {thirteen.table.python}" in out
