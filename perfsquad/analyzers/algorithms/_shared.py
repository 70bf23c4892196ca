"""What the ALG rules share: which loops really repeat, and how a local name is used."""

from __future__ import annotations

import ast
import functools
import itertools
import re
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from perfsquad.context import COMPREHENSIONS, FUNCTIONS, Context
from perfsquad.fixes import minimal_edit
from perfsquad.memo import EditedUnit, MemoKey
from perfsquad.model import Edit, Fix, FixSafety
from perfsquad.source import SourceText
from perfsquad.syntax import children, statement_start, walk

SMALL_LITERAL = 8
"""A literal collection with at most this many elements is "small": searching it is cheap."""


def constant_bounded(loop: ast.AST) -> bool:
    """A loop that runs a small constant number of times: ``range(3)``, a literal tuple..."""
    if isinstance(loop, ast.For | ast.AsyncFor):
        return _constant_iterable(loop.iter)
    if isinstance(loop, COMPREHENSIONS):
        return all(_constant_iterable(g.iter) for g in loop.generators)
    return False


def _constant_iterable(node: ast.expr) -> bool:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return len(node.elts) <= SMALL_LITERAL and not any(isinstance(e, ast.Starred) for e in node.elts)
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bytes) and len(node.value) <= SMALL_LITERAL
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        args = node.args
        if args and all(isinstance(a, ast.Constant) and type(a.value) is int for a in args):
            values = [a.value for a in args]  # type: ignore[attr-defined]
            try:
                return len(range(*values)) <= 64
            except (TypeError, ValueError, OverflowError):
                return False
    return False


_SEQ_TAIL = re.compile(
    r"\s*(?::[^=\n]*(?:list|List|tuple|Tuple)|(?::[^=\n]*)?=\s*(?:\[|\(|(?:list|tuple|sorted)\s*\())"
)
"""What follows a name the module binds to a list or tuple: an annotation naming one, or ``=``
with a literal, a ``list(``/``tuple(``/``sorted(`` call, or a comprehension."""


@functools.lru_cache(maxsize=1024)
def _name_then_boundary(name: str) -> re.Pattern[str]:
    # The name first (a literal: the regex engine skips ahead to it), its end checked here, its
    # start by the caller: a leading `\b` would make the engine try every position of the text.
    return re.compile(re.escape(name) + r"\b")


def binds_sequence(text: str, name: str) -> bool:
    """Whether ``name``, as a whole word, is followed somewhere in ``text`` by what binds a list
    or tuple (``_SEQ_TAIL``), at any of its occurrences."""
    tail = _SEQ_TAIL.match
    for m in _name_then_boundary(name).finditer(text):
        start = m.start()
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            continue  # the end of a longer name
        if tail(text, m.end()) is not None:
            return True
    return False


def maybe_sequence(ctx: Context, name: str) -> bool:
    """A cheap textual screen before ``ctx.type_of`` (which infers a whole scope's types): can the
    module bind ``name`` to a list or tuple at all (a literal, ``list()``/``tuple()``/``sorted()``,
    a comprehension, an annotation)? False means it certainly cannot be a *known* list or tuple.
    One search of the module's text per name asked about (answers kept on the context)."""
    return ctx.memo(_SEQUENCE_ANSWERS, lambda: _SequenceAnswers(ctx.source.text), _carry_sequence_answers).ask(name)


class _SequenceAnswers:
    """``maybe_sequence``'s answers for one text; after an edit of one unit, the previous text's
    answers stand for what the unit did not change: a name found before is still let through (a
    larger set only sends more names to the exact type inference), a name not found before is
    searched for in the new unit only."""

    def __init__(self, text: str, previous: dict[str, bool] | None = None, unit_text: str = "") -> None:
        self.text = text
        self.answers: dict[str, bool] = {}
        self.previous = previous
        self.unit_text = unit_text

    def ask(self, name: str) -> bool:
        found = self.answers.get(name)
        if found is None:
            before = self.previous.get(name) if self.previous is not None else None
            if before is None:
                found = binds_sequence(self.text, name)
            else:
                found = before or binds_sequence(self.unit_text, name)
            self.answers[name] = found
        return found


def _carry_sequence_answers(
    answers: _SequenceAnswers, old: Context, new: Context, edit: EditedUnit
) -> _SequenceAnswers:
    """After an edit of one unit (see ``_SequenceAnswers``): the old answers are copied, so the
    contexts never form a chain."""
    return _SequenceAnswers(new.source.text, dict(answers.answers), edit.text)


_SEQUENCE_ANSWERS: MemoKey[_SequenceAnswers] = MemoKey("alg.sequence_answers")


