"""ALG rules on a fixture with inline expectations (``# expect: CODE``), positives and traps, and
behaviour equivalence of every ALG fix (safe and unsafe) on generated inputs."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import DEMO

from perfsquad.analyzers import family_rules
from perfsquad.autofix import fix_text
from perfsquad.engine import analyze_text
from perfsquad.model import FixSafety

RULES = family_rules("ALG")

FIXTURE = '''\
import functools
from collections import deque


def drain(xs):
    queue = list(xs)
    while queue:
        queue.pop(0)  # expect: ALG001


def prepend(xs):
    out = []
    for x in xs:
        out.insert(0, x)  # expect: ALG001
    return out


def drain_deque(xs):
    queue = deque(xs)
    while queue:
        queue.popleft()


def pop_end(xs):
    stack = list(xs)
    while stack:
        stack.pop()


def pop_three(xs):
    q = list(xs)
    for _ in range(3):
        q.pop(0)


def dedupe(items):
    seen = []
    for x in items:
        if x not in seen:  # expect: ALG002
            seen.append(x)
    return seen


def dedupe_set(items):
    seen = set()
    for x in items:
        if x not in seen:
            seen.add(x)


def small_tuple(items):
    return [x for x in items if x in (1, 2, 3)]


def small_list(items):
    vowels = ["a", "e", "i"]
    return [x for x in items if x in vowels]


def tally(words: list):
    return {w: words.count(w) for w in words}  # expect: ALG003


def each_line(lines):
    return [line.count(",") for line in lines]


def running(xs):
    seen = []
    for x in xs:
        seen.append(x)
        seen.sort()  # expect: ALG004
    return seen


def flatten(rows):
    return sum(rows, [])  # expect: ALG005


def grow_tuple(xs):
    acc = ()
    for x in xs:
        acc += (x,)  # expect: ALG005
    return acc


def extend_list(xs):
    acc = []
    for x in xs:
        acc += [x]
    return acc


def join(orders, customers):
    for o in orders:
        for c in customers:  # expect: ALG006
            if o.customer_id == c.id:
                o.customer = c


def walk_rows(rows, k):
    for row in rows:
        for cell in row:
            if cell == k:
                print(cell)


def fib(n):  # expect: ALG007
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


@functools.cache
def fib_cached(n):
    if n < 2:
        return n
    return fib_cached(n - 1) + fib_cached(n - 2)


def height(node):
    if node is None:
        return 0
    return 1 + max(height(node.left), height(node.right))


def total(xs):
    if len(xs) < 2:
        return sum(xs)
    mid = len(xs) // 2
    return total(xs[:mid]) + total(xs[mid:])


def hits(queries, values):
    ordered = sorted(values)
    return [q for q in queries if q in ordered]  # expect: ALG008


def first_visible(rows, hidden):
    for i, row in [z for z in enumerate(rows.itertuples()) if z[0] not in hidden]:  # expect: ALG009
        if row.visible:
            return i
    for row in [parse(r) for r in rows]:  # runs to the end: MEM005's (readability), not ALG009
        print(row)
    return any([r > 2 for r in map(check, rows)])  # expect: ALG009


def constant_loops(xs: list):
    for i in range(4):
        xs.pop(0)
        if i in xs:
            xs.index(i)
'''


def _expected(source: str) -> set[tuple[int, str]]:
    out = set()
    for lineno, line in enumerate(source.splitlines(), 1):
        m = re.search(r"# expect: ((?:ALG\d{3}[ ,]*)+)", line)
        if m:
            out |= {(lineno, code) for code in re.findall(r"ALG\d{3}", m.group(1))}
    return out


def test_fixture_findings_are_exactly_the_expected_ones() -> None:
    report = analyze_text(FIXTURE, "fixture.py", rules=RULES)
    assert report.rule_errors == ()
    got = {(f.span.start.line, f.code) for f in report.findings}
    assert got == _expected(FIXTURE)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_every_rule_has_a_positive_in_the_fixture(rule: type) -> None:
    assert any(code == rule.code for _, code in _expected(FIXTURE))  # type: ignore[attr-defined]


def test_fixes_in_the_fixture_converge_and_parse() -> None:
    result = fix_text(FIXTURE, "fixture.py", unsafe=True, rules=RULES)
    assert result.converged
    ast.parse(result.text)
    assert "queue = deque(xs)" in result.text and "queue.popleft()" in result.text
    assert "@functools.cache\ndef fib(n):" in result.text
    assert "list(itertools.chain.from_iterable(rows))" in result.text
    assert "import itertools\n" in result.text
    left = {(f.code) for f in result.report.findings}
    assert "ALG007" not in left and "ALG001" not in left


# -- behaviour equivalence of the fixes ---------------------------------------------------------
ints = st.lists(st.integers(-4, 4), max_size=9)
# Inputs per parameter name. Unsafe fixes are checked on inputs outside the edge cases their
# docs name (hashable elements; list parts for sum(..., [])).
STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "xs": ints,
    "items": st.lists(st.integers(-3, 3), max_size=9),
    "n": st.integers(0, 14),
    "r": st.integers(0, 6),
    "c": st.integers(0, 6),
    "pairs": st.lists(st.tuples(st.integers(-2, 2), st.integers(-2, 2)), max_size=5),
}

FIXED = [(rule, i, ex) for rule in RULES for i, ex in enumerate(rule.invalid) if ex.fixed is not None]


def _outcome(code: str, fn: str | None, env: dict[str, Any], args: dict[str, Any]) -> Any:
    namespace: dict[str, Any] = dict(env)
    try:
        exec(compile(code, "<example>", "exec"), namespace)
        result = namespace[fn](**args) if fn else None
    except Exception as exc:
        return ("raised", type(exc))
    if not isinstance(result, int | tuple | type(None)):
        result = list(result)  # a deque or a list: compare the elements (the doc names the type change)
    state = {k: v for k, v in namespace.items() if k in env or k in ("flat",)}
    return result, state


@pytest.mark.parametrize(("rule", "index", "example"), FIXED, ids=[f"{r.code}-{i}" for r, i, _ in FIXED])
def test_alg_fix_keeps_behaviour(rule: Any, index: int, example: Any) -> None:
    fixed = fix_text(example.code, "example.py", unsafe=True, rules=(rule,))
    assert fixed.text == example.fixed and fixed.applied >= 1
    assert example.safety in (FixSafety.SAFE, FixSafety.UNSAFE)
    tree = ast.parse(example.code)
    fns = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    fn = fns[0] if fns else None
    params = [a.arg for a in fn.args.args] if fn else []
    free = sorted(
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        & set(STRATEGIES)
        - set(params)
        - {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    )
    names = sorted(set(params) | set(free))
    missing = set(names) - set(STRATEGIES)
    assert not missing, missing

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.fixed_dictionaries({name: STRATEGIES[name] for name in names}))
    def check(values: dict[str, Any]) -> None:
        env = {k: values[k] for k in free}
        args = {k: values[k] for k in params}
        assert _outcome(example.code, fn.name if fn else None, env, args) == _outcome(
            fixed.text, fn.name if fn else None, env, args
        )

    check()


def test_there_are_alg_fixes_to_check() -> None:
    assert {r.code for r, _, _ in FIXED} >= {"ALG001", "ALG002", "ALG005", "ALG007"}


def test_sequence_screen_sees_every_binding_of_the_name() -> None:
    """The ALG rules' textual screen (before the exact scope-type inference) answers per name:
    a whole word followed by what binds a list or tuple, at any occurrence."""

    from perfsquad.analyzers.algorithms._shared import binds_sequence

    assert binds_sequence("xs = []\n", "xs")
    assert binds_sequence("def f(xs: list[int]): ...\n", "xs")
    assert binds_sequence("order = sorted(items)\n", "order")
    assert binds_sequence("pair: 'Tuple[int, int]' = (1, 2)\n", "pair")
    assert not binds_sequence("axs = []\n", "xs") and not binds_sequence("xs1 = []\n", "xs")
    assert not binds_sequence("if xs == [1]:\n    pass\n", "xs")
    assert not binds_sequence("xs = {}\n", "xs")
    # An occurrence inside another name's binding still counts (a scan of whole matches would
    # have skipped it: `ax: int, x: List` is one match for `ax`).
    assert binds_sequence("def f(ax: int, x: List[int]): ...\n", "x")

    # Never narrower than the module-wide scan it replaced (every name it found is still found).
    whole = re.compile(r"\b(\w+)\s*(?::[^=\n]*(?:list|List|tuple|Tuple)|(?::[^=\n]*)?=\s*(?:\[|\(|(?:list|tuple|sorted)\s*\())")
    sources = [code for rule in RULES for code in (*rule.valid, *(ex.code for ex in rule.invalid))]
    sources += [p.read_text() for p in sorted(DEMO.rglob("*.py"))]
    checked = 0
    for text in sources:
        for name in {m.group(1) for m in whole.finditer(text)}:
            assert binds_sequence(text, name), (name, text)
            checked += 1
    assert checked > 50


def test_multi_edit_fixes_reparse_only_the_top_level_statements_they_touch() -> None:
    import ast as _ast

    from perfsquad.analyzers.algorithms._shared import _top_level_region, multi_edit_fix
    from perfsquad.engine import analyze_full
    from perfsquad.model import FixSafety

    text = "import os\n\n\n@deco\ndef f(xs):\n    seen = []\n    return seen\n\n# between\nx = 1; y = 2\n\ndef g():\n    pass\n"
    ctx = analyze_full(text, "m.py", rules=RULES).ctx
    assert ctx is not None
    inside_f = text.index("seen = []")
    region = text[_top_level_region(ctx, inside_f, inside_f + 4)]
    assert region == "@deco\ndef f(xs):\n    seen = []\n    return seen\n\n# between\n"
    region = text[_top_level_region(ctx, 0, inside_f)]  # an import added at the top and an edit in f
    assert region.startswith("import os\n") and region.endswith("# between\n")
    y = text.index("y = 2")
    assert text[_top_level_region(ctx, y, y)] == "x = 1; y = 2\n\n"
    last = text.index("pass")
    assert text[_top_level_region(ctx, last, last)] == "def g():\n    pass\n"

    fn = ctx.tree.body[1]
    assert isinstance(fn, _ast.FunctionDef)
    value = fn.body[0].value  # type: ignore[attr-defined]
    good = multi_edit_fix(ctx, [(value, "set()")], [], "t", FixSafety.UNSAFE)
    assert good is not None and good.edits[0].content == "set()"
    assert multi_edit_fix(ctx, [(value, "set(")], [], "t", FixSafety.UNSAFE) is None  # would not parse


def test_multi_edit_fixes_in_a_method_check_the_method_alone_or_its_class() -> None:
    import ast as _ast

    from perfsquad.analyzers.algorithms import _shared
    from perfsquad.engine import analyze_full
    from perfsquad.model import FixSafety

    text = (
        "class C:\n    def m(self, xs):\n        seen = []\n        return seen\n\n"
        '    def n(self):\n        """doc\nat column 0"""\n        seen = []\n        return seen\n'
    )
    ctx = analyze_full(text, "m.py", rules=RULES).ctx
    assert ctx is not None
    cls = ctx.tree.body[0]
    assert isinstance(cls, _ast.ClassDef)
    m, n = cls.body
    parsed: list[str] = []
    real = _shared._parses

    def spy(code: str) -> bool:
        parsed.append(code)
        return real(code)

    _shared._parses = spy  # type: ignore[assignment]
    try:
        value = m.body[0].value  # type: ignore[attr-defined]
        assert _shared.multi_edit_fix(ctx, [(value, "set()")], [], "t", FixSafety.UNSAFE) is not None
        assert parsed == ["def m(self, xs):\n    seen = set()\n    return seen\n"]  # the method alone
        parsed.clear()
        assert _shared.multi_edit_fix(ctx, [(value, "set(")], [], "t", FixSafety.UNSAFE) is None
        assert len(parsed) == 2 and parsed[1].startswith("class C:")  # then its class: refused
        parsed.clear()
        value = n.body[1].value  # type: ignore[attr-defined]
        assert _shared.multi_edit_fix(ctx, [(value, "set()")], [], "t", FixSafety.UNSAFE) is not None
        assert len(parsed) == 2 and parsed[1].startswith("class C:")  # a docstring left of the def
    finally:
        _shared._parses = real  # type: ignore[assignment]
