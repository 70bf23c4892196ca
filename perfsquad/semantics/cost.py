"""The algebra of Big-O estimates: costs as sums of terms (products of powers of sizes, their
logarithms and exponentials), kept to their dominant terms, and rendered as ``O(n·m log m)``.

It knows nothing of syntax: the estimator (:mod:`perfsquad.semantics.complexity`) reads the code
and builds costs with these operations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

_MAX_TERMS = 4


@dataclass(frozen=True)
class Term:
    """A product of powers of sizes, their logarithms and exponentials: ``n^2·m log n`` or ``2^n``."""

    vars: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()
    exps: tuple[str, ...] = ()

    def __mul__(self, other: Term) -> Term:
        return Term(
            tuple(sorted(self.vars + other.vars)),
            tuple(sorted(self.logs + other.logs)),
            tuple(sorted(set(self.exps + other.exps))),
        )

    @property
    def constant(self) -> bool:
        return not (self.vars or self.logs or self.exps)

    def weight(self, var: str) -> tuple[int, int, int]:
        return (self.exps.count(var), self.vars.count(var), self.logs.count(var))

    def names(self) -> set[str]:
        return {*self.vars, *self.logs, *self.exps}

    def dominates(self, other: Term) -> bool:
        """``other`` grows no faster than ``self`` in every size (so ``self + other = O(self)``)."""
        return all(self.weight(v) >= other.weight(v) for v in other.names())

    def rank(self) -> tuple[int, int, int]:
        return (len(self.exps), len(self.vars), len(self.logs))


ONE = Term()


@dataclass(frozen=True)
class Cost:
    """A sum of terms (dominated terms pruned), each with the reason it is there."""

    terms: tuple[tuple[Term, str], ...] = ()

    @staticmethod
    def of(term: Term, reason: str) -> Cost:
        return Cost(((term, reason),))

    @property
    def constant(self) -> bool:
        return all(t.constant for t, _ in self.terms)

    def __add__(self, other: Cost) -> Cost:
        return prune([*self.terms, *other.terms])

    def times(self, other: Cost, around: str) -> Cost:
        """``self`` (a trip count, whose reasons describe the loop) times ``other`` (the body)."""
        if not self.terms or not other.terms:
            return Cost()
        out: list[tuple[Term, str]] = []
        for tt, rt in self.terms:
            for tb, rb in other.terms:
                if tt.constant:
                    out.append((tb, rb))
                elif tb.constant:
                    out.append((tt, rt))
                else:
                    out.append((tt * tb, f"{rb} inside {around}"))
        return prune(out)

    def dominant(self) -> tuple[Term, str] | None:
        best: tuple[Term, str] | None = None
        for term, reason in self.terms:
            if best is None or term.rank() > best[0].rank():
                best = (term, reason)
        return best


def prune(terms: list[tuple[Term, str]]) -> Cost:
    kept: list[tuple[Term, str]] = []
    for term, reason in terms:
        if any(k.dominates(term) for k, _ in kept):
            continue
        kept = [(k, r) for k, r in kept if not term.dominates(k)]
        kept.append((term, reason))
    if len(kept) > _MAX_TERMS:
        kept = sorted(kept, key=lambda tr: tr[0].rank(), reverse=True)[:_MAX_TERMS]
    return Cost(tuple(kept))


CONST = Cost.of(ONE, "")


def var(name: str, reason: str = "") -> Cost:
    return Cost.of(Term(vars=(name,)), reason)


def with_reason(cost: Cost, reason: str) -> Cost:
    return Cost(tuple((t, reason if not r or not t.constant else r) for t, r in cost.terms))


def relabel(cost: Cost, reason: str) -> Cost:
    """The same growth, explained by ``reason`` (used for trip counts)."""
    return Cost(tuple((t, reason) for t, _ in cost.terms))


def times_term(cost: Cost, factor: Term, reason: str) -> Cost:
    if factor.constant:
        return cost
    return prune([(t * factor, reason) for t, _ in cost.terms] or [(factor, reason)])


def log_of(cost: Cost) -> Term:
    best = cost.dominant()
    if best is None or best[0].constant:
        return ONE
    term = best[0]
    name = (term.exps or term.vars or term.logs)[0]
    return Term(logs=(name,))


def substitute(cost: Cost, mapping: dict[str, Cost], reason: str) -> Cost:
    """Rewrite a callee's cost in the caller's sizes (``len(p)`` -> the argument's size)."""
    out: list[tuple[Term, str]] = []
    for term, _ in cost.terms:
        acc = CONST
        for v in term.vars:
            acc = acc.times(mapping.get(v, var(v)), "")
        for v in term.logs:
            acc = times_term(acc, log_of(mapping.get(v, var(v))), "")
        for v in term.exps:
            sub = mapping.get(v, var(v))
            best = sub.dominant()
            if best is not None and not best[0].constant:
                name = (best[0].vars or best[0].logs or best[0].exps)[0]
                acc = times_term(acc, Term(exps=(name,)), "")
        out.extend((t, reason) for t, _ in acc.terms)
    return prune(out)


# -- rendering ----------------------------------------------------------------------------------
_LETTERS = ("n", "m", "k", "p", "q", "r", "s", "t", "u", "v", "w")


def _letters(names: Iterable[str], order: list[str]) -> dict[str, str]:
    pending = sorted(set(names), key=lambda v: (order.index(v) if v in order else len(order), v))
    letters: dict[str, str] = {}
    taken: set[str] = set()
    for v in pending:  # a size that is an int parameter named like a letter keeps its name
        if v in _LETTERS and v not in taken:
            letters[v] = v
            taken.add(v)
    for v in pending:  # the size of any element of a collection: d, for "dimension", when free
        if v.startswith("len(") and v.endswith("[\u2026])") and v not in letters and "d" not in taken:
            letters[v] = "d"
            taken.add("d")
    free = [c for c in _LETTERS if c not in taken]
    for v in pending:
        if v not in letters:
            letters[v] = free.pop(0) if free else f"n{len(letters)}"
    return letters


def _rank(letter: str) -> int:
    return _LETTERS.index(letter) if letter in _LETTERS else len(_LETTERS)


def _power(base: str, count: int) -> str:
    return base if count == 1 else f"{base}^{count}"


def render_term(term: Term, letters: dict[str, str]) -> str:
    parts = [_power(letters[v], term.vars.count(v)) for v in sorted(set(term.vars), key=lambda v: _rank(letters[v]))]
    head = "·".join(parts)
    for v in sorted(set(term.exps), key=lambda v: _rank(letters[v])):
        head = f"{head}·2^{letters[v]}" if head else f"2^{letters[v]}"
    logs = " ".join(_power(f"log {letters[v]}", term.logs.count(v)) for v in sorted(set(term.logs)))
    if logs:
        head = f"{head} {logs}" if head else logs
    return head or "1"


def _describe_var(v: str) -> str:
    if v.startswith("len(") and v.endswith("[\u2026])"):
        return f"the length of an element of `{v[4:-4]}`"
    if v.startswith("len(") or v.startswith("nodes("):
        inner = v[v.index("(") + 1 : -1]
        return f"nodes reachable from `{inner}`" if v.startswith("nodes(") else f"len(`{inner}`)"
    if v.startswith("loop@"):
        return f"iterations of the loop at line {v[5:]}"
    return f"`{v}`"


def render(cost: Cost, order: list[str]) -> tuple[str, str | None]:
    terms = sorted(cost.terms, key=lambda tr: tr[0].rank(), reverse=True)
    names: set[str] = set()
    for t, _ in terms:
        names |= t.names()
    letters = _letters(names, order)

    def weight(term: Term) -> tuple[int, int, int, list[int]]:
        exps, pows, logs = term.rank()
        return (-exps, -pows, -logs, sorted(_rank(letters[v]) for v in term.names()))

    terms = sorted(terms, key=lambda tr: weight(tr[0]))
    text = " + ".join(render_term(t, letters) for t, _ in terms) or "1"
    best = cost.dominant()
    if best is None or best[0].constant:
        return f"O({text})", None
    reason = best[1]
    ordered = sorted(names, key=lambda v: _rank(letters[v]))
    legend = ", ".join(f"{letters[v]} = {_describe_var(v)}" for v in ordered if letters[v] != v)
    return f"O({text})", f"{reason}; {legend}" if legend else reason


def render_named(cost: Cost) -> str:
    """``cost`` in its own sizes' names, no letters: ``O(len(a) + len(b))``. A callee's cost in a
    caller's reason is said this way, so its letters never mix with the caller's."""
    names: set[str] = set()
    for t, _ in cost.terms:
        names |= t.names()
    spelled = {v: v for v in names}
    terms = sorted(cost.terms, key=lambda tr: tr[0].rank(), reverse=True)
    return f"O({' + '.join(render_term(t, spelled) for t, _ in terms) or '1'})"
