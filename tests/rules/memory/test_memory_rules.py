"""MEM rules: positives and traps with all rules enabled, the demo's seeded leaks, and that the
fixes keep behaviour when run."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest
from support import DEMO, every_rule

from perfsquad.analyzers import RULES
from perfsquad.analyzers.memory.materialized_once import MaterializedOnce
from perfsquad.analyzers.memory.read_whole_file_to_iterate import ReadWholeFileToIterate
from perfsquad.analyzers.memory.small_class_without_slots import SmallClassWithoutSlots
from perfsquad.autofix import fix_text
from perfsquad.config import Config
from perfsquad.engine import analyze_text
from perfsquad.incremental import IncrementalAnalyzer
from perfsquad.model import Confidence, FixSafety


def mem_findings(source: str) -> list[tuple[str, int]]:
    report = analyze_text(textwrap.dedent(source), "example.py", rules=RULES, config=every_rule())
    assert report.rule_errors == (), report.rule_errors
    return [(f.code, f.span.start.line) for f in report.findings if f.code.startswith("MEM")]


TRAPS = {
    "bounded lru_cache on a function": """
        import functools

        @functools.lru_cache(maxsize=256)
        def parse(line):
            return line.split(",")

        rows = [parse(x) for x in ["a,b", "c,d"]]
        """,
    "class with __slots__ created in a loop": """
        class Point:
            __slots__ = ("x", "y")

            def __init__(self, x, y):
                self.x = x
                self.y = y

        points = [Point(i, i) for i in range(1000)]
        """,
    "iterating a file directly": """
        def count(path):
            n = 0
            with open(path) as f:
                for line in f:
                    n += len(line)
            return n
        """,
    "deque with maxlen": """
        import collections
        RECENT = collections.deque(maxlen=100)

        def remember(x):
            RECENT.append(x)
        """,
    "bounded module cache": """
        _CACHE = {}

        def get(key):
            if key not in _CACHE:
                if len(_CACHE) > 1000:
                    _CACHE.clear()
                _CACHE[key] = compute(key)
            return _CACHE[key]
        """,
    "per-instance cache": """
        class Embedder:
            def __init__(self):
                self._cache = {}

            def embed(self, text):
                if text not in self._cache:
                    self._cache[text] = len(text)
                return self._cache[text]
        """,
    "dataclass with slots": """
        from dataclasses import dataclass

        @dataclass(slots=True, frozen=True)
        class P:
            x: int

        ps = [P(i) for i in range(10)]
        """,
}


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_traps_are_not_flagged_by_any_memory_rule(name: str) -> None:
    assert mem_findings(TRAPS[name]) == []


def test_positives_each_rule_once() -> None:
    source = """
        import functools
        from dataclasses import dataclass

        _SEEN = {}
        _LOG = []


        class Service:
            @functools.lru_cache(maxsize=None)
            def lookup(self, key):
                return key


        @functools.cache
        def parse(line):
            return line


        def handle(request):
            _SEEN[request.id] = request
            _LOG.append(request)


        def read(path):
            with open(path) as f:
                for line in f.readlines():
                    print(line)


        def total(xs):
            return sum([x * 2 for x in xs])


        @dataclass
        class Row:
            a: int
            b: str


        def rows(n):
            return [Row(i, str(i)) for i in range(n)]


        def prefixes(tokens):
            acc = ""
            out = []
            for t in tokens:
                acc += t
                out.append(acc)
            return out
        """
    found = mem_findings(source)
    assert sorted(code for code, _ in found) == [
        "MEM001", "MEM002", "MEM002", "MEM003", "MEM004", "MEM005", "MEM006", "MEM007",
    ]  # fmt: skip
    lines = {code: line for code, line in found if code != "MEM002"}
    assert lines == {"MEM001": 10, "MEM003": 22, "MEM004": 27, "MEM005": 32, "MEM006": 36, "MEM007": 50}
    assert sorted(line for code, line in found if code == "MEM002") == [15, 21]


def test_demo_seeded_memory_problems_are_reported() -> None:
    path = DEMO / "memoria" / "cache.py"
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    report = analyze_text(source, str(path), rules=RULES, config=every_rule())
    found = {(f.code, f.span.start.line) for f in report.findings if f.code.startswith("MEM")}
    store_line = next(
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Subscript)
        and isinstance(n.ctx, ast.Store)
        and isinstance(n.value, ast.Name)
        and n.value.id == "_EMBED_CACHE"
    )
    method = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "Embedder")
    decorator_line = next(n for n in method.body if isinstance(n, ast.FunctionDef) and n.name == "embed").lineno - 1
    assert ("MEM002", store_line) in found
    assert ("MEM001", decorator_line) in found
    # The bounded reference implementation in the same file is not flagged.
    bounded = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "BoundedEmbedCache")
    assert not [line for _, line in found if bounded.lineno <= line <= (bounded.end_lineno or 0)]


def test_eviction_anywhere_in_the_module_silences_the_leak_rules() -> None:
    leaky = """
        _CACHE = {}
        _LOG = []

        def put(k, v):
            _CACHE[k] = v
            _LOG.append(k)
        """
    assert sorted(code for code, _ in mem_findings(leaky)) == ["MEM002", "MEM003"]
    fixed = leaky + "\n        def reset():\n            _CACHE.clear()\n            del _LOG[:]\n"
    assert mem_findings(fixed) == []


def test_readlines_safe_fix_keeps_behaviour(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_text("alpha\nbeta\r\n\ngamma", encoding="utf-8", newline="")
    source = textwrap.dedent(
        """\
        def lengths(path):
            out = []
            with open(path, newline="") as fh:
                for line in fh.readlines():  # keep me
                    out.append(len(line.rstrip()))
            return out
        """
    )
    report = analyze_text(source, "m.py", rules=(ReadWholeFileToIterate,), config=every_rule())
    assert [f.fix.safety for f in report.findings if f.fix] == [FixSafety.SAFE]
    result = fix_text(source, "m.py", unsafe=False, rules=(ReadWholeFileToIterate,), config=every_rule())
    assert "for line in fh:  # keep me" in result.text
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    exec(compile(source, "before", "exec"), before)
    exec(compile(result.text, "after", "exec"), after)
    assert before["lengths"](str(data)) == after["lengths"](str(data)) == [5, 4, 0, 5]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("expr", "safety"),
    [
        ("sum([x * 2 for x in xs])", FixSafety.UNSAFE),
        ("sorted(list(-x for x in xs))", FixSafety.SAFE),
        ("tuple(list(map(abs, xs)))", FixSafety.SAFE),
        ("max(list(range(len(xs))))", FixSafety.SAFE),
    ],  # `any([...])` stops early: ALG009's (tests/rules/algorithms/test_alg009_early_exit.py)
)
def test_materialized_once_fixes_compute_the_same(expr: str, safety: FixSafety) -> None:
    source = f"def f(xs):\n    return {expr}\n"
    report = analyze_text(source, "m.py", rules=(MaterializedOnce,), config=every_rule())
    assert [f.fix.safety for f in report.findings if f.fix] == [safety]
    result = fix_text(source, "m.py", unsafe=True, rules=(MaterializedOnce,), config=every_rule())
    assert result.converged and result.text != source and "[" not in result.text.split("return", 1)[1]
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    exec(source, before)
    exec(result.text, after)
    for xs in ([], [3], [1, -5, 2, 9], list(range(-50, 50))):
        if not xs and expr.startswith("max"):
            continue
        assert before["f"](xs) == after["f"](xs)  # type: ignore[operator]


def test_slots_fix_shrinks_instances_and_keeps_values() -> None:
    source = textwrap.dedent(
        """\
        from dataclasses import dataclass


        @dataclass(frozen=True)
        class Point:
            x: int
            y: int


        def build(n):
            return [Point(i, -i) for i in range(n)]
        """
    )
    result = fix_text(source, "m.py", unsafe=True, rules=(SmallClassWithoutSlots,), config=every_rule())
    assert "@dataclass(frozen=True, slots=True)" in result.text
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    exec(source, before)
    exec(result.text, after)
    old = before["build"](3)  # type: ignore[operator]
    new = after["build"](3)  # type: ignore[operator]
    assert [(p.x, p.y) for p in old] == [(p.x, p.y) for p in new]
    assert hasattr(old[0], "__dict__") and not hasattr(new[0], "__dict__")


def test_bad_input_never_crashes_memory_rules() -> None:
    sources = [
        "x = {}\ndef f(\n",
        "class A:\n    @functools.lru_cache(\n",
        "for line in open(",
        "_C = {}\ndef f():\n    global _C\n    _C[1] = 2\n    del _C\n",
        "class P:\n    pass\n" + "P()\n" * 3 + "[P() for _ in range(3)]\n",
        "L = []\nL.append(1)\nlambda: L.append(2)\n",
    ]
    for source in sources:
        report = analyze_text(source, "bad.py", rules=RULES, config=every_rule())
        assert not [e for e in report.rule_errors if "MEM" in e], report.rule_errors


@pytest.mark.parametrize(
    ("pyproject", "fix_offered"),
    [
        ('[project]\nname = "x"\nrequires-python = ">=3.8"\n', False),
        ('[project]\nname = "x"\nrequires-python = ">=3.11, <4"\n', True),
        ('[tool.ruff]\ntarget-version = "py39"\n', False),
        ('[tool.ruff]\ntarget-version = "py312"\n', True),
        ("", True),  # nothing said: 3.10+
    ],
)
def test_slots_fix_follows_the_projects_target_version(tmp_path: Path, pyproject: str, fix_offered: bool) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    (tmp_path / ".git").mkdir()  # (the project's root: configuration is read from there down, #19)
    path = tmp_path / "pkg" / "m.py"
    source = "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\ndef build(xs):\n    return [P(i) for i in xs]\n"
    report = analyze_text(source, str(path), rules=(SmallClassWithoutSlots,), config=every_rule())
    assert [f.code for f in report.findings] == ["MEM006"]
    assert (report.findings[0].fix is not None) is fix_offered


# -- confidence and evidence (issue #16) -----------------------------------------------------------

LOW_CONFIG = Config(select=("ALL", "READABILITY"), confidence=Confidence.LOW)  # MEM005/MEM006 too


def confidences(source: str, code: str) -> list[tuple[str, str]]:
    """(confidence, evidence) of ``code``'s findings at `--confidence low`."""
    report = analyze_text(textwrap.dedent(source), "example.py", LOW_CONFIG, rules=RULES)
    assert report.rule_errors == (), report.rule_errors
    return [(f.confidence.value, f.evidence or "") for f in report.findings if f.code == code]


