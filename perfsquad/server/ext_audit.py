"""Audits in the editor: ``perfsquad.auditPerformance``, ``perfsquad.quickDiagnose``,
``perfsquad.estimateRoi`` (and ``perfsquad.cancelAudit``), plus the ROI hover.

* ``perfsquad.auditPerformance`` — arguments: none (the workspace), a file/folder URI or path, or
  ``{"uri"|"path", "run", "fresh", "sampler", "timeout", "out", "formats", "cspSource", "show"}``.
  Runs the three-phase audit off the event loop with ``$/progress`` (cancellable: the profiled
  process group is killed). With a profile loaded (``perfsquad.profile``/``loadProfile`` or an
  earlier audit) that profile is phase 2 and nothing runs; ``run`` (or the configured
  ``profile-command``) runs when none is loaded, or with ``fresh: true``. Writes the
  HTML/Markdown/JSON reports (default ``.perfsquad/audit`` in the workspace) and returns their
  paths (``html``, ``markdown``, ``json``), a one-line ``summary``, ``measured``, the bottleneck
  and the top of the roadmap. With ``cspSource`` (a VS Code webview's) ``page`` is the report for
  that webview (a click on a place posts ``{open, line}``); otherwise the HTML report is opened with
  ``window/showDocument`` when ``show`` (default true without ``cspSource``). A new profile
  feeds the ROI hover.
* ``perfsquad.quickDiagnose`` — ``[uri, position]``, ``[uri, "function"]`` or
  ``{"uri", "position"|"function", "profile": bool, "run"|"command", "timeout"}``: the function's findings,
  complexity, radon metrics and, when a test exercises it, a short profile (JSON plus ``text``).
* ``perfsquad.estimateRoi`` — ``[uri, position]`` or ``{"uri", "position"}``: the Amdahl estimate
  of every finding at that position, with its inputs.
* ``perfsquad.optimizationRoadmap`` — arguments: none (the workspace), a file/folder URI or path, or
  ``{"uri"|"path", "limit"}``: every finding of the target ranked by ROI with the loaded profile
  (by ``perfsquad.profile``/``loadProfile`` or the last audit; without one, by severity and
  calibrated speedup, and it says so); no program is run. Open documents count as the editor has
  them (their analyses are reused, unsaved edits included), other files as saved (unchanged ones
  from the CLI's cache, ``.perfsquad/cache``); cancellable ``$/progress``. Ranked by the audit's
  own ranking (:func:`perfsquad.audit.pipeline.ranked`: phases, hot code no finding explains, the
  plan's order), so ``perfsquad audit --profile`` of the same profile lists the same items in the
  same order. Returns ``items`` (the roadmap rows of the audit's JSON report), ``measured``, a
  ``summary``, the ``text`` (a Markdown table whose places link to ``file://...#Lline``) and the
  paths of its copies (``markdown``, ``.perfsquad/roadmap.md``; ``html``, ``.perfsquad/roadmap.html``,
  the audit's page; None, and the summary says why, when they cannot be written: a symlinked
  ``.perfsquad/`` or file is refused); ``page`` and ``show`` as for the audit.
* Hover: with a profile loaded (by ``perfsquad.profile``/``loadProfile`` or an audit), a finding
  under the cursor shows ``ROI: share S x (1 - 1/speedup X) = T s saved of W s; effort E min``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from lsprotocol import types

from perfsquad.audit.roadmap import RoadmapItem, enclosing_function, stake_seconds
from perfsquad.audit.roi import RoiEstimate, estimate
from perfsquad.audit.shares import ShareIndex
from perfsquad.config import Config
from perfsquad.files import write_output
from perfsquad.model import FileReport, Finding, Position
from perfsquad.profiling.model import Profile
from perfsquad.server.arguments import int_option, page_options, show_page, tell_plain_client, unwrap
from perfsquad.server.diagnostics import offered_fix
from perfsquad.server.extensions import loaded_profile, workspace_root
from perfsquad.server.hover import degree
from perfsquad.server.progress import CommandProgress

if TYPE_CHECKING:
    from perfsquad.server.app import PerfsquadServer
    from perfsquad.server.extensions import DocumentView



def _path_of(value: str) -> Path:
    if value.startswith("file:"):
        return Path(unquote(urlparse(value).path))
    return Path(value)


@dataclass
class AuditState:
    profile: Profile | None = None
    """The profile of the last audit."""
    running: threading.Event | None = None
    index: ShareIndex | None = None


def _lsp_position(value: Any) -> types.Position | None:
    if isinstance(value, types.Position):
        return value
    if isinstance(value, dict) and isinstance(value.get("line"), int) and isinstance(value.get("character"), int):
        return types.Position(line=value["line"], character=value["character"])
    return None


def _target(args: Sequence[Any], command: str) -> tuple[str, types.Position | None, str | None, dict[str, Any]]:
    """(uri, LSP position, function name, options) from ``[uri, position|name]`` or an options object."""
    args = unwrap(args)
    if args and isinstance(args[0], dict):
        opts = dict(args[0])
        uri = opts.get("uri") or opts.get("path")
        pos, name = _lsp_position(opts.get("position")), opts.get("function")
    elif args and isinstance(args[0], str):
        opts, uri = {}, args[0]
        pos = _lsp_position(args[1]) if len(args) > 1 else None
        name = args[1] if len(args) > 1 and isinstance(args[1], str) else None
    else:
        raise ValueError(f"{command}: give [uri, position] or [uri, function name]")
    if not isinstance(uri, str) or not uri:
        raise ValueError(f"{command}: a document uri is required")
    if pos is None and not (isinstance(name, str) and name):
        raise ValueError(f"{command}: give a position ({{line, character}}) or a function name")
    return uri, pos, name if isinstance(name, str) else None, opts


def _folder_target(args: Sequence[Any], workspace: Path | None, command: str) -> tuple[Path, dict[str, Any]]:
    """(existing file or folder, options) from none (the workspace), a URI/path, or
    ``{"uri"|"path", ...options}``."""
    args = tuple(unwrap(args))
    opts: dict[str, Any] = dict(args[0]) if args and isinstance(args[0], dict) else {}
    target = opts.get("uri") or opts.get("path") or (args[0] if args and isinstance(args[0], str) else None)
    path = _path_of(str(target)) if target else workspace
    if path is None:
        raise ValueError(f"{command}: no workspace folder; give a file or folder")
    if not path.exists():
        raise ValueError(f"{command}: {path} does not exist")
    return path, opts


def _start_with(roadmap: Sequence[RoadmapItem]) -> str:
    """``; start with CODE at file:line (saves about S s)`` for the first item of a roadmap."""
    if not roadmap:
        return ""
    top = roadmap[0]
    text = f"; start with {top.finding.code} at {Path(top.path).name}:{top.line}"
    held = stake_seconds(top)
    if top.family == "HOT" and held:
        text += f" (holds {held:.2g} s)"
    elif top.estimate.saved_seconds:
        text += f" (saves about {top.estimate.saved_seconds:.2g} s)"
    return text


class RoadmapCancelled(Exception):
    """The roadmap's analysis was cancelled."""


