"""Profiles in the editor: ``perfsquad.profile`` / ``perfsquad.clearProfile`` / ``perfsquad.loadProfile``.

After a profile run (or loading a profile file) the server shows, until cleared:

* inlay hints at the end of hot lines: ``hot 32% · 1.73 s`` (and ``mem 12.3 MiB`` after a memory pass);
* a code lens on hot functions: the function's share, calls (cProfile), CPU or waiting;
* ``HOT001`` (CPU hotspot), ``HOT002`` (waiting/I-O hotspot) and ``HOT003`` (memory) diagnostics on
  the top lines of the 80/20 set;
* hover on a hot line: its share and its callers; static findings are weighed by measured time
  (:mod:`perfsquad.profiling.weighting`: severity follows the estimated saving; findings the run never
  reached keep their severity and say so, dimmed to hints only with the opt-in ``profileFocus`` setting).

A line's share has one definition (``ProfileIndex.line_share``) for the inlay hint, the hover and the
HOT diagnostics. The headline goes to ``window/showMessage`` (every client shows it) as well as the
``perfsquad/status`` notification. A run that failed or was too short is an error message with its
reason and stderr's tail, and changes nothing (the previous profile, if any, stays).

Hints are plain text: nothing relies on colour. ``perfsquad.profile`` without arguments profiles the
current document (a test file runs under pytest). Runs report ``$/progress`` and honour cancellation
(the profiled process group is killed). The last profile is kept in ``.perfsquad/profile.json``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from perfsquad.model import Finding, Position, Span
from perfsquad.profiling.analysis import Bottleneck, Pareto, classify, frame_label, function_kind, pareto, user_view
from perfsquad.profiling.formats import load_profile
from perfsquad.profiling.model import FunctionStat, LineStat, Profile
from perfsquad.profiling.weighting import ProfileIndex, weigh_finding
from perfsquad.server.extensions import workspace_root
from perfsquad.server.hover import SHOW_METRICS_COMMAND
from perfsquad.server.progress import CommandProgress

if TYPE_CHECKING:
    from perfsquad.server.app import PerfsquadServer

PROFILE_FILE = Path(".perfsquad") / "profile.json"
HOT_DIAGNOSTICS_PER_FILE = 5
HINT_MIN_SHARE = 0.01
"""Lines below this share of the runtime get no inlay hint (noise)."""
DOC_URL = (Path(__file__).resolve().parents[2] / "docs" / "profiling.md").as_uri()


def _norm(path: str) -> str:
    return os.path.realpath(path)


def _pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.1 else f"{share:.1%}"


@dataclass
class ProfileState:
    profile: Profile | None = None
    index: ProfileIndex | None = None
    neck: Bottleneck | None = None
    top: Pareto | None = None
    lines: dict[str, dict[int, LineStat]] = field(default_factory=dict)
    functions: dict[str, list[FunctionStat]] = field(default_factory=dict)
    running: threading.Event | None = None
    published: set[int] = field(default_factory=set)
    """ids of the HOT findings this extension put in ``server.extra_diagnostics``."""

    def load(self, profile: Profile, root: Path | None) -> None:
        view = user_view(profile, root)
        self.profile, self.index = profile, ProfileIndex(profile)
        self.neck, self.top = classify(profile, root), pareto(profile, 0.8, root)
        self.lines, self.functions = {}, {}
        for ln in view.lines:
            self.lines.setdefault(_norm(ln.file), {})[ln.line] = ln
        for fn in view.functions:
            self.functions.setdefault(_norm(fn.file), []).append(fn)

    def clear(self) -> None:
        self.profile = self.index = self.neck = self.top = None
        self.lines, self.functions = {}, {}

    def summary(self) -> dict[str, Any]:
        from perfsquad.profiling.memory import memory_json, memory_sections

        assert self.profile is not None and self.neck is not None and self.top is not None
        total = self.profile.total_seconds
        return {
            "headline": self.neck.headline,
            "kind": self.neck.kind,
            "evidence": list(self.neck.evidence),
            "sampler": self.profile.sampler,
            "wall_seconds": self.profile.wall_seconds,
            "cpu_seconds": self.profile.cpu_seconds,
            "warnings": list(self.profile.warnings),
            "memory": memory_json(self.profile),
            "memory_sections": [{"title": t, "lines": lines} for t, lines in memory_sections(self.profile)],
            "hotspots": [
                {"function": f.name, "file": f.file, "line": f.line, "share": f.self_seconds / total if total else 0.0,
                 "kind": function_kind(f)}
                for f in self.top.functions
            ],
        }


def memory_at(profile: Profile, path: str, line: int) -> str:
    """What the memory pass says about one line: the largest containers allocated there (at the
    peak) and the objects allocated there that only the cycle collector freed."""
    from perfsquad.profiling.memory import cycle_fix, size_text

    here = _norm(path)
    parts = []
    peak = (profile.census or {}).get("peak") or {}
    for big in peak.get("largest", ()):
        site = big.get("site")
        if site and site[1] == line and _norm(site[0]) == here:
            parts.append(
                f"**At the peak**: a {big['type']} of {big['length']:,} items allocated here holds"
                f" {'at least ' if not big.get('deep_complete', True) else ''}{size_text(big['deep_bytes'])}"
                f" ({big['objects']:,} objects)."
            )
    parts.extend(
        f"**Reference cycles**: {row['objects']:,} objects allocated here were freed only by the cycle"
        f" collector ({', '.join(f'{t} {c:,}' for t, c in row['types'])}). Fix: {cycle_fix(row['types'])}."
        for row in (profile.cycles or {}).get("by_line", ())
        if row["line"] == line and _norm(row["file"]) == here
    )
    return "\n\n".join(parts)


def _hot_diagnostics(state: ProfileState) -> dict[str, list[Finding]]:
    """HOT findings keyed by file path: the 80/20 lines (time) and the top allocating lines."""
    result: dict[str, list[Finding]] = {}
    if state.profile is None or state.top is None:
        return result
    per_file: dict[str, int] = {}
    for ln in state.top.lines:
        file = _norm(ln.file)
        if per_file.get(file, 0) >= HOT_DIAGNOSTICS_PER_FILE or state.index is None:
            continue
        per_file[file] = per_file.get(file, 0) + 1
        measured = state.index.line_share(ln.file, ln.line)
        waiting = function_kind(ln) == "io"
        code = "HOT002" if waiting else "HOT001"
        what = "waiting (I/O, sleep or locks)" if waiting else "on the CPU"
        callers = ", ".join(frame_label(c) for c in ln.callers[:3])
        notes = (measured.describe(), *((f"called from {callers}",) if callers else ()))
        result.setdefault(file, []).append(
            Finding(code, f"Hotspot: {_pct(measured.share)} of the measured run is on this line, {what}",
                    _line_span(ln.line), _severity(measured.share), notes=notes, measured_share=measured.share)
        )
    peak = state.profile.peak_memory_bytes
    if peak:
        allocs = sorted((ln for lines in state.lines.values() for ln in lines.values() if ln.alloc_bytes),
                        key=lambda ln: -(ln.alloc_bytes or 0))[:HOT_DIAGNOSTICS_PER_FILE]  # fmt: skip
        for ln in allocs:
            size = ln.alloc_bytes or 0
            result.setdefault(_norm(ln.file), []).append(
                Finding("HOT003", f"Memory hotspot: {size / 2**20:.1f} MiB alive at the peak ({size / peak:.0%})",
                        _line_span(ln.line), _severity(size / peak),
                        notes=(f"{size / 2**20:.1f} MiB allocated here of the {peak / 2**20:.1f} MiB peak",))
            )
    return result


def _severity(share: float) -> Any:
    from perfsquad.model import Severity

    return Severity.WARNING if share >= 0.1 else Severity.INFO


def _line_span(line: int) -> Span:
    return Span(Position(line, 0), Position(line, 0))


def register(server: PerfsquadServer) -> None:
    state = ProfileState()
    server.profile_state = state  # type: ignore[attr-defined]  # for tests and other extensions

    def root() -> Path | None:
        return workspace_root(server)

    def apply(profile: Profile | None) -> None:
        if profile is None:
            state.clear()
        else:
            state.load(profile, root())
        # The dict is shared with other extensions: replace only the entries this one made.
        extras = server.extra_diagnostics
        for key in list(extras):
            kept = [d for d in extras[key] if id(d) not in state.published]
            if kept:
                extras[key] = kept
            else:
                del extras[key]
        state.published = set()
        for key, found in _hot_diagnostics(state).items():
            extras[key] = [*extras.get(key, ()), *found]
            state.published.update(id(f) for f in found)
        server.refresh_overlays()
        _status("idle" if profile is None else "profiled")
        if profile is not None:
            _show(types.MessageType.Info, _headline_message())

    def _status(kind: str) -> None:
        headline = state.neck.headline if state.neck is not None else None
        with contextlib.suppress(Exception):  # a status line must never break a command
            server.protocol.notify("perfsquad/status", {"state": kind, "headline": headline})

    def _show(kind: types.MessageType, message: str) -> None:
        with contextlib.suppress(Exception):  # (a message must never break a command either)
            server.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def _cold_in_open_documents() -> int:
        """How many findings of the open documents sit in code the loaded profile never reached."""
        if state.index is None:
            return 0
        count = 0
        for uri in server.documents.uris():
            doc = server.documents.get(uri)
            analysis = doc.analysis if doc is not None else None
            if doc is None or analysis is None:
                continue
            for f in analysis.report.findings:
                count += state.index.measure(doc.path, f.span.start.line, f.span.end.line).seconds <= 0
        return count

    def _headline_message() -> str:
        text = f"perfsquad: profiled · {state.neck.headline}" if state.neck is not None else "perfsquad: profiled"
        cold = _cold_in_open_documents()
        if cold and server.documents.options.profile_focus:
            text += f"; {cold} finding{'s' if cold != 1 else ''} outside the measured code dimmed (profileFocus)"
        elif cold:
            text += f"; {cold} finding{'s' if cold != 1 else ''} not reached in the measured run (kept, tagged)"
        return text

    # -- finding weigher, hover, inlay hints, code lens -------------------------------------------
    def weigher(doc: Any, findings: Sequence[Finding]) -> Sequence[Finding]:
        if state.index is None:
            return findings
        focus = server.documents.options.profile_focus
        weighed = [weigh_finding(f, doc.path, state.index, focus=focus) for f in findings]
        weighed.sort(key=lambda f: (-(f.measured_share or 0.0), f.span.start))
        return weighed

    def hover(doc: Any, pos: Position) -> str | None:
        if state.profile is None or state.index is None:
            return None
        ln = state.lines.get(_norm(doc.path), {}).get(pos.line)
        held = memory_at(state.profile, doc.path, pos.line)
        if ln is None:
            return held or None
        measured = state.index.line_share(doc.path, pos.line)
        text = (f"**Measured** ({state.profile.sampler}): this line is {_pct(measured.share)} of the run "
                f"({measured.seconds:.2f} s including calls, {ln.self_seconds:.2f} s on the line itself")  # fmt: skip
        if ln.idle_seconds:
            text += f", {ln.idle_seconds:.2f} s waiting"
        text += ")."
        if ln.alloc_bytes:
            text += f" {ln.alloc_bytes / 2**20:.1f} MiB allocated here were alive at the peak."
        if ln.callers:
            text += "\n\nCalled from: " + ", ".join(f"`{frame_label(c)}`" for c in ln.callers)
        return text + (f"\n\n{held}" if held else "")

    def inlay(doc: Any, visible: Span) -> Iterable[types.InlayHint]:
        if state.profile is None or state.index is None:
            return []
        hints = []
        for line, ln in sorted(state.lines.get(_norm(doc.path), {}).items()):
            if not visible.start.line <= line <= visible.end.line:
                continue
            measured = state.index.line_share(doc.path, line)
            parts = []
            if measured.share >= HINT_MIN_SHARE:
                waiting = " waiting" if function_kind(ln) == "io" else ""
                parts.append(f"hot {_pct(measured.share)} · {measured.seconds:.2f} s{waiting}")
            if ln.alloc_bytes and ln.alloc_bytes >= 1024 * 1024:
                parts.append(f"mem {ln.alloc_bytes / 2**20:.1f} MiB")
            if not parts:
                continue
            end = Position(line, len(doc.line(line)))
            hints.append(types.InlayHint(position=doc.position(end), label="  " + " · ".join(parts),
                                         padding_left=True, tooltip="perfsquad: measured in the last profile"))  # fmt: skip
        return hints

    def lenses(doc: Any) -> Iterable[types.CodeLens]:
        """A lens on each measured-hot function (a generator expression or lambda has none: its
        line already has the line's inlay hint); clicking it shows the function's measures."""
        result: list[types.CodeLens] = []
        if state.profile is None:
            return result
        total = state.profile.total_seconds
        for fn in state.functions.get(_norm(doc.path), []):
            share = fn.total_seconds / total if total else 0.0
            if share < HINT_MIN_SHARE or fn.name.rsplit(".", 1)[-1].startswith("<"):
                continue
            title = f"measured: function {_pct(share)} of the run · {_pct(fn.self_seconds / total)} in itself"
            if fn.calls is not None:
                title += f" · {fn.calls:,} calls"
            title += " · waiting" if function_kind(fn) == "io" else " · CPU"
            result.append(types.CodeLens(range=doc.range(_line_span(fn.line)), command=types.Command(
                title=title, command=SHOW_METRICS_COMMAND, arguments=[doc.uri, fn.line])))  # fmt: skip
        return result

    def measured_function(doc: Any, line: int) -> str | None:
        """What the profile says of the function defined at ``line`` (for the lens's command)."""
        if state.profile is None:
            return None
        total = state.profile.total_seconds
        for fn in state.functions.get(_norm(doc.path), []):
            if fn.line == line and total > 0:
                calls = f", {fn.calls:,} calls" if fn.calls is not None else ""
                return (f"measured ({state.profile.sampler}): {fn.name} is {_pct(fn.total_seconds / total)} of the run "
                        f"({fn.total_seconds:.2f} s, {fn.self_seconds:.2f} s in itself{calls})")  # fmt: skip
        return None

    server.finding_weighers.append(weigher)
    server.hover_providers.append(hover)
    server.inlay_providers.append(inlay)
    server.lens_providers.append(lenses)
    server.function_facts.append(measured_function)

    # -- commands ---------------------------------------------------------------------------------
    @server.command("perfsquad.profile")
    async def profile_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        from perfsquad.profiling.run import ProfileCancelled, ProfilerError, profile_command
        from perfsquad.profiling.target import TargetError

        if args:
            options = _options(args)
        else:  # a plain LSP client's call: the current document (a test file runs under pytest)
            options = {"command": [server.current_document("perfsquad.profile").path]}
        await server.consent.require(ls, root(), "the profile")
        if state.running is not None:
            raise RuntimeError("a profile is already running: cancel it first")
        cancel = threading.Event()
        state.running = cancel  # cleared by the `finally` below, whatever happens after this line
        progress = CommandProgress(ls, "profile", cancel)
        _status("profiling")
        try:
            await progress.begin("perfsquad: profiling", " ".join(map(str, options["command"])))
            cwd = options.get("cwd") or (str(root()) if root() is not None else None)
            profile = await progress.in_thread(
                profile_command, options["command"], sampler=options.get("sampler", "auto"), cwd=cwd,
                timeout=float(options.get("timeout", 300.0)), memory=bool(options.get("memory", False)),
                cancel=cancel, on_progress=progress.report,
            )  # fmt: skip
        except ProfileCancelled as exc:  # its status first, then the request's error
            _status("idle")
            raise RuntimeError(str(exc)) from None
        except (ProfilerError, TargetError) as exc:
            _status("error")  # nothing applied: the findings and a loaded profile stay as they were
            _show(types.MessageType.Error, f"perfsquad: {exc}")
            raise RuntimeError(str(exc)) from None
        except BaseException:  # a bad argument, a bug, or the request cancelled: not "profiling"
            _status("idle")
            raise
        finally:
            state.running = None
            progress.end()
        out = Path(cwd or ".") / PROFILE_FILE
        with contextlib.suppress(OSError):
            profile.dump(out)
        apply(profile)
        return {**state.summary(), "profile_path": str(out)}

    @server.command("perfsquad.cancelProfile")
    def cancel_cmd(ls: Any, *args: Any) -> bool:
        if state.running is None:
            return False
        state.running.set()
        return True

    @server.command("perfsquad.clearProfile")
    def clear_cmd(ls: Any, *args: Any) -> None:
        apply(None)

    @server.command("perfsquad.loadProfile")
    def load_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        path = Path(str(args[0])) if args else (root() or Path(".")) / PROFILE_FILE
        if not path.is_absolute() and root() is not None:
            path = root() / path  # type: ignore[operator]
        apply(load_profile(path))
        return state.summary()


def _options(args: Sequence[Any]) -> dict[str, Any]:
    """Command arguments: a command line string, a list of words, a pytest node id, or an options object."""
    if len(args) == 1 and isinstance(args[0], list) and not all(isinstance(a, str) for a in args[0]):
        args = args[0]  # some clients wrap the arguments once more
    if args and isinstance(args[0], dict):
        options = dict(args[0])
        if "command" not in options:
            raise ValueError("perfsquad.profile: the options object needs a `command`")
        return options
    if len(args) == 1 and isinstance(args[0], list):
        return {"command": [str(a) for a in args[0]]}
    if args and all(isinstance(a, str) for a in args):
        return {"command": args[0] if len(args) == 1 else [str(a) for a in args]}
    raise ValueError("perfsquad.profile: give a command line, a script, `-m module` or a pytest node id")
