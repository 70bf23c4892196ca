"""Code actions: per-finding quick fixes, "ignore on this line", and ``source.fixAll.perfsquad``.

Every action is first built *without* its edit, with what is needed to compute it in ``data``;
:func:`resolve_edits` computes the edit. Clients that support ``codeAction/resolve`` for ``edit``
get the light actions and resolve the one the user picks; for the others the server resolves them
all before answering.

The server analyzes edits without building fixes: a diagnostic only says its finding is fixable.
A code action request builds the fixes of the findings it is about (a :data:`FixBuilder`: a
re-analysis of the document's current text by those findings' rules, kept for that text), so a
fix that turns out impossible is never offered; resolving turns the built fix into edits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from perfsquad.config import Config
from perfsquad.model import Finding, Fix, FixSafety
from perfsquad.server.conversions import Encoding, LineIndex, to_units
from perfsquad.server.diagnostics import (
    PARSE_ERROR_CODE,
    SOURCE,
    diagnostic_key,
    finding_key,
    fix_edits,
    offered_fix,
    parse_fix_data,
    parse_range,
    range_json,
    range_key,
)
from perfsquad.server.documents import Analysis
from perfsquad.source import SourceText

QUICKFIX = types.CodeActionKind.QuickFix.value
FIX_ALL = "source.fixAll.perfsquad"
KINDS = (types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, FIX_ALL)
_IGNORE_RE = re.compile(r"#\s*perfsquad:\s*ignore\[([^\]]*)\]", re.IGNORECASE)
_CODE_RE = re.compile(r"^[A-Z]+[0-9]+$")


class StaleDocument(Exception):
    """The document changed since the action was offered."""


FixBuilder = Callable[[Collection[str]], Sequence[Finding]]
"""The findings of the given rule codes in a snapshot's text, with their fixes built."""
BuiltFixes = dict[tuple[object, ...], Fix]
"""Built fixes by :func:`diagnostic_key` of their finding's diagnostic."""


@dataclass(frozen=True)
class Snapshot:
    """The current state of one open document, as actions see it."""

    uri: str
    path: str
    text: str
    version: int | None
    encoding: Encoding

    def index(self) -> LineIndex:
        return LineIndex.of(self.text, self.encoding)


def wanted(kind: str, only: Sequence[str] | None) -> bool:
    if not only:
        return True
    return any(o == "" or kind == o or kind.startswith(f"{o}.") for o in map(str, only))


def _action(
    title: str, kind: str, data: dict[str, Any], diagnostic: types.Diagnostic | None = None, preferred: bool = False
) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=kind,
        diagnostics=[diagnostic] if diagnostic is not None else None,
        is_preferred=True if preferred else None,
        data=data,
    )


def offered(snap: Snapshot, diagnostic: types.Diagnostic, data: Any) -> bool:
    """Whether a diagnostic of ours says, for the snapshot's version, that its finding has a fix
    worth offering (a display-only one never is)."""
    fix = parse_fix_data(data)
    if fix is None or fix.safety is FixSafety.DISPLAY_ONLY:
        return False
    # A diagnostic older than the text: its finding may have moved or gone.
    return fix.version is None or snap.version is None or fix.version == snap.version


def quick_fix(snap: Snapshot, diagnostic: types.Diagnostic, data: Any, built: BuiltFixes) -> types.CodeAction | None:
    if not offered(snap, diagnostic, data):
        return None
    fix = built.get(diagnostic_key(diagnostic))
    if fix is None or not fix.edits or fix.safety is FixSafety.DISPLAY_ONLY:
        return None  # impossible when built for this text: no quick fix rather than a broken one
    title = f"Fix {diagnostic.code}: {fix.title}" + (" (unsafe)" if fix.safety is FixSafety.UNSAFE else "")
    payload = {"uri": snap.uri, "version": snap.version, "action": "fix", "code": str(diagnostic.code),
               "range": range_json(diagnostic.range)}  # fmt: skip
    return _action(title, QUICKFIX, payload, diagnostic, preferred=fix.safety is FixSafety.SAFE)


def ignore_action(snap: Snapshot, diagnostic: types.Diagnostic) -> types.CodeAction | None:
    code = str(diagnostic.code or "")
    if not _CODE_RE.match(code):
        return None
    payload = {"uri": snap.uri, "version": snap.version, "action": "ignore", "code": code,
               "line": diagnostic.range.start.line}  # fmt: skip
    return _action(f"Ignore {code} on this line", QUICKFIX, payload, diagnostic)


def fix_all_action(snap: Snapshot) -> types.CodeAction:
    payload = {"uri": snap.uri, "version": snap.version, "action": "fixAll"}
    return _action("Fix all safe perfsquad findings", FIX_ALL, payload)


def has_safe_fix(analysis: Analysis | None) -> bool:
    """Whether Fix All is worth offering: a finding whose fix may be safe (the rule's safety is the
    best its fixes can have; Fix All builds them when asked, and may then find nothing to do)."""
    if analysis is None:
        return False
    return any((o := offered_fix(f)) is not None and o[1] is FixSafety.SAFE for f in analysis.report.findings)


def _ours(params: types.CodeActionParams, analysis: Analysis | None) -> list[tuple[types.Diagnostic, Any]]:
    """The request's diagnostics that are our findings, each with its ``data``."""
    found = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != SOURCE or diagnostic.code == PARSE_ERROR_CODE:
            continue
        data = diagnostic.data
        if data is None and analysis is not None:  # a client that does not send `data` back
            data = analysis.data_for(diagnostic)
        found.append((diagnostic, data))
    return found


