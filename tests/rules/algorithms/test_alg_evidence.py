"""Evidence of scale on ALG findings (issue #16): every finding carries a confidence and a
one-line evidence; code whose cost cannot be shown to grow is ``low`` (hidden by default), and
look-alikes over data of the caller's size stay reported."""

from __future__ import annotations

import textwrap

import pytest

from perfsquad.analyzers import family_rules
from perfsquad.config import Config
from perfsquad.engine import analyze_text
from perfsquad.model import Confidence, Finding

RULES = family_rules("ALG")
EVERYTHING = Config(confidence=Confidence.LOW)


def _findings(code: str) -> list[Finding]:
    report = analyze_text(textwrap.dedent(code), "sample.py", rules=RULES, config=EVERYTHING)
    assert report.rule_errors == ()
    return list(report.findings)


def _one(code: str, rule: str) -> Finding:
    found = [f for f in _findings(code) if f.code == rule]
    assert len(found) == 1, found
    return found[0]


CASES = [
    # ALG001: a list whose size nothing shows, against one built from a parameter.
    ("ALG001", "def f(a, b):\n    q = [a, b]\n    while q:\n        q.pop(0)\n", Confidence.LOW),
    ("ALG001", "def f(items):\n    q = list(items)\n    while q:\n        q.pop(0)\n", Confidence.MEDIUM),
    ("ALG001", "def f(items):\n    out = []\n    for x in items:\n        out.insert(0, x)\n    return out\n", Confidence.HIGH),
    # ALG002: a module-level loop runs once at import; the arguments of one call; the dedupe idiom;
    # a lazy initialiser.
    ("ALG002", "NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']\nfor n in NAMES:\n    print(n in NAMES)\n",
     Confidence.LOW),
    ("ALG002", "def f(xs, *names):\n    allowed = list(names)\n    return [x for x in xs if x in allowed]\n", Confidence.LOW),
    ("ALG002", "def f(items):\n    seen = []\n    for x in items:\n        if x not in seen:\n            seen.append(x)\n"
     "    return seen\n", Confidence.HIGH),
    ("ALG002", "def f(self, items):\n    if self._index is None:\n        seen = list(items)\n"
     "        self._index = [x for x in items if x in seen]\n    return self._index\n", Confidence.LOW),
    # ...on the error path: one level less sure.
    ("ALG002", "def f(fields, run):\n    errors = []\n    for fl in fields:\n        try:\n            run(fl)\n"
     "        except ValueError as e:\n            errors.extend(m for m in e.args if m not in errors)\n    return errors\n",
     Confidence.MEDIUM),
    # ALG003: over **kwargs, the keywords of one call; over a parameter.
    ("ALG003", "def f(order: list, **options):\n    return [order.index(k) for k in options]\n", Confidence.LOW),
    ("ALG003", "def f(order: list, wanted):\n    return [order.index(k) for k in wanted]\n", Confidence.HIGH),
    # ALG004: grown by batches (sorted once per batch) against grown by elements.
    ("ALG004", "def f(batches):\n    acc = []\n    for b in batches:\n        acc.extend(b)\n        acc.sort()\n",
     Confidence.LOW),
    ("ALG004", "def f(stream):\n    acc = []\n    for x in stream:\n        acc.append(x)\n        acc.sort()\n",
     Confidence.HIGH),
    # ALG005: the dimensions of arrays, range(<const>) hidden in a name, a parameter.
    ("ALG005", "def f(arrays):\n    shape = ()\n    for a in arrays:\n        shape += a.shape\n    return shape\n",
     Confidence.LOW),
    ("ALG005", "def f(x):\n    acc = ()\n    for i in range(x.ndim):\n        acc += (i,)\n    return acc\n", Confidence.LOW),
    ("ALG005", "def f(rows):\n    acc = ()\n    for r in rows:\n        acc += (r,)\n    return acc\n", Confidence.HIGH),
    # ALG006: a text raster with default sizes; a join of two parameters.
    ("ALG006", "def plot(ys, W=55, H=20):\n    for h in range(H):\n        for i in range(W):\n"
     "            if ys[i] == h:\n                print(i)\n", Confidence.LOW),
    ("ALG006", "def f(orders, customers):\n    for o in orders:\n        for c in customers:\n"
     "            if o.cid == c.id:\n                print(o)\n", Confidence.HIGH),
    # ALG007: only ever called with a literal size, against a size from the caller.
    ("ALG007", "def bench():\n    def h(n):\n        return 1 if n < 2 else h(n - 1) + h(n - 2)\n    return h(15)\n",
     Confidence.LOW),
    ("ALG007", "def h(n):\n    return 1 if n < 2 else h(n - 1) + h(n - 2)\ndef use(k):\n    return h(k)\n", Confidence.MEDIUM),
    # ALG008: sorted parts of one call result searched per element of a parameter.
    ("ALG008", "def f(qs, vs):\n    o = sorted(vs)\n    return [o.index(q) for q in qs]\n", Confidence.HIGH),
]


@pytest.mark.parametrize(("rule", "code", "confidence"), CASES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(CASES)])
def test_alg_findings_carry_their_evidence_of_scale(rule: str, code: str, confidence: Confidence) -> None:
    found = _one(code, rule)
    assert found.confidence is confidence, found.evidence
    assert found.evidence and "\n" not in found.evidence


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_every_finding_of_the_rule_examples_has_evidence(rule: type) -> None:
    for example in rule.invalid:  # type: ignore[attr-defined]
        found = _findings(example.code)
        assert found
        for f in found:
            assert f.evidence and f.confidence is not Confidence.LOW, (f.code, f.evidence)