def hot_loops(ctx: Context, node: ast.AST) -> list[ast.AST]:
    """The loops around ``node`` (innermost first, up to its function) that really repeat it: not
    constant-bounded, and not left by the path ``node`` is on (``loops_left``)."""
    loops = ctx.loops_around(node)
    if not loops:
        return loops
    left = loops_left(ctx, node)
    return [loop for loop in loops if not constant_bounded(loop) and not any(loop is gone for gone in left)]


_REACH = {ast.Break: 1, ast.Raise: 2, ast.Return: 3}
"""How far a statement that ends a block takes control: out of the innermost loop (``break``),
out of every loop up to a ``try`` that handles it (``raise``), out of the function (``return``)."""


def loops_left(ctx: Context, node: ast.AST) -> list[ast.AST]:
    """The loops around ``node`` that do not repeat it because the path it is on leaves them:
    ``node``'s statement, or one after it in the same block (or in a block around it), is a
    ``break``, ``raise`` or ``return``. Such code runs at most once per entry into the loop (an
    error message built in a ``raise`` branch, a result computed right before ``return``): each
    execution of it is not one more iteration of a repeated search. Loops *inside* that block
    (a comprehension in the ``return``, a loop before the ``break``) still repeat it."""
    left: list[ast.AST] = []
    reach = 0
    child = node
    for anc in ctx.ancestors(node):
        if isinstance(anc, (*FUNCTIONS, ast.Lambda, ast.ClassDef)):
            break
        # In a `try` body a statement that raises skips the `break` after it, and a handler may
        # let the loop go on (`try: i = xs.index(x); break` / `except ValueError: continue`).
        if isinstance(child, ast.stmt) and not _guards(anc, child, lambda handler: True):
            block = _block_of(anc, child)
            if block is not None:
                after = block[next(i for i, s in enumerate(block) if s is child) :]
                for stmt in after:
                    strength = _REACH.get(type(stmt), 0)
                    if strength:
                        reach = max(reach, strength)
                        break
        if reach:
            if isinstance(anc, ast.For | ast.AsyncFor | ast.While) and not any(child is s for s in anc.orelse):
                if not (isinstance(anc, ast.For | ast.AsyncFor) and (child is anc.iter or child is anc.target)):
                    left.append(anc)
                    if reach == 1:
                        reach = 0  # a `break` leaves the innermost loop only
            elif reach == 2 and _guards(anc, child, lambda handler: True):
                reach = 0  # a handler may catch it, and the loop around goes on
        child = anc
    return left


_TRIES: tuple[type[ast.AST], ...] = tuple(
    kind for kind in (getattr(ast, name, None) for name in ("Try", "TryStar")) if isinstance(kind, type)
)
"""``try`` statements (and ``try*`` from Python 3.11, which has the same fields)."""


def _guards(node: ast.AST, child: ast.AST, catches: Callable[[ast.ExceptHandler], bool]) -> bool:
    """``node`` is a ``try`` whose body holds ``child`` and one of whose handlers ``catches``."""
    if not isinstance(node, _TRIES):
        return False
    stmt = cast(ast.Try, node)
    return any(child is s for s in stmt.body) and any(catches(h) for h in stmt.handlers)