def fix_codes(snap: Snapshot, params: types.CodeActionParams, analysis: Analysis | None) -> set[str]:
    """The rules whose fixes a code action request needs built (none when it wants no quick fix)."""
    if not wanted(QUICKFIX, params.context.only):
        return set()
    return {str(d.code) for d, data in _ours(params, analysis) if offered(snap, d, data)}


def built_fixes(snap: Snapshot, codes: Collection[str], build: FixBuilder) -> BuiltFixes:
    """The fixes of the rules ``codes`` in the snapshot's text, by diagnostic key (blocking)."""
    if not codes:
        return {}
    index = snap.index()
    return {finding_key(f, index): f.fix for f in build(codes) if f.fix is not None}


def code_actions(
    snap: Snapshot, params: types.CodeActionParams, analysis: Analysis | None, built: BuiltFixes
) -> list[types.CodeAction]:
    """The unresolved actions for a request (no edits yet); ``built``: the fixes of the request's
    findings (see :func:`fix_codes`)."""
    only = params.context.only
    actions: list[types.CodeAction] = []
    if wanted(QUICKFIX, only):
        for diagnostic, data in _ours(params, analysis):
            actions += [a for a in (quick_fix(snap, diagnostic, data, built), ignore_action(snap, diagnostic)) if a]
    if wanted(FIX_ALL, only) and has_safe_fix(analysis):
        actions.append(fix_all_action(snap))
    return actions


# --- edits ---------------------------------------------------------------------------------


def ignore_edit(line: str, line0: int, code: str, encoding: Encoding) -> types.TextEdit | None:
    """Append ``# perfsquad: ignore[CODE]`` to a line, or add CODE to the comment already there."""
    m = _IGNORE_RE.search(line)
    if m is not None:
        codes = [c for c in re.split(r"[\s,]+", m.group(1)) if c]
        if code in (c.upper() for c in codes):
            return None
        start, end = m.span(1)
        new_text = ", ".join([*codes, code])
    else:
        content = line.rstrip()
        if content.endswith("\\"):
            return None  # a comment after a line continuation would break the code
        start, end = len(content), len(line)
        new_text = f"  # perfsquad: ignore[{code}]"
    rng = types.Range(
        start=types.Position(line=line0, character=to_units(line, start, encoding)),
        end=types.Position(line=line0, character=to_units(line, end, encoding)),
    )
    return types.TextEdit(range=rng, new_text=new_text)


def minimal_edit(old: str, new: str, encoding: Encoding) -> types.TextEdit:
    """One edit turning ``old`` into ``new``: the span between their common prefix and suffix."""
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    if prefix and old[prefix - 1] == "\r":  # never split a \r\n pair
        prefix -= 1
    end = len(old) - suffix
    if suffix and 0 < end < len(old) and old[end - 1] == "\r" and old[end] == "\n":
        suffix -= 1
        end += 1
    source = SourceText.from_text(old)
    index = LineIndex.of(old, encoding)
    rng = types.Range(start=index.position(source.position(prefix)), end=index.position(source.position(end)))
    return types.TextEdit(range=rng, new_text=new[prefix : len(new) - suffix])


def fix_all_edit(text: str, path: str, config: Config, encoding: Encoding) -> types.TextEdit | None:
    """Every safe fix applied (to convergence) as one edit; None when nothing changes. Slow: off-loop.
    Analyzed with the document's project index (the one its ``DocumentAnalyzer`` attaches, shared
    per project root and already built), as its diagnostics are."""
    from perfsquad.autofix import fix_text
    from perfsquad.workspace import index_for

    result = fix_text(text, path, config, project=index_for(path, config))
    if result.applied == 0 or result.text == text:
        return None
    return minimal_edit(text, result.text, encoding)


def workspace_edit(snap: Snapshot, edits: Sequence[types.TextEdit], document_changes: bool) -> types.WorkspaceEdit:
    if document_changes and snap.version is not None:
        doc = types.OptionalVersionedTextDocumentIdentifier(uri=snap.uri, version=snap.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=doc, edits=list(edits))])
    return types.WorkspaceEdit(changes={snap.uri: list(edits)})


def resolve_edits(snap: Snapshot, data: Any, config: Config, build: FixBuilder) -> list[types.TextEdit]:
    """The edits of an action from its ``data`` (blocking). Raises StaleDocument / ValueError."""
    if not isinstance(data, dict) or data.get("uri") != snap.uri:
        raise ValueError("not a perfsquad code action")
    if data.get("version") != snap.version:
        raise StaleDocument(snap.uri)
    kind = data.get("action")
    if kind == "fix":
        code, rng = data.get("code"), parse_range(data.get("range"))
        if not isinstance(code, str) or not _CODE_RE.match(code) or rng is None:
            raise ValueError("malformed fix in code action data")
        fix = built_fixes(snap, [code], build).get(range_key(code, rng))
        if fix is None:  # same text, but not the same finding: the settings changed since
            raise StaleDocument(snap.uri)
        return fix_edits(fix, snap.index())
    if kind == "ignore" and isinstance(data.get("line"), int) and _CODE_RE.match(str(data.get("code"))):
        line0 = data["line"]
        edit = ignore_edit(snap.index().line(line0), line0, str(data["code"]), snap.encoding)
        return [edit] if edit is not None else []
    if kind == "fixAll":
        edit = fix_all_edit(snap.text, snap.path, config, snap.encoding)
        return [edit] if edit is not None else []
    raise ValueError(f"unknown perfsquad code action {kind!r}")
