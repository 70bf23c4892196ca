"""The CLI contract: formats, exit codes, fixes, configuration, cache and pool."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import DEMO

from perfsquad.calibration import running
from perfsquad.cli import main

LOOP = "def f(xs):\n    result = []\n    for x in xs:\n        result.append(x)\n    return result\n"
# In a function over a parameter: at module level (run once, at import) it would be low confidence.
SORTED = "def g(xs):\n    return sorted(xs)[0]\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", "--no-cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n")
    dirty = tmp_path / "dirty.py"
    dirty.write_text(LOOP)
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    assert run(capsys, str(clean))[0] == 0
    assert run(capsys, str(dirty))[0] == 1
    code, _, err = run(capsys, str(broken))
    assert code == 2 and "syntax error" in err
    code, _, err = run(capsys, str(tmp_path / "missing.py"))
    assert code == 2 and "no such file" in err


def test_text_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.py").write_text(LOOP)
    code, out, _ = run(capsys, str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'a.py'}:3:5: IDM001 " in out
    assert "Found 1 finding in 1 file." in out


def test_json_output_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.py").write_text("import x\n" + LOOP)
    code, out, _ = run(capsys, "--format", "json", str(tmp_path))
    data = json.loads(out)
    assert code == 1 and len(data) == 1
    item = data[0]
    assert item["code"] == "IDM001"
    assert item["filename"] == str(tmp_path / "a.py")
    assert item["location"] == {"row": 4, "column": 5}
    assert item["end_location"]["row"] == 4
    fix = item["fix"]
    assert fix["applicability"] == "safe"
    assert fix["edits"] and {"content", "location", "end_location"} <= set(fix["edits"][0])
    assert "speedup" in item


def test_sarif_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.py").write_text(SORTED)
    _, out, _ = run(capsys, "--format", "sarif", str(tmp_path))
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    run0 = log["runs"][0]
    assert run0["tool"]["driver"]["name"] == "perfsquad"
    rule_ids = [r["id"] for r in run0["tool"]["driver"]["rules"]]
    result = run0["results"][0]
    assert result["ruleId"] == "IDM007" and rule_ids[result["ruleIndex"]] == "IDM007"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == 2 and region["startColumn"] == 12
    assert result["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"] == "min(xs)"


def test_select_and_ignore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.py"
    f.write_text(LOOP + SORTED)
    codes = lambda out: [d["code"] for d in json.loads(out)]  # noqa: E731
    assert codes(run(capsys, "--format", "json", "--select", "IDM007", str(f))[1]) == ["IDM007"]
    assert codes(run(capsys, "--format", "json", "--ignore", "IDM007", str(f))[1]) == ["IDM001"]
    assert codes(run(capsys, "--format", "json", "--select", "ALG", str(f))[1]) == []


def test_pyproject_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.perfsquad]\nignore = ["IDM007"]\nexclude = ["skipped"]\n'
        '[tool.perfsquad.per-file-ignores]\n"legacy_*.py" = ["IDM001"]\n'
    )
    (tmp_path / "a.py").write_text(LOOP + SORTED)
    (tmp_path / "legacy_b.py").write_text(LOOP)
    (tmp_path / "skipped").mkdir()
    (tmp_path / "skipped" / "c.py").write_text(LOOP)
    _, out, _ = run(capsys, "--format", "json", str(tmp_path))
    found = [(Path(d["filename"]).name, d["code"]) for d in json.loads(out)]
    assert found == [("a.py", "IDM001")]


def test_bad_configuration_warns_and_uses_defaults(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.perfsquad]\nselect = 3\nbogus = true\n')
    (tmp_path / "a.py").write_text(LOOP)
    code, out, err = run(capsys, str(tmp_path))
    assert code == 1 and "IDM001" in out
    assert "`select` must be a list" in err and "unknown setting `bogus`" in err


def test_fix_keeps_bom_crlf_and_comments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.py"
    source = "# header\ndef f(xs):\n    result = []  # the result\n    for x in xs:\n        result.append(x)  # keep me\n    return result\n"
    f.write_bytes(b"\xef\xbb\xbf" + source.replace("\n", "\r\n").encode())
    code, out, _ = run(capsys, "--fix", str(f))
    data = f.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data[3:].decode()
    assert "\n" not in text.replace("\r\n", "")
    assert "result = [x for x in xs]" in text
    assert "# the result" in text and "# keep me" in text and "# header" in text
    assert "Fixed 1 finding" in out and code == 0
    # Converged: a second run finds nothing.
    assert run(capsys, str(f))[0] == 0


def test_diff_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.py"
    f.write_text(LOOP)
    code, out, _ = run(capsys, "--diff", str(f))
    assert code == 1
    assert "-    result = []" in out and "+    result = [x for x in xs]" in out
    assert f.read_text() == LOOP


def test_unsafe_fixes_need_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "a.py"
    f.write_text(SORTED)
    run(capsys, "--fix", str(f))
    assert f.read_text() == SORTED
    run(capsys, "--fix", "--unsafe-fixes", str(f))
    assert f.read_text() == "def g(xs):\n    return min(xs)\n"


def test_cache_and_pool_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):
        (src / f"m{i}.py").write_text(LOOP if i % 2 else SORTED)
    cache = tmp_path / "cache"
    base = ["check", "--format", "json", "--cache-dir", str(cache)]
    main([*base, "-j", "2", str(src)])
    pooled = json.loads(capsys.readouterr().out)
    assert len(list(cache.glob("reports-*.marshal"))) == 1
    main([*base, "-j", "1", str(src)])
    cached = json.loads(capsys.readouterr().out)
    main(["check", "--format", "json", "--no-cache", "-j", "1", str(src)])
    serial = json.loads(capsys.readouterr().out)
    assert pooled == cached == serial and len(serial) == 40
    # A changed file is re-analyzed, not served stale from the cache.
    (src / "m0.py").write_text("x = 1\n")
    main([*base, str(src)])
    after = json.loads(capsys.readouterr().out)
    assert len(after) == 39


def test_pool_only_in_a_single_threaded_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI forks workers; a threaded process (the language server's audit) never forks: a
    lock another thread holds at the fork would stay held in the child."""
    import threading

    from perfsquad import api

    src = tmp_path / "src"
    src.mkdir()
    for i in range(30):
        (src / f"m{i}.py").write_text(LOOP if i % 2 else SORTED)
    pools: list[int] = []
    real_pool = api._pool

    def counting_pool(workers: int) -> object:
        pools.append(threading.active_count())
        return real_pool(workers)

    monkeypatch.setattr(api, "_pool", counting_pool)
    args = ["check", "--format", "json", "--no-cache", "-j", "2", str(src)]
    assert threading.active_count() == 1
    main(args)
    forked = json.loads(capsys.readouterr().out)
    assert pools == [1]

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        main(args)
        threaded = json.loads(capsys.readouterr().out)
    finally:
        release.set()
        other.join()
    assert pools == [1]  # no fork with two threads running
    assert threaded == forked and len(forked) == 30


