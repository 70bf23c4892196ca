"""ALG009: a list built in full for a consumer that can stop early, on shapes of our own and the
traps that look alike (a loop that runs to the end, a `break` of a nested loop, `return` in a
nested function, the loop's `else:`), with the evidence and confidence it reports."""

from __future__ import annotations

import ast
import textwrap

import pytest

from perfsquad.analyzers.algorithms.eager_list_before_early_exit import EagerListBeforeEarlyExit
from perfsquad.analyzers.memory.materialized_once import MaterializedOnce
from perfsquad.autofix import fix_text
from perfsquad.config import config_from_mapping
from perfsquad.engine import analyze_text
from perfsquad.model import Confidence
from perfsquad.syntax import early_exit

RULES = (EagerListBeforeEarlyExit, MaterializedOnce)
# MEM005 is in the readability group (slower in time): selected here to show the two never overlap.
CONFIG = config_from_mapping({"extend-select": ["MEM005"], "confidence": "low"})


def _found(code: str) -> list[tuple[int, str, str, str]]:
    report = analyze_text(textwrap.dedent(code), "m.py", CONFIG, rules=RULES)
    assert report.rule_errors == ()
    return [(f.span.start.line, f.code, f.confidence.value, f.evidence or "") for f in report.findings]


@pytest.mark.parametrize(
    "body",
    [
        "for r in [load(k) for k in keys]:\n    if r.ok:\n        break\n",
        "for r in list(map(load, keys)):\n    if r.ok:\n        return r\n",
        "for r in list(load(k) for k in keys):\n    if r.ok:\n        break\n",
        "for r in [load(k) for k in keys]:\n    for part in r:\n        if part:\n            return part\n",
        "for r in [load(k) for k in keys]:\n    try:\n        use(r)\n    except KeyError:\n        break\n",
        "for i, r in [z for z in enumerate(keys.itertuples()) if z[0] > 2]:\n    if r:\n        break\n",
    ],
)
def test_a_list_built_for_a_loop_that_stops_early(body: str) -> None:
    """Each element costs a call, or the source yields on demand: what the exit skips is real work."""
    code = "def f(keys):\n" + textwrap.indent(body, "    ")
    found = _found(code)
    assert [c for _, c, _, _ in found] == ["ALG009"], found
    _, _, confidence, evidence = found[0]
    assert confidence == "medium", evidence  # capped: how early the exit comes is the data's
    assert "keys" in evidence and "stop" in evidence


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("for r in [k * 2 for k in keys]:\n    if r > 3:\n        break\n", "each element is cheap"),
        ("for r in [k for k in keys if k.ok]:\n    if r:\n        return r\n", "each element is cheap"),
        ("found = any([k > 2 for k in keys])\n", "each element is cheap"),
        ("found = all([isinstance(k, int) for k in keys])\n", "each element is cheap"),
        ("found = all([form.is_valid() for form in keys])\n", "may be intended"),
    ],
)
def test_cheap_elements_over_a_built_list_or_calls_fed_to_all_are_low(body: str, why: str) -> None:
    """Little to save when each element is an attribute read or a comparison of a list already
    built; `all([f.is_valid() for f in forms])` often calls every one on purpose."""
    found = _found("def f(keys):\n" + textwrap.indent(body, "    "))
    assert [(c, conf) for _, c, conf, _ in found] == [("ALG009", "low")], found
    assert why in found[0][3]


def test_a_generator_function_of_the_module_is_a_lazy_source() -> None:
    found = _found(
        """
        def rows(path):
            for line in open(path):
                yield line.split(",")

        def first(path):
            for r in [r for r in rows(path) if r]:
                if r[0] == "x":
                    return r
        """
    )
    assert [(c, conf) for _, c, conf, _ in found] == [("ALG009", "medium")]
    assert "generator function" in found[0][3]


@pytest.mark.parametrize(
    "body",
    [
        "for r in [load(k) for k in keys]:\n    use(r)\n",  # runs to the end
        "for r in [load(k) for k in keys]:\n    for part in r:\n        if part:\n            break\n",
        "for r in [load(k) for k in keys]:\n    def g():\n        return r\n    use(g)\n",
        "for r in [load(k) for k in keys]:\n    use(r)\nelse:\n    return None\n",
        "for r in keys:\n    if r:\n        break\n",  # no list built
        "for r in sorted([load(k) for k in keys]):\n    if r:\n        break\n",  # sorting needs them all
        "found = any(load(k).ok for k in keys)\n",  # already lazy
    ],
)
def test_look_alikes_are_not_alg009(body: str) -> None:
    code = "def f(keys):\n" + textwrap.indent(body, "    ")
    assert not [c for _, c, _, _ in _found(code) if c == "ALG009"]


def test_a_loop_that_runs_to_the_end_stays_mem005_and_an_early_exit_is_not_reported_twice() -> None:
    found = _found(
        """
        def f(keys):
            for r in [load(k) for k in keys]:
                use(r)
            for r in [load(k) for k in keys]:
                if r:
                    break
            return any([k > 1 for k in keys])
        """
    )
    assert sorted((line, code) for line, code, _, _ in found) == [(3, "MEM005"), (5, "ALG009"), (8, "ALG009")]


def test_at_import_or_over_a_literal_it_is_low_confidence() -> None:
    found = _found(
        """
        for r in [load(k) for k in KEYS]:
            if r:
                break
        def f():
            for r in [load(k) for k in ("a", "b")]:
                if r:
                    break
        """
    )
    assert [(c, conf) for _, c, conf, _ in found] == [("ALG009", "low"), ("ALG009", "low")]


def test_the_fix_is_unsafe_converges_and_keeps_the_loop() -> None:
    code = "def f(keys):\n    for r in [load(k) for k in keys]:  # first\n        if r:\n            break\n"
    assert fix_text(code, "m.py", rules=RULES).text == code  # unsafe: not applied by default
    result = fix_text(code, "m.py", unsafe=True, rules=RULES)
    assert result.text == "def f(keys):\n    for r in (load(k) for k in keys):  # first\n        if r:\n            break\n"
    assert result.converged
    no_await = "async def f(keys):\n    for r in [await load(k) for k in keys]:\n        if r:\n            break\n"
    assert fix_text(no_await, "m.py", unsafe=True, rules=RULES).text == no_await


def test_early_exit_belongs_to_the_loop_itself() -> None:
    loop = ast.parse(
        "for a in xs:\n    for b in a:\n        break\n    while b:\n        break\n"
        "    def g():\n        return 1\n    class C:\n        pass\nelse:\n    return 2\n"
    ).body[0]
    assert isinstance(loop, ast.For) and early_exit(loop) is None
    loop2 = ast.parse("for a in xs:\n    with ctx():\n        if a:\n            raise_or = 1\n            break\n").body[0]
    assert isinstance(loop2, ast.For) and isinstance(early_exit(loop2), ast.Break)
    assert Confidence.MEDIUM.rank > Confidence.LOW.rank