def _key(path: Path) -> str:
    return str(path.resolve())


def _within(path: Path, target: Path) -> bool:
    path, target = path.resolve(), target.resolve()
    return path == target or (target.is_dir() and path.is_relative_to(target))


def _saved_reports(
    target: Path,
    config: Config,
    cache_dir: Path,
    editor: dict[str, FileReport],
    cancel: threading.Event,
    report: Callable[[str], None],
) -> list[FileReport]:
    """Every file's report under ``target``: as the editor has it when the file is open
    (``editor``, by resolved path), else as saved (analyzed in this thread, one process: forking a
    threaded server is not safe; unchanged files come from the cache). The saved copies of open
    files are analyzed too, so the workspace's cross-module effects see every module."""
    from perfsquad.api import analyze_paths

    def progress(done: int, total: int) -> None:
        if cancel.is_set():
            raise RoadmapCancelled("perfsquad.optimizationRoadmap cancelled")
        report(f"{done}/{total} files")

    saved = analyze_paths([target], config, want_fixes=True, metrics=True, jobs=1, cache_dir=cache_dir, progress=progress)
    if cancel.is_set():
        raise RoadmapCancelled("perfsquad.optimizationRoadmap cancelled")
    keyed = [(_key(Path(r.path)), r) for r in saved]  # (resolving a path costs system calls: once)
    reports = [editor.get(k, r) for k, r in keyed]
    seen = {k for k, _ in keyed}
    reports.extend(r for k, r in editor.items() if k not in seen)  # open, never saved there
    return reports


