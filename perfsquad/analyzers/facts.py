"""Helpers for :meth:`perfsquad.rule.Rule.module_facts`: summaries of what one unit of a
module (a top-level ``def``/``class`` or a method) contributes to facts rules read module-wide."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from perfsquad.syntax import children

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def calls_with_loop_flag(unit: ast.AST) -> Iterator[tuple[ast.Call, bool]]:
    """Every call in ``unit`` and whether it runs in a loop of its own function, exactly as
    :meth:`perfsquad.context.Context.loops_around` decides (no parent links needed)."""
    stack: list[tuple[ast.AST, bool]] = [(unit, False)]
    while stack:
        node, looped = stack.pop()
        if isinstance(node, ast.Call):
            yield node, looped
        if isinstance(node, _SCOPES) and node is not unit:
            # Loops outside a nested function do not repeat what runs inside it.
            stack.extend((child, False) for child in children(node))
            continue
        if isinstance(node, ast.For | ast.AsyncFor):
            stack.append((node.target, looped))
            stack.append((node.iter, looped))
            stack.extend((s, True) for s in node.body)
            stack.extend((s, looped) for s in node.orelse)
        elif isinstance(node, ast.While):
            stack.append((node.test, True))
            stack.extend((s, True) for s in node.body)
            stack.extend((s, looped) for s in node.orelse)
        elif isinstance(node, _COMPREHENSIONS):
            first = node.generators[0]
            for child in children(node):
                if child is first:
                    stack.append((first.iter, looped))
                    stack.append((first.target, True))
                    stack.extend((c, True) for c in first.ifs)
                else:
                    stack.append((child, True))
        else:
            stack.extend((child, looped) for child in children(node))
