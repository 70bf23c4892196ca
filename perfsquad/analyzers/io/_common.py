"""Shared judgement for the I/O rules: which loop repeats a call, retry loops, independence."""

from __future__ import annotations

import ast

from perfsquad.context import COMPREHENSIONS, Context
from perfsquad.model import Confidence
from perfsquad.semantics.effects import ROUNDTRIP, Chain, call_target
from perfsquad.semantics.io_catalog import SLEEPS, IOCall, is_insert, sql_text
from perfsquad.semantics.scale import Scale, loop_scale, strongest
from perfsquad.syntax import children, names_in, walk

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_RETRY_WORDS = ("attempt", "retry", "retries", "tries", "backoff")

KIND_WORDS = {
    "db": "database query",
    "http": "HTTP request",
    "vector": "vector-store call",
    "ai": "API call",
}
BATCH_HINTS = {
    "db": "fetch all rows in one query (`WHERE id IN (...)`, `= ANY(%s)`, a JOIN) or write them with `executemany`",
    "http": "request many ids at once if the API allows it, or run the requests concurrently on one session",
    "vector": "use the batch form (`search_batch`/`query_batch_points`, a list of query vectors, one `upsert` of many points)",
    "ai": "send a list of inputs in one call (embeddings accept many inputs)",
}


def enclosing_function(ctx: Context, node: ast.AST) -> ast.AST | None:
    """The innermost function *or lambda* around ``node``."""
    for anc in ctx.ancestors(node):
        if isinstance(anc, _FUNCS):
            return anc
    return None


def repeating_loop(ctx: Context, node: ast.AST) -> ast.AST | None:
    """The innermost ``for``/``async for``/comprehension that runs ``node`` once per item.

    ``while`` loops are left alone: they are polling, pagination and retry loops far more often
    than loops over items, and each iteration usually depends on the previous one.
    """
    loops = ctx.io.loops(node)
    if not loops:
        return None
    inner = loops[0]
    if isinstance(inner, ast.While):
        return None
    return inner


def _sleeps(ctx: Context, loop: ast.AST) -> bool:
    imports = ctx.io.imports
    return any(isinstance(node, ast.Call) and imports.qualified_name(node.func) in SLEEPS for node in walk(loop))


def _exits(body: list[ast.stmt]) -> bool:
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break | ast.Return):
            return True
        if isinstance(node, (*_FUNCS, ast.ClassDef, ast.For, ast.AsyncFor, ast.While)):
            continue
        stack.extend(children(node))
    return False


_BATCH_SQL = ("IN (", "IN(", "ANY(", "ANY (", "VALUES %S", "UNNEST(")
_CHUNK_WORDS = ("chunk", "batch", "page", "slice", "group")


def is_chunked(ctx: Context, loop: ast.AST, call: ast.Call) -> bool:
    """Already batched, one chunk per iteration: the statement takes many ids (``IN (...)``,
    ``= ANY(%s)``), the loop steps through a range in strides, or its variable names a chunk."""
    for arg in call.args[:1]:
        for n in walk(arg):
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and any(
                marker in n.value.upper() for marker in _BATCH_SQL
            ):
                return True
    if isinstance(loop, ast.For | ast.AsyncFor):
        it = loop.iter
        if isinstance(it, ast.Call) and ctx.io.imports.qualified_name(it.func) == "builtins.range" and len(it.args) == 3:
            return True
        names = {n.id.lower() for n in walk(loop.target) if isinstance(n, ast.Name)}
        if any(word in name for name in names for word in _CHUNK_WORDS):
            return True
    return False


def is_retry_loop(ctx: Context, loop: ast.AST, node: ast.AST) -> bool:
    """A retry, backoff or polling loop: it sleeps, its variable says so, or the call sits in a
    ``try`` that leaves the loop on success."""
    if isinstance(loop, ast.For | ast.AsyncFor):
        names = {n.id.lower() for n in walk(loop.target) if isinstance(n, ast.Name)}
        if any(word in name for name in names for word in _RETRY_WORDS):
            return True
    if _sleeps(ctx, loop):
        return True
    for anc in ctx.ancestors(node):
        if anc is loop:
            break
        if isinstance(anc, ast.Try) and (_exits(anc.body) or _exits(anc.orelse)):
            return True
    return False


