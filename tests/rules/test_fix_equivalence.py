"""Every SAFE fix in the rules' examples behaves the same before and after, on generated inputs.

Free names of an example (parameters of its functions, or globals it reads) get values generated
from their names: ``xs`` a list, ``d`` a dict, ``k`` a key, and so on. Results, final namespaces
and raised exception types must be equal.
"""

from __future__ import annotations

import ast
import builtins
import pathlib
import types
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfsquad.analyzers import RULES
from perfsquad.model import FixSafety
from perfsquad.rule import Invalid, Rule

scalars = st.one_of(st.integers(-5, 5), st.text(alphabet="ab ", max_size=3), st.booleans(), st.none())
keys = st.one_of(st.integers(-3, 3), st.text(alphabet="ab", max_size=2))
records = st.builds(
    lambda i, n, flag: types.SimpleNamespace(id=i, name=n, price=i, email=n, valid=flag, is_admin=not flag),
    st.integers(0, 5),
    st.text(alphabet="xyz", max_size=2),
    st.booleans(),
)

STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "xs": st.lists(st.integers(-10, 10), max_size=8),
    "ys": st.lists(st.integers(-10, 10), max_size=8),
    "items": st.lists(st.text(alphabet="abc", max_size=3), max_size=6),
    "words": st.lists(st.text(alphabet="ab", max_size=2), max_size=8),
    "lines": st.lists(st.text(alphabet="a \n", max_size=4), max_size=6),
    "pairs": st.lists(st.tuples(keys, scalars), max_size=6),
    "users": st.lists(records, max_size=5),
    "rows": st.lists(records, max_size=5),
    "d": st.dictionaries(keys, st.integers(-3, 3), max_size=5),
    "k": keys,
    "key": keys,
    "v": scalars,
    "value": scalars,
    "n": st.integers(0, 6),
}
# Any other one-letter name is a scalar.
STRATEGIES.update({c: scalars for c in "abcyz" if c not in STRATEGIES})
STRATEGIES["pathlib"] = st.just(pathlib)  # a module imported inside an example function


def _free_names(tree: ast.Module) -> set[str]:
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    bound |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments) for a in (*n.args, *n.kwonlyargs)}
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loads - bound - set(dir(builtins))


def _functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [n for n in tree.body if isinstance(n, ast.FunctionDef)]


def _outcome(code: str, env: dict[str, Any], calls: list[tuple[str, dict[str, Any]]]) -> Any:
    namespace: dict[str, Any] = dict(env)
    try:
        exec(compile(code, "<example>", "exec"), namespace)
    except Exception as exc:  # the exception type is part of the behaviour
        return ("raised", type(exc))
    results = []
    for name, kwargs in calls:
        try:
            results.append(("ok", namespace[name](**kwargs)))
        except Exception as exc:
            results.append(("raised", type(exc)))
    state = {k: v for k, v in namespace.items() if k != "__builtins__" and not callable(v)}
    return results, state


SAFE_EXAMPLES = [
    (rule, i, ex)
    for rule in RULES
    for i, ex in enumerate(rule.invalid)
    if ex.fixed is not None and ex.safety is FixSafety.SAFE
]


@pytest.mark.parametrize(
    ("rule", "index", "example"), SAFE_EXAMPLES, ids=[f"{r.code}-{i}" for r, i, _ in SAFE_EXAMPLES]
)
def test_safe_fix_keeps_behaviour(rule: type[Rule], index: int, example: Invalid) -> None:
    assert example.fixed is not None
    before_tree = ast.parse(example.code)
    free = _free_names(before_tree)
    params = {a.arg for fn in _functions(before_tree) for a in fn.args.args}
    missing = (free | params) - set(STRATEGIES)
    assert not missing, f"add strategies for {sorted(missing)}"
    names = sorted(free | params)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.fixed_dictionaries({n: STRATEGIES[n] for n in names}))
    def check(values: dict[str, Any]) -> None:
        env = {n: values[n] for n in free}
        calls = [(fn.name, {a.arg: values[a.arg] for a in fn.args.args}) for fn in _functions(before_tree)]
        assert _outcome(example.code, env, calls) == _outcome(example.fixed or "", env, calls)

    check()


def test_there_are_safe_fixes_to_check() -> None:
    assert len(SAFE_EXAMPLES) >= 5
