"""perfsquad.calibration: one table per Python, the interpreter's version found statically, the
nearest table, the readability group, and how configuration selects and caps its rules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from support import ROOT

from perfsquad import calibration
from perfsquad.calibration import Calibration, Table, choose, interpreter_version, measured_slower, nearest, tables
from perfsquad.config import Config, config_from_mapping, read_pyproject
from perfsquad.model import Severity

RUNNING = (sys.version_info[0], sys.version_info[1])


def _venv(root: Path, version: str, key: str = "version") -> Path:
    """A virtual environment's layout, statically: pyvenv.cfg and a bin/python that is never run."""
    (root / "bin").mkdir(parents=True)
    (root / "pyvenv.cfg").write_text(f"home = /usr/bin\ninclude-system-site-packages = false\n{key} = {version}\n")
    python = root / "bin" / "python"
    python.write_text("#!/bin/sh\necho ran > \"$(dirname \"$0\")/ran\"\n")
    python.chmod(0o755)
    return python


def test_one_table_per_python_version_is_shipped_as_package_data() -> None:
    shipped = {t.version for t in tables()}
    assert {(3, 11), (3, 12), (3, 13)} <= shipped
    for table in tables():
        assert table.python.startswith(f"{table.version[0]}.{table.version[1]}.")
        assert table.rules, table.version
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data/speedups/*.json"' in pyproject
    for path in (ROOT / "perfsquad" / "data" / "speedups").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        # Several interleaved rounds per figure, their lowest and highest kept next to the median.
        assert "interleaved rounds" in data["method"]
        for code, entry in data["rules"].items():
            for n, ratio in entry["sizes"].items():
                low, high = entry["spread"][n] if "spread" in entry else (ratio, ratio)
                assert low <= ratio <= high, (path.name, code, n)


def test_a_version_setting_picks_its_table_else_the_nearest_and_says_which() -> None:
    newest = tables()[-1]
    exact = choose(f"{newest.version[0]}.{newest.version[1]}")
    assert exact.table is newest and exact.describe() == (
        f"measured on Python {newest.python} (the configured version is {newest.version[0]}.{newest.version[1]})"
    )
    future = choose(f"3.{newest.version[1] + 1}")
    assert future.table is newest
    assert future.describe().startswith(
        f"measured on Python {newest.python}, the nearest table: 3.{newest.version[1]} for Python 3.{newest.version[1] + 1}"
    )
    oldest = tables()[0]
    assert nearest((3, oldest.version[1] - 3)) is oldest
    assert nearest((3, 12)) is not None and nearest((3, 12)).version == (3, 12)  # type: ignore[union-attr]


def test_no_setting_is_the_running_interpreter() -> None:
    running = choose(None)
    assert running.target == RUNNING and running is calibration.running()
    assert "the running interpreter" in running.describe()
    assert Config().calibration is running


def test_interpreter_version_from_pyvenv_cfg_without_running_it(tmp_path: Path) -> None:
    python = _venv(tmp_path / "venv", "3.12.1")
    assert interpreter_version(str(python)) == (
        (3, 12),
        f"the configured interpreter {python} is Python 3.12 (its pyvenv.cfg)",
    )
    # The environment's folder names the same interpreter; uv writes `version_info`.
    uv = _venv(tmp_path / "uv", "3.13.0.final.0", key="version_info")
    assert interpreter_version(str(uv.parent.parent))[0] == (3, 13)
    assert not (python.parent / "ran").exists() and not (uv.parent / "ran").exists()
    described = choose(str(python)).describe()
    assert described.startswith("measured on Python 3.12.") and str(python) in described


def test_interpreter_version_from_the_resolved_file_name(tmp_path: Path) -> None:
    real = tmp_path / "python3.13"
    real.write_text("#!/bin/sh\necho ran > ran\n")
    link = tmp_path / "py"
    link.symlink_to(real)
    version, how = interpreter_version(str(link))
    assert version == (3, 13) and "python3.13" in how


def test_an_unknown_interpreter_is_never_run_unless_named_like_python(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    marker = tmp_path / "ran"
    script.write_text(f"#!/bin/sh\necho 3.12 > {marker}\necho 3.12\n")
    script.chmod(0o755)
    version, _how = interpreter_version(str(script))
    assert version is None and not marker.exists()
    fallback = choose(str(script))
    assert fallback.target == RUNNING
    assert "cannot tell the version" in fallback.describe() and "using the running interpreter" in fallback.describe()
    missing = choose(str(tmp_path / "nope" / "python"))
    assert "does not exist" in missing.describe() and missing.target == RUNNING


def test_a_python_named_interpreter_without_other_clue_is_asked_isolated(tmp_path: Path) -> None:
    """The last resort: run it with -I -S -c and a timeout (here a stand-in that records its arguments)."""
    python = tmp_path / "python3"
    python.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "args"}\necho 3.12\n')
    python.chmod(0o755)
    assert interpreter_version(str(python)) == ((3, 12), f"the configured interpreter {python} is Python 3.12")
    assert (tmp_path / "args").read_text().startswith("-I -S -c ")


def _table(rules: dict[str, dict[str, float]]) -> Table:
    return Table((3, 99), "3.99.0", "2026-01-01", {c: {"sizes": s, "scales_with": "n"} for c, s in rules.items()})


def test_readability_is_a_ratio_below_one_at_n_1000() -> None:
    table = _table({
        "IDM001": {"10": 0.5, "1000": 1.02, "100000": 1.1},  # slower only when tiny: performance
        "IDM008": {"10": 0.4, "1000": 0.43, "100000": 0.44},
        "IO002": {"10": 0.9, "100": 0.95, "1000": 0.99},
        "ALG001": {"10": 0.9, "100000": 5.0},  # no 1,000: the nearest calibrated size on a log scale
    })  # fmt: skip
    cal = Calibration(table, (3, 99), "test")
    assert cal.readability == {"IDM008", "IO002", "ALG001"}
    assert measured_slower(cal.speedup("IO002")) and not measured_slower(cal.speedup("IDM001"))
    assert cal.group("IDM001") == "performance" and cal.group("IDM008") == "readability"
    assert cal.group("ALG003") == "performance" and cal.ratio("ALG003") is None  # not calibrated
    speedup = cal.speedup("IDM008")
    assert speedup is not None and "Python 3.99.0" in speedup.measured_by and "test" in speedup.measured_by


def test_readability_rules_are_selected_only_by_code_or_group_name() -> None:
    slow = sorted(choose(None).readability)
    assert "IDM008" in slow  # any()/all() for an early-return loop: 0.4x on every calibrated CPython
    fast = next(c for c in ("IDM006", "ALG002") if c not in slow)

    def enabled(**table: object) -> bool:
        return config_from_mapping(table).code_enabled("IDM008")

    assert not Config().code_enabled("IDM008") and Config().code_enabled(fast)
    assert not enabled(select=["ALL"]) and not enabled(select=["IDM"]) and not enabled(select=["IDM00"])
    assert enabled(select=["IDM008"]) and enabled(**{"extend-select": ["IDM008"]})
    assert enabled(**{"extend-select": ["readability"]}) and enabled(select=["Readability"])
    assert not enabled(select=["IDM008"], ignore=["readability"]) and not enabled(select=["IDM008"], ignore=["IDM"])
    # `performance` is every other rule.
    perf = config_from_mapping({"select": ["performance"]})
    assert perf.code_enabled(fast) and not perf.code_enabled("IDM008")
    assert not config_from_mapping({"ignore": ["performance"]}).code_enabled(fast)


def test_readability_rules_never_report_above_info() -> None:
    config = config_from_mapping({"select": ["IDM008", "ALL"], "severity": {"IDM": "error", "IDM008": "hint"}})
    assert config.severity_for("IDM008", Severity.WARNING) is Severity.HINT
    loud = config_from_mapping({"select": ["IDM008"], "severity": {"IDM008": "error"}})
    assert loud.severity_for("IDM008", Severity.WARNING) is Severity.INFO
    assert Config().severity_for("IDM008", Severity.WARNING) is Severity.INFO
    assert loud.severity_for("IDM006", Severity.WARNING) is Severity.WARNING


def test_the_python_setting_is_read_relative_to_its_pyproject_and_changes_the_cache_key(tmp_path: Path) -> None:
    python = _venv(tmp_path / ".venv", "3.12.1")
    (tmp_path / "pyproject.toml").write_text('[tool.perfsquad]\npython = ".venv/bin/python"\n', encoding="utf-8")
    config = read_pyproject(tmp_path / "pyproject.toml")
    assert config.python == str(python) and not config.warnings
    assert config.calibration.target == (3, 12)
    assert config.key() != Config().key() or RUNNING == (3, 12)
    assert config.key() != config_from_mapping({"python": "3.13"}).key()
    bad = config_from_mapping({"python": 3.12})
    assert bad.python is None and "`python` must be" in bad.warnings[0]
    assert config.with_overrides(python="3.13").calibration.target == (3, 13)


def test_a_rewrite_slower_at_a_larger_size_is_readability_even_when_faster_at_n_1000() -> None:
    """No gain where inputs are large: 1.05x at n=1,000 within noise, 0.95x at n=100,000."""
    table = _table({
        "IDM003": {"10": 0.87, "1000": 1.05, "100000": 0.95},
        "IDM006": {"10": 1.7, "1000": 1.6, "100000": 1.9},
        "IDM009": {"10": 0.8, "1000": 1.3, "100000": 1.4},  # slower only when tiny: performance
    })  # fmt: skip
    cal = Calibration(table, (3, 99), "test")
    assert cal.readability == {"IDM003"}
    assert cal.group("IDM003") == "readability" and cal.group("IDM009") == "performance"


def test_the_dict_comprehension_is_readability_on_every_shipped_python() -> None:
    """IDM003 is measured slower at n=100,000 on every table shipped: it must never warn."""
    for table in tables():
        assert Calibration(table, table.version, "test").group("IDM003") == "readability", table.python
