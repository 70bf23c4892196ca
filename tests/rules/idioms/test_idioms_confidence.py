"""Confidence and evidence of the idiom rules: a constant factor per element, worth reporting by
default (``medium``) only where the loop shows evidence of scale; never ``high``."""

from __future__ import annotations

import textwrap

import pytest

from perfsquad.analyzers import family_rules
from perfsquad.config import Config
from perfsquad.engine import analyze_text
from perfsquad.model import Confidence, Finding, FixSafety

IDIOMS = family_rules("IDM")
ALL = Config(confidence=Confidence.LOW)
LOW, MEDIUM = Confidence.LOW, Confidence.MEDIUM


def _findings(source: str, code: str, config: Config | None = None) -> list[Finding]:
    rules = tuple(r for r in IDIOMS if r.code == code)
    report = analyze_text(textwrap.dedent(source), "example.py", config, rules=rules)
    assert report.rule_errors == ()
    return list(report.findings)


CASES = [
    # (rule, source, confidence, words in the evidence)
    ("IDM001", "def f(rows):\n    out = []\n    for r in rows:\n        out.append(r.id)\n    return out\n",
     MEDIUM, "parameter `rows`"),
    ("IDM001", "out = []\nfor r in load():\n    out.append(r.id)\n", LOW, "at import"),
    ("IDM001", "def f(self):\n    out = []\n    for r in self.rows:\n        out.append(r.id)\n    return out\n",
     LOW, "measured slower at n=10"),
    ("IDM001", "def f():\n    out = []\n    for r in [1, 2, 3]:\n        out.append(r)\n    return out\n",
     LOW, "literal of 3 items"),
    ("IDM004", "def f(self):\n    s = ''\n    for level in range(self.index.nlevels):\n        s += 'l'\n    return s\n",
     LOW, "measured slower"),
    ("IDM006", "def f(xs):\n    d = {}\n    for x in xs:\n        if x in d.keys():\n            d[x] = 1\n",
     MEDIUM, "parameter `xs`"),
    ("IDM006", "def f(x):\n    d = {}\n    return x in d.keys()\n", MEDIUM, "one membership test per call of `f`"),
    ("IDM006", "D = {}\nFOUND = 'x' in D.keys()\n", LOW, "one membership test, runs once, at import"),
    ("IDM006", "def f(obj, xs):\n    return [x for x in xs if x in obj.keys()]\n", LOW, "not known to be a dict"),
    ("IDM007", "def f(xs):\n    return sorted(xs)[0]\n", MEDIUM, "parameter `xs`"),
    ("IDM007", "def f(self):\n    return sorted(self.candidates)[0]\n", LOW, "measured slower at n=10"),
    ("IDM009", "def f(xs):\n    for i in range(len(xs)):\n        print(xs[i])\n", MEDIUM, "parameter `xs`"),
    ("IDM009", "def f():\n    xs = [1, 2]\n    for i in range(len(xs)):\n        print(xs[i])\n", LOW, "literal"),
    ("IDM012", "def f(p1):\n    p = {}\n    for k in p1:\n        p[k] = -p1[k]\n    return p\n",
     MEDIUM, "parameter `p1`"),
    ("IDM012", "def f(**kw):\n    for k in kw:\n        print(kw[k])\n", LOW, "keyword arguments"),
    ("IDM013", "def f(xs):\n    return list(map(lambda x: x + 1, xs))\n", MEDIUM, "parameter `xs`"),
    ("IDM013", "NAMES = list(filter(lambda s: s, ['a', '']))\n", LOW, "at import"),
    ("IDM014", "def f(xs):\n    for x in list(reversed(xs)):\n        print(x)\n", MEDIUM, "parameter `xs`"),
    ("IDM014", "def f(d):\n    return [''.join(c) for c in list(zip(*d.items()))]\n", LOW, "one tuple per column"),
]


@pytest.mark.parametrize(("code", "source", "confidence", "words"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_idiom_confidence_and_evidence(code: str, source: str, confidence: Confidence, words: str) -> None:
    (finding,) = _findings(source, code, ALL)
    assert finding.confidence is confidence, finding.evidence
    assert finding.evidence is not None and words in finding.evidence, finding.evidence
    # Default settings show medium and up: a low finding is not reported.
    assert len(_findings(source, code)) == (0 if confidence is LOW else 1)


def test_no_idiom_finding_is_high_even_over_a_query_result() -> None:
    source = "import sqlite3\ndef f(db):\n    out = []\n    for row in sqlite3.connect(db).execute('q'):\n        out.append(row)\n    return out\n"
    (finding,) = _findings(source, "IDM001", ALL)
    assert finding.confidence is MEDIUM


def test_a_receiver_not_known_to_be_a_dict_keeps_only_an_unsafe_fix_at_low_confidence() -> None:
    (finding,) = _findings("def f(obj, xs):\n    for x in xs:\n        if x in obj.keys():\n            print(x)\n", "IDM006", ALL)
    assert finding.confidence is LOW
    assert finding.fix is not None and finding.fix.safety is FixSafety.UNSAFE
    (known,) = _findings("def f(d: dict, xs):\n    for x in xs:\n        if x in d.keys():\n            print(x)\n", "IDM006")
    assert known.confidence is MEDIUM
    assert known.fix is not None and known.fix.safety is FixSafety.SAFE
