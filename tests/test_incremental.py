"""Incremental re-analysis gives exactly the whole-file result, edit after edit."""

from __future__ import annotations

import random

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


def check_sequence(texts: list[str]) -> int:
    inc = IncrementalAnalyzer("f.py", metrics=True)
    incremental_hits = 0
    for text in texts:
        got = inc.update(text)
        incremental_hits += inc.last_was_incremental
        want = analyze_text(text, "f.py", metrics=True)
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
