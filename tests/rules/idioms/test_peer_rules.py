"""The rules that answer ruff/refurb peers (issue #21): IDM015 `.items()` half unused (PERF102),
IDM016 copy loop (PERF402), IDM017 `list(x)[0]` (RUF015), IDM018 repeated `append` (FURB113),
IDM019 set-add loop on an existing set (FURB142).

Positives, traps that look alike but must stay silent (the rewrite would change behaviour or the
shape is another rule's), fixes that parse, keep comments, converge, and behave the same; and the
CLI end to end."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import ROOT

from perfsquad.analyzers import RULES
from perfsquad.autofix import fix_text
from perfsquad.config import Config
from perfsquad.engine import analyze_text
from perfsquad.model import Confidence, Finding, FixSafety

PEERS = ("IDM015", "IDM016", "IDM017", "IDM018", "IDM019")
EVERYTHING = Config(select=("ALL", "READABILITY"), confidence=Confidence.LOW)


def _findings(source: str, codes: tuple[str, ...] = PEERS) -> list[Finding]:
    rules = tuple(r for r in RULES if r.code in codes)
    report = analyze_text(textwrap.dedent(source), "example.py", EVERYTHING, rules=rules)
    assert report.rule_errors == ()
    return list(report.findings)


POSITIVES = {
    "IDM015 value unused, dict known": (
        """
        def f(pairs):
            d = dict(pairs)
            for k, _ in d.items():
                print(k)
        """,
        "IDM015",
        FixSafety.SAFE,
    ),
    "IDM015 key unused, unknown mapping": (
        """
        def f(registry):
            for name, handler in registry.items():
                handler()
        """,
        "IDM015",
        FixSafety.UNSAFE,
    ),
    "IDM016 copy into an existing list": (
        """
        def f(xs):
            out = [None]
            for x in xs:
                out.append(x)
            return out
        """,
        "IDM016",
        FixSafety.SAFE,
    ),
    "IDM017 first key": (
        """
        def f(d):
            return list(d.keys())[0]
        """,
        "IDM017",
        FixSafety.UNSAFE,
    ),
    "IDM018 three appends in a loop": (
        """
        def f(rows):
            out = []
            for a, b in rows:
                out.append(a)
                out.append(b)
                out.append(None)
            return out
        """,
        "IDM018",
        FixSafety.SAFE,
    ),
    "IDM019 add loop, transformed element": (
        """
        def f(rows, seen):
            s = set(seen)
            for r in rows:
                s.add(r * 2)
            return s
        """,
        "IDM019",
        FixSafety.SAFE,
    ),
}


@pytest.mark.parametrize("case", POSITIVES, ids=list(POSITIVES))
def test_positive_is_flagged_with_its_fix_safety(case: str) -> None:
    source, code, safety = POSITIVES[case]
    found = _findings(source)
    assert [f.code for f in found] == [code]
    assert found[0].fix is not None and found[0].fix.safety is safety


TRAPS = {
    # PERF102: both halves used, used after the loop, the dict mutated or handed to a call.
    "IDM015 both halves used": """
        def f(d):
            for k, v in d.items():
                print(k, v)
    """,
    "IDM015 key read after the loop": """
        def f(d):
            for k, v in d.items():
                total = v
            return k
    """,
    "IDM015 dict mutated by subscript": """
        def f(d):
            for k, v in d.items():
                d[k] = 0
    """,
    "IDM015 dict mutated by method": """
        def f(d):
            for k, v in d.items():
                d.setdefault(k, 1)
    """,
    "IDM015 dict passed on": """
        def f(d):
            for k, v in d.items():
                register(d, k)
    """,
    "IDM015 pandas Series": """
        import pandas as pd
        def f(p):
            s = pd.Series(p)
            for _, v in s.items():
                print(v)
    """,
    "IDM015 value read through a lookup": """
        def f(d):
            for k, v in d.items():
                print(d[k])
    """,
    # PERF402: a condition, a transform, the iterated list itself, a fresh list (IDM001's shape).
    "IDM016 condition": """
        def f(xs, ys):
            for x in xs:
                if x:
                    ys.append(x)
    """,
    "IDM016 transform": """
        def f(xs, ys):
            for x in xs:
                ys.append(str(x))
    """,
    "IDM016 target is the iterated list": """
        def f(ys):
            for y in ys:
                ys.append(y)
    """,
    "IDM016 target in the iterable": """
        def f(ys):
            for y in ys[::-1]:
                ys.append(y)
    """,
    "IDM016 fresh list is IDM001": """
        def f(xs):
            ys = []
            for x in xs:
                ys.append(x)
            return ys
    """,
    "IDM016 inside the collection's own extend": """
        class Bag(list):
            def extend(self, values):
                for v in values:
                    self.append(v)
    """,
    # RUF015: a generator or lazy iterator (its side effects, what is left in it), another index.
    "IDM017 generator expression": """
        def f(xs):
            return list(load(x) for x in xs)[0]
    """,
    "IDM017 name bound to a generator": """
        def f(xs):
            it = (load(x) for x in xs)
            return list(it)[0]
    """,
    "IDM017 map": """
        def f(xs):
            return tuple(map(load, xs))[0]
    """,
    "IDM017 call result": """
        def f(path):
            return list(read_rows(path))[0]
    """,
    "IDM017 last element": """
        def f(d):
            return list(d)[-1]
    """,
    # FURB113: interleaved statements, different lists, an element reading the list.
    "IDM018 interleaved statement": """
        def f(xs, a, b):
            xs.append(a)
            log(a)
            xs.append(b)
    """,
    "IDM018 different lists": """
        def f(xs, ys, a, b):
            xs.append(a)
            ys.append(b)
    """,
    "IDM018 element reads the list": """
        def f(xs, a):
            xs.append(a)
            xs.append(len(xs))
    """,
    # FURB142: the body does more, a condition, an element from the set, a fresh set (IDM002).
    "IDM019 body does more": """
        def f(xs, seen):
            for x in xs:
                seen.add(x)
                emit(x)
    """,
    "IDM019 condition": """
        def f(xs, seen):
            for x in xs:
                if x not in seen:
                    seen.add(x)
    """,
    "IDM019 element reads the set": """
        def f(xs, seen):
            for x in xs:
                seen.add(x + len(seen))
    """,
    "IDM019 loop over the set": """
        def f(seen):
            for x in list(seen):
                seen.add(x * 2)
    """,
    "IDM019 fresh set is IDM002": """
        def f(xs):
            seen = set()
            for x in xs:
                seen.add(x)
            return seen
    """,
    "IDM019 inside the collection's own update": """
        class Tags(set):
            def update(self, values):
                for v in values:
                    self.add(v)
    """,
}


@pytest.mark.parametrize("case", TRAPS, ids=list(TRAPS))
def test_look_alike_trap_is_not_flagged(case: str) -> None:
    assert _findings(TRAPS[case]) == []


HIDDEN_BY_DEFAULT = {
    "IDM015 unknown receiver in a pandas module": (
        "import pandas as pd\ndef f(frame):\n    for _, col in frame.items():\n        print(col)\n",
        "IDM015",
    ),
    "IDM016 receiver not known to be a list": ("def f(xs, out):\n    for x in xs:\n        out.append(x)\n", "IDM016"),
    "IDM017 bounded by len(...) == 1": ("def f(cols):\n    if len(cols) == 1:\n        return list(cols)[0]\n", "IDM017"),
    "IDM017 in a raise": ("def f(kw):\n    raise TypeError(list(kw)[0])\n", "IDM017"),
    "IDM017 one copy per call": ("def f(expr):\n    return list(expr.free_symbols)[0]\n", "IDM017"),
    "IDM017 collection rebound in the loop": ("def f(rows):\n    for r in rows:\n        yield tuple(r)[0]\n", "IDM017"),
    "IDM015 the few entries of one object": (
        "def f(self):\n    for _, col in self.columns.items():\n        print(col)\n",
        "IDM015",
    ),
    "IDM019 receiver not known to be a set": ("def f(xs, geom):\n    for g in xs:\n        geom.add(g)\n", "IDM019"),
}


@pytest.mark.parametrize("case", HIDDEN_BY_DEFAULT, ids=list(HIDDEN_BY_DEFAULT))
def test_unproven_scale_or_receiver_is_low_confidence(case: str) -> None:
    """What the corpus labels showed (bench/precision): a custom class with `add` and no `update`
    (an OGRGeometry), a DataFrame's `items()`, a one-element collection, an error message."""
    source, code = HIDDEN_BY_DEFAULT[case]
    rules = tuple(r for r in RULES if r.code == code)
    default = analyze_text(source, "example.py", Config(select=("ALL", "READABILITY")), rules=rules)
    assert default.findings == ()
    (low,) = _findings(source, (code,))
    assert low.confidence is Confidence.LOW and low.evidence