def loop_names(loop: ast.AST) -> set[str]:
    """Names that change from one iteration to the next: targets and names bound in the body."""
    names: set[str] = set()
    if isinstance(loop, ast.For | ast.AsyncFor):
        parts: list[ast.AST] = [loop.target, *loop.body]
    elif isinstance(loop, COMPREHENSIONS):
        parts = [g.target for g in loop.generators]
    elif isinstance(loop, ast.While):
        parts = list(loop.body)
    else:
        parts = []
    for part in parts:
        for n in walk(part):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load):
                names.add(n.id)
    return names


def insert_execute(ctx: Context, call: ast.Call, found: IOCall | None) -> bool:
    """``<db>.execute("INSERT ...", params)`` (a candidate for ``executemany``)."""
    return (
        found is not None
        and found.op.kind == "db"
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "execute"
        and bool(call.args)
        and is_insert(sql_text(call.args[0], ctx))
    )


def awaited(ctx: Context, call: ast.Call) -> bool:
    return isinstance(ctx.parent(call), ast.Await)


def gather_candidate(ctx: Context, call: ast.Call) -> ast.For | None:
    """The ``for`` loop of an awaited, independent I/O call that could run concurrently."""
    if not awaited(ctx, call):
        return None
    loop = repeating_loop(ctx, call)
    if not isinstance(loop, ast.For) or not isinstance(enclosing_function(ctx, call), ast.AsyncFunctionDef):
        return None
    if isinstance(loop.iter, ast.Call) and ctx.io.imports.qualified_name(loop.iter.func) == "asyncio.as_completed":
        return None
    if loop.orelse or _exits(loop.body) or _sleeps(ctx, loop) or is_retry_loop(ctx, loop, call):
        return None
    if any(isinstance(n, ast.Yield | ast.YieldFrom) for n in walk(loop)):
        return None  # an (async) generator yielding per item: its consumer sets the pace
    # Independent: nothing the call reads is produced by an earlier iteration.
    varying = loop_names(loop) - names_in(loop.target)
    if names_in(call) & varying:
        return None
    found = ctx.io.op_of(call)
    if found is not None:
        if not (found.op.is_async and found.op.kind in KIND_WORDS and found.op.op in ("query", "request")):
            return None
        # One connection runs one query at a time: gathering on it fails or serializes.
        if found.qualified.startswith(("asyncpg.Connection", "psycopg.Async")):
            return None
        return loop
    target = call_target(ctx.io, call)
    if target is None:
        return None
    callee = ctx.effects.lookup(target)
    if callee is None or not callee.is_async:
        return None
    if ctx.effects.chain(target, ROUNDTRIP) is None and not unproven_coroutine(ctx, loop, call, callee.awaits):
        return None
    return loop


_ORDERED_WORDS = frozenset(
    {"send", "write", "emit", "publish", "flush", "drain", "put", "push", "feed", "stream", "lock", "acquire",
     "release", "wait", "sleep", "yield", "close", "shutdown", "stop", "start", "run", "dispatch", "handle"}
)
"""Coroutines whose calls are ordered by nature (writes to one stream, lifecycle steps): running
them concurrently would interleave or reorder them."""


def unproven_coroutine(ctx: Context, loop: ast.For, call: ast.Call, awaits: bool) -> bool:
    """A project coroutine whose I/O is not proven (it awaits an untyped client) awaited per item:
    worth gathering when it suspends at all, is the only await of the loop, and its name says
    nothing of an ordered step (``send``, ``write``, ``flush``...)."""
    if not awaits:
        return False  # never suspends: gathering cannot overlap anything
    if sum(isinstance(n, ast.Await | ast.AsyncWith | ast.AsyncFor) for n in walk(loop)) != 1:
        return False
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    words = {w for w in name.lower().split("_") if w}
    return not words & _ORDERED_WORDS


# -- what the loop's calls really do: concurrency, carried state, explicit one-at-a-time paths ----------

_RUNNERS = frozenset({"asyncio.run", "anyio.run", "trio.run"})
"""Functions that run one coroutine to completion before returning: a coroutine handed to them per
iteration still waits for each round trip in turn."""


def is_async_call(ctx: Context, call: ast.Call, found: IOCall | None) -> bool:
    """The call returns an awaitable: an async client's method or a project ``async def``."""
    if found is not None:
        return found.op.is_async
    target = call_target(ctx.io, call)
    callee = ctx.effects.lookup(target) if target is not None else None
    return callee is not None and callee.is_async


