"""The engine hands each rule only the nodes it can flag: screening changes no finding."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from support import DEMO, every_rule

from perfsquad.analyzers import RULES
from perfsquad.engine import analyze_text
from perfsquad.model import Finding

# Calls whose callee is spelled through an import alias, a module attribute or a rebinding:
# the screen must see through each of them exactly as the rules' own name resolution does.
ALIASES = """\
import math as m
import builtins
from math import sqrt as root
from builtins import sorted as srt, sum as total
from memoria.store import remove as drop

def norm(xs: list[float]) -> float:
    return root(sum(x * x for x in xs))

def norm2(xs: list[float]) -> float:
    return m.sqrt(total(x * x for x in xs))

def f(items, needles):
    seen = []
    for n in needles:
        seen.append(n)
        seen.sort()
        first = srt(seen)[0]
        if builtins.sum([1 for _ in items]) > 3:
            drop(n)
    return first
"""


def _sources() -> list[str]:
    sources = [ALIASES]
    for rule in RULES:
        sources.extend(rule.valid)
        sources.extend(example.code for example in rule.invalid)
    sources.extend(p.read_text() for p in sorted(DEMO.rglob("*.py")))
    sources.extend(Path(m.__file__).read_text() for m in (ast, pytest))  # type: ignore[arg-type]
    return sources


def _findings(sources: list[str]) -> list[list[Finding]]:
    reports = [analyze_text(source, "example.py", rules=RULES, config=every_rule()) for source in sources]
    assert all(not r.rule_errors for r in reports)
    return [list(r.findings) for r in reports]


def test_call_name_screens_change_no_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    screened = [rule for rule in RULES if rule.call_names is not None]
    assert len(screened) >= 10
    sources = _sources()
    with_screens = _findings(sources)
    assert sum(map(len, with_screens)) > 100  # the sources do exercise the rules
    # Found through `root(...)`, `srt(...)` and `builtins.sum(...)`.
    found = {(f.code, f.span.start.line) for f in with_screens[0]}
    assert {("VEC002", 8), ("ALG004", 18), ("MEM005", 19)} <= found, found
    for rule in screened:
        monkeypatch.setattr(rule, "call_names", None)
    assert _findings(sources) == with_screens


def test_call_names_need_calls() -> None:
    for rule in RULES:
        assert rule.validate() == []
        if rule.call_names is not None:
            assert ast.Call in rule.node_types


def test_indexed_read_screen_changes_no_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    """IDM012 skips loops with no `...[key]` read within their lines: without the screen (every
    loop's body walked) the findings are the same."""
    from perfsquad.analyzers.idioms.range_len_index import IndexedReads

    sources = [
        *_sources(),
        "def f(d):\n    for k in d:\n        g(\n            d[\n                k\n            ]\n        )\n",
        "def f(d):\n    for k in d:\n        h = lambda: d[k]\n        print(h())\n",
    ]
    screened = _findings(sources)
    assert [f.code for f in screened[-2]] == ["IDM012"] and [f.code for f in screened[-1]] == ["IDM012"]
    monkeypatch.setattr(IndexedReads, "within", lambda self, ctx, index, loop: True)
    assert _findings(sources) == screened
