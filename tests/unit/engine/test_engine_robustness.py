"""The engine survives every malformed input, reports what it can, and never raises."""

from __future__ import annotations

import codecs

import pytest

from perfsquad.analyzers import RULES
from perfsquad.api import analyze_source
from perfsquad.config import Config
from perfsquad.engine import analyze_bytes, analyze_text
from perfsquad.model import Confidence

LOOP = "def f(xs):\n    result = []\n    for x in xs:\n        result.append(x)\n    return result\n"


def codes(report) -> list[str]:
    return [f.code for f in report.findings]


def test_clean_file_has_no_error() -> None:
    report = analyze_text(LOOP, "ok.py", rules=RULES)
    assert report.error is None
    assert codes(report) == ["IDM001"]


def test_syntax_error_still_reports_other_blocks() -> None:
    text = "def broken(:\n    pass\n\n" + LOOP + "\ndef g(xs):\n    return sorted(xs)[0]\n"
    report = analyze_text(text, "half.py", rules=RULES)
    assert report.error is not None and "syntax error" in report.error
    assert report.error_span is not None and report.error_span.start.line == 1
    assert codes(report) == ["IDM001", "IDM007"]
    assert report.findings[0].span.start.line == 6  # positions are the file's, not the block's


def test_half_typed_code_in_the_middle() -> None:
    text = LOOP + "\ndef g(\n" + "\nm = sorted(ys)[-1]\n"
    report = analyze_text(text, "typing.py", rules=RULES)
    assert report.error is not None
    assert "IDM001" in codes(report)


def test_null_bytes_are_reported_and_the_rest_analyzed() -> None:
    text = "x = 1\x00\n" + LOOP
    report = analyze_text(text, "nul.py", rules=RULES)
    assert report.error is not None and "null byte" in report.error
    assert codes(report) == ["IDM001"]


def test_lone_surrogates() -> None:
    report = analyze_text("s = '\ud800'\n" + LOOP, "surrogate.py", rules=RULES)
    assert report.error is not None and "surrogates" in report.error
    assert codes(report) == ["IDM001"]


def test_bom_crlf_lone_cr_and_tabs() -> None:
    data = codecs.BOM_UTF8 + LOOP.replace("\n", "\r\n").replace("    ", "\t").encode()
    report = analyze_bytes(data, "bom.py", rules=RULES)
    assert report.error is None
    assert codes(report) == ["IDM001"]
    assert report.findings[0].span.start.line == 3
    cr = analyze_text(LOOP.replace("\n", "\r"), "cr.py", rules=RULES)
    assert codes(cr) == ["IDM001"] and cr.findings[0].span.start.line == 3


def test_huge_expression_does_not_crash() -> None:
    text = "x = " + " + ".join(["1"] * 10_000) + "\n" + LOOP
    report = analyze_text(text, "deep.py", rules=RULES)
    assert report.error is not None and "too deeply nested" in report.error
    assert codes(report) == ["IDM001"]


def test_deep_nesting_brackets_and_blocks() -> None:
    brackets = "x = " + "(" * 300 + "1" + ")" * 300 + "\n"
    assert analyze_text(brackets, "brackets.py", rules=RULES).error is not None
    blocks = "".join("    " * i + f"if x{i}:\n" for i in range(100)) + "    " * 100 + "pass\n"
    report = analyze_text(blocks, "blocks.py", rules=RULES)
    assert report.findings == () and report.rule_errors == ()


def test_multi_megabyte_file_is_screened() -> None:
    big = LOOP * 200_000  # ~18 MB
    report = analyze_text(big, "big.py", Config(max_file_bytes=4_000_000), rules=RULES)
    assert report.error is not None and "too large" in report.error


def test_multi_megabyte_file_under_limit_is_analyzed() -> None:
    text = LOOP * 20_000  # ~1.8 MB, 100k lines
    report = analyze_text(text, "large.py", rules=RULES)
    assert report.error is None
    assert len(report.findings) == 20_000  # every copy of the loop is flagged


def test_non_utf8_bytes() -> None:
    report = analyze_bytes(b"x = '\xff\xfe'\n", "latin.py", rules=RULES)
    assert report.error is not None and "decode" in report.error
    cookie = analyze_bytes(b"# -*- coding: latin-1 -*-\nname = '\xe9'\n" + LOOP.encode(), "cookie.py", rules=RULES)
    assert cookie.error is None and codes(cookie) == ["IDM001"]


def test_unknown_encoding_cookie() -> None:
    report = analyze_bytes(b"# -*- coding: klingon -*-\nx = 1\n", "k.py", rules=RULES)
    assert report.error is not None