@pytest.mark.parametrize(
    ("source", "level", "says"),
    [
        # Unbounded, keyed by instances: high, and the evidence names the class.
        ("import functools\nclass Command:\n    @functools.cache\n    def find(self, label):\n        return label\n",
         "high", "`Command` instance"),
        # Bounded: low, naming the bound.
        ("import functools\nclass Dialect:\n    @functools.lru_cache()\n    def info(self, schema):\n        return 1\n",
         "low", "maxsize=128"),
        ("import functools\nclass Style:\n    @functools.lru_cache(maxsize=4096)\n    def add(self, o):\n        return o\n",
         "low", "maxsize=4096"),
        # Keyed by classes: low.
        ("import functools\nclass E:\n    @classproperty\n    @functools.lru_cache(maxsize=None)\n"
         "    def sig(cls):\n        return 1\n", "low", "classes"),
        # Emptied by cache_clear(): low, naming the line.
        ("import functools\nclass Apps:\n    @functools.cache\n    def models(self):\n        return []\n"
         "    def clear(self):\n        self.models.cache_clear()\n", "low", "line 7"),
    ],
)  # fmt: skip
def test_mem001_confidence_follows_the_keys(source: str, level: str, says: str) -> None:
    [(got, evidence)] = confidences(source, "MEM001")
    assert got == level
    assert says in evidence


