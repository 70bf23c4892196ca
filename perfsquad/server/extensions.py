"""Extension points: other features add hover text, code lenses, inlay hints and diagnostics.

The contract is documented in :mod:`perfsquad.server` (its docstring). This module holds the
provider types, the read-only :class:`DocumentView` handed to providers, the discovery of
``perfsquad/server/ext_*.py`` modules, and the code that runs providers *isolated*: a provider
that raises is logged (once per provider and error) and skipped; it never breaks a response or
stops diagnostics.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import traceback
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from lsprotocol import types

from perfsquad.model import FileReport, Finding, Position, Span
from perfsquad.profiling.model import Profile
from perfsquad.server.conversions import LineIndex

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DocumentView:
    """One open document as providers see it (read-only).

    Positions in perfsquad units (1-based lines, code point columns) convert to the client's LSP
    units with :meth:`position` / :meth:`range`, and back with :meth:`to_position` / :meth:`to_span`:
    providers never deal with position encodings themselves.
    """

    uri: str
    path: str
    text: str
    version: int | None
    report: FileReport
    """The engine's report for ``text`` (findings before weighing)."""
    findings: tuple[Finding, ...]
    """The findings as published (after the finding weighers)."""
    index: LineIndex

    def position(self, pos: Position) -> types.Position:
        return self.index.position(pos)

    def range(self, span: Span) -> types.Range:
        return self.index.range(span)

    def to_position(self, pos: types.Position) -> Position:
        return self.index.to_position(pos)

    def to_span(self, rng: types.Range) -> Span:
        return self.index.to_span(rng)

    def line(self, line: int) -> str:
        """Line ``line`` (1-based) without its ending."""
        return self.index.line(line - 1)


HoverProvider = Callable[[DocumentView, Position], str | None]
"""``(doc, position) -> Markdown | None``: text appended to the hover at ``position``."""
LensProvider = Callable[[DocumentView], Iterable[types.CodeLens]]
"""``(doc) -> code lenses`` (ranges via ``doc.range``; give each lens a command to be shown)."""
InlayProvider = Callable[[DocumentView, Span], Iterable[types.InlayHint]]
"""``(doc, visible span) -> inlay hints`` (positions via ``doc.position``)."""
FindingWeigher = Callable[[DocumentView, Sequence[Finding]], Sequence[Finding]]
"""``(doc, findings) -> findings``: reorder, re-rate (severity), annotate (notes) or drop findings."""
FunctionFacts = Callable[[DocumentView, int], str | None]
"""``(doc, def line) -> plain text | None``: what a feature knows of the function defined there."""
ExtraDiagnostic = types.Diagnostic | Finding
"""An extra diagnostic: an LSP Diagnostic (client ranges) or a Finding (converted like ours)."""


class ExtensionHost(Protocol):
    """What discovery needs of the server: the list that records the modules registered.

    Each ``register`` receives the whole server (:class:`perfsquad.server.app.PerfsquadServer`,
    the contract in :mod:`perfsquad.server`); discovery itself only appends to ``extensions``, so
    this module, which the server is built on, never imports the server back.
    """

    extensions: list[str]


class ExtensionError(Exception):
    """An ext_*.py module could not be loaded or registered."""


def discover_extensions(server: ExtensionHost, package: str = "perfsquad.server") -> list[str]:
    """Import every ``ext_*`` module of ``package`` and call its ``register(server)``.

    Returns the problems met (one line each); a broken extension is skipped, never fatal.
    """
    problems: list[str] = []
    module = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(getattr(module, "__path__", [])), key=lambda i: i.name):
        if not info.name.startswith("ext_"):
            continue
        name = f"{package}.{info.name}"
        try:
            ext = importlib.import_module(name)
            register = getattr(ext, "register", None)
            if not callable(register):
                raise ExtensionError("it has no register(server) function")
            register(server)
            server.extensions.append(name)
        except Exception as exc:
            logger.exception("perfsquad: extension %s failed", name)
            problems.append(f"perfsquad: extension {name} failed to load: {type(exc).__name__}: {exc}")
    return problems