@pytest.mark.parametrize(
    "text",
    ["", "\n", "#", "def", "for x in", "'''", "@", "if True:\n\tpass\n        pass\n", "\\", "x = (", "class A(:"],
)
def test_fragments(text: str) -> None:
    report = analyze_source(text, "frag.py")
    assert report.rule_errors == ()


def test_a_crashing_rule_is_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    from perfsquad.analyzers.idioms.sorted_for_min_max import SortedForMinMax

    def boom(self: object, node: object, ctx: object) -> None:
        raise RuntimeError("rule bug")

    monkeypatch.setattr(SortedForMinMax, "check", boom)
    report = analyze_text(LOOP + "m = sorted(xs)[0]\n", "crash.py", rules=RULES)
    assert codes(report) == ["IDM001"]
    assert any("IDM007" in e and "rule bug" in e for e in report.rule_errors)


def test_suppression_comments() -> None:
    text = (
        "a = sorted(xs)[0]  # perfsquad: ignore[IDM007]\n"
        "b = sorted(xs)[0]  # noqa: IDM007\n"
        "c = sorted(xs)[0]  # noqa\n"
        "d = sorted(xs)[0]  # perfsquad: ignore[IDM001]\n"
        "e = sorted(xs)[0]  # perfsquad: ignore\n"
    )
    report = analyze_text(text, "sup.py", Config(confidence=Confidence.LOW), rules=RULES)  # import-time: low
    assert [f.span.start.line for f in report.findings] == [4]


_ALL_SYNTAX = """
import os.path as p, sys
from . import x as y
@dec(1)
class C(B, metaclass=M):
    a: int = 1
    async def f(self, /, a, *args, b=2, **kw) -> "C":
        global g
        async with ctx() as (u, v):
            async for i in aiter():
                await z
        r = [w async for w in s if w] + {k: v for k, v in d.items()}.get(1, {*s})
        x = (yield) or (yield from q) or (lambda a=1: a)(-a) or not b
        if (n := len(r)) > 10 and 1 < n <= 3 is not None:
            del r[1:2:3], x.attr
        else:
            raise E from err
        try:
            pass
        except* ValueError as e:
            print(f"{x!r:>{w}} {y=}", e, sep="")
        finally:
            nonlocal_ = ...
        match cmd:
            case [1, *rest] | {"k": None, **others} if rest:
                pass
            case Point(x=0, y=True) as pt:
                pass
            case _:
                assert pt, b"msg"
        while x:
            x >>= 1; continue
        return x[i] if x else ~x, 1j, 0.5
"""


def test_traversal_links_and_buckets_every_node() -> None:
    """The engine's one pass reaches every node a full ``ast.walk`` reaches, with the same parent,
    except the shared context and operator singletons (``Load()``, ``Add()``...)."""
    import ast
    from pathlib import Path

    from perfsquad.engine import traverse

    singletons = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
    sources = [_ALL_SYNTAX, *(Path(m.__file__).read_text() for m in (ast, codecs, pytest))]
    for text in sources:
        tree = ast.parse(text)
        parents, buckets = traverse(tree)
        expected: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                if not isinstance(child, singletons):
                    expected[child] = node
        assert parents == expected
        reached = [n for n in ast.walk(tree) if not isinstance(n, singletons)]
        assert sorted(map(id, (n for bucket in buckets.values() for n in bucket))) == sorted(map(id, reached))
        preorder = _engine_order(tree, singletons)
        for kind, bucket in buckets.items():
            assert bucket == [n for n in preorder if type(n) is kind]


def _engine_order(tree: object, skip: tuple[type, ...]) -> list[object]:
    """The engine's documented bucket order, recursively: pre-order, fields last to first."""
    import ast

    out: list[object] = []

    def visit(node: ast.AST) -> None:
        out.append(node)
        for _, value in reversed(list(ast.iter_fields(node))):
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST) and not isinstance(child, skip):
                    visit(child)

    visit(tree)  # type: ignore[arg-type]
    return out


def test_syntax_walks_match_the_ast_modules_minus_the_singletons() -> None:
    """``perfsquad.syntax.walk`` and ``children`` visit what ``ast.walk`` and ``ast.iter_child_nodes``
    visit, in the same order, minus the context and operator singletons."""
    import ast
    from pathlib import Path

    from perfsquad.syntax import children, walk

    singletons = (ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop)
    for text in [_ALL_SYNTAX, *(Path(m.__file__).read_text() for m in (ast, codecs))]:
        tree = ast.parse(text)
        assert list(walk(tree)) == [n for n in ast.walk(tree) if not isinstance(n, singletons)]
        for node in ast.walk(tree):
            expected = [c for c in ast.iter_child_nodes(node) if not isinstance(c, singletons)]
            assert children(node) == expected