def test_explain_and_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "IDM001"]) == 0
    out = capsys.readouterr().out
    for heading in ("## What it does", "## Why is this bad?", "## Fix safety", "## Speedup"):
        assert heading in out
    assert main(["explain", "NOPE1"]) == 2
    assert main(["rules", "--format", "json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert {"IDM001", "IDM007"} <= {r["code"] for r in rules}


def test_entry_point_runs_as_a_process(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(LOOP)
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--no-cache", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "IDM001" in proc.stdout


# -- the bundled demo ----------------------------------------------------------------------------
SEEDED = {
    "normalize_tokens": "IDM001",
    "unique_tokens": "IDM002",
    "index_by_id": "IDM003",
    "render_transcript": "IDM004",
    "total_length": "IDM005",
    "resolve_kind": "IDM006",
    "score_range": "IDM007",
}


def _function_of(tree: ast.Module, line: int) -> str | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or 0):
            return node.name
    return None


def test_demo_seeded_problems_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Every seeded idiom is found; those measured slower on this Python (the readability group)
    only when selected."""
    tree = ast.parse((DEMO / "memoria" / "text.py").read_text())
    slower = running().readability
    for select in ("ALL", "ALL,READABILITY"):
        _, out, _ = run(capsys, "--format", "json", "--select", select, str(DEMO / "memoria" / "text.py"))
        found = {(_function_of(tree, d["location"]["row"]), d["code"]) for d in json.loads(out)}
        expected = {(fn, c) for fn, c in SEEDED.items() if select != "ALL" or c not in slower}
        assert not expected - found, f"seeded problems not reported: {sorted(expected - found)}"
        assert select != "ALL" or not {c for _, c in found} & slower


def test_demo_fix_then_recheck_and_demo_tests_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = tmp_path / "demo"
    shutil.copytree(DEMO, demo, ignore=shutil.ignore_patterns("__pycache__"))
    _, before, _ = run(capsys, "--format", "json", str(demo))
    before_findings = json.loads(before)
    safe = [d for d in before_findings if d["fix"] and d["fix"]["applicability"] == "safe"]
    assert safe, "the demo should have safe fixes"
    run(capsys, "--fix", str(demo))
    _, after, _ = run(capsys, "--format", "json", str(demo))
    after_findings = json.loads(after)
    assert not [d for d in after_findings if d["fix"] and d["fix"]["applicability"] == "safe"]
    assert len(after_findings) == len(before_findings) - len(safe)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(demo / "tests")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_help_lists_every_command_and_core_commands_skip_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    for command in ("check", "explain", "rules", "serve", "audit", "bench", "compare", "diagnose", "leakcheck", "profile"):
        assert f"    {command}" in listed
    for module in [m for m in sys.modules if m.startswith("perfsquad.commands.")]:
        del sys.modules[module]
    assert main(["rules", "--format", "json"]) == 0
    capsys.readouterr()
    assert not [m for m in sys.modules if m.startswith("perfsquad.commands.")]  # `rules` imported no subcommand
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0 and "--warmup" in capsys.readouterr().out
