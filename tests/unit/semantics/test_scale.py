"""Evidence of scale (perfsquad.semantics.scale): what a loop iterates, and how often it runs."""

from __future__ import annotations

import ast
import textwrap

import pytest

from perfsquad.context import Context
from perfsquad.model import Confidence
from perfsquad.semantics.names import import_map
from perfsquad.semantics.scale import Scale, loop_scale, strongest, weakest
from perfsquad.source import SourceText
from perfsquad.tree import traverse


def _loops(code: str) -> dict[str, Scale]:
    """The scale of every ``for`` loop of ``code``, keyed by its target's text."""
    text = textwrap.dedent(code)
    tree = ast.parse(text)
    parents, buckets = traverse(tree)
    ctx = Context(tree, SourceText.from_text(text), "m.py", parents, buckets, import_map(buckets, None), False)
    return {ast.unparse(loop.target): loop_scale(loop, ctx) for loop in ctx.nodes(ast.For)}


CASES = """
import sqlite3
LEVELS = ("a", "b")

def work(rows, *parts, **options):
    seen = []
    for r in rows: seen.append(r)
    for s in seen: pass
    for fixed in [1, 2, 3]: pass
    for lv in LEVELS: pass
    for k in options: pass
    for kv in options.items(): pass
    for p in parts: pass
    for i in range(8): pass
    for j in range(len(rows)): pass
    for base in type(rows).__bases__: pass
    for dim in rows.shape: pass
    for a in self.items: pass
    for c in compute(rows): pass
    for e, x in enumerate(rows): pass
    for row in sqlite3.connect("db").execute("select 1"): pass
    for frozen in frozenset({"a", "b"}): pass
    for table in TABLE: pass
    for opened in load("big.csv"): pass
    for wrapped in wrap([rows, *parts]): pass
    if self._cache is None:
        for lazy in rows: pass
        self._cache = 1

for at_import in compute(): pass

TABLE = immutabledict({"echo": "echo_pool", "logging_name": "pool_logging_name"})
"""


@pytest.mark.parametrize(
    ("target", "confidence", "words"),
    [
        ("r", Confidence.HIGH, "parameter `rows`"),
        ("s", Confidence.MEDIUM, "filled in the code before the loop"),
        ("fixed", Confidence.LOW, "literal of 3 items"),
        ("lv", Confidence.LOW, "literal of 2 items"),
        ("k", Confidence.LOW, "keyword arguments of one call"),
        ("kv", Confidence.LOW, "keyword arguments of one call"),
        ("p", Confidence.LOW, "arguments of one call"),
        ("i", Confidence.LOW, "range(8)"),
        ("j", Confidence.HIGH, "parameter `rows`"),
        ("base", Confidence.LOW, "fixed by one object's declaration"),
        ("dim", Confidence.LOW, "fixed by one object's declaration"),
        ("a", Confidence.MEDIUM, "attribute `self.items`"),
        ("c", Confidence.MEDIUM, "result of `compute(rows)`"),
        ("(e, x)", Confidence.HIGH, "parameter `rows`"),
        ("row", Confidence.HIGH, "read from outside the program"),
        ("lazy", Confidence.LOW, "lazy initialiser"),
        ("frozen", Confidence.LOW, "literal of 2 items"),
        ("table", Confidence.LOW, "built from a literal"),
        ("opened", Confidence.MEDIUM, "result of `load('big.csv')`"),
        ("wrapped", Confidence.MEDIUM, "result of `wrap"),
        ("at_import", Confidence.LOW, "at import"),
    ],
)
def test_loop_scale(target: str, confidence: Confidence, words: str) -> None:
    scale = _loops(CASES)[target]
    assert scale.confidence is confidence, scale
    assert words in scale.evidence, scale


def test_per_call_loops_name_their_function() -> None:
    assert _loops(CASES)["r"].evidence.endswith("per call of `work`")


def test_strongest_and_weakest() -> None:
    low, high = Scale(Confidence.LOW, "l"), Scale(Confidence.HIGH, "h")
    assert strongest(low, high) is high and weakest(low, high) is low


