"""``perfsquad check --format sarif`` for code scanning: the log passes the OASIS SARIF 2.1.0 JSON
schema (tests/data/sarif-schema-2.1.0.json, the OASIS copy), each result has a partial fingerprint
that survives unrelated edits above it, each rule its documentation as ``help`` and a published
``helpUri``, and a fix's SARIF ``replacements`` produce what ``--fix`` writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from support import DEMO, ROOT, RULE_DOCS, TESTS

from perfsquad.analyzers import RULES
from perfsquad.sarif import FINGERPRINT

SCHEMA = json.loads((TESTS / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)

CODE = """\
def first(xs):
    return sorted(xs)[0]


def names(d):
    out = []
    for k in d.keys():
        out.append(k)
    return out


def last(ys):
    return sorted(ys)[0]


def again(xs):
    return sorted(xs)[0]
"""


def sarif(*args: str | Path, cwd: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--no-cache", "--format", "sarif", *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode in (0, 1, 2), proc.stderr  # 2: a file that does not parse (a notification)
    log: dict[str, Any] = json.loads(proc.stdout)
    return log


def errors(log: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(log)]


def results(log: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = log["runs"][0]["results"]
    return found


def test_the_schema_copy_is_the_oasis_2_1_0_schema_and_rejects_a_broken_log(tmp_path: Path) -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["id"].endswith("/sarif-schema-2.1.0.json")
    (tmp_path / "a.py").write_text(CODE)
    log = sarif("a.py", cwd=tmp_path)
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    del broken["version"]
    assert len(errors(broken)) == 2


def test_demo_python_files_and_a_notebook_pass_the_schema(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(DEMO, project)
    nb = new_notebook(cells=[
        new_markdown_cell("# cosine"),
        new_code_cell("import numpy as np\n"),
        new_code_cell("def cosine(u: np.ndarray, v: np.ndarray) -> float:\n"
                      "    dot = sum(x * y for x, y in zip(u, v))\n    return dot\n"),
    ])  # fmt: skip
    nbformat.write(nb, str(project / "similarity.ipynb"))
    (project / "broken.py").write_text("def f(:\n")  # a notification, not a result
    log = sarif(".", "--confidence", "low", cwd=project)
    assert errors(log) == []
    found = results(log)
    assert len(found) > 10 and any("fixes" in r for r in found)
    # A display-only fix without edits (VEC006's advice) is a suggestion, not an empty SARIF fix.
    assert any(r["ruleId"] == "VEC006" and "suggestion" in r["properties"] for r in found)
    assert any(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(".ipynb") for r in found)
    assert log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    prints = [r["partialFingerprints"][FINGERPRINT] for r in found]
    keyed = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], p) for r, p in zip(found, prints, strict=True)}
    assert len(keyed) == len(found)  # unique within each file


def test_fingerprints_survive_edits_above_and_change_with_the_finding_line(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text(CODE)
    before = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]):
              r["partialFingerprints"][FINGERPRINT] for r in results(sarif("a.py", cwd=tmp_path))}  # fmt: skip
    # Same line text twice (`return sorted(xs)[0]` at lines 2 and 17): told apart by occurrence.
    assert before[("IDM007", 2)] != before[("IDM007", 17)]
    assert before[("IDM007", 2)].rsplit(":", 1)[0] == before[("IDM007", 17)].rsplit(":", 1)[0]

    shift = 'import os\n\n\n"""Module doc."""\n\n\ndef helper():\n    return os.sep  # unrelated\n\n\n'
    edited = shift + CODE.replace("def names(d):", "def names(d):  # renamed nothing, a comment")
    path.write_text(edited)
    after = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]):
             r["partialFingerprints"][FINGERPRINT] for r in results(sarif("a.py", cwd=tmp_path))}  # fmt: skip
    moved = shift.count("\n")
    assert len(after) == len(before)
    for (code, line), value in before.items():
        assert after[(code, line + moved)] == value, (code, line)

    path.write_text(edited.replace("return sorted(ys)[0]", "return sorted(ys, reverse=True)[0]"))
    changed = {(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]):
               r["partialFingerprints"][FINGERPRINT] for r in results(sarif("a.py", cwd=tmp_path))}  # fmt: skip
    assert changed[("IDM007", 13 + moved)] != before[("IDM007", 13)]
    assert changed[("IDM007", 2 + moved)] == before[("IDM007", 2)]


def test_rules_carry_their_doc_as_help_and_a_published_help_uri(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(CODE)
    rules = {r["id"]: r for r in sarif("a.py", cwd=tmp_path)["runs"][0]["tool"]["driver"]["rules"]}
    assert set(rules) == {r.code for r in RULES}
    for code in ("IDM007", "VEC001", "IO001"):
        rule = rules[code]
        assert rule["help"]["markdown"] == (RULE_DOCS / f"{code}.md").read_text(encoding="utf-8")
        assert "## Why is this bad?" in rule["help"]["markdown"]
        doc = next(r for r in RULES if r.code == code).__doc__ or ""
        assert rule["help"]["text"].splitlines()[0] == doc.strip().splitlines()[0]
        assert rule["helpUri"] == f"https://github.com/perfsquad/perfsquad/blob/main/docs/rules/{code}.md"


def _apply(text: str, replacements: list[dict[str, Any]]) -> str:
    """SARIF replacements (1-based lines, code-point columns) applied bottom-up."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    for rep in sorted(replacements, key=lambda r: (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
                      reverse=True):  # fmt: skip
        region = rep["deletedRegion"]
        a = offset(region["startLine"], region["startColumn"])
        b = offset(region["endLine"], region["endColumn"])
        text = text[:a] + rep["insertedContent"]["text"] + text[b:]
    return text