@pytest.mark.parametrize(
    ("source", "level", "says"),
    [
        ("import functools\n@functools.cache\ndef compile_udf(func, nogil: bool = True):\n    return func\n",
         "high", "`func`"),
        ("import functools\n@functools.cache\ndef get_finder(import_path):\n    return import_path\n",
         "low", "`import_path`"),
        ("import functools\n@functools.cache\ndef spacing(nyears):\n    return nyears\n", "medium", "unknown"),
        ("import functools\n@functools.cache\ndef kernel(kind, how, is_numeric):\n    return kind\n",
         "low", "`kind`, `how`, `is_numeric`, each from a bounded set"),
        ("import collections\n_T = collections.defaultdict(list)\ndef contains(other):\n    return _T[other.is_real]\n",
         "low", "a flag"),
        ("_T = {}\ndef translation(language):\n    _T[language] = object()\n", "low", "`language`"),
        ("_T = {}\ndef remember(obj):\n    _T[id(obj)] = obj\n", "high", "id("),
        ("_T = {}\ndef embed(text):\n    _T[text] = len(text)\n", "high", "`text`"),
        ("_T = {}\ndef put(k, v):\n    _T[k] = v\n", "medium", "`k`"),
        ("_T = {}\ndef put(language):\n    _T[language.lower()] = 1\n", "low", "`language`"),
        # A method of `self` computes the key: its domain is not `self`'s.
        ("_T = {}\nclass C:\n    def put(self):\n        _T[self.key_for()] = 1\n", "medium", "unknown"),
        ("_T = {}\ndef put(k, v):\n    _T[k] = v\nput(1, 2)\n", "low", "runs at import"),
        ("_T = {}\ndef register_codec(key, codec):\n    _T[key] = codec\n", "low", "setup function"),
        ("_T = {}\ndef units():\n    for type_, conv in pairs():\n        _T[type_] = conv\n", "low", "classes"),
        ("_D = {'A': 1}\n_T = {}\ndef setup_all():\n    pass\ndef load():\n    for k, v in _D.items():\n"
         "        _T[k] = v\n", "low", "module-level `_D`"),
    ],
)  # fmt: skip
def test_mem002_confidence_follows_the_key_domain(source: str, level: str, says: str) -> None:
    [(got, evidence)] = confidences(source, "MEM002")
    assert got == level, evidence
    assert says in evidence


