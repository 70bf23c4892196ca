"""ctx.memo: per-module facts computed once, carried or dropped across an editor edit, freed with the context."""

from __future__ import annotations

import ast
import re
import weakref

from support import ROOT

from perfsquad.context import Context
from perfsquad.incremental import IncrementalAnalyzer
from perfsquad.memo import EditedUnit, MemoKey, keep
from perfsquad.semantics.bindings import ANNOTATED, ASSIGN, AUGMENTED, IN_TARGET, OTHER, PARAM, TARGET, scope_bindings

TEXT = "def f(xs):\n    total = 0\n    return total\n\n\ndef g():\n    return 1\n"
EDITED = TEXT.replace("total = 0", "total = 1")

KEPT: MemoKey[list[int]] = MemoKey("test.kept")
DROPPED: MemoKey[list[int]] = MemoKey("test.dropped")
ADAPTED: MemoKey[list[str]] = MemoKey("test.adapted")
REFUSED: MemoKey[list[int]] = MemoKey("test.refused")


class Fact:
    """A value a weak reference can follow (to see it freed)."""


def _analyzer() -> tuple[IncrementalAnalyzer, Context]:
    analyzer = IncrementalAnalyzer("m.py")
    analyzer.update(TEXT)
    assert analyzer.analysis is not None and analyzer.analysis.ctx is not None
    return analyzer, analyzer.analysis.ctx


def _fail() -> list[int]:
    raise AssertionError("the factory ran again")


def test_computed_once_per_context() -> None:
    _, ctx = _analyzer()
    calls: list[int] = []

    def factory() -> list[int]:
        calls.append(1)
        return [len(calls)]

    first = ctx.memo(KEPT, factory)
    assert ctx.memo(KEPT, factory) is first
    assert calls == [1]
    assert ctx.memo(DROPPED, lambda: [7]) == [7]  # another key, another slot


def test_carried_or_dropped_across_an_incremental_edit() -> None:
    analyzer, ctx = _analyzer()
    seen: list[tuple[Context, Context, EditedUnit]] = []

    def adapt(value: list[str], old: Context, new: Context, edit: EditedUnit) -> list[str]:
        seen.append((old, new, edit))
        return [*value, getattr(edit.new, "name", "")]

    kept = ctx.memo(KEPT, lambda: [1], keep)
    ctx.memo(DROPPED, lambda: [2])
    ctx.memo(ADAPTED, lambda: ["before"], adapt)
    ctx.memo(REFUSED, lambda: [3], lambda value, old, new, edit: None)

    analyzer.update(EDITED)
    assert analyzer.last_was_incremental
    assert analyzer.analysis is not None and analyzer.analysis.ctx is not None
    new_ctx = analyzer.analysis.ctx
    assert new_ctx is not ctx
    assert new_ctx.memo(KEPT, _fail) is kept
    assert new_ctx.memo(ADAPTED, lambda: ["recomputed"]) == ["before", "f"]
    assert new_ctx.memo(DROPPED, lambda: [20]) == [20]
    assert new_ctx.memo(REFUSED, lambda: [30]) == [30]
    assert len(seen) == 1
    old, new, edit = seen[0]
    assert old is ctx and new is new_ctx
    assert isinstance(edit.old, ast.FunctionDef) and isinstance(edit.new, ast.FunctionDef)
    assert edit.old is not edit.new and "total = 1" in edit.text and "def g" not in edit.text

    # A carried memo keeps its policy: carried again by the next edit.
    analyzer.update(EDITED.replace("total = 1", "total = 2"))
    assert analyzer.last_was_incremental and analyzer.analysis is not None and analyzer.analysis.ctx is not None
    assert analyzer.analysis.ctx.memo(KEPT, _fail) is kept


def test_whole_file_analysis_starts_afresh() -> None:
    analyzer, ctx = _analyzer()
    ctx.memo(KEPT, lambda: [1], keep)
    analyzer.update("import os\n" + TEXT)  # a top-level statement changed: the whole-file path
    assert not analyzer.last_was_incremental
    assert analyzer.analysis is not None and analyzer.analysis.ctx is not None
    assert analyzer.analysis.ctx.memo(KEPT, lambda: [5]) == [5]


def test_released_with_the_context() -> None:
    _, ctx = _analyzer()
    key: MemoKey[Fact] = MemoKey("test.fact")
    fact = ctx.memo(key, Fact, keep)
    ref = weakref.ref(fact)
    del fact
    assert ref() is not None
    ctx.release()
    assert ref() is None  # freed by reference counting, no table outlives the context


SOURCE = ROOT / "perfsquad"


def test_no_module_facts_kept_outside_memos() -> None:
    """Module facts live in ctx.memo: no attribute set on a context, no table keyed by a context or a tree."""
    pattern = re.compile(
        r"setattr\(\s*(?:self\.)?(?:ctx|new|old|context)\b|WeakKeyDictionary|getattr\(\s*ctx\s*,\s*[\"']_"
    )
    offenders = [
        f"{path.relative_to(SOURCE)}:{i}"
        for path in sorted(SOURCE.rglob("*.py"))
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_scope_bindings_lists_every_kind_in_order() -> None:
    tree = ast.parse(
        "def f(a, *rest):\n"
        "    xs: list = []\n"
        "    xs += [1]\n"
        "    for i, d[k] in pairs:\n"
        "        pass\n"
        "    import os.path\n"
        "    y = [z for z in a]\n"
    )
    fn = tree.body[0]
    found = {(b.name, b.how) for b in scope_bindings(fn)}
    assert ("a", PARAM) in found and ("xs", ANNOTATED) in found and ("xs", AUGMENTED) in found
    assert ("i", TARGET) in found and ("d", IN_TARGET) in found and ("k", IN_TARGET) in found
    assert ("os", OTHER) in found and ("y", ASSIGN) in found
    assert not any(b.name == "z" for b in scope_bindings(fn))  # the comprehension's own scope
    assert [b.how for b in scope_bindings(fn)][:2] == [PARAM, "*args"]
