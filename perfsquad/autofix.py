"""Fixing: apply every allowed fix, analyze again, repeat until nothing is left to fix. The one
door for ``check --fix``/``--diff`` (:func:`fix_paths`) and the server's Fix All (:func:`fix_text`).

Each re-analysis runs with the workspace index when there is one: the rules that read it (the
cross-module I/O rules, those with ``Rule.reads_project``) find what a plain ``check`` finds, and some
of them offer (unsafe) fixes, so which fixes a pass applies can depend on it.

The reports ``fix_paths`` returns after writing come from running ``api.analyze_paths`` again
over the same paths: exactly what a plain ``check`` of the fixed tree gives. Fixing one file can
change its effect summary and so the cross-module findings of files that were not fixed, and
only linking the whole tree again sees that; with the cache, only the fixed files (and the few
their changes make stale) are analyzed again.

The pure text operations (selecting non-overlapping fixes, applying edits) are in
:mod:`perfsquad.fixes.apply`; this module sits at the api level, beside ``api`` (nothing below
imports it; it builds on ``api`` for the re-analysis of paths).
"""

from __future__ import annotations

import ast
import codecs
import io
import stat
import tempfile
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfsquad import notebook
from perfsquad.config import Config
from perfsquad.fixes.apply import allowed, apply_edits, parses, select_fixes
from perfsquad.model import Edit, FileReport, Fix

if TYPE_CHECKING:
    from perfsquad.api import ProgressFn
    from perfsquad.rule import Rule
    from perfsquad.semantics.index import ProjectIndex

MAX_PASSES = 12


@dataclass(frozen=True)
class FixResult:
    text: str
    applied: int
    report: FileReport
    """The report of the final text (what is left), analyzed with the index given."""
    converged: bool


def fix_text(
    text: str,
    path: str,
    config: Config | None = None,
    *,
    unsafe: bool = False,
    rules: tuple[type[Rule], ...] | None = None,
    project: ProjectIndex | None = None,
    keep: Callable[[str, Fix], bool] | None = None,
) -> FixResult:
    """Apply every allowed fix, re-analyzing (with ``project``, the workspace index, if given)
    after each pass, until nothing is left to fix or ``MAX_PASSES`` passes ran. ``keep(text, fix)``:
    whether a fix may be applied to ``text`` (a notebook's fixes must stay inside one cell)."""
    from perfsquad.engine import analyze_text

    if rules is None:  # the engine runs the rules its caller gives: here, the whole registry
        from perfsquad.analyzers import RULES

        rules = RULES
    original = text
    applied = 0
    converged = False
    report = analyze_text(text, path, config, rules=rules, project=project)
    for _ in range(MAX_PASSES):
        findings = report.findings
        if keep is not None:
            findings = tuple(f for f in findings if f.fix is None or keep(text, f.fix))
        fixes = select_fixes(text, findings, unsafe)
        if not fixes:
            converged = True
            break
        candidate = apply_edits(text, [e for f in fixes for e in f.edits])
        if not parses(candidate):
            # Should not happen (each fix was verified alone); fall back to one fix at a time.
            candidate = apply_edits(text, fixes[0].edits)
            if not parses(candidate):
                break
            fixes = fixes[:1]
        text = candidate
        applied += len(fixes)
        report = analyze_text(text, path, config, rules=rules, project=project)
    if project is not None and project.live and text != original:
        _record_again(original, path, config, project)
    return FixResult(text, applied, report, converged)


def _record_again(text: str, path: str, config: Config | None, project: ProjectIndex) -> None:
    """An editor's (live) index takes every analyzed text of a module as that module's current
    version: after fixing, that would be a text the editor does not have (the fix is only offered).
    Analyzing the document's text again, with no rule, makes it the current version again."""
    from perfsquad.engine import analyze_text

    analyze_text(text, path, config, want_fixes=False, rules=(), project=project)


@dataclass(frozen=True)
class FileFix:
    """One file fixed: its text before and after (decoded, BOM not included)."""

    path: str
    before: str
    after: str
    applied: int
    converged: bool


