"""The accumulator rewrites (IDM001 list, IDM002 set, IDM004 join, IDM010 Counter) move the loop
variable into a comprehension: refused when a later read could see it (NameError after
``--unsafe-fixes``), safe when every later use rebinds it first."""

from __future__ import annotations

import textwrap

import pytest

from perfsquad.analyzers.idioms.counter_by_hand import CounterByHand
from perfsquad.analyzers.idioms.list_comprehension_loop import ListComprehensionLoop
from perfsquad.analyzers.idioms.set_comprehension_loop import SetComprehensionLoop
from perfsquad.analyzers.idioms.string_concat_loop import StringConcatLoop
from perfsquad.config import Config
from perfsquad.engine import analyze_text
from perfsquad.model import Confidence, Finding, FixSafety
from perfsquad.rule import Rule

ALL = Config(confidence=Confidence.LOW)  # these tests are about the fix, whatever the evidence of scale


def _one(source: str, rule: type[Rule] = ListComprehensionLoop) -> Finding:
    report = analyze_text(textwrap.dedent(source), "example.py", ALL, rules=(rule,))
    assert report.rule_errors == ()
    assert len(report.findings) == 1, report.findings
    return report.findings[0]


READ_LATER = {
    "except handler": """
        def f(xs):
            try:
                out = []
                for x in xs:
                    out.append(convert(x))
            except ValueError:
                log("bad element", x)
                raise
            return out
    """,
    "finally block": """
        def f(xs):
            try:
                out = []
                for x in xs:
                    out.append(convert(x))
            finally:
                log(x)
            return out
    """,
    "right after": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x * 2)
            return out, x
    """,
    "on one branch": """
        def f(xs, verbose):
            out = []
            for x in xs:
                out.append(x * 2)
            if verbose:
                print("last", x)
            else:
                x = None
            return out
    """,
    "augmented": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            x += 1
    """,
    "del": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            del x
    """,
    "after a reused loop that may be empty": """
        def f(xs, ys):
            out = []
            for x in xs:
                out.append(x)
            for x in ys:
                pass
            return x
    """,
    "next iteration of the enclosing loop": """
        def f(groups):
            x = None
            for group in groups:
                if x is not None:
                    print(x)
                out = []
                for x in group:
                    out.append(x)
    """,
    "break path skips the rebinding": """
        def f(groups):
            for group in groups:
                out = []
                for x in group:
                    out.append(x)
                if out:
                    break
                x = 0
            return x
    """,
    "closure": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            def last():
                return x
            return last
    """,
    "comprehension over a different name": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            return [x + y for y in out]
    """,
    "try else": """
        def f(xs):
            try:
                out = []
                for x in xs:
                    out.append(x)
            except ValueError:
                pass
            else:
                print(x)
    """,
    "tuple target": """
        def f(pairs):
            out = []
            for k, v in pairs:
                out.append(v)
            return k
    """,
}


@pytest.mark.parametrize("source", READ_LATER.values(), ids=READ_LATER.keys())
def test_a_later_read_of_the_loop_variable_refuses_the_fix(source: str) -> None:
    finding = _one(source)
    assert finding.fix is None
    assert not finding.fixable
    assert len(finding.notes) == 1
    assert "no fix: the loop variable" in finding.notes[0]
    assert "NameError" in finding.notes[0]


REBOUND_FIRST = {
    "assigned": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            x = len(out)
            return out, x
    """,
    "reused as the next loop's target": """
        def f(xs, ys):
            out = []
            for x in xs:
                out.append(x)
            for x in ys:
                print(x)
            return out
    """,
    "rebound on both branches": """
        def f(xs, c):
            out = []
            for x in xs:
                out.append(x)
            if c:
                x = 1
            else:
                x = 2
            return x
    """,
    "with as": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            with open("p") as x:
                return x.read(), out
    """,
    "unpacked": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            x, y = out[0], out[1]
            return x + y
    """,
    "returned before any read": """
        def f(xs, c):
            out = []
            for x in xs:
                out.append(x)
            if c:
                return out
            x = 0
            return x
    """,
    "enclosing loop rebinds it first": """
        def f(groups):
            for group in groups:
                x = group.first
                print(x)
                out = []
                for x in group:
                    out.append(x)
    """,
    "comprehension rebinding the name": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            return [x for x in out if x]
    """,
    "never read": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            return out
    """,
}


@pytest.mark.parametrize("source", REBOUND_FIRST.values(), ids=REBOUND_FIRST.keys())
def test_a_loop_variable_only_rebound_afterwards_gives_a_safe_fix(source: str) -> None:
    finding = _one(source)
    assert finding.fix is not None
    assert finding.fix.safety is FixSafety.SAFE, finding.fix.title
    assert finding.notes == ()


@pytest.mark.parametrize(
    ("rule", "loop"),
    [
        (SetComprehensionLoop, "s = set()\n    for x in xs:\n        s.add(x)"),
        (StringConcatLoop, "s = ''\n    for x in xs:\n        s += x"),
        (CounterByHand, "s = {}\n    for x in xs:\n        s[x] = s.get(x, 0) + 1"),
        (CounterByHand, "s = {}\n    for x in xs:\n        s[x.k] = s.get(x.k, 0) + 1"),
    ],
)
def test_every_accumulator_rewrite_refuses_a_later_read(rule: type[Rule], loop: str) -> None:
    refused = _one(f"def f(xs):\n    try:\n        {loop.replace(chr(10), chr(10) + '    ')}\n    except KeyError:\n        print(x)\n", rule)
    assert refused.fix is None and refused.notes and "`x`" in refused.notes[0]
    kept = _one(f"def f(xs):\n    {loop}\n    x = 0\n    return s, x\n", rule)
    assert kept.fix is not None and kept.notes == ()