def test_mem002_a_literal_key_is_not_growth_even_at_low_confidence() -> None:
    assert confidences("_ERR = {}\ndef on_divide(v):\n    _ERR['divide'] = v\n", "MEM002") == []
    assert confidences("_ERR = {}\ndef on(v):\n    _ERR[('a', 1)] = v\n", "MEM002") == []


@pytest.mark.parametrize(
    ("source", "level", "says"),
    [
        ("SEEN = set()\ndef f(request):\n    SEEN.add(request.path)\n", "high", "`path`"),
        ("DONE = set()\nclass C:\n    def check(self):\n        DONE.add(self.alias)\n", "low", "`alias`"),
        ("TAGS = set()\ndef _tag(opt, value, parser):\n    TAGS.add(value)\n"
         "def options(add_option):\n    add_option('--tag', callback=_tag)\n", "low", "option callback"),
        ("LOG = []\ndef f(x):\n    LOG.append(x)\n", "medium", "`x`"),
        # `init_*` runs per object (a connection, a request): not a setup function.
        ("SEEN = set()\nclass C:\n    def init_state(self, conn):\n        SEEN.add(conn)\n", "medium", "`conn`"),
    ],
)  # fmt: skip
def test_mem003_confidence_follows_what_is_added(source: str, level: str, says: str) -> None:
    [(got, evidence)] = confidences(source, "MEM003")
    assert got == level, evidence
    assert says in evidence