def register(server: PerfsquadServer) -> None:
    state = AuditState()
    server.audit_state = state  # type: ignore[attr-defined]  # for tests and other extensions

    def root() -> Path | None:
        return workspace_root(server)

    def current_profile() -> Profile | None:
        """The newest of the last audit's profile and the profile extension's loaded one."""
        return loaded_profile(server)

    def share_index(profile: Profile) -> ShareIndex:
        if state.index is None or state.index.profile is not profile:
            state.index = ShareIndex(profile)
        return state.index

    def estimate_for(doc: DocumentView, finding: Finding, profile: Profile | None) -> RoiEstimate:
        share = None
        if profile is not None:
            fn = enclosing_function(doc.report.functions, finding.span.start.line)
            share = share_index(profile).finding_share(
                doc.path, finding.span.start.line, finding.span.end.line, fn.name if fn else None
            )
        return estimate(
            finding.code,
            share=share,
            wall_seconds=profile.wall_seconds if profile is not None else None,
            safety=fix[1] if (fix := offered_fix(finding)) is not None else None,
            declared=finding.speedup,
        )

    def findings_at(doc: DocumentView, pos: Position) -> list[Finding]:
        found = []
        for f in doc.findings:
            if f.code.startswith("HOT"):
                continue
            if f.span.start <= pos <= f.span.end or (f.span.start.line == pos.line == f.span.end.line):
                found.append(f)
        return found

    def hover(doc: DocumentView, pos: Position) -> str | None:
        profile = current_profile()
        if profile is None:
            return None
        texts = [f"**{f.code}** {estimate_for(doc, f, profile).describe()}" for f in findings_at(doc, pos)]
        return "\n\n".join(texts) or None

    server.hover_providers.append(hover)

    @server.command("perfsquad.auditPerformance")
    async def audit_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        from perfsquad.audit.pipeline import configured_command, run_audit
        from perfsquad.audit.report import FORMATS, render_html, write_reports
        from perfsquad.profiling.run import ProfileCancelled

        workspace = root()
        path, opts = _folder_target(args, workspace, "perfsquad.auditPerformance")
        csp, show = page_options(opts, "perfsquad.auditPerformance")
        within = workspace if workspace is not None and path.resolve().is_relative_to(workspace.resolve()) else None
        # The profile the editor shows is the audit's measurement: nothing runs unless none is
        # loaded (or `fresh` asks for a new run), so the audit agrees with the roadmap and the CLI's
        # `audit --profile` of the same profile.
        loaded = None if opts.get("fresh") else current_profile()
        if loaded is None and (opts.get("run") or configured_command(path, root=within) is not None):
            await server.consent.require(ls, workspace, "the audit's profile")
        if state.running is not None:
            raise RuntimeError("an audit is already running: cancel it first")
        cancel = threading.Event()
        state.running = cancel  # cleared by the `finally` below, whatever happens after this line
        progress = CommandProgress(ls, "audit", cancel)
        report = progress.report
        try:
            await progress.begin("perfsquad: audit")
            formats = tuple(f for f in opts.get("formats", FORMATS) if f in FORMATS) or FORMATS
            result = await progress.in_thread(
                run_audit, [path], run=opts.get("run"), sampler=str(opts.get("sampler", "auto")),
                timeout=float(opts.get("timeout", 300.0)), cancel=cancel, progress=report,
                root=within, cancelled=(ProfileCancelled,), profile=loaded,
            )  # fmt: skip
            out = Path(opts["out"]) if opts.get("out") else Path(result.root) / ".perfsquad" / "audit"
            written = await progress.in_thread(write_reports, result, out, formats)
            page = None if csp is None else await progress.in_thread(render_html, result, None, csp)
        finally:
            state.running = None
            progress.end()
        if result.profile is not None and result.profile is not loaded:
            state.profile = result.profile
            server.refresh_overlays()
        files = {p.suffix.lstrip("."): str(p) for p in written}
        summary = f"{result.findings_count} findings"
        if result.bottleneck_headline:
            summary += f"; {result.bottleneck_headline}"
        summary += _start_with(result.roadmap)
        if loaded is not None:
            summary += f"; ranked with the loaded profile of `{' '.join(loaded.command)}`"
        if result.profile_error:
            summary += f"; profiling failed: {result.profile_error}"
        tell_plain_client(ls, args, f"audit: {summary}; report: {files.get('html') or files.get('md')}")
        shown = show and "html" in files and await show_page(server, ls, Path(files["html"]))
        return {
            "summary": summary,
            "measured": result.profile is not None,
            "page": page,
            "shown": shown,
            "html": files.get("html"),
            "markdown": files.get("md"),
            "json": files.get("json"),
            "findings": result.findings_count,
            "bottleneck": result.bottleneck_headline,
            "profile_error": result.profile_error,
            "notes": list(result.notes),
            "roadmap": [item.to_json() for item in result.roadmap[:10]],
        }

    @server.command("perfsquad.cancelAudit")
    def cancel_cmd(ls: Any, *args: Any) -> bool:
        if state.running is None:
            return False
        state.running.set()
        return True

    @server.command("perfsquad.quickDiagnose")
    async def diagnose_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        from perfsquad.audit.diagnose import diagnose
        from perfsquad.profiling.run import ProfileCancelled

        if args:
            uri, lsp_pos, name, opts = _target(args, "perfsquad.quickDiagnose")
        else:  # a plain LSP client's call: the cursor's function, else the document's costliest one
            uri, name, opts = server.current_document("perfsquad.quickDiagnose").uri, None, {}
            lsp_pos = server.cursor(uri)
            if lsp_pos is None:
                name = await costliest_function(uri)
        doc = await server.settled_document(uri)
        path = Path(doc.path) if doc is not None else _path_of(uri)
        line = None
        if lsp_pos is not None:
            line = doc.to_position(lsp_pos).line if doc is not None else lsp_pos.line + 1
        if opts.get("profile", True):
            await server.consent.require(ls, root(), "Quick Diagnose's profile")
        cancel = threading.Event()
        progress = CommandProgress(ls, "diagnose", cancel)
        await progress.begin("perfsquad: quick diagnose")
        try:
            result = await progress.in_thread(
                diagnose, path, function=name, line=line, source=doc.text if doc is not None else None,
                root=root(), profile=bool(opts.get("profile", True)), run=opts.get("run") or opts.get("command"),
                timeout=float(opts.get("timeout", 20.0)), cancel=cancel, progress=progress.report,
                cancelled=(ProfileCancelled,),
            )  # fmt: skip
        finally:
            progress.end()
        fn = result.function
        summary = f"{fn.qualname}: {len(result.findings)} findings, complexity {result.complexity}"
        if result.share is not None:
            summary += f", {result.share:.1%} of {result.exerciser.spec if result.exerciser else 'the run'}"
        tell_plain_client(ls, args, result.format())
        return {**result.to_json(), "summary": summary, "text": result.format()}

    async def costliest_function(uri: str) -> str:
        """The function a diagnosis without a position is about: the highest estimated Big-O, then
        the most findings."""
        view = await server.settled_document(uri)
        functions = view.report.functions if view is not None else ()
        if view is None or not functions:
            raise ValueError(f"perfsquad.quickDiagnose: {uri} has no function to diagnose")

        def cost(fn: Any) -> tuple[int, int]:
            inside = sum(fn.span.start.line <= f.span.start.line <= fn.span.end.line for f in view.findings)
            return degree(fn.complexity), inside

        return str(max(functions, key=cost).qualname)

    @server.command("perfsquad.optimizationRoadmap")
    async def roadmap_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        from perfsquad.audit.pipeline import AuditResult, loaded_note, ranked
        from perfsquad.audit.report import render_html
        from perfsquad.audit.roadmap import format_roadmap

        workspace = root()
        path, opts = _folder_target(args, workspace, "perfsquad.optimizationRoadmap")
        limit = int_option(opts, "limit", 20, 1, "perfsquad.optimizationRoadmap")
        csp, show = page_options(opts, "perfsquad.optimizationRoadmap")
        profile = current_profile()
        config = server.documents.config_in(path if path.is_dir() else path.parent)
        base = workspace if workspace is not None else (path if path.is_dir() else path.parent)
        # Open documents count as the editor has them (unsaved edits included), from the analyses
        # it already made; the other files as saved, through the workspace cache the CLI uses.
        editor: dict[str, FileReport] = {}
        for uri in server.documents.uris():
            doc_state = server.documents.get(uri)
            if doc_state is not None and _within(Path(doc_state.path), path):
                view = await server.settled_document(uri)
                if view is not None:
                    editor[_key(Path(view.path))] = view.report
        cancel = threading.Event()
        progress = CommandProgress(ls, "roadmap", cancel)

        def build() -> tuple[AuditResult, str, str | None, dict[str, Path | str]]:
            reports = _saved_reports(path, config, base / ".perfsquad" / "cache", editor, cancel, progress.report)
            # The audit's own ranking (phases, hot code no finding explains, the plan's order):
            # the same items in the same order as `perfsquad audit --profile` with this profile.
            notes = [loaded_note(profile)] if profile is not None else []
            result = ranked(reports, profile, base.resolve(), paths=[path], notes=notes)
            text = format_roadmap(result.roadmap, profile, base, limit)
            title = f"perfsquad optimization roadmap · {path.name or path}"
            page = render_html(result, title, csp) if csp is not None else None
            kept: dict[str, Path | str] = {}
            for name, content in (("roadmap.md", text), ("roadmap.html", render_html(result, title))):
                try:
                    # (atomic; refused if .perfsquad/ or the file is a symlink: a cloned repository's
                    # link must not make the command overwrite a file elsewhere)
                    kept[name] = write_output(base / ".perfsquad" / name, content.encode("utf-8"))
                except OSError as exc:  # (the roadmap is still answered; this copy is not kept)
                    kept[name] = str(exc)
            return result, text, page, kept

        await progress.begin("perfsquad: optimization roadmap")
        try:
            result, text, page, kept = await progress.in_thread(build, cancelled=(RoadmapCancelled,))
        finally:
            progress.end()
        items = result.roadmap
        if not items:
            summary = "no findings: nothing to optimize statically"
        else:
            summary = f"{len(items)} items" + _start_with(items)
            if profile is None:
                summary += " (no profile loaded: ranked by severity and calibrated speedup)"
        summary += "".join(f"; {name} not written: {why}" for name, why in kept.items() if not isinstance(why, Path))
        markdown, html = (kept[name] if isinstance(kept[name], Path) else None for name in ("roadmap.md", "roadmap.html"))
        tell_plain_client(ls, args, f"roadmap: {summary}" + (f"; {html or markdown}" if html or markdown else ""))
        shown = show and isinstance(html, Path) and await show_page(server, ls, html)
        return {
            "summary": summary,
            "measured": profile is not None,
            "profile": None if profile is None else {"command": list(profile.command), "wall_seconds": profile.wall_seconds},
            "items": [item.to_json() for item in items[:limit]],
            "total": len(items),
            "text": text,
            "markdown": None if markdown is None else str(markdown),
            "html": None if html is None else str(html),
            "page": page,
            "shown": shown,
        }

    @server.command("perfsquad.estimateRoi")
    async def roi_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        if args:
            uri, lsp_pos, _name, _opts = _target(args, "perfsquad.estimateRoi")
            if lsp_pos is None:
                raise ValueError("perfsquad.estimateRoi: give [uri, position]")
        else:  # a plain LSP client's call: the current document, every finding
            uri, lsp_pos = server.current_document("perfsquad.estimateRoi").uri, None
        doc = await server.settled_document(uri)
        if doc is None:
            raise ValueError(f"perfsquad.estimateRoi: {uri} is not open")
        profile = current_profile()
        estimates = []
        chosen = findings_at(doc, doc.to_position(lsp_pos)) if lsp_pos is not None else [
            f for f in doc.findings if not f.code.startswith("HOT")]  # fmt: skip
        for f in chosen:
            est = estimate_for(doc, f, profile)
            estimates.append({"line": f.span.start.line, "message": f.message, **est.to_json()})
        lines = [f"{e['code']} line {e['line']}: {e['formula']}" for e in estimates]
        tell_plain_client(ls, args, "ROI\n" + "\n".join(lines) if lines else f"no findings in {doc.path}")
        name = os.path.basename(doc.path)
        head = lines[0] if len(lines) == 1 else f"{len(lines)} findings; {lines[0]}" if lines else ""
        return {
            "summary": f"ROI at {name}: {head}" if lines else f"no finding at the cursor in {name}",
            "profile": None if profile is None else {"command": list(profile.command), "wall_seconds": profile.wall_seconds},
            "estimates": estimates,
        }
