"""Shared judgement for the I/O rules: which loop repeats a call, retry loops, independence."""

from __future__ import annotations

import ast

from perfsquad.context import COMPREHENSIONS, Context
from perfsquad.semantics.effects import ROUNDTRIP, Chain, call_target
from perfsquad.semantics.io_catalog import SLEEPS, IOCall, is_insert, sql_text
from perfsquad.syntax import children, walk

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


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in walk(node) if isinstance(n, ast.Name)}


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
    if callee is None or not callee.is_async or ctx.effects.chain(target, ROUNDTRIP) is None:
        return None
    return loop


def chain_notes(chain: Chain, start: str = "loop") -> tuple[str, ...]:
    notes = [f"chain: {chain.describe(start)}"]
    notes.extend(f"{step} at {where}" for step, where in zip(chain.steps, chain.where, strict=False))
    return tuple(notes)
