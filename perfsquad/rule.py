"""The rule contract: what every rule declares, and how its documentation is read.

It sits below the semantics, the context and the engine (see ``docs/architecture.md``): it
names no module above it, so ``check`` takes the context as ``Any``. The engine passes a
:class:`perfsquad.context.Context`, and each rule annotates its own ``check`` with it.

A rule is a class with class-level metadata, a ``check(node, ctx)`` method called for every node
of the types it lists in ``node_types``, and examples that double as its tests (Fixit style).
Its docstring *is* its documentation, in fixed Markdown sections (checked by the test suite).
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from perfsquad.calibration import running
from perfsquad.model import Family, FixSafety, RuleMeta, Speedup

DOC_SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Example",
    "Use instead",
    "Fix safety",
    "Speedup",
    "References",
)

_CODE_RE = re.compile(r"^(IDM|ALG|IO|MEM|VEC|HOT)\d{3}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


MESSAGE_LIMIT = 80
"""A finding's message fits in about this many characters (ruff's are about 60): the speedup and its
provenance go to the hover and the rule's page, never into the message."""


def clip(text: str, limit: int = 24) -> str:
    """Code quoted in a message, cut to ``limit`` characters (``…`` at the cut)."""
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "\u2026"


def fit(template: str, limit: int = MESSAGE_LIMIT, **parts: object) -> str:
    """``template.format(**parts)`` within ``limit`` characters: the parts (code, names) share what
    the template's own words leave, shortest first, each cut with :func:`clip` (at least 8 each)."""
    texts = {k: str(v) for k, v in parts.items()}
    budget = limit - len(template.format(**{k: "" for k in texts}))
    shown: dict[str, str] = {}
    for i, key in enumerate(sorted(texts, key=lambda k: len(texts[k]))):
        share = max(budget // (len(texts) - i), 8)
        shown[key] = clip(texts[key], share)
        budget -= len(shown[key])
    return template.format(**shown)


def shorten(message: str, limit: int = MESSAGE_LIMIT) -> tuple[str, str | None]:
    """A message within ``limit`` characters, and the whole text when it had to be cut (for the
    notes the hover shows, so nothing is lost): cut at the last clause boundary (``; ``, `` (``,
    ``: ``) that keeps at least half of the room, else clipped with an ellipsis."""
    if len(message) <= limit:
        return message, None
    head = message[:limit]
    cut = max(head.rfind("; "), head.rfind(" ("), head.rfind(": "))
    short = message[:cut].rstrip(" ,;:") if cut >= limit // 2 else clip(message, limit)
    return short, message


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag ``count`` times; ``fixed`` is the source after its fix."""

    code: str
    fixed: str | None = None
    safety: FixSafety | None = None
    count: int = 1


@dataclass(frozen=True)
class Bench:
    """A micro-benchmark of the rule's rewrite, run by ``bench/calibrate.py`` at several sizes.

    ``setup`` may use ``n`` (the input size); ``before`` and ``after`` are the code the rule flags
    and its rewrite, and must compute the same ``result``.
    """

    setup: str
    before: str
    after: str
    scales_with: str


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    fix_title: ClassVar[str | None] = None
    fix_safety: ClassVar[FixSafety | None] = None
    """The best safety this rule's fixes can have (a given fix may be less safe; never more)."""
    effort_minutes: ClassVar[int] = 5
    """Typical minutes for a person to apply the change by hand (used by the ROI roadmap)."""
    node_types: ClassVar[tuple[type[ast.AST], ...]] = ()
    call_names: ClassVar[frozenset[str] | None] = None
    """For a rule that checks ``ast.Call`` nodes: the callee names it can flag, as the last part of
    the callee (``sort`` for ``xs.sort()``, ``sqrt`` for ``math.sqrt(x)`` and for ``root(x)`` after
    ``from math import sqrt as root``). The engine then hands the rule only those calls (most of a
    module's calls are none of them). None: every call."""
    valid: ClassVar[tuple[str, ...]] = ()
    invalid: ClassVar[tuple[Invalid, ...]] = ()
    bench: ClassVar[Bench | None] = None
    reads_project: ClassVar[bool] = False
    """Whether the rule's findings depend on the workspace index (it reads the context's effect
    view: what other modules' functions do). When the index changes, only these rules run again on
    a file (``api._relink``); a test checks that no other rule reads it."""

    facts_by_name: ClassVar[bool] = False
    """Whether other units read this rule's :meth:`module_facts` of a unit only through a reference
    to the unit's name (a call of the function it defines). The editor then ignores the facts of a
    ``def`` it inserts or deletes whose name nothing else in the module mentions."""

    def check(self, node: Any, ctx: Any) -> None:
        raise NotImplementedError

    @classmethod
    def module_facts(cls, unit: ast.stmt, ctx: Any) -> object:
        """What ``unit`` (a top-level ``def``/``class``, or a method of a top-level class)
        contributes to the module-wide facts this rule reads beyond the node it checks.

        The editor re-analyzes only the unit an edit touched and keeps the other findings; when a
        rule's findings elsewhere can depend on the unit, the rule returns a comparable summary
        here (computed on the unit before and after the edit with the context it belongs to), and
        a difference sends the editor to a whole-file analysis. ``None``: the rule's findings
        depend only on the unit that contains them and on module-level statements.
        """
        return None

    @classmethod
    def family(cls) -> Family:
        return Family(re.sub(r"\d+$", "", cls.code))

    @classmethod
    def speedup(cls) -> Speedup | None:
        """The ratios measured on the running Python (a finding quotes the configured one's:
        ``Context.report`` asks the context's :class:`perfsquad.calibration.Calibration`)."""
        return running().speedup(cls.code)

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        return parse_doc_sections(inspect.cleandoc(cls.__doc__ or ""))

    @classmethod
    def meta(cls) -> RuleMeta:
        return RuleMeta(
            code=cls.code,
            name=cls.name,
            family=cls.family(),
            message=cls.message,
            fix_title=cls.fix_title,
            fix_safety=cls.fix_safety,
            speedup=cls.speedup(),
            effort_minutes=cls.effort_minutes,
            doc=inspect.cleandoc(cls.__doc__ or ""),
            sections=cls.doc_sections(),
        )

    @classmethod
    def validate(cls) -> list[str]:
        """Problems with the declaration itself; the registry refuses a rule that has any."""
        problems: list[str] = []
        where = cls.__name__
        if not _CODE_RE.match(getattr(cls, "code", "")):
            problems.append(f"{where}: bad code {getattr(cls, 'code', None)!r}")
        if not _NAME_RE.match(getattr(cls, "name", "")):
            problems.append(f"{where}: name must be kebab-case naming the pattern")
        if not getattr(cls, "message", ""):
            problems.append(f"{where}: no message")
        if not cls.node_types:
            problems.append(f"{where}: no node_types")
        if cls.call_names is not None and ast.Call not in cls.node_types:
            problems.append(f"{where}: call_names without ast.Call in node_types")
        if (cls.fix_title is None) != (cls.fix_safety is None):
            problems.append(f"{where}: fix_title and fix_safety go together")
        sections = cls.doc_sections()
        missing = [s for s in DOC_SECTIONS if not sections.get(s, "").strip()]
        if missing:
            problems.append(f"{where}: doc lacks sections {missing}")
        if not cls.valid or not cls.invalid:
            problems.append(f"{where}: needs valid and invalid examples")
        return problems


def parse_doc_sections(doc: str) -> dict[str, str]:
    """Split a rule docstring on ``## Heading`` lines."""
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in doc.splitlines():
        m = re.match(r"^##\s+(.+?)\s*$", line)
        if m:
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current = m.group(1)
            lines = []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return sections
