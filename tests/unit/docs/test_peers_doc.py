"""docs/peers.md (issue #21): every performance rule of ruff, perflint and refurb has a row with
perfsquad's equivalent (a rule that exists) or the reason it has none."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from support import DOCS

from perfsquad.analyzers import RULES

PEERS = DOCS / "peers.md"
OWN_CODE = re.compile(r"\b(?:IDM|ALG|IO|MEM|VEC|HOT)\d{3}\b")
ROW = re.compile(r"^\| `([A-Z]+\d+)` \|(.*)\|\s*$")
PERFLINT = ("W8101", "W8102", "W8201", "W8202", "R8203", "W8204", "W8205", "W8301", "W8401", "W8402", "W8403", "W8501")
# The rules issue #21 names, and the perfsquad rule that answers each.
NAMED = {"PERF102": "IDM015", "PERF402": "IDM016", "RUF015": "IDM017", "FURB113": "IDM018", "FURB142": "IDM019",
         "FURB129": "MEM004", "ASYNC230": "IO004"}  # fmt: skip


def _rows() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in PEERS.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        cells = [c.strip() for c in match.group(2).split(" | ")]
        assert len(cells) == 3, f"a row has 4 columns: {line}"
        rows.setdefault(match.group(1), (cells[1], cells[2]))
    return rows


def _ruff_rules(prefixes: tuple[str, ...]) -> list[str]:
    """The installed ruff's own catalogue (a dev dependency: scripts/bootstrap.sh dev installs it)."""
    ruff = Path(sys.executable).parent / "ruff"
    out = subprocess.run([str(ruff), "rule", "--all", "--output-format", "json"], capture_output=True, text=True,
                         timeout=60, check=True)  # fmt: skip
    return [r["code"] for r in json.loads(out.stdout) if r["code"] and r["code"].startswith(prefixes)]


def test_every_perfsquad_rule_named_exists() -> None:
    known = {r.code for r in RULES}
    named = set(OWN_CODE.findall(PEERS.read_text(encoding="utf-8")))
    assert named, "peers.md names perfsquad rules"
    assert named <= known, f"peers.md names rules that do not exist: {sorted(named - known)}"


def test_every_row_has_an_equivalent_or_a_reason() -> None:
    rows = _rows()
    assert len(rows) > 60
    for code, (ours, note) in rows.items():
        equivalents = OWN_CODE.findall(ours)
        assert equivalents or ours == "none", f"{code}: perfsquad column is a rule code or `none`, not {ours!r}"
        if not equivalents or "partly" in ours:
            same = re.match(r"Same as `([A-Z]+\d+)`", note)
            if same is not None:  # the reason is the other row's
                assert same.group(1) in rows and len(rows[same.group(1)][1]) >= 30, f"{code}: {note!r}"
            else:
                assert len(note) >= 30, f"{code}: no equivalent (or a partial one) needs a reason, got {note!r}"


def test_every_peer_performance_rule_is_listed() -> None:
    rows = _rows()
    required = [*_ruff_rules(("PERF", "ASYNC2")), *PERFLINT, *NAMED]
    missing = [code for code in required if code not in rows]
    assert not missing, f"peers.md lacks rows for {missing}"


def test_the_rules_issue_21_names_map_to_their_answers() -> None:
    rows = _rows()
    for peer, ours in NAMED.items():
        assert ours in OWN_CODE.findall(rows[peer][0]), f"{peer} should map to {ours}"