def test_a_name_bound_to_a_literal_in_one_branch_and_a_parameter_in_another_may_grow() -> None:
    scales = _loops(
        """
        def f(items, flag):
            xs = items if flag else ()
            for x in xs: pass
            ys = [1, 2]
            if flag:
                ys = items
            for y in ys: pass
        """
    )
    assert scales["x"].confidence is Confidence.HIGH
    assert scales["y"].confidence is Confidence.HIGH


def test_a_size_parameter_with_a_small_int_default_is_a_fixed_size_by_default() -> None:
    scales = _loops(
        """
        def plot(f, width=55, *, height=20, n=None, big=10**6):
            for col in range(width): pass
            for row in range(height): pass
            for i in range(n): pass
            for j in range(big): pass
        def draw(rows, limit=5000):
            for r in range(limit): pass
        """
    )
    assert scales["col"].confidence is Confidence.LOW and "defaults to 55" in scales["col"].evidence
    assert scales["row"].confidence is Confidence.LOW
    # No default, a computed one, or a default past the bound: still the caller's size.
    assert scales["i"].confidence is Confidence.HIGH
    assert scales["j"].confidence is Confidence.HIGH
    assert scales["r"].confidence is Confidence.HIGH


def test_the_rank_of_one_array_and_the_fields_of_one_model_are_fixed_by_their_declaration() -> None:
    scales = _loops(
        "def f(expr, form):\n    for i in range(expr.rank): pass\n    for k in range(expr.size): pass\n"
        "    for fl in form._meta.fields: pass\n"
    )
    assert scales["i"].confidence is Confidence.LOW
    assert scales["fl"].confidence is Confidence.LOW  # the declared fields of one model or form
    assert scales["k"].confidence is Confidence.MEDIUM


def test_a_local_tested_and_set_in_the_same_call_is_not_a_lazy_initialiser() -> None:
    scales = _loops(
        """
        _TABLE = None

        def per_call(rows, rv=None):
            if rv is None:
                for a in rows: pass
                rv = 1
            return rv

        def lazy(rows):
            global _TABLE
            if _TABLE is None:
                for b in rows: pass
                _TABLE = 1
        """
    )
    assert scales["a"].confidence is Confidence.HIGH
    assert scales["b"].confidence is Confidence.LOW and "lazy initialiser" in scales["b"].evidence


def test_a_literal_handed_to_a_call_that_may_fill_it_is_not_a_fixed_size() -> None:
    scales = _loops(
        """
        def bfs(self, start):
            queue = []
            self.merge(start, queue)
            for q in queue: pass
            names = []
            print(len(names))
            for n in names: pass
        """
    )
    assert scales["q"].confidence is Confidence.MEDIUM
    assert scales["n"].confidence is Confidence.LOW


def test_a_command_line_entry_point_runs_once_per_run_one_level_less_sure() -> None:
    """A management command's ``handle``, a click command, the function the ``__main__`` guard
    calls: their loops grow with the data but run once per run of the program; a method merely
    named ``handle``, or a function the guard does not call, is per call."""
    scales = _loops(
        """
        import click
        from django.core.management.base import BaseCommand

        class Command(BaseCommand):
            def handle(self, *args, **options):
                for a in self.load(): pass

        class Handler:
            def handle(self, rows):
                for b in rows: pass

        @click.command()
        def cli(rows):
            for c in rows: pass

        def main(rows):
            for d in rows: pass

        def helper(rows):
            for e in rows: pass

        if __name__ == "__main__":
            main([])
        """
    )
    assert scales["a"].confidence is Confidence.LOW and "management command" in scales["a"].evidence
    assert scales["b"].confidence is Confidence.HIGH and "per call of `handle`" in scales["b"].evidence
    assert scales["c"].confidence is Confidence.MEDIUM and "`@click.command` entry point" in scales["c"].evidence
    assert scales["d"].confidence is Confidence.MEDIUM and "__main__" in scales["d"].evidence
    assert scales["e"].confidence is Confidence.HIGH
