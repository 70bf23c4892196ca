"""Incremental re-analysis gives exactly the whole-file result, edit after edit."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfsquad.analyzers import RULES
from perfsquad.engine import analyze_text
from perfsquad.incremental import IncrementalAnalyzer
from perfsquad.model import to_json

BASE = '''import collections

CONST = {}


def first(xs):
    result = []
    for x in xs:
        result.append(x * 2)
    return result


@decorator
def second(d):
    if k in d.keys():
        return sorted(d)[0]
    return None


class Third:
    def method(self, xs):
        total = 0
        for x in xs:
            total += x
        return total


m = sorted(CONST)[-1]
'''


def same(a: object, b: object) -> bool:
    return to_json(a) == to_json(b)


def check_sequence(texts: list[str], *, metrics: bool = True) -> int:
    inc = IncrementalAnalyzer("f.py", metrics=metrics)
    incremental_hits = 0
    for text in texts:
        got = inc.update(text)
        incremental_hits += inc.last_was_incremental
        want = analyze_text(text, "f.py", metrics=metrics, rules=RULES)
        assert same(got.findings, want.findings), text
        assert same(got.functions, want.functions), text
        assert got.error == want.error
    return incremental_hits


def test_edits_inside_a_function_are_incremental_and_exact() -> None:
    texts = [BASE]
    texts.append(BASE.replace("result.append(x * 2)", "result.append(x * 3)"))
    texts.append(texts[-1].replace("    return result\n", "    # a comment\n    print(result)\n    return result\n"))
    texts.append(texts[-1].replace("return sorted(d)[0]", "return sorted(d)[-1]\n        pass"))
    texts.append(texts[-1].replace("        total += x\n", "        total += x\n        total -= 1\n"))
    texts.append(texts[-1].replace("        total -= 1\n", ""))
    hits = check_sequence(texts)
    assert hits == len(texts) - 1


def test_structural_edits_fall_back_to_whole_file() -> None:
    texts = [
        BASE,
        BASE.replace("import collections", "import collections\nfrom x import sorted"),  # imports
        BASE.replace("def first(xs):", "def sorted(xs):"),  # shadows a builtin
        BASE.replace("\ndef first", "\nvalue = 1\ndef first"),  # new top-level statement
        BASE.replace("    return result\n", "    return (result\n"),  # syntax error
        BASE,
    ]
    check_sequence(texts)


def test_random_line_edits_match_whole_file() -> None:
    rng = random.Random(7)
    text = BASE
    texts = [text]
    snippets = ["        x = 1\n", "    y = sorted(z)[0]\n", "\n", "    for a in b:\n        c.append(a)\n", "# note\n"]
    for _ in range(60):
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines) + 1)
        if rng.random() < 0.5 and lines:
            del lines[min(i, len(lines) - 1)]
        else:
            lines.insert(i, rng.choice(snippets))
        text = "".join(lines)
        texts.append(text)
    check_sequence(texts)


# A module whose findings reach across units: a class's `self.x` types, I/O effect summaries,
# a module-level cache, a small class instantiated in loops, a similarity function.
RICH = '''import sqlite3
from dataclasses import dataclass

CACHE = {}


@dataclass
class Point:
    x: int
    y: int


def cosine(a, b):
    return sum(p * q for p, q in zip(a, b))


def remember(key, value):
    CACHE[key] = value


def reset():
    return len(CACHE)


def build(n):
    out = []
    for i in range(n):
        out.append(i)
    p = Point(1, 2)
    return out, p


def pairs(rows):
    scores = []
    for a in rows:
        for b in rows:
            scores.append(cosine(a, b))
    return scores


class Repo:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)
        self.names = []

    def fetch(self, key):
        return self.conn.execute("SELECT v FROM t WHERE k = ?", (key,)).fetchone()

    def load_all(self, keys):
        out = []
        for key in keys:
            out.append(self.fetch(key))
        return out

    def total(self, xs):
        t = 0
        for x in xs:
            t += x
        return t
'''


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_edits_reaching_other_units_match_whole_file() -> None:
    """Every edit that changes what other units' findings read: the result is still exact."""
    steps = [
        ("        t = 0\n", "        t = 0\n        u = 1\n"),  # a method body: method-level
        ("        return t\n", "        return t + u\n"),
        ("        self.conn = sqlite3.connect(path)\n", "        self.conn = {}\n"),  # self.x types
        ("        self.conn = {}\n", "        self.conn = sqlite3.connect(path)\n"),
        ("    return len(CACHE)\n", "    CACHE.clear()\n    return 0\n"),  # the cache is evicted
        ("    CACHE.clear()\n    return 0\n", "    return len(CACHE)\n"),
        ("    p = Point(1, 2)\n", "    p = [Point(i, i) for i in range(n)]\n"),  # instantiated in a loop
        ("    return sum(p * q for p, q in zip(a, b))\n", "    return 0\n"),  # no longer a similarity
        ("    return 0\n", "    return sum(p * q for p, q in zip(a, b))\n"),
        ("        return self.conn.execute(", "        return self.names.index(key) or self.conn.execute("),
        ("        out = []\n        for key", "        out = []\n        self.names.append(1)\n        for key"),
        ("    def total(self, xs):\n", "    def total(self, xs):\n        vars(self)\n"),  # dynamic attributes
        ("        vars(self)\n", ""),
        ("        return self.names.index(key) or self.conn.execute(", "        return self.conn.execute("),
        ('"SELECT v FROM t WHERE k = ?"', "'SELECT v FROM t WHERE k = ' + key"),
    ]
    texts = [RICH]
    for old, new in steps:
        texts.append(_edit(texts[-1], old, new))
    hits = check_sequence(texts)
    assert hits >= 2  # the first two (inside one method, nothing else reads them) stay incremental