def fix_file(
    path: Path,
    config: Config | None = None,
    *,
    unsafe: bool = False,
    project: ProjectIndex | None = None,
    write: bool = True,
    within: Iterable[Path] | None = None,
) -> FileFix | None:
    """Fix one file; with ``write``, replace it (atomically: ``files.write_atomically``) with the
    fixed text in its own encoding, BOM, line endings and permission bits. None when nothing
    changes, or the file cannot be read or decoded (a plain analysis reports why).

    ``within``: the trees being fixed. A file reached through a symlink is rewritten only when the
    file it points to lies inside one of them; otherwise :class:`OutsideTree` is raised and nothing
    is written (a cloned repository's ``.py`` link must never make ``--fix`` rewrite a file
    elsewhere). If the file changed on disk while it was being fixed (an editor saved it),
    :class:`ChangedWhileFixing` is raised and the user's version is kept. A write that fails
    (read-only file, full disk, ``ulimit -f``) raises :class:`FixFailed`; the file is unchanged."""
    from perfsquad.source import SourceDecodeError, decode_source

    try:
        target = path.resolve()  # a symlink stays a symlink: the file it points to is rewritten
    except (OSError, RuntimeError):  # (RuntimeError: a symlink loop, before Python 3.13)
        return None
    if within is not None and target != path.absolute() and not _inside(target, within):
        raise OutsideTree(f"{path}: not fixed, it is a symlink to {target}, outside the checked tree")
    if notebook.is_notebook(str(path)):
        return _fix_notebook(path, target, config, unsafe=unsafe, project=project, write=write)
    try:
        data = target.read_bytes()
        text, had_bom = decode_source(data)
    except (OSError, SourceDecodeError):
        return None
    result = fix_text(text, str(path), config, unsafe=unsafe, project=project)
    if result.applied == 0 or result.text == text:
        return None
    if write:
        try:
            out = result.text.encode(_encoding_of(data))
        except UnicodeEncodeError:
            return None  # (a fix never adds characters the file's encoding lacks; never write a broken file)
        _replace(path, target, (codecs.BOM_UTF8 if had_bom else b"") + out, data)
    return FileFix(str(path), text, result.text, result.applied, result.converged)


def _replace(path: Path, target: Path, new: bytes, read: bytes, mode: int | None = None) -> None:
    """Replace ``target`` with ``new`` atomically unless it is no longer ``read`` (saved meanwhile:
    :class:`ChangedWhileFixing`); a failed write is :class:`FixFailed`. ``path`` names it."""
    from perfsquad.files import ChangedOnDisk, WriteError, write_atomically

    try:
        write_atomically(target, new, mode=mode, expect=read)
    except ChangedOnDisk as exc:
        raise ChangedWhileFixing(f"{path}: not fixed, it changed on disk while being fixed (kept as saved)") from exc
    except WriteError as exc:
        raise FixFailed(f"{path}: not fixed: {exc}") from exc