def _block_of(parent: ast.AST, child: ast.stmt) -> list[ast.stmt] | None:
    """The statement list of ``parent`` that holds ``child``."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and any(s is child for s in block):
            return block
    return None


def in_type_error_guard(ctx: Context, node: ast.AST) -> bool:
    """``node`` is in an ``except TypeError`` handler, or in the body of a ``try`` that has one.
    Code there exists because the elements may be unhashable (or unorderable): the set, dict or
    ``Counter`` an ALG rule would propose is what raised, or would raise, the ``TypeError``."""
    child = node
    for anc in ctx.ancestors(node):
        if isinstance(anc, (*FUNCTIONS, ast.Lambda, ast.ClassDef)):
            return False
        if isinstance(anc, ast.ExceptHandler) and _catches_type_error(anc):
            return True
        if _guards(anc, child, _catches_type_error):
            return True
        child = anc
    return False


def _catches_type_error(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    for kind in kinds:
        name = kind.attr if isinstance(kind, ast.Attribute) else kind.id if isinstance(kind, ast.Name) else None
        if name == "TypeError":
            return True
    return False


def rebuilt_in(loop: ast.AST, name: str) -> bool:
    """``name`` is bound inside ``loop``'s body to a fresh value, one that does not read ``name``
    itself (``acc = []``, ``acc = ()``, ``acc = list(row)``; not ``acc = sorted(acc)`` nor
    ``acc = acc + part``, which carry it over). Such a container starts again on every
    iteration (or every group of them): it does not grow across the loop."""
    body = getattr(loop, "body", None)
    if not isinstance(body, list):
        return False
    for stmt in body:
        for sub in walk(stmt):
            value: ast.expr | None = None
            if isinstance(sub, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in sub.targets):
                value = sub.value
            elif isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name) and sub.target.id == name:
                value = sub.value
            elif isinstance(sub, ast.NamedExpr) and sub.target.id == name:
                value = sub.value
            if value is not None and not any(isinstance(n, ast.Name) and n.id == name for n in walk(value)):
                return True
    return False


def loop_target_names(loop: ast.AST) -> set[str]:
    targets: list[ast.expr] = []
    if isinstance(loop, ast.For | ast.AsyncFor):
        targets.append(loop.target)
    elif isinstance(loop, COMPREHENSIONS):
        targets.extend(g.target for g in loop.generators)
    return {n.id for t in targets for n in walk(t) if isinstance(n, ast.Name)}


def assigned_in(node: ast.AST, name: str) -> bool:
    """``name`` is (re)bound somewhere inside ``node`` (loop targets and walrus included)."""
    for sub in walk(node):
        if isinstance(sub, ast.Name) and sub.id == name and not isinstance(sub.ctx, ast.Load):
            return True
        if isinstance(sub, ast.NamedExpr) and sub.target.id == name:
            return True
    return False


@dataclass
class NameUses:
    """Every occurrence of one local name in its function."""

    bindings: list[ast.AST] = field(default_factory=list)
    """Statements or nodes that bind it (``Assign``, ``For``, ``AugAssign``, ``arg``...)."""
    loads: list[ast.Name] = field(default_factory=list)
    escapes_scope: bool = False
    """Declared global/nonlocal, or used by a nested function or class."""


_USES: MemoKey[dict[ast.AST, dict[str, NameUses]]] = MemoKey("alg.name_uses")


def name_uses(ctx: Context, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, NameUses]:
    """Uses of every name in ``fn`` (computed once per function, on demand)."""
    per_ctx = ctx.memo(_USES, dict)
    cached = per_ctx.get(fn)
    if cached is not None:
        return cached
    uses: dict[str, NameUses] = {}

    def get(name: str) -> NameUses:
        u = uses.get(name)
        if u is None:
            u = uses[name] = NameUses()
        return u

    for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs, fn.args.vararg, fn.args.kwarg):
        if a is not None:
            get(a.arg).bindings.append(a)
    stack: list[tuple[ast.AST, bool]] = [(s, False) for s in fn.body]
    while stack:
        node, nested = stack.pop()
        if isinstance(node, ast.Name):
            u = get(node.id)
            if nested:
                u.escapes_scope = True
            elif isinstance(node.ctx, ast.Load):
                u.loads.append(node)
            else:
                parent = ctx.parent(node)
                u.bindings.append(parent if parent is not None else node)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            for n in node.names:
                get(n).escapes_scope = True
        elif isinstance(node, ast.NamedExpr):
            get(node.target.id).bindings.append(node)
            stack.append((node.value, nested))
            continue
        inner = nested or isinstance(node, (*FUNCTIONS, ast.Lambda, ast.ClassDef))
        stack.extend((child, inner) for child in children(node))
    per_ctx[fn] = uses
    return uses


def local_kind(ctx: Context, name: ast.Name) -> str:
    """``ctx.type_of(name)``, or for a function's local whose every plain assignment agrees (and
    whose other bindings are only augmented assignments), that type."""
    from perfsquad.semantics.bindings import agree
    from perfsquad.semantics.types import UNKNOWN, expr_type

    kind = ctx.type_of(name)
    if kind != UNKNOWN:
        return kind
    fn = ctx.function_of(name)
    if fn is None:
        return UNKNOWN
    uses = name_uses(ctx, fn).get(name.id)
    if uses is None or uses.escapes_scope:
        return UNKNOWN
    # Its own bindings (``name_uses``: comprehension targets and uses in nested scopes count
    # against it), the agreement rule of every type inference (``semantics.bindings.agree``).
    kinds: list[str] = []
    for b in uses.bindings:
        if isinstance(b, ast.Assign) and len(b.targets) == 1:
            value = b.value
            if isinstance(value, ast.BinOp) and isinstance(value.left, ast.Name) and value.left.id == name.id:
                continue  # acc = acc + part keeps acc's type (for lists and tuples)
            kinds.append(expr_type(value, ctx.imports))
        elif not isinstance(b, ast.AugAssign):
            return UNKNOWN
    return agree(kinds)


def single_list_binding(ctx: Context, fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.Assign | None:
    """The one ``name = <list>`` statement binding ``name`` in ``fn``, if that is its only binding."""
    uses = name_uses(ctx, fn).get(name)
    if uses is None or uses.escapes_scope or len(uses.bindings) != 1:
        return None
    stmt = uses.bindings[0]
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
        return None
    target = stmt.targets[0]
    if not (isinstance(target, ast.Name) and target.id == name):
        return None
    if ctx.type_of(stmt.value) != "list":
        return None
    return stmt


def method_call_of(ctx: Context, name: ast.Name) -> tuple[str, ast.Call] | None:
    """``(method, call)`` when ``name`` is the receiver of a method call ``name.method(...)``."""
    attr = ctx.parent(name)
    if isinstance(attr, ast.Attribute) and attr.value is name:
        call = ctx.parent(attr)
        if isinstance(call, ast.Call) and call.func is attr:
            return attr.attr, call
    return None


def multi_edit_fix(ctx: Context, replacements: list[tuple[ast.AST, str]], extra: list[Edit], title: str,
                   safety: FixSafety) -> Fix | None:  # fmt: skip
    """Several replacements anywhere in the file, verified by parsing the rewritten module."""
    src = ctx.source
    edits: list[Edit] = []
    pieces: list[tuple[int, int, str]] = []
    for node, text in replacements:
        span = ctx.span(node)
        a, b = src.offset(span.start), src.offset(span.end)
        pieces.append((a, b, text))
        edits.append(minimal_edit(src, a, b, text.replace("\n", src.newline)))
    for e in extra:
        pieces.append((src.offset(e.span.start), src.offset(e.span.end), e.content))
        edits.append(e)
    pieces.sort()
    for (a1, b1, _), (a2, _b2, _) in itertools.pairwise(pieces):
        if b1 > a2 or (a1 == b1 == a2):
            return None
    first, last = pieces[0][0], max(b for _, b, _ in pieces)
    fn = None if extra else _common_function(ctx, [node for node, _ in replacements])
    # The function that holds every replacement, on its own and dedented, is the cheapest text
    # that proves the rewrite parses (a method's class can be thousands of lines); when it does
    # not parse alone (a string with lines left of the def), its top-level statement is checked.
    alone = fn is not None and _parses(textwrap.dedent(_rewritten(src.text, _lines_of(ctx, fn), pieces)))
    if not alone and not _parses(_rewritten(src.text, _top_level_region(ctx, first, last), pieces)):
        return None
    return Fix(title, safety, tuple(edits))


def _rewritten(text: str, region: slice, pieces: list[tuple[int, int, str]]) -> str:
    """``text[region]`` with the (sorted, non-overlapping) replacements inside it applied."""
    lo = region.start or 0
    out = text[region]
    for a, b, new in reversed(pieces):
        out = out[: a - lo] + new + out[b - lo :]
    return out


def _common_function(ctx: Context, nodes: list[ast.AST]) -> ast.AST | None:
    """The innermost ``def`` containing every node (None if there is none, or the context's
    positions may be stale: the editor's)."""
    if not nodes or not ctx.whole:
        return None
    chains = [[a for a in ctx.ancestors(node) if isinstance(a, FUNCTIONS)] for node in nodes]
    for fn in chains[0]:
        if all(any(fn is a for a in chain) for chain in chains[1:]):
            return fn
    return None


def _lines_of(ctx: Context, node: ast.AST) -> slice:
    """Where the whole lines of a statement lie, decorators included."""
    first = statement_start(node)  # type: ignore[arg-type]
    return ctx.source.lines_slice(first, getattr(node, "end_lineno", None) or first)


def _top_level_region(ctx: Context, start: int, end: int) -> slice:
    """Where the whole top-level statements (with the lines up to the next one) around
    ``start..end`` lie. Top-level statements parse independently of each other: edits that leave
    their region parsing leave the module parsing, and the region is all that needs parsing
    again. The whole text when the context's tree may hold stale positions (the editor's)."""
    src = ctx.source
    if not ctx.whole:
        return slice(0, None)
    first, last = src.position(start).line, src.position(end).line
    starts = [statement_start(stmt) for stmt in ctx.tree.body]
    begin = max((line for line in starts if line <= first), default=1)
    after = min((line for line in starts if line > last), default=src.line_count + 1)
    return src.lines_slice(begin, after - 1)


def _parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == 0


def line_start_edit(src: SourceText, line: int, text: str) -> Edit:
    from perfsquad.model import Position, Span

    pos = Position(line, 0)
    return Edit(Span(pos, pos), text)
