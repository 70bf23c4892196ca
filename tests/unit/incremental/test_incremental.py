"""Incremental re-analysis gives exactly the whole-file result, edit after edit."""

from __future__ import annotations

import ast
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
        assert inc.incremental_error is None, inc.incremental_error
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


def test_edits_of_module_semantics_match_whole_file() -> None:
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


# Structural edits (issue #20): statements inserted, deleted or pasted, at top level or among a
# class's methods, re-analyzed alone when nothing else in the module can see the difference.
STRUCT = '''import sqlite3


def helper_free(v):
    return v + 1


def build(n):
    out = []
    for i in range(n):
        out.append(i)
    return out


def scan(rows, keys):
    hits = 0
    for k in keys:
        if k in rows:
            hits += 1
    return hits


def refresh(keys):
    for k in keys:
        reload(k)


class Store:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def fetch(self, key):
        return self.conn.execute("SELECT v FROM t WHERE k = ?", (key,)).fetchone()

    def size(self):
        return 3

    def load_all(self, keys):
        out = []
        for key in keys:
            out.append(self.fetch(key))
            out.append(self.size())
        return out

    def last(self):
        return None
'''

_SCAN = STRUCT[STRUCT.index("def scan") : STRUCT.index("def refresh")]


def _exact(inc: IncrementalAnalyzer, text: str) -> list[str]:
    got = inc.update(text)
    assert inc.incremental_error is None, inc.incremental_error
    want = analyze_text(text, "f.py", metrics=inc.metrics, rules=RULES)
    assert same(got.findings, want.findings), text
    assert same(got.functions, want.functions), text
    return [f"{f.code}:{f.span.start.line}" for f in got.findings]


def _delete(text: str, start: str, end: str) -> str:
    return text[: text.index(start)] + text[text.index(end) :]


STRUCTURAL = {
    "top-level statement": lambda t: _edit(t, "def build", "FLAG = 1\n\n\ndef build"),
    "new function": lambda t: _edit(t, "def scan", "def extra(v):\n    return [x for x in v]\n\n\ndef scan"),
    "new method": lambda t: _edit(t, "    def last", "    def extra(self, v):\n        return v * 2\n\n    def last"),
    "deleted method others call": lambda t: _delete(t, "    def size", "    def load_all"),
    "deleted function": lambda t: _delete(t, "def helper_free", "def build"),
    "comment between functions": lambda t: _edit(t, "def scan", "# scanning\n\n\ndef scan"),
    "50-line paste": lambda t: _edit(t, "def refresh", _SCAN.replace("def scan(", "def scan_copy(") + "def refresh"),
    "a builtin nobody calls rebound": lambda t: _edit(t, "def scan", "def len(x):\n    return 0\n\n\ndef scan"),
    "two functions at once": lambda t: _edit(t, "def scan", "def one():\n    return 1\n\n\ndef two():\n    return 2\n\n\ndef scan"),
}


@pytest.mark.parametrize("metrics", [False, True], ids=["diagnostics-only", "with-metrics"])
@pytest.mark.parametrize("kind", list(STRUCTURAL))
def test_structural_edits_are_incremental_and_exact(kind: str, metrics: bool) -> None:
    """Each edit and its undo: the same report as a whole-file analysis, without one (the editor's
    diagnostics path; with metrics, Big-O estimates may compose across units and fall back)."""
    inc = IncrementalAnalyzer("f.py", metrics=metrics)
    before = _exact(inc, STRUCT)
    edited = STRUCTURAL[kind](STRUCT)
    _exact(inc, edited)
    if not metrics:
        assert inc.last_was_incremental, kind
    assert _exact(inc, STRUCT) == before
    if not metrics:
        assert inc.last_was_incremental, kind