def makes_coroutine(ctx: Context, call: ast.Call, found: IOCall | None) -> bool:
    """An async call that is not awaited where it is made: per iteration it only *builds* a coroutine,
    which ``asyncio.gather(*(...))``, ``TaskGroup.create_task``, ``asyncio.create_task``,
    ``asyncio.as_completed`` or ``asyncio.wait`` then run concurrently. The loop makes no round trip
    of its own, so it is not N+1 (IO002 reports awaits that wait one at a time).

    A coroutine handed to ``asyncio.run``/``loop.run_until_complete`` runs to completion before the
    next iteration: that is still one round trip at a time.
    """
    parent = ctx.parent(call)
    if isinstance(parent, ast.Await) or not is_async_call(ctx, call, found):
        return False
    if isinstance(parent, ast.Call) and call in parent.args:
        func = parent.func
        if isinstance(func, ast.Attribute) and func.attr == "run_until_complete":
            return False
        if ctx.io.imports.qualified_name(func) in _RUNNERS:
            return False
    return True


def _dotted(node: ast.AST) -> str | None:
    """``url``, ``self.cursor``, ``state.page.token``: a name or an attribute chain on one."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _statement_of(ctx: Context, node: ast.AST, loop: ast.AST) -> ast.stmt | None:
    """The innermost statement around ``node`` inside ``loop`` (None outside it)."""
    for anc in [node, *ctx.ancestors(node)]:
        if anc is loop:
            return None
        if isinstance(anc, ast.stmt):
            return anc
    return None


def _assigned(node: ast.AST) -> tuple[list[ast.expr], ast.expr | None]:
    """The targets and the value of an assignment-like node (``=``, ``+=``, ``x: T = v``, ``:=``,
    ``with v as x``), or ``([], None)``."""
    if isinstance(node, ast.Assign):
        return list(node.targets), node.value
    if isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr):
        return [node.target], node.value
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [node.optional_vars], node.context_expr
    return [], None


def _position(node: ast.AST) -> tuple[int, int]:
    """Where an assignment-like node starts (a ``with`` item by its expression)."""
    at = node.context_expr if isinstance(node, ast.withitem) else node
    return (getattr(at, "lineno", 0), getattr(at, "col_offset", 0))


def _stored(target: ast.expr) -> set[str]:
    """The names and attribute chains a target rebinds (``x``, ``self.x``, both of ``a, b``; not
    ``d`` nor ``k`` of ``d[k] = v``, which mutates ``d``)."""
    return {
        d
        for n in walk(target)
        if isinstance(n, ast.Name | ast.Attribute) and isinstance(n.ctx, ast.Store) and (d := _dotted(n)) is not None
    }


def carried_names(ctx: Context, loop: ast.AST, call: ast.Call) -> list[str]:
    """What the call's arguments read that an earlier iteration set from the call's own response:
    ``url`` in ``resp = s.get(url); url = resp.json()["next"]``, a cursor or page token. Each request
    then needs the previous response (page-following), so the requests cannot be batched or run
    concurrently.

    A name assigned in the body *before* the call (``url = base + str(i)``) is fresh in every
    iteration, and one updated from something else than the response (a counter, ``n += 1``) is
    not an answer to wait for: neither carries a dependency.
    """
    if not isinstance(loop, ast.For | ast.AsyncFor):
        return []
    stmt = _statement_of(ctx, call, loop)
    if stmt is None:
        return []
    start = (stmt.lineno, stmt.col_offset)
    args: list[ast.AST] = [*call.args, *(kw.value for kw in call.keywords)]
    reads = {d for a in args for n in walk(a) if isinstance(n, ast.Name | ast.Attribute) and (d := _dotted(n))}
    if not reads:
        return []
    targets = {d for n in walk(loop.target) if (d := _dotted(n)) is not None}
    before: set[str] = set()
    assignments: list[ast.AST] = []
    for part in loop.body:
        for n in walk(part):
            if isinstance(n, ast.Name | ast.Attribute) and isinstance(n.ctx, ast.Store | ast.Del):
                d = _dotted(n)
                if d is not None and (n.lineno, n.col_offset) < start:
                    before.add(d)
            if _assigned(n)[1] is not None:
                assignments.append(n)
    assignments.sort(key=_position)
    # Names holding the response or something computed from it, followed through the body (twice:
    # the body runs again, so an assignment above the call can read a name set below it).
    response: set[str] = set()
    for _ in range(2):
        for node in assignments:
            names, value = _assigned(node)
            assert value is not None
            if any(n is call for n in walk(value)) or any(
                (d := _dotted(n)) is not None and d in response
                for n in walk(value)
                if isinstance(n, ast.Name | ast.Attribute)
            ):
                response |= {d for t in names for d in _stored(t)}
    after = {
        d
        for node in assignments
        if _position(node) >= start
        for t in _assigned(node)[0]
        for d in _stored(t)
    }
    return sorted((reads & after & response) - before - targets)


_BATCH_FLAGS = ("batch", "bulk", "executemany")


def _batch_flag(node: ast.expr) -> bool:
    dotted = _dotted(node)
    return dotted is not None and any(word in dotted.rsplit(".", 1)[-1].lower() for word in _BATCH_FLAGS)


def _says_unbatched(test: ast.expr) -> bool:
    """``not batch``, ``not self.mapper.batch``, ``batch is False``, ``batch == False`` (also inside ``and``)."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_says_unbatched(v) for v in test.values)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return _batch_flag(test.operand)
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Is | ast.Eq):
        right = test.comparators[0]
        return _batch_flag(test.left) and isinstance(right, ast.Constant) and right.value is False
    return False


