"""The data model shared by the engine, the CLI and the server.

Everything here is a frozen dataclass or an enum: findings cross process boundaries (the CLI's
process pool, the on-disk cache) and threads (the server), so they must be immutable and
serializable with :func:`to_json` / :func:`from_json`.

Positions are 1-based lines and 0-based columns counted in *code points* of the decoded source.
Conversions to UTF-8 byte offsets (``ast``) and UTF-16 code units (LSP) live in
:mod:`perfsquad.positions` and :mod:`perfsquad.server.conversions` respectively.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any


class FixSafety(str, enum.Enum):
    """How much a fix can be trusted (a contract: these strings are public)."""

    SAFE = "safe"
    """Behaviour identical, comments kept: applied by ``--fix`` and ``source.fixAll``."""
    UNSAFE = "unsafe"
    """May change behaviour in edge cases the rule's doc names: applied only with ``--unsafe-fixes``."""
    DISPLAY_ONLY = "display-only"
    """Shown as a suggestion, never applied automatically."""


class Family(str, enum.Enum):
    """Rule families; the code prefix of every rule (a contract)."""

    IDM = "IDM"
    ALG = "ALG"
    IO = "IO"
    MEM = "MEM"
    VEC = "VEC"
    HOT = "HOT"

    @property
    def label(self) -> str:
        return _FAMILY_TITLES[self]


_FAMILY_TITLES = {
    Family.IDM: "Idioms",
    Family.ALG: "Algorithms and complexity",
    Family.IO: "I/O and queries",
    Family.MEM: "Memory",
    Family.VEC: "Vectorization",
    Family.HOT: "Profile hotspots",
}


class Confidence(str, enum.Enum):
    """How sure a finding is that its cost grows with real inputs (a contract: these strings are public).

    ``HIGH``: the code runs per element of something of unknown size (a parameter, an attribute, a
    query result) and the cost is the rule's; ``MEDIUM``: the default, when nothing says either way;
    ``LOW``: nothing shows that the input grows (a literal, ``range(<const>)``, code run once at
    import). Default settings report ``high`` and ``medium``.
    """

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """2 for high, 1 for medium, 0 for low (to compare and to lower by one level)."""
        return _CONFIDENCE_RANKS[self]

    def lowered(self) -> Confidence:
        """One level less sure (low stays low)."""
        return _CONFIDENCE_BY_RANK[max(0, self.rank - 1)]


_CONFIDENCE_RANKS = {Confidence.HIGH: 2, Confidence.MEDIUM: 1, Confidence.LOW: 0}
_CONFIDENCE_BY_RANK = {rank: c for c, rank in _CONFIDENCE_RANKS.items()}


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    line: int
    """1-based line number."""
    column: int
    """0-based column in code points."""