def test_what_an_edit_parsed_is_not_read_again_by_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """A paste, then its undo: the undo compares the facts the paste read of the pasted function
    (its context still indexes it), so no rule reads them again and no context is built for it."""
    read: list[str] = []
    contexts: list[str] = []
    fact_rules = list(IncrementalAnalyzer("f.py")._fact_rules())
    assert fact_rules
    for rule_cls in fact_rules:
        original = rule_cls.module_facts.__func__  # type: ignore[attr-defined]

        def recording(cls: type, unit: object, ctx: object, original: object = original) -> object:
            read.append(getattr(unit, "name", "?"))
            return original(cls, unit, ctx)  # type: ignore[operator]

        monkeypatch.setattr(rule_cls, "module_facts", classmethod(recording))
    unit_context = IncrementalAnalyzer._unit_context

    def recorded_context(self: IncrementalAnalyzer, ctx: object, unit: object, owner: object) -> object:
        contexts.append(getattr(unit, "name", "?"))
        return unit_context(self, ctx, unit, owner)  # type: ignore[arg-type]

    monkeypatch.setattr(IncrementalAnalyzer, "_unit_context", recorded_context)
    inc = IncrementalAnalyzer("f.py", metrics=False)
    before = _exact(inc, STRUCT)
    _exact(inc, STRUCTURAL["50-line paste"](STRUCT))
    assert inc.last_was_incremental
    assert "scan_copy" in read  # the paste reads the new function's facts once
    read.clear()
    assert _exact(inc, STRUCT) == before
    assert inc.last_was_incremental
    assert "scan_copy" not in read and "scan_copy" not in contexts


def test_summaries_are_dropped_with_the_statements_they_describe() -> None:
    """Many edits of every kind: the per-statement summaries never outnumber the statements and
    methods the module has (those of replaced statements go with them)."""
    inc = IncrementalAnalyzer("f.py", metrics=False)
    _exact(inc, STRUCT)
    text = STRUCT
    for i in range(40):
        for kind, edit in STRUCTURAL.items():
            edited = edit(text).replace("scan_copy", f"scan_copy{i}").replace("def extra", f"def extra{i}")
            _exact(inc, edited)
            _exact(inc, text)
            assert inc.analysis is not None and inc.analysis.ctx is not None, kind
            body = inc.analysis.ctx.tree.body
            statements = len(body) + sum(len(s.body) for s in body if isinstance(s, ast.ClassDef))
            assert len(inc._summaries) <= statements, kind
        text = re.sub(r"hits \+= \d+", f"hits += {i + 2}", text)  # typing in a function, between rounds


def test_a_method_mentioned_but_never_called_is_deleted_alone() -> None:
    """Django's ``abulk_update.alters_data = True``: the name is mentioned after the method, but
    no call resolves to it, so deleting the method (which queries) changes no other finding; the
    same method called in a loop is another matter (see TRAPS)."""
    mentioned = STRUCT.replace(
        "    def size(self):",
        "    def export(self, key):\n        return self.conn.execute('SELECT 1').fetchall()\n\n"
        "    export.alters_data = True\n\n    def size(self):",
    )
    inc = IncrementalAnalyzer("f.py", metrics=False)
    before = _exact(inc, mentioned)
    _exact(inc, _delete(mentioned, "    def export", "    export.alters_data"))
    assert inc.last_was_incremental
    assert _exact(inc, mentioned) == before
    assert inc.last_was_incremental
    called = mentioned.replace("out.append(self.size())", "out.append(self.export(key))")
    _exact(inc, called)
    _exact(inc, _delete(called, "    def export", "    export.alters_data"))
    assert not inc.last_was_incremental