class Isolation:
    """Runs provider callables, logging each distinct failure once instead of raising."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self._reported: set[tuple[str, str]] = set()

    def call(self, what: str, fn: Callable[..., T], *args: Any) -> T | None:
        try:
            return fn(*args)
        except Exception as exc:
            name = getattr(fn, "__qualname__", repr(fn))
            key = (name, f"{type(exc).__name__}: {exc}")
            if key not in self._reported:
                self._reported.add(key)
                detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=6))
                self.log(f"perfsquad: {what} {name} failed: {key[1]}\n{detail}")
            return None

    def weigh(self, weighers: Sequence[FindingWeigher], doc: DocumentView) -> tuple[Finding, ...]:
        findings: tuple[Finding, ...] = doc.report.findings
        for weigher in list(weighers):
            result = self.call("finding weigher", weigher, doc, findings)
            if result is None:
                continue
            weighed = tuple(result)
            if all(isinstance(f, Finding) for f in weighed):
                findings = weighed
            else:
                self.log(f"perfsquad: finding weigher {weigher!r} returned something other than Findings; ignored")
        return findings

    def hover(self, providers: Sequence[HoverProvider], doc: DocumentView, pos: Position) -> list[str]:
        texts = (self.call("hover provider", p, doc, pos) for p in list(providers))
        return [t for t in texts if isinstance(t, str) and t.strip()]

    def lenses(self, providers: Sequence[LensProvider], doc: DocumentView) -> list[types.CodeLens]:
        found: list[types.CodeLens] = []
        for provider in list(providers):
            found += self._items("code lens provider", provider, types.CodeLens, doc)
        return found

    def facts(self, providers: Sequence[FunctionFacts], doc: DocumentView, line: int) -> list[str]:
        texts = (self.call("function facts provider", p, doc, line) for p in list(providers))
        return [t for t in texts if isinstance(t, str) and t.strip()]

    def inlays(self, providers: Sequence[InlayProvider], doc: DocumentView, span: Span) -> list[types.InlayHint]:
        found: list[types.InlayHint] = []
        for provider in list(providers):
            found += self._items("inlay hint provider", provider, types.InlayHint, doc, span)
        return found

    def _items(self, what: str, fn: Callable[..., Any], kind: type[T], *args: Any) -> list[T]:
        def collect() -> list[T]:
            items = list(fn(*args) or ())
            bad = [i for i in items if not isinstance(i, kind)]
            if bad:
                raise TypeError(f"returned {type(bad[0]).__name__}, expected {kind.__name__}")
            return items

        collect.__qualname__ = getattr(fn, "__qualname__", repr(fn))
        return self.call(what, collect) or []


def extra_for(extras: MutableMapping[str, Sequence[ExtraDiagnostic]], uri: str, path: str) -> list[ExtraDiagnostic]:
    """The extra diagnostics registered for a document (by URI, or by filesystem path)."""
    if not extras:
        return []  # (the usual case, on every publish: no path resolved)
    found = extras.get(uri)
    if found is None:
        found = extras.get(path)
    if found is None and path:
        found = extras.get(os.path.realpath(path))
    return list(found or ())


def loaded_profile(server: Any) -> Profile | None:
    """The newest of the profile extension's loaded profile (``perfsquad.profile``/``loadProfile``)
    and the last audit's: the one profile every extension shows."""
    found = [getattr(getattr(server, name, None), "profile", None) for name in ("profile_state", "audit_state")]
    profiles = [p for p in found if isinstance(p, Profile)]
    return max(profiles, key=lambda p: p.created, default=None)


def workspace_root(server: Any) -> Path | None:
    """The workspace folder the client opened (where ``.perfsquad/`` goes), or None."""
    r = getattr(server.documents, "root", None)
    return Path(r) if r is not None else None