@pytest.mark.parametrize(
    ("tail", "level", "says"),
    [
        ("def build(xs):\n    return [P(x) for x in xs]\n", "medium", "parameter `xs`"),
        ("ps = [P(x) for x in range(10)]\n", "low", "at import"),
        ("def build(xs):\n    for x in xs:\n        yield P(x)\n", "low", "not kept"),
        ("def build(xs):\n    out = {}\n    for x in xs:\n        p = P(x)\n        out[x] = p\n    return out\n",
         "medium", "kept past it"),
        ("class Q(P):\n    pass\ndef build(xs):\n    return [P(x) for x in xs]\n", "low", "subclass `Q`"),
        # A loop of unknown size (an attribute, a `while`): one level lower than its scale, low.
        ("class Site:\n    def build(self):\n        return [P(a) for a in self.actions]\n", "low", "self.actions"),
        ("def build(q):\n    out = []\n    while q.more():\n        out.append(P(q.next()))\n    return out\n",
         "low", "while"),
    ],
)  # fmt: skip
def test_mem006_evidence_names_the_loop_and_whether_instances_are_kept(tail: str, level: str, says: str) -> None:
    source = "class P:\n    def __init__(self, x):\n        self.x = x\n" + tail
    [(got, evidence)] = confidences(source, "MEM006")
    assert got == level, evidence
    assert says in evidence


def test_mem006_raise_in_a_loop_is_not_an_instantiation_even_at_low_confidence() -> None:
    source = (
        "class CodeGen:\n    def __init__(self, x):\n        self.x = x\n"
        "def check(routines):\n    for r in routines:\n        if r.bad:\n            raise CodeGen(r)\n"
    )
    assert confidences(source, "MEM006") == []


@pytest.mark.parametrize(
    ("body", "level", "says"),
    [
        ("def count(path):\n    n = 0\n    for line in open(path).readlines():\n        n += 1\n    return n\n",
         "high", "`path`"),
        ("def count():\n    with open('setup.cfg') as f:\n        return [x for x in f.read().splitlines()]\n",
         "medium", "'setup.cfg'"),
        ("LINES = [x for x in open('data.txt').readlines()]\n", "low", "at import"),
    ],
)  # fmt: skip
def test_mem004_confidence_follows_where_the_file_comes_from(body: str, level: str, says: str) -> None:
    [(got, evidence)] = confidences(body, "MEM004")
    assert got == level, evidence
    assert says in evidence


MEM_UNITS = """import functools

LOG = []


class Point:
    def __init__(self, x):
        self.x = x


class Other:
    pass


class Apps:
    @functools.cache
    def models(self, flag):
        return flag

    def reset(self):
        return 0


def build(xs):
    return [Point(x) for x in xs]


def _tag(opt, value, parser):
    LOG.append(value)


def options(add_option):
    add_option("--tag")
"""


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("class Other:\n", "class Other(Point):\n", "MEM006"),  # a subclass without slots elsewhere
        ("        return 0\n", "        self.models.cache_clear()\n", "MEM001"),  # emptied in another method
        ('    add_option("--tag")\n', '    add_option("--tag", callback=_tag)\n', "MEM003"),  # an option callback
    ],
)
def test_edits_in_other_units_update_mem_findings_like_a_whole_analysis(old: str, new: str, code: str) -> None:
    """Each edit lowers a finding in another unit to low confidence (hidden by default): the
    editor's incremental analysis must see it as the whole-file analysis does."""
    analyzer = IncrementalAnalyzer("f.py", metrics=False)
    before = analyzer.update(MEM_UNITS)
    assert code in {f.code for f in before.findings}
    edited = MEM_UNITS.replace(old, new, 1)
    got = analyzer.update(edited)
    want = analyze_text(edited, "f.py", rules=RULES)
    assert sorted((f.code, f.span.start.line) for f in got.findings) == sorted(
        (f.code, f.span.start.line) for f in want.findings
    )
    assert code not in {f.code for f in want.findings}