def test_loop_variable_read_later_keeps_the_finding_without_a_fix() -> None:
    for code, source in (
        ("IDM016", "def f(xs, ys):\n    for x in xs:\n        ys.append(x)\n    return x\n"),
        ("IDM019", "def f(xs, s):\n    for x in xs:\n        s.add(x)\n    print(x)\n"),
    ):
        (found,) = _findings(source)
        assert found.code == code and found.fix is None
        assert any("NameError" in note or "binds it" in note for note in found.notes)


def test_unsafe_reasons_are_named_in_the_fix_title() -> None:
    (found,) = _findings("def f(out, rows):\n    try:\n        for r in rows:\n            out.add(r)\n    except KeyError:\n        pass\n")
    assert found.fix is not None and found.fix.safety is FixSafety.UNSAFE
    assert "not known to be a `set`" in found.fix.title and "inside `try`" in found.fix.title
    (found,) = _findings("def f(out, r):\n    out = []\n    out.append(r.a)\n    out.append(r.b())\n")
    assert found.fix is not None and found.fix.safety is FixSafety.UNSAFE
    assert "evaluated before the first is appended" in found.fix.title


MIXED = '''
def report(d, rows, extra, seen, rs):
    names = [None]
    for name, _ in d.items():  # names only
        names.append(name)
    for r in rows:
        names.append(r)
    first = list(d)[0]
    total = [first]
    # pairs
    for a, b in rs:
        total.append(a)  # left
        total.append(b)
    acc = set(extra)
    for r in rows:
        acc.add(r)
    return names, total, acc
'''