def test_a_method_setting_an_attribute_of_unknown_type_is_edited_without_typing_the_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``self.done = False`` in ``__init__``: ``done`` is of unknown type whatever other methods
    set, so a method setting it may be added, removed or typed into without the class's attribute
    types being computed again (no walk of the whole class); an attribute whose type the edit
    can change still is (see TRAPS: "new method binding self.x")."""
    from perfsquad.semantics import io_catalog

    walked: list[str] = []
    walk_scopes = io_catalog._walk_scopes

    def recording(stmts: list[ast.AST], tree: ast.Module, **kwargs: object) -> object:
        walked.extend(s.name for s in stmts if isinstance(s, ast.ClassDef))
        return walk_scopes(stmts, tree, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(io_catalog, "_walk_scopes", recording)
    text = STRUCT.replace(
        "        self.conn = sqlite3.connect(path)\n", "        self.conn = sqlite3.connect(path)\n        self.done = False\n"
    )
    inc = IncrementalAnalyzer("f.py", metrics=False)
    before = _exact(inc, text)
    finish = _edit(text, "    def last", "    def finish(self):\n        self.done = True\n\n    def last")
    typed = _edit(text, "        return 3\n", "        self.done = 3\n        return 3\n")
    for edited in (finish, text, typed, text):
        walked.clear()
        _exact(inc, edited)
        assert inc.last_was_incremental and walked == [], edited
    assert _exact(inc, text) == before
    walked.clear()
    _exact(inc, _edit(text, "    def last", "    def reset(self):\n        self.conn = {}\n\n    def last"))
    assert not inc.last_was_incremental


def test_attribute_binding_kinds_read_a_member_as_class_attributes_do() -> None:
    from perfsquad.semantics.io_catalog import attribute_binding_kinds

    cls = ast.parse(
        "class C:\n"
        "    size: int\n"
        "    if True:\n        limit: int = 3\n"
        "    def m(self, v):\n"
        "        self.a = v\n        self.b = 1\n        self.c += 1\n        self.d: int = 0\n"
        "        self.e, self.f = 1, 2\n        other.g = 1\n"
        "        def inner():\n            self.h = None\n"
        "    @staticmethod\n    def s(x):\n        x.i = None\n"
    ).body[0]
    assert isinstance(cls, ast.ClassDef)
    kinds = [attribute_binding_kinds(member) for member in cls.body]
    assert kinds[0] == {"size": frozenset(":")} and kinds[1] == {"limit": frozenset(":")}
    assert kinds[2] == {"a": frozenset("="), "b": frozenset("?"), "c": frozenset("?"), "d": frozenset(":")}
    assert kinds[3] == {}


def test_prepared_after_a_whole_file_analysis_the_first_structural_edit_counts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``prepare`` (the editor calls it when idle) counts the module's identifiers, calls, imports
    and the members' attribute bindings: the first structural edit then counts none of them, and
    every result is the same as a whole-file analysis's."""
    from perfsquad import incremental
    from perfsquad.semantics import io_catalog

    counted: list[str] = []
    for name in ("_module_identifiers", "_module_calls"):
        original = getattr(incremental, name)
        monkeypatch.setattr(incremental, name, lambda ctx, original=original, name=name: counted.append(name) or original(ctx))
    kinds = io_catalog.attribute_binding_kinds
    monkeypatch.setattr(incremental, "attribute_binding_kinds", lambda m: counted.append("kinds") or kinds(m))
    inc = IncrementalAnalyzer("f.py", metrics=False)
    before = _exact(inc, STRUCT)
    inc.prepare()
    assert inc.incremental_error is None
    assert {"_module_identifiers", "_module_calls", "kinds"} <= set(counted)
    counted.clear()
    for kind in ("new method", "deleted method others call", "new function"):
        _exact(inc, STRUCTURAL[kind](STRUCT))
        assert inc.last_was_incremental, kind
        assert _exact(inc, STRUCT) == before
    assert "_module_identifiers" not in counted and "_module_calls" not in counted
    assert counted.count("kinds") <= 2  # only the methods each edit parses