@pytest.mark.parametrize("metrics", [True, False], ids=["with-metrics", "diagnostics-only"])
def test_random_edits_in_methods_match_whole_file(metrics: bool) -> None:
    rng = random.Random(11)
    snippets = [
        "        x = 1\n",
        "        self.conn.execute('SELECT 1')\n",
        "        for i in range(3):\n            Point(i, i)\n",
        "        CACHE.clear()\n",
        "        self.names.append(x)\n",
        "        y = cosine(xs, xs)\n",
        "        import json\n",
        "        # a comment\n",
        "\n",
    ]
    singles = {line for line in snippets if line.count("\n") == 1}
    text = RICH
    texts = [text]
    for _ in range(60):
        lines = text.splitlines(keepends=True)
        in_class = lines.index("class Repo:\n")
        # Insert before a statement of a method body (always valid code); delete an inserted line.
        statements = [i for i in range(in_class, len(lines)) if re.match(r"        \S", lines[i])]
        inserted = [i for i in range(in_class, len(lines)) if lines[i] in singles]
        if inserted and rng.random() < 0.4:
            del lines[rng.choice(inserted)]
        else:
            lines.insert(rng.choice(statements), rng.choice(snippets))
        text = "".join(lines)
        texts.append(text)
    hits = check_sequence(texts, metrics=metrics)
    assert hits >= 5  # the edits nothing else reads (a local, a comment) stay incremental


@settings(max_examples=300, deadline=None)
@given(
    base=st.text(alphabet="ab\r\n", max_size=9000),
    edits=st.lists(st.tuples(st.integers(0, 9000), st.integers(0, 3), st.text(alphabet="abz\n", max_size=3)), max_size=3),
)
def test_common_prefix_and_suffix_match_a_character_loop(base: str, edits: list[tuple[int, int, str]]) -> None:
    from perfsquad.incremental import _common_prefix, _common_suffix

    other = base
    for pos, cut, text in edits:
        pos = min(pos, len(other))
        other = other[:pos] + text + other[pos + cut :]
    limit = min(len(base), len(other))
    prefix = 0
    while prefix < limit and base[prefix] == other[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and base[-1 - suffix] == other[-1 - suffix]:
        suffix += 1
    assert _common_prefix(base, other, limit) == prefix
    assert _common_suffix(base, other, limit - prefix) == suffix


def test_sequence_screen_answers_follow_edits_of_the_unit() -> None:
    """The ALG rules' sequence screen carries its answers over an incremental edit and searches
    the edited unit for names it had not found: a new list binding is seen at once."""
    head = "def other(seen):\n    return len(seen)\n\n\n"
    before = head + "def f(items, seen):\n    out = 0\n    for x in items:\n        if x in seen:\n            out += 1\n    return out\n"
    after = before.replace("def f(items, seen):\n", "def f(items):\n    seen = []\n").replace(
        "            out += 1\n", "            out += 1\n        seen.append(x)\n"
    )
    inc = IncrementalAnalyzer("f.py", metrics=False)
    assert "ALG002" not in [f.code for f in inc.update(before).findings]
    got = inc.update(after)
    assert inc.last_was_incremental
    assert "ALG002" in [f.code for f in got.findings]
    assert same(got.findings, analyze_text(after, "f.py", rules=RULES).findings)
    back = inc.update(before)  # the binding removed again: the screen may still let `seen` through
    assert same(back.findings, analyze_text(before, "f.py", rules=RULES).findings)


def test_typing_through_syntax_errors_stays_incremental() -> None:
    """Typing a statement key by key inside a method leaves the module unparsable at most keys
    (issue #19: each of those, and the first text that parses again, cost a whole-file analysis
    of an 18k-line file). Now a broken text reports the syntax error with the other units'
    findings, the analyzer keeps the last text that parsed, and the text that parses again is
    re-analyzed incrementally, with exactly the whole-file result."""
    lines = BASE.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "total = 0" in line) + 1
    typed = "        best = sorted(xs)[0]"
    inc = IncrementalAnalyzer("f.py", metrics=False)
    inc.update(BASE)
    whole = analyze_text(BASE, "f.py", metrics=False, rules=RULES)
    outside = [f for f in whole.findings if not 21 <= f.span.start.line <= 26]
    broken = 0
    for n in range(len("        best ="), len(typed) + 1):
        text = "".join([*lines[:at], typed[:n] + "\n", *lines[at:]])
        got = inc.update(text)
        assert inc.last_was_incremental, typed[:n]
        try:
            compile(text, "f.py", "exec")
        except SyntaxError:
            broken += 1
            assert got.error is not None and got.error.startswith("syntax error"), typed[:n]
            shifted = [f.span.start.line + (f.span.start.line > at) for f in outside]
            assert [f.span.start.line for f in got.findings] == shifted, typed[:n]
            continue
        want = analyze_text(text, "f.py", metrics=False, rules=RULES)
        assert got.error is None and same(got.findings, want.findings), typed[:n]
    assert broken >= 5
    assert any(f.code == "IDM007" and f.span.start.line == at + 1 for f in got.findings)
