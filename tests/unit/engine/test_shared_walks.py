"""``syntax.shared_walks``: inside the block a statement walked again is replayed from one full
walk (the incremental analysis walks the edited unit about ten times per edit), in the same order
as a plain walk; outside it, and in other threads, nothing is kept."""

from __future__ import annotations

import ast
import threading

import pytest

from perfsquad import syntax
from perfsquad.syntax import shared_walks, walk

SOURCE = "def f(xs):\n    total = 0\n    for x in xs:\n        if x:\n            total += x * 2\n    return total\n"


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[ast.AST]:
    full: list[ast.AST] = []
    original = syntax._nodes

    def counting(node: ast.AST) -> list[ast.AST]:
        full.append(node)
        return original(node)

    monkeypatch.setattr(syntax, "_nodes", counting)
    return full


def test_a_statement_walked_again_is_replayed_in_the_same_order(monkeypatch: pytest.MonkeyPatch) -> None:
    fn = ast.parse(SOURCE).body[0]
    plain = list(walk(fn))
    expected = [n for n in ast.walk(fn) if not isinstance(n, ast.expr_context | ast.operator | ast.cmpop)]
    assert plain == expected  # ast.walk's breadth-first order, without the shared singletons
    full = _counting(monkeypatch)
    with shared_walks():
        first = next(iter(walk(fn)))  # a first walk stays lazy: the caller stopped at once
        assert first is fn and full == []
        assert list(walk(fn)) == plain and full == [fn]  # walked again: in full, once
        assert list(walk(fn)) == plain and list(walk(fn)) == plain and full == [fn]
        expr = fn.body[1]  # a nested statement is a statement of its own
        assert list(walk(expr)) == list(walk(expr)) == list(syntax._walk(expr))
    assert list(walk(fn)) == plain and full == [fn, expr]  # after the block: nothing kept
    assert getattr(syntax._SHARED, "walks", None) is None


def test_other_threads_do_not_share_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    fn = ast.parse(SOURCE).body[0]
    full = _counting(monkeypatch)
    seen: list[object] = []
    with shared_walks():
        worker = threading.Thread(target=lambda: seen.append(getattr(syntax._SHARED, "walks", None)))
        worker.start()
        worker.join()
        list(walk(fn))
        list(walk(fn))
    assert seen == [None] and full == [fn]


def test_an_incremental_edit_walks_its_unit_in_full_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from perfsquad.api import DocumentAnalyzer

    text = "".join(f"def g{i}(xs):\n    return [x * {i} for x in xs]\n\n\n" for i in range(30))
    doc = DocumentAnalyzer("/nonexistent/m.py")
    doc.update(text, want_fixes=False, metrics=False)
    full = _counting(monkeypatch)
    edited = text.replace("return [x * 7 for x in xs]", "out = []\n    for x in xs:\n        out.append(x * 7)\n    return out")
    report = doc.update(edited, want_fixes=False, metrics=False)
    assert doc.last_was_incremental
    assert [f.code for f in report.findings] == [f.code for f in DocumentAnalyzer("/nonexistent/w.py").update(edited, want_fixes=False, metrics=False).findings]
    units = [n for n in full if isinstance(n, ast.FunctionDef) and n.name == "g7"]
    assert len(units) == 2, [getattr(n, "name", type(n).__name__) for n in full]  # the old unit and the new, each once