def test_fixes_parse_keep_comments_and_converge() -> None:
    result = fix_text(MIXED, "example.py", unsafe=True, config=EVERYTHING)
    ast.parse(result.text)
    for comment in ("# names only", "# pairs", "# left"):
        assert comment in result.text
    assert "names.extend(rows)" in result.text and "acc.update(rows)" in result.text
    assert "next(iter(d))" in result.text and "total.extend((a, b))" in result.text
    again = fix_text(result.text, "example.py", unsafe=True, config=EVERYTHING)
    assert again.text == result.text  # nothing left to fix: the fixes converge
    left = analyze_text(result.text, "example.py", EVERYTHING, rules=RULES).findings
    assert not [f for f in left if f.code in PEERS and f.fix is not None]


EQUIVALENT = {
    "IDM015": ("def f(d):\n    out = []\n    for _, v in d.items():\n        out.append(v)\n    return out\n", "d"),
    "IDM016": ("def f(xs):\n    ys = [0]\n    for x in xs:\n        ys.append(x)\n    return ys\n", "xs"),
    "IDM017": ("def f(xs):\n    try:\n        return list(xs)[0]\n    except (IndexError, StopIteration):\n        return None\n", "xs"),
    "IDM018": ("def f(xs):\n    ys = []\n    for x in xs:\n        ys.append(x)\n        ys.append(0)\n    return ys\n", "xs"),
    "IDM019": ("def f(xs):\n    s = {1}\n    for x in xs:\n        s.add(x % 7)\n    return s\n", "xs"),
}


@pytest.mark.parametrize("code", PEERS)
def test_fixed_code_computes_the_same(code: str) -> None:
    source, kind = EQUIVALENT[code]
    fixed = fix_text(source, "example.py", unsafe=True, config=EVERYTHING).text
    assert fixed != source
    inputs = [{}, {1: 2, 3: 4}, {i: -i for i in range(50)}] if kind == "d" else [[], [3], list(range(40)), [5, 5, 1]]
    for value in inputs:
        before: dict[str, object] = {}
        after: dict[str, object] = {}
        exec(compile(source, "before", "exec"), before)
        exec(compile(fixed, "after", "exec"), after)
        assert before["f"](value) == after["f"](value)  # type: ignore[operator]


def test_cli_reports_and_fixes_the_peer_rules(tmp_path: Path) -> None:
    target = tmp_path / "peers.py"
    target.write_text(MIXED, encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.perfsquad]\nextend-select = ["readability"]\nconfidence = "low"\n', encoding="utf-8"
    )
    cmd = [sys.executable, "-m", "perfsquad", "check", "--format", "json", "--no-cache", str(target)]
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert out.returncode == 1, out.stderr
    codes = sorted({f["code"] for f in json.loads(out.stdout)} & set(PEERS))
    assert codes == list(PEERS)
    fixed = subprocess.run(
        [sys.executable, "-m", "perfsquad", "check", "--fix", "--unsafe-fixes", "--no-cache", str(target)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )
    assert fixed.returncode in (0, 1), fixed.stderr
    text = target.read_text(encoding="utf-8")
    ast.parse(text)
    assert "acc.update(rows)" in text and "names.extend(rows)" in text and "# pairs" in text