def write_edits(path: Path, edits: Iterable[Edit], within: Iterable[Path] | None = None) -> None:
    """Apply ``edits`` (positions of the decoded text, as findings give them; non-overlapping) to
    ``path`` and write it back like :func:`fix_file`: its encoding, BOM and line endings kept,
    checked to parse, atomically, never through a symlink out of ``within``, never over a version
    saved meanwhile. Raises :class:`FixSkipped` / :class:`FixFailed` (the message says why)."""
    from perfsquad.source import SourceDecodeError, decode_source

    target = path.resolve()
    if within is not None and target != path.absolute() and not _inside(target, within):
        raise OutsideTree(f"{path}: not fixed, it is a symlink to {target}, outside the checked tree")
    try:
        data = target.read_bytes()
        text, had_bom = decode_source(data)
        fixed = apply_edits(text, edits)
        compile(fixed, str(path), "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
        out = fixed.encode(_encoding_of(data))
    except (OSError, SourceDecodeError, ValueError, SyntaxError, UnicodeEncodeError) as exc:
        raise FixFailed(f"{path}: not fixed: {exc}") from exc
    _replace(path, target, (codecs.BOM_UTF8 if had_bom else b"") + out, data)


def _fix_notebook(
    path: Path, target: Path, config: Config | None, *, unsafe: bool, project: ProjectIndex | None, write: bool
) -> FileFix | None:
    """Fix a notebook's code cells (as the one module they make) and write back only the changed
    cells' ``source`` values in the file's own JSON layout (``perfsquad.notebook.splice``); the
    result must pass nbformat's validation or nothing is written. A fix spanning two cells is
    never applied. ``FileFix.before``/``after`` are the file's JSON texts (``--diff`` shows them)."""

    try:
        data = target.read_bytes()
        raw = data.decode("utf-8")
        mode = stat.S_IMODE(target.stat().st_mode)
        module = notebook.virtual_module(notebook.read_cells(raw.removeprefix("\ufeff")))
    except (OSError, UnicodeDecodeError, notebook.NotebookError):
        return None
    if not module.cells:
        return None

    fixed = fix_cells(module, str(path), config, unsafe=unsafe, project=project)
    if fixed is None:
        return None
    changed, result = fixed
    try:
        after = notebook.splice(raw, changed)
        notebook.validate(after.removeprefix("\ufeff"))
    except notebook.NotebookError:
        return None
    if write:
        _replace(path, target, after.encode("utf-8"), data, mode)
    return FileFix(str(path), raw, after, result.applied, result.converged)


def fix_cells(
    module: notebook.VirtualModule,
    path: str,
    config: Config | None = None,
    *,
    unsafe: bool = False,
    project: ProjectIndex | None = None,
) -> tuple[dict[int, str], FixResult] | None:
    """Fix a notebook's code cells (``module``: the virtual module they make); the new source of
    each changed cell by cell index, or None when nothing changes. A fix whose edits leave one
    cell is never applied (it would join or split cells). ``check --fix`` and the editor's
    Fix All of a notebook both come here."""

    def within_one_cell(text: str, fix: Fix) -> bool:
        ranges = notebook.cell_ranges(text)
        for edit in fix.edits:
            if not any(first <= edit.span.start.line and edit.span.end.line <= last for _, first, last in ranges):
                return False
        return True

    result = fix_text(module.text, path, config, unsafe=unsafe, project=project, keep=within_one_cell)
    if result.applied == 0 or result.text == module.text:
        return None
    changed = notebook.split_fixed(module, result.text)
    if not changed:
        return None
    return changed, result


class FixSkipped(Exception):
    """A file left as it is on purpose (the message says why); the others are fixed."""


class OutsideTree(FixSkipped):
    """A file to fix resolves (through a symlink) to a file outside the trees being fixed."""


class ChangedWhileFixing(FixSkipped):
    """The file on disk is no longer the text that was fixed: the user's newer version is kept."""


class FixFailed(Exception):
    """Writing a fixed file failed (the message says why); the file is unchanged."""


def _inside(target: Path, roots: Iterable[Path]) -> bool:
    """Whether ``target`` lies under one of the directories named, or (for a file named) under its
    directory: naming a link names the link, not the file elsewhere that it points to."""
    for root in roots:
        try:
            base = root.resolve() if root.is_dir() else root.absolute().parent.resolve()
        except (OSError, RuntimeError):
            continue
        if target.is_relative_to(base):
            return True
    return False


def _encoding_of(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return "utf-8" if encoding == "utf-8-sig" else encoding


@dataclass(frozen=True)
class PathsFix:
    reports: list[FileReport]
    """With ``write``, a plain analysis of the fixed files; without, the reports before fixing."""
    files: list[FileFix] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Why a fixable file was left as it is (a symlink out of the tree, changed while fixing)."""
    failed: list[str] = field(default_factory=list)
    """Why a fixed file could not be written (read-only, disk full): perfsquad failed there."""

    @property
    def applied(self) -> int:
        return sum(f.applied for f in self.files)


def fix_paths(
    paths: Iterable[Path],
    config: Config | None = None,
    *,
    unsafe: bool = False,
    write: bool = True,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    metrics: bool = False,
    progress: ProgressFn | None = None,
    warnings: list[str] | None = None,
) -> PathsFix:
    """Analyze ``paths`` (as ``check`` does), fix every file with an allowed fix using the
    workspace index of the whole tree, and (with ``write``) write the fixed files and analyze the
    tree again."""
    paths = list(paths)
    if cache_dir is None and write:
        # Without a cache, the second analysis would be a whole second run: a throwaway cache
        # lets it analyze only the fixed files and what they make stale, as with the real one.
        said: list[str] = []
        with tempfile.TemporaryDirectory(prefix="perfsquad-fix-") as scratch:
            result = fix_paths(
                paths, config, unsafe=unsafe, jobs=jobs, cache_dir=Path(scratch), metrics=metrics, progress=progress,
                warnings=said,
            )  # fmt: skip
        if warnings is not None:  # (the user asked for no cache: a throwaway one that failed is not news)
            warnings.extend(w for w in said if not w.startswith("cache not saved"))
        return result
    from perfsquad.api import analyze_paths

    config = config or Config()
    options: dict[str, Any] = {"jobs": jobs, "cache_dir": cache_dir, "want_fixes": True, "metrics": metrics}
    summaries: dict[str, Any] = {}
    # (the walk's warnings are the first run's: the second walks the same tree)
    reports = analyze_paths(paths, config, progress=progress, summaries_into=summaries, warnings=warnings, **options)
    fixable = [Path(r.path) for r in reports if any(allowed(f.fix, unsafe) for f in r.findings)]
    if not fixable:
        return PathsFix(reports)
    index = workspace_index(summaries)
    summaries.clear()
    files = []
    skipped = []
    failed = []
    for path in fixable:
        try:
            fixed = fix_file(path, config, unsafe=unsafe, project=index, write=write, within=paths)
        except FixSkipped as exc:
            skipped.append(str(exc))
            continue
        except FixFailed as exc:  # (one file's failure never stops the others)
            failed.append(str(exc))
            continue
        finally:
            index.collected.clear()  # (the summaries each re-analysis recorded: not needed here)
        if fixed is not None:
            files.append(fixed)
    if write and files:
        # (the first run's reports and index go first: the second run's peak memory is its own)
        del reports, index
        reports = analyze_paths(paths, config, **options)
    return PathsFix(reports, files, skipped, failed)


def workspace_index(summaries: dict[str, Any]) -> ProjectIndex:
    """The workspace index of ``{path: effect summary data}`` (as ``api.analyze_paths`` links it)."""
    from perfsquad.semantics.index import link

    index, _ = link((path, summary, "") for path, summary in summaries.items())
    return index