def test_statements_pasted_between_others_are_not_parsed_as_the_block_around(monkeypatch: pytest.MonkeyPatch) -> None:
    """A method or function pasted (or removed) where another starts is spliced among the
    container's statements at once, without first re-parsing the method or block it borders;
    a line typed inside a function body still goes to that function."""
    parsed: list[str] = []
    for name in ("_member_unit", "_block_unit"):
        original = getattr(IncrementalAnalyzer, name)

        def recording(self: IncrementalAnalyzer, *args: object, original: object = original, name: str = name) -> object:
            parsed.append(name)
            return original(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(IncrementalAnalyzer, name, recording)
    inc = IncrementalAnalyzer("f.py", metrics=False)
    before = _exact(inc, STRUCT)
    for kind in ("new method", "new function", "50-line paste", "deleted function"):
        parsed.clear()
        _exact(inc, STRUCTURAL[kind](STRUCT))
        assert inc.last_was_incremental and parsed == [], (kind, parsed)
        assert _exact(inc, STRUCT) == before
    parsed.clear()
    _exact(inc, _edit(STRUCT, "        hits += 1\n", "        hits += 1\n        hits -= 0\n"))
    assert inc.last_was_incremental and parsed == ["_block_unit"]


TRAPS = {
    # What other units' findings read changes: each must take the whole-file path.
    "deleted method that queries, called in a loop": lambda t: _delete(t, "    def fetch", "    def size"),
    "new function that queries, already called in a loop": lambda t: _edit(
        t, "class Store", "def reload(k):\n    return sqlite3.connect(k).execute('SELECT 1')\n\n\nclass Store"
    ),
    "new import": lambda t: _edit(t, "def build", "import json\n\n\ndef build"),
    "module variable others read": lambda t: _edit(t, "def build", "reload = print\n\n\ndef build"),
    "new method binding self.x": lambda t: _edit(t, "    def last", "    def reset(self):\n        self.conn = {}\n\n    def last"),
    "redefinition of a function": lambda t: _edit(t, "def scan", "def build(n):\n    return n\n\n\ndef scan"),
    "rebinding a builtin others call": lambda t: _edit(t, "def scan", "def range(n):\n    return [n]\n\n\ndef scan"),
    "a parameter named like an import others use": lambda t: _edit(
        t, "def scan", "def shadow(sqlite3):\n    return sqlite3\n\n\ndef scan"
    ),
}


@pytest.mark.parametrize("kind", list(TRAPS))
def test_structural_edits_others_can_see_take_the_whole_file_path(kind: str) -> None:
    inc = IncrementalAnalyzer("f.py", metrics=False)
    before = _exact(inc, STRUCT)
    _exact(inc, TRAPS[kind](STRUCT))
    assert not inc.last_was_incremental, kind
    assert _exact(inc, STRUCT) == before


def test_structural_edits_change_the_findings_they_should() -> None:
    """The traps are real: deleting the querying method removes the N+1 finding in its caller,
    and defining the function a loop already calls adds one."""
    inc = IncrementalAnalyzer("f.py", metrics=False)
    codes = _exact(inc, STRUCT)
    fetch_loop = STRUCT[: STRUCT.index("out.append(self.fetch")].count("\n") + 1
    assert f"IO001:{fetch_loop}" in codes
    assert f"IO001:{fetch_loop - 3}" not in _exact(inc, TRAPS["deleted method that queries, called in a loop"](STRUCT))
    added = _exact(inc, TRAPS["new function that queries, already called in a loop"](STRUCT))
    reload_line = STRUCT[: STRUCT.index("        reload(k)")].count("\n") + 1
    assert f"IO001:{reload_line}" in added


# MEM006 (a small class without __slots__) reads its class's methods only when the class is
# instantiated in a loop somewhere: `Point` is, `Once` is not. The analyzer keeps the module's count
# of looped calls current across edits (`Context.looped_name_calls`) so the rule can tell.
SLOTS = """class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def dump(self):
        return vars(self)

    def norm(self):
        return self.x + self.y


class Once:
    def __init__(self, path):
        self.path = path

    def dump(self):
        return vars(self)

    def size(self):
        return 3


def points(rows):
    return [Point(a, b) for a, b in rows]


def config(path):
    return Once(path)
"""
_POINT_DUMP = "    def dump(self):\n        return vars(self)\n\n    def norm"
_ONCE_DUMP = "    def dump(self):\n        return vars(self)\n\n    def size"
_ONCE_IN_A_LOOP = "def configs(paths):\n    return [Once(p) for p in paths]\n\n\ndef config"


def test_methods_of_a_class_never_built_in_a_loop_are_incremental() -> None:
    inc = IncrementalAnalyzer("f.py", metrics=False)
    before = _exact(inc, SLOTS)
    for edited in (
        SLOTS.replace(_ONCE_DUMP, "    def size"),  # its `vars(self)` goes: no finding either way
        SLOTS.replace("    def size", "    def grow(self):\n        self.extra = 1\n\n    def size"),
        _edit(SLOTS, "    def norm", "    def scale(self, k):\n        return self.x * k\n\n    def norm"),
    ):
        assert _exact(inc, edited) == before
        assert inc.last_was_incremental, edited
        assert _exact(inc, SLOTS) == before
        assert inc.last_was_incremental


def test_methods_of_a_class_built_in_a_loop_still_change_its_finding() -> None:
    """The traps: the same edits where the class is built in a loop, before or by an earlier edit,
    change the class's MEM006 finding, and are never kept from an incremental analysis."""
    inc = IncrementalAnalyzer("f.py", metrics=False)
    assert "MEM006:1" not in _exact(inc, SLOTS)
    assert "MEM006:1" in _exact(inc, SLOTS.replace(_POINT_DUMP, "    def norm"))
    assert not inc.last_was_incremental  # Point's own `vars(self)` went: its finding appears
    assert "MEM006:1" not in _exact(inc, SLOTS)
    assert not inc.last_was_incremental
    looped = _edit(SLOTS, "def config", _ONCE_IN_A_LOOP)
    once = looped[: looped.index("class Once")].count("\n") + 1
    assert f"MEM006:{once}" not in _exact(inc, looped)
    assert not inc.last_was_incremental  # a loop now builds Once: its methods count from here on
    _exact(inc, _edit(looped, "    def size", "    def other(self):\n        return 2\n\n    def size"))
    assert inc.last_was_incremental  # (a method that changes nothing of the finding)
    assert f"MEM006:{once}" in _exact(inc, looped.replace(_ONCE_DUMP, "    def size"))
    assert not inc.last_was_incremental
    check_sequence([SLOTS, looped, looped.replace(_ONCE_DUMP, "    def size"), SLOTS.replace(_ONCE_DUMP, "    def size"), SLOTS])
    check_sequence([SLOTS, looped, looped.replace(_ONCE_DUMP, "    def size"), SLOTS], metrics=False)


def test_a_splice_after_an_edit_that_moved_it_reads_the_right_lines() -> None:
    """An edit that shortens a function leaves the statements after it with their old line
    numbers; deleting the last method then read its text past the end of the file (an IndexError
    out of the analyzer, found by random edits of real files)."""
    short = STRUCT.replace("    out = []\n    for i in range(n):\n        out.append(i)\n    return out\n", "    return list(range(n))\n")
    without_last = short[: short.index("\n    def last")] + "\n"
    assert check_sequence([STRUCT, short, without_last, short], metrics=False) == 3


def test_edits_that_continue_a_neighbour_match_whole_file() -> None:
    """Text that parses alone but belongs to the statement before it (a more indented line after a
    method, a decorator before a def) is never taken for new statements."""
    texts = [
        STRUCT,
        _edit(STRUCT, "    def last", "        def inner():\n            return [x for x in range(3)]\n\n    def last"),
        _edit(STRUCT, "def scan", "@staticmethod\ndef scan"),
        _edit(STRUCT, "    def size", "    @property\n    def size"),
        STRUCT,
    ]
    check_sequence(texts)
    check_sequence(texts, metrics=False)


def test_random_structural_edits_match_whole_file() -> None:
    rng = random.Random(20)
    pieces = [
        "def made_{k}(v):\n    return [i for i in v]\n\n\n",
        "VALUE_{k} = {k}\n\n\n",
        "# note {k}\n",
        "def refresh_{k}(keys):\n    for k in keys:\n        reload(k)\n\n\n",
    ]
    methods = ["    def m_{k}(self, v):\n        return self.fetch(v)\n\n", "    def n_{k}(self):\n        return {k}\n\n"]
    text = STRUCT
    texts = [text]
    for k in range(40):
        lines = text.splitlines(keepends=True)
        tops = [i for i, line in enumerate(lines) if line.startswith(("def ", "class "))]
        members = [i for i, line in enumerate(lines) if line.startswith("    def ") and i > tops[-1] + 1]
        roll = rng.random()
        if roll < 0.4:
            lines.insert(rng.choice(tops), rng.choice(pieces).format(k=k))
        elif roll < 0.7:
            lines.insert(rng.choice(members), rng.choice(methods).format(k=k))
        else:  # delete a top-level function or a method (not the first of its class)
            starts = [i for i in tops[:-1] if lines[i].startswith("def ")] + members[1:]
            i = rng.choice(starts)
            j = next((n for n in range(i + 1, len(lines)) if lines[n].startswith(lines[i][: len(lines[i]) - len(lines[i].lstrip())] + "def ") or lines[n].startswith(("def ", "class "))), len(lines))
            del lines[i:j]
        text = "".join(lines)
        texts.append(text)
    hits = check_sequence(texts, metrics=False)
    assert hits >= 10


def test_an_error_in_the_incremental_path_falls_back_to_the_whole_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """The editor keeps publishing right findings whatever a bug of the incremental path does: the
    edit is analyzed whole, and the error is kept for tests to see."""
    inc = IncrementalAnalyzer("f.py", metrics=False)
    _exact(inc, STRUCT)

    def broken(*args: object) -> None:
        raise IndexError("a bug")

    monkeypatch.setattr(IncrementalAnalyzer, "_splice", broken)
    edited = STRUCTURAL["new function"](STRUCT)
    got = inc.update(edited)
    assert not inc.last_was_incremental and isinstance(inc.incremental_error, IndexError)
    assert same(got.findings, analyze_text(edited, "f.py", metrics=False, rules=RULES).findings)
