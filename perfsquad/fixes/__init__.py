"""Building fixes: minimal text edits on the smallest enclosing statement, verified before use.

Rules describe a rewrite as replacement text for one or more nodes, assembled from the *verbatim*
source of the sub-expressions they keep (so their comments, quoting and formatting survive). This
module turns that into a :class:`~perfsquad.model.Fix` only if

* the rewritten statement still parses, with ``ast`` and as a lossless libcst round trip
  (checked on the statement alone: cheap, and the same grammar as in place);
* every comment of the replaced region is still there (a comment the rewrite would drop is moved
  above the new statement, never lost);
* the edit is minimal (common prefix and suffix trimmed), so editors keep cursors and folds.

Line endings follow the file's (new lines use its dominant ending); a BOM is outside the text
and untouched. ``perfsquad.fixes.apply`` combines and applies fixes to a text; ``perfsquad.autofix``
fixes a whole file until convergence.
"""

from __future__ import annotations

import ast
import io
import textwrap
import tokenize
import warnings

from perfsquad.context import Context
from perfsquad.model import Edit, Fix, FixSafety, Position, Span
from perfsquad.source import SourceText


def minimal_edit(source: SourceText, start: int, end: int, new_text: str) -> Edit:
    """An edit replacing ``text[start:end]`` by ``new_text``, trimmed to what really changes."""
    old = source.text[start:end]
    prefix = 0
    limit = min(len(old), len(new_text))
    while prefix < limit and old[prefix] == new_text[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new_text[len(new_text) - 1 - suffix]:
        suffix += 1
    a = start + prefix
    b = end - suffix
    return Edit(Span(source.position(a), source.position(b)), new_text[prefix : len(new_text) - suffix])


def comments(text: str) -> list[str] | None:
    """The comments in a block of statements, or None when it cannot be tokenized."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(textwrap.dedent(text)).readline)
        return [tok.string for tok in tokens if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return None


def _parses(text: str) -> bool:
    """The rewritten statement parses with ``ast`` *and* round-trips losslessly through libcst.

    libcst is the concrete-syntax check: it keeps every byte (comments, whitespace, quoting), so
    ``parse_module(code).code == code`` proves the statement is well-formed concrete syntax and
    nothing in it is dropped. Only the smallest enclosing statement is parsed, never the file.
    """
    code = textwrap.dedent(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    import libcst

    try:
        return libcst.parse_module(code).code == code
    except (libcst.ParserSyntaxError, RecursionError, MemoryError):
        return False


def line_indent(ctx: Context, node: ast.stmt) -> str:
    line = ctx.source.line(node.lineno)
    return line[: len(line) - len(line.lstrip(" \t"))]


def replace_statements(
    ctx: Context,
    first: ast.stmt,
    last: ast.stmt,
    new_code: str,
    title: str,
    safety: FixSafety,
    extra_edits: tuple[Edit, ...] = (),
) -> Fix | None:
    """Replace the consecutive statements ``first``..``last`` by ``new_code``.

    ``new_code`` is written at column 0 with ``\\n`` line breaks; it is indented like ``first`` and
    given the file's line endings. Returns None when the result would not parse.
    """
    src = ctx.source
    start = src.offset(ctx.span(first).start)
    end = src.offset(ctx.span(last).end)
    indent = line_indent(ctx, first)
    old_region = src.text[start:end]
    old_comments = comments(indent + old_region)
    new_comments = comments(new_code)
    if old_comments is None or new_comments is None:
        return None
    lost = list(old_comments)
    for c in new_comments:
        if c in lost:
            lost.remove(c)
    lines = [*lost, *new_code.split("\n")]
    text = ("\n" + indent).join(lines)
    text = "\n".join(line.rstrip() if not line.strip() else line for line in text.split("\n"))
    if not _parses(indent + text):
        return None
    text = text.replace("\n", src.newline)
    return Fix(title, safety, (minimal_edit(src, start, end, text), *extra_edits))


def replace_node(
    ctx: Context,
    node: ast.AST,
    new_text: str,
    title: str,
    safety: FixSafety,
    statement: ast.stmt | None = None,
) -> Fix | None:
    """Replace one expression (or statement) with ``new_text``; verified on its statement."""
    return replace_spans(ctx, [(ctx.span(node), new_text)], title, safety, statement or _statement_of(ctx, node))


def replace_spans(
    ctx: Context,
    replacements: list[tuple[Span, str]],
    title: str,
    safety: FixSafety,
    statement: ast.stmt,
) -> Fix | None:
    """Several non-overlapping replacements inside one statement, verified together."""
    src = ctx.source
    stmt_span = ctx.span(statement)
    s_start = src.offset(stmt_span.start)
    s_end = src.offset(stmt_span.end)
    ordered = sorted(replacements, key=lambda r: (r[0].start, r[0].end))
    pieces: list[str] = []
    cursor = s_start
    edits: list[Edit] = []
    for span, new_text in ordered:
        a, b = src.offset(span.start), src.offset(span.end)
        if a < cursor or b > s_end:
            return None
        pieces.append(src.text[cursor:a])
        pieces.append(new_text)
        cursor = b
        edits.append(minimal_edit(src, a, b, new_text.replace("\n", src.newline)))
    pieces.append(src.text[cursor:s_end])
    indent = line_indent(ctx, statement)
    new_stmt = "".join(pieces)
    old_comments = comments(indent + src.text[s_start:s_end])
    if old_comments is None or comments(indent + new_stmt) != old_comments:
        return None
    if not _parses(indent + new_stmt):
        return None
    return Fix(title, safety, tuple(edits))


def _statement_of(ctx: Context, node: ast.AST) -> ast.stmt:
    if isinstance(node, ast.stmt):
        return node
    for anc in ctx.ancestors(node):
        if isinstance(anc, ast.stmt):
            return anc
    raise ValueError("node is not inside a statement")


def insert_import(ctx: Context, module: str, name: str) -> tuple[str, Edit | None] | None:
    """How to spell ``module.name`` here, and the edit adding an import if one is needed.

    Returns ``(spelling, edit_or_None)``, or None when the name is taken by something else.
    """
    qualified = f"{module}.{name}"
    if ctx.imports.resolve_name(name) == qualified:
        return name, None
    if ctx.imports.resolve_name(module.split(".")[0]) == module.split(".")[0] and "." not in module:
        return qualified, None
    if ctx.imports.resolve_name(name) is not None or _name_bound(ctx, name):
        return None
    line = _import_insertion_line(ctx)
    if line > ctx.source.line_count:
        return None
    pos = Position(line, 0)
    nl = ctx.source.newline
    return name, Edit(Span(pos, pos), f"from {module} import {name}{nl}")


def _name_bound(ctx: Context, name: str) -> bool:
    return any(n.id == name for n in ctx.nodes(ast.Name)) or any(
        a.arg == name for a in ctx.nodes(ast.arg)
    )


def _import_insertion_line(ctx: Context) -> int:
    """After the module docstring, ``__future__`` imports and the leading block of imports."""
    line = 1
    for stmt in ctx.tree.body:
        if (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
            and stmt is ctx.tree.body[0]
        ) or isinstance(stmt, ast.Import | ast.ImportFrom):
            line = (stmt.end_lineno or stmt.lineno) + 1
            continue
        break
    return line
