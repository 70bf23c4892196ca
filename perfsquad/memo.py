"""Per-module facts kept on a module's tree (:class:`~perfsquad.tree.ModuleTree`, which every :class:`~perfsquad.context.Context` is): ``ctx.memo(key, factory, carry=...)``.

A rule or a semantic layer that wants to remember something about the module under analysis (an
index, a table of inferred types, an estimator) asks ``ctx.memo(KEY, factory)``: the value is
built by ``factory()`` on the first question and kept for the context's life. ``KEY`` is a
:class:`MemoKey`, a module-level constant of the module that owns the fact, so two rules never
share a slot by accident (keys compare by identity, never by name).

The facts live on the context and nowhere else: ``Context.release()`` drops them with everything
else, so no table keyed by a context or a tree outlives the module it describes.

The editor's incremental analyzer (``perfsquad.incremental``) replaces the context after an edit
that stays inside one top-level block with a new context of the edited module. What happens to a
memo then is its ``carry`` policy, given on the call that computes it:

* ``None`` (the default): dropped; the new context computes it again if a rule asks.
* a :data:`Carry` callable ``carry(old_value, old_ctx, new_ctx, edit) -> new_value | None``: called
  once the analyzer knows the edit is local (the unit's signature and every rule's
  ``module_facts`` are unchanged); it returns the value for the new context (adapted to the edit,
  e.g. without the facts of the replaced unit) or None to drop it. :func:`keep` carries the value
  as it is (for facts that ``module_facts`` already proves unchanged).

A carried value replaces one the new context computed while the analyzer was checking the edit
(both are right; the carried one usually holds more). The analyzer also carries the memos of a
context into the context it builds to read a unit's facts before that unit's first edit: a
no-op :class:`EditedUnit` (``old is new``), so a carry must accept one.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class MemoKey(Generic[T]):
    """Names one per-module fact (of type ``T``); compared by identity. ``name`` is for debugging."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"MemoKey({self.name!r})"


@dataclass(frozen=True)
class EditedUnit:
    """What an incremental edit replaced: ``old`` (a top-level ``def``/``class``, or a method of a
    top-level class; for a structural edit, a stand-in module holding a run of them) by ``new``, with ``text``, the source of ``new`` in the new module. For a
    method, ``old_owner`` is its class in the old tree and ``owner`` the class in the new one (a
    shallow copy holding ``new``); both None for a top-level block."""

    old: ast.stmt | ast.Module
    new: ast.stmt | ast.Module
    text: str
    old_owner: ast.ClassDef | None = None
    owner: ast.ClassDef | None = None
    rebinds: bool = False
    """A structural edit (``perfsquad.incremental``'s splice): ``old`` and ``new`` are stand-in
    modules holding the runs of statements replaced and inserted, and the names these bind in
    the module may differ (the analyzer proved nothing else reads them): facts about the module's
    own scope are computed again."""


Carry = Callable[[T, Any, Any, EditedUnit], "T | None"]
"""``carry(old_value, old_ctx, new_ctx, edit)``: the value for ``new_ctx``, or None to drop it."""


def keep(value: T, old: Any, new: Any, edit: EditedUnit) -> T:
    """The carry policy of a fact the edit cannot change (``module_facts`` proved it): as it is."""
    return value


class Memos:
    """The memo table of one context: values by key, and the carry policy of those that have one."""

    __slots__ = ("carries", "values")

    def __init__(self) -> None:
        self.values: dict[MemoKey[Any], Any] = {}
        self.carries: dict[MemoKey[Any], Carry[Any]] = {}

    def carry_into(self, old: Any, new: Any, edit: EditedUnit) -> None:
        """Give ``new`` (which replaces ``old`` after ``edit``) what each policy carries over."""
        target = new._memos
        for key, carry in self.carries.items():
            value = carry(self.values[key], old, new, edit)
            if value is not None:
                target.values[key] = value
                target.carries[key] = carry