@dataclass(frozen=True, slots=True)
class Span:
    start: Position
    end: Position

    @classmethod
    def of(cls, line: int, column: int, end_line: int, end_column: int) -> Span:
        return cls(Position(line, column), Position(end_line, end_column))


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text in ``span`` with ``content``."""

    span: Span
    content: str


@dataclass(frozen=True, slots=True)
class Fix:
    title: str
    safety: FixSafety
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Speedup:
    """A measured speedup range for a rule's rewrite.

    ``low``/``high`` are ratios (old time / new time) measured by ``measured_by`` on the sizes in
    ``scales_with``. Never a guess: ``bench/calibrate.py`` produces and refreshes them.
    """

    low: float
    high: float
    scales_with: str
    measured_by: str
    sizes: tuple[tuple[int, float], ...] = ()
    """``(n, ratio)`` per calibrated size, ascending (empty when only the range is known)."""
    break_even: int | None = None
    """For vectorizing rewrites: the measured size below which the rewrite is slower."""

    def describe(self) -> str:
        """Honest words for the measured ratios (before time / after time): a ratio below 1 is a
        slowdown and says so; per calibrated size when sizes are known."""
        if self.sizes and len({_verdict(r) for _, r in self.sizes}) > 1:
            core = "; ".join(f"{_verdict(r)} at n={n:,}" for n, r in self.sizes)
        elif self.low >= 1.05 and abs(self.high - self.low) >= 0.05:
            core = f"{self.low:.1f}x-{self.high:.1f}x faster"
        elif self.high <= 0.95 and abs(self.high - self.low) >= 0.05:
            core = f"{1 / self.high:.1f}x-{1 / self.low:.1f}x slower"
        elif abs(self.high - self.low) < 0.05 or self.sizes:
            core = _verdict((self.low + self.high) / 2)
        else:
            core = f"{self.low:.1f}x-{self.high:.1f}x (below 1x the rewrite is slower)"
        text = f"{core} ({self.scales_with}; measured by {self.measured_by})"
        if self.break_even is not None:
            text += f"; slower than the original below n ≈ {self.break_even:,}"
        return text

    def at(self, n: int) -> tuple[int, float] | None:
        """The measured ``(size, ratio)`` at the calibrated size nearest to ``n`` (on a log scale)."""
        if not self.sizes or n <= 0:
            return None
        return min(self.sizes, key=lambda s: abs(math.log10(s[0]) - math.log10(n)))


def _verdict(ratio: float) -> str:
    if ratio >= 1.05:
        return f"{ratio:.1f}x faster"
    if ratio <= 0.95:
        return f"{1 / ratio:.1f}x slower"
    return "no measurable change"


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    span: Span
    severity: Severity = Severity.WARNING
    fix: Fix | None = None
    speedup: Speedup | None = None
    notes: tuple[str, ...] = ()
    """Extra evidence, e.g. an interprocedural chain or the reason a fix is unsafe."""
    measured_share: float | None = None
    """Share of a measured profile's runtime spent in this finding's code (None: no profile)."""
    fixable: bool = False
    """A fix is available: built in ``fix`` when the analysis built fixes, or offered by the rule
    and not built yet when it did not (the editor's analyses, which build a fix only when a code
    action asks for it; until then the rule's ``fix_title``/``fix_safety`` describe it)."""
    confidence: Confidence = Confidence.MEDIUM
    """How sure the finding is that the cost grows with real inputs (see :class:`Confidence`)."""
    evidence: str | None = None
    """One line saying why the cost grows (what grows, why it runs often), or why it may not."""


@dataclass(frozen=True, slots=True)
class FunctionMetrics:
    """Per-function facts shown by hover and code lens."""

    name: str
    qualname: str
    span: Span
    name_span: Span
    cyclomatic: int
    loop_depth: int
    complexity: str | None = None
    """A Big-O estimate such as ``O(n^2)`` when the algorithms analyzer provides one."""
    complexity_reason: str | None = None
    """The line that drives the estimate, and what each size letter stands for."""
    maintainability: float | None = None
    """radon's maintainability index (0-100, higher is better) when computed."""


@dataclass(frozen=True, slots=True)
class NotebookCell:
    """Where one code cell of a notebook sits in the module its code cells make together
    (``perfsquad.notebook``): findings of a notebook carry that module's positions."""

    index: int
    """The cell's index in the notebook's ``cells`` list (0-based; markdown cells count)."""
    id: str | None
    """The cell's ``id`` (nbformat 4.5+), if it has one."""
    first_line: int
    """The module's line (1-based) holding the cell's first line."""
    line_count: int


@dataclass(frozen=True, slots=True)
class FileReport:
    path: str
    findings: tuple[Finding, ...] = ()
    functions: tuple[FunctionMetrics, ...] = ()
    error: str | None = None
    """Why the file could not be (fully) analyzed; findings may still hold what could be."""
    error_span: Span | None = None
    rule_errors: tuple[str, ...] = field(default=())
    """Rules that crashed on this file (isolated: the others still reported)."""
    cells: tuple[NotebookCell, ...] = ()
    """A notebook's code cells (empty for a Python file): its positions are of the module the
    cells make together, and ``perfsquad.notebook.in_cell`` maps them back to a cell."""


@dataclass(frozen=True, slots=True)
class RuleMeta:
    """What a rule declares about itself; docs, hover and ``perfsquad explain`` come from here."""

    code: str
    name: str
    family: Family
    message: str
    fix_title: str | None
    fix_safety: FixSafety | None
    speedup: Speedup | None
    effort_minutes: int
    doc: str
    sections: dict[str, str]


def to_json(obj: Any) -> Any:
    """Convert model objects to plain JSON-compatible data (used by the cache and the pool)."""
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, tuple | list):
        return [to_json(x) for x in obj]
    if hasattr(obj, "__dataclass_fields__"):
        return {name: to_json(getattr(obj, name)) for name in obj.__dataclass_fields__}
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    return obj


def _pos(d: Any) -> Position:
    return Position(d["line"], d["column"])


def _span(d: Any) -> Span:
    return Span(_pos(d["start"]), _pos(d["end"]))


def _speedup(d: Any) -> Speedup | None:
    if d is None:
        return None
    sizes = tuple((int(n), float(r)) for n, r in d.get("sizes", ()))
    return Speedup(d["low"], d["high"], d["scales_with"], d["measured_by"], sizes, d.get("break_even"))


def _fix(d: Any) -> Fix | None:
    if d is None:
        return None
    edits = tuple(Edit(_span(e["span"]), e["content"]) for e in d["edits"])
    return Fix(d["title"], FixSafety(d["safety"]), edits)


def finding_from_json(d: Any) -> Finding:
    return Finding(
        code=d["code"],
        message=d["message"],
        span=_span(d["span"]),
        severity=Severity(d["severity"]),
        fix=_fix(d["fix"]),
        speedup=_speedup(d["speedup"]),
        notes=tuple(d["notes"]),
        measured_share=d.get("measured_share"),
        fixable=bool(d.get("fixable", False)),
        confidence=Confidence(d.get("confidence", Confidence.MEDIUM.value)),
        evidence=d.get("evidence"),
    )


def report_from_json(d: Any) -> FileReport:
    functions = tuple(
        FunctionMetrics(
            name=f["name"],
            qualname=f["qualname"],
            span=_span(f["span"]),
            name_span=_span(f["name_span"]),
            cyclomatic=f["cyclomatic"],
            loop_depth=f["loop_depth"],
            complexity=f["complexity"],
            complexity_reason=f["complexity_reason"],
            maintainability=f.get("maintainability"),
        )
        for f in d["functions"]
    )
    return FileReport(
        path=d["path"],
        findings=tuple(finding_from_json(f) for f in d["findings"]),
        functions=functions,
        error=d["error"],
        error_span=_span(d["error_span"]) if d["error_span"] else None,
        rule_errors=tuple(d["rule_errors"]),
        cells=tuple(NotebookCell(c["index"], c["id"], c["first_line"], c["line_count"]) for c in d.get("cells", ())),
    )
