"""The complexity estimator in an editor's incremental context classifies only what the rules ask
about (the re-analyzed unit's functions), never every node of the module at each edit, and finds
in them what a whole-file analysis finds."""

from __future__ import annotations

import ast

import pytest

from perfsquad.api import DocumentAnalyzer
from perfsquad.semantics import complexity
from perfsquad.semantics.complexity import estimator_for

FILLER = "".join(
    f"def filler_{i}(xs):\n    total = 0\n    for x in xs:\n        total += x * {i}\n    return total\n\n\n"
    for i in range(200)
)
RECURSIVE = (
    "def walk(n, xs):\n"
    "    if n < 2:\n"
    "        return filler_3(xs)\n"
    "    return walk(n - 1, xs) + walk(n - 2, xs)\n"
)


def test_an_edit_classifies_the_edited_function_not_the_module(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = DocumentAnalyzer("/nonexistent/m.py")
    doc.update(FILLER, want_fixes=False, metrics=False)
    classified: list[ast.AST] = []
    original = complexity.Estimator._classify

    def counting(self: complexity.Estimator, node: ast.AST) -> tuple[bool, bool]:
        classified.append(node)
        return original(self, node)

    monkeypatch.setattr(complexity.Estimator, "_classify", counting)
    report = doc.update(FILLER + "\n" + RECURSIVE, want_fixes=False, metrics=False)
    assert doc.last_was_incremental
    assert [f.code for f in report.findings if f.code == "ALG007"] == ["ALG007"]
    unit = {id(n) for n in ast.walk(ast.parse(RECURSIVE))}
    assert classified and len(classified) <= len(unit), len(classified)  # before: every node of the 200 functions

    whole = DocumentAnalyzer("/nonexistent/m2.py").update(FILLER + "\n" + RECURSIVE, want_fixes=False, metrics=False)
    assert [(f.code, f.message, f.span) for f in report.findings] == [(f.code, f.message, f.span) for f in whole.findings]
    ctx = doc._inc.analysis.ctx  # type: ignore[union-attr]
    walk = next(n for n in ctx.tree.body if isinstance(n, ast.FunctionDef) and n.name == "walk")
    assert estimator_for(ctx).estimate(walk)[0] == "O(m·2^n)"  # the function's own loops and calls