@pytest.mark.parametrize("code", ["IDM007", "IDM001"])
def test_a_sarif_fix_is_what_fix_writes(tmp_path: Path, code: str) -> None:
    path = tmp_path / "a.py"
    path.write_text(CODE)
    (result,) = [r for r in results(sarif("a.py", "--select", code, cwd=tmp_path))
                 if r["locations"][0]["physicalLocation"]["region"]["startLine"] in (2, 7)]  # fmt: skip
    (change,) = result["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "a.py"
    applied = _apply(CODE, change["replacements"])
    assert applied != CODE
    one = tmp_path / "one"
    one.mkdir()
    line = result["locations"][0]["physicalLocation"]["region"]["startLine"]
    (one / "a.py").write_text(CODE)
    subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--no-cache", "--fix", "--unsafe-fixes", "--select", code, "a.py"],
        cwd=one, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    fixed = (one / "a.py").read_text()
    # --fix applies every finding of the rule; compare the region the one SARIF fix touches.
    assert applied.splitlines()[line - 1] == fixed.splitlines()[line - 1]
    assert result["fixes"][0]["description"]["text"].endswith(("[safe]", "[unsafe]"))


def test_a_notebook_fix_is_a_replacement_of_the_ipynb_text(tmp_path: Path) -> None:
    """The edits land in a JSON string of the cell's source: the replacement is the file's own
    serialization (quotes escaped, one JSON string per line), byte for byte what --fix writes."""
    loop = ('def labels(values: list[float]) -> list[str]:\n    out = []\n    for v in values:\n'
            '        out.append(f"{v}: \\"sq\\"")\n    return out\n')  # fmt: skip
    nb = new_notebook(cells=[new_markdown_cell("# labels"), new_code_cell("%matplotlib inline\nimport math\n"),
                             new_code_cell(loop)])  # fmt: skip
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    raw = path.read_text(encoding="utf-8")
    log = sarif("nb.ipynb", "--select", "IDM001", cwd=tmp_path)
    assert errors(log) == []
    (result,) = results(log)
    (change,) = result["fixes"][0]["artifactChanges"]
    inserted = change["replacements"][0]["insertedContent"]["text"]
    assert 'f\\"{v}: ' in inserted  # the quote JSON-escaped, as the .ipynb text holds it
    applied = _apply(raw, change["replacements"])
    subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--no-cache", "--fix", "--select", "IDM001", "nb.ipynb"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    fixed = path.read_text(encoding="utf-8")
    assert fixed != raw and applied == fixed
    cell = nbformat.reads(applied, as_version=4).cells[2]
    assert "out = [" in cell.source and "append" not in cell.source