def _says_batched(test: ast.expr) -> bool:
    """``if batch:`` / ``if self.bulk:``: its ``else`` branch is the one-at-a-time path."""
    return _batch_flag(test)


def unbatched_path(ctx: Context, loop: ast.AST, call: ast.Call) -> str | None:
    """Why this loop is the code's *explicit* one-at-a-time path, or None.

    The call passes ``batch=False``/``bulk=False``/``single=True``, or the loop sits under
    ``if not batch:`` (``if batch is False:``, the ``else`` of ``if batch:``): the author chose one
    statement per item (per-row events, per-row error handling), usually next to a batched path.
    Batching would break that contract, so the finding is weak evidence at most.
    """
    for kw in call.keywords:
        if not isinstance(kw.value, ast.Constant) or kw.arg is None:
            continue
        if kw.arg.lower() in ("batch", "bulk") and kw.value.value is False:
            return f"the call passes `{kw.arg}=False`"
        if kw.arg.lower() in ("single", "one_by_one") and kw.value.value is True:
            return f"the call passes `{kw.arg}=True`"
    child: ast.AST = loop
    for anc in ctx.ancestors(loop):
        if isinstance(anc, (*_FUNCS, ast.ClassDef)):
            break
        if isinstance(anc, ast.If):
            if child in anc.body and _says_unbatched(anc.test):
                return f"the loop is the `if {ctx.text(anc.test)}:` path"
            if child in anc.orelse and _says_batched(anc.test):
                return f"the loop is the `else` of `if {ctx.text(anc.test)}:`"
        child = anc
    return None


def one_off_module(ctx: Context) -> str | None:
    """The module is a schema/data migration: it runs once per database, not per request."""
    for stmt in ctx.tree.body:
        module = (stmt.module or "") if isinstance(stmt, ast.ImportFrom) else ""
        if module == "alembic" or module.startswith("alembic."):
            return "an Alembic migration (runs once per database)"
        if (
            isinstance(stmt, ast.ClassDef)
            and stmt.name == "Migration"
            and any(isinstance(b, ast.Attribute) and b.attr == "Migration" for b in stmt.bases)
        ):
            return "a Django migration (runs once per database)"
    return None


# -- evidence of scale: how many times the loop's I/O runs --------------------------------------------


def loop_evidence(ctx: Context, loop: ast.AST) -> Scale:
    """The scale of one loop: a statement loop's own, a comprehension's strongest generator (the
    element runs once per combination of them)."""
    if isinstance(loop, COMPREHENSIONS):
        return strongest(*(loop_scale(g, ctx) for g in loop.generators))
    if isinstance(loop, ast.For | ast.AsyncFor | ast.While):
        return loop_scale(loop, ctx)
    return Scale(Confidence.MEDIUM, "size unknown")


def repeat_scale(ctx: Context, node: ast.AST) -> Scale:
    """How sure we are that ``node`` (an I/O call in loops) runs many times, and why: the strongest
    of the loops around it (nested loops multiply, any growing one is enough), lowered to ``low`` in
    a migration, which runs once per database whatever it iterates."""
    loops = ctx.io.loops(node)
    scale = strongest(*(loop_evidence(ctx, loop) for loop in loops)) if loops else Scale(Confidence.MEDIUM, "")
    once = one_off_module(ctx)
    if once is not None:
        return Scale(Confidence.LOW, f"{scale.evidence}; in {once}")
    return scale


def chain_notes(chain: Chain, start: str = "loop") -> tuple[str, ...]:
    notes = [f"chain: {chain.describe(start)}"]
    notes.extend(f"{step} at {where}" for step, where in zip(chain.steps, chain.where, strict=False))
    return tuple(notes)
