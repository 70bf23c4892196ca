"""Profiles in the editor: ``perfsquad.profile`` / ``perfsquad.clearProfile`` / ``perfsquad.loadProfile``.

After a profile run (or loading a profile file) the server shows, until cleared:

* inlay hints at the end of hot lines: ``hot 32% · 1.73 s`` (and ``mem 12.3 MiB`` after a memory pass);
* a code lens on hot functions: total and self share, calls (cProfile), CPU or waiting;
* ``HOT001`` (CPU hotspot), ``HOT002`` (waiting/I-O hotspot) and ``HOT003`` (memory) diagnostics on
  the top lines of the 80/20 set;
* hover on a hot line: its share and its callers; static findings are weighed by measured time
  (escalated in hot code, demoted to hints in cold code, with the share in their hover).

Hints are plain text: nothing relies on colour. A "Profile this test" lens on test functions runs
``perfsquad.profile`` on that pytest node. Runs report ``$/progress`` and honour cancellation
(the profiled process group is killed). The last profile is kept in ``.perfsquad/profile.json``.
"""

from __future__ import annotations

import ast
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
    total = state.profile.total_seconds
    per_file: dict[str, int] = {}
    for ln in state.top.lines:
        file = _norm(ln.file)
        if per_file.get(file, 0) >= HOT_DIAGNOSTICS_PER_FILE or total <= 0:
            continue
        per_file[file] = per_file.get(file, 0) + 1
        share = ln.self_seconds / total
        waiting = function_kind(ln) == "io"
        code = "HOT002" if waiting else "HOT001"
        what = "waiting (I/O, sleep or locks)" if waiting else "on the CPU"
        callers = ", ".join(frame_label(c) for c in ln.callers[:3])
        notes = (f"called from {callers}",) if callers else ()
        result.setdefault(file, []).append(
            Finding(code, f"Hotspot: {_pct(share)} of the measured runtime ({ln.self_seconds:.2f} s) is spent "
                    f"on this line, {what}", _line_span(ln.line), _severity(share), notes=notes,
                    measured_share=share)
        )
    peak = state.profile.peak_memory_bytes
    if peak:
        allocs = sorted((ln for lines in state.lines.values() for ln in lines.values() if ln.alloc_bytes),
                        key=lambda ln: -(ln.alloc_bytes or 0))[:HOT_DIAGNOSTICS_PER_FILE]  # fmt: skip
        for ln in allocs:
            size = ln.alloc_bytes or 0
            result.setdefault(_norm(ln.file), []).append(
                Finding("HOT003", f"Memory hotspot: {size / 2**20:.1f} MiB allocated here were alive at the peak "
                        f"({size / peak:.0%} of {peak / 2**20:.1f} MiB)", _line_span(ln.line),
                        _severity(size / peak))
            )
    return result


def _severity(share: float) -> Any:
    from perfsquad.model import Severity

    return Severity.WARNING if share >= 0.1 else Severity.INFO


def _line_span(line: int) -> Span:
    return Span(Position(line, 0), Position(line, 0))


def _test_nodes(text: str, path: str, root: Path | None) -> Iterable[tuple[int, str]]:
    """(def line, pytest node id) for test functions and methods of a test file."""
    name = os.path.basename(path)
    if not (name.startswith("test_") or name.endswith("_test.py")):
        return
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    rel = os.path.relpath(path, root) if root is not None else path
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
            yield node.lineno, f"{rel}::{node.name}"
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test"):
                    yield item.lineno, f"{rel}::{node.name}::{item.name}"


def register(server: PerfsquadServer) -> None:
    state = ProfileState()
    server.profile_state = state  # type: ignore[attr-defined]  # for tests and other extensions

    def root() -> Path | None:
        r = getattr(server.documents, "root", None)
        return Path(r) if r is not None else None

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

    def _status(kind: str) -> None:
        headline = state.neck.headline if state.neck is not None else None
        with contextlib.suppress(Exception):  # a status line must never break a command
            server.protocol.notify("perfsquad/status", {"state": kind, "headline": headline})

    # -- finding weigher, hover, inlay hints, code lens -------------------------------------------
    def weigher(doc: Any, findings: Sequence[Finding]) -> Sequence[Finding]:
        if state.index is None:
            return findings
        weighed = [weigh_finding(f, doc.path, state.index) for f in findings]
        weighed.sort(key=lambda f: (-(f.measured_share or 0.0), f.span.start))
        return weighed

    def hover(doc: Any, pos: Position) -> str | None:
        if state.profile is None:
            return None
        ln = state.lines.get(_norm(doc.path), {}).get(pos.line)
        held = memory_at(state.profile, doc.path, pos.line)
        if ln is None:
            return held or None
        total = state.profile.total_seconds
        text = (f"**Measured** ({state.profile.sampler}): this line is {_pct(ln.total_seconds / total)} of the runtime "
                f"({ln.total_seconds:.2f} s including calls, {ln.self_seconds:.2f} s on the line itself")  # fmt: skip
        if ln.idle_seconds:
            text += f", {ln.idle_seconds:.2f} s waiting"
        text += ")."
        if ln.alloc_bytes:
            text += f" {ln.alloc_bytes / 2**20:.1f} MiB allocated here were alive at the peak."
        if ln.callers:
            text += "\n\nCalled from: " + ", ".join(f"`{frame_label(c)}`" for c in ln.callers)
        return text + (f"\n\n{held}" if held else "")

    def inlay(doc: Any, visible: Span) -> Iterable[types.InlayHint]:
        if state.profile is None:
            return []
        total = state.profile.total_seconds
        hints = []
        for line, ln in sorted(state.lines.get(_norm(doc.path), {}).items()):
            if not visible.start.line <= line <= visible.end.line:
                continue
            share = ln.total_seconds / total if total else 0.0
            parts = []
            if share >= HINT_MIN_SHARE:
                parts.append(f"hot {_pct(share)} · {ln.total_seconds:.2f} s" + (" waiting" if function_kind(ln) == "io" else ""))
            if ln.alloc_bytes and ln.alloc_bytes >= 1024 * 1024:
                parts.append(f"mem {ln.alloc_bytes / 2**20:.1f} MiB")
            if not parts:
                continue
            end = Position(line, len(doc.line(line)))
            hints.append(types.InlayHint(position=doc.position(end), label="  " + " · ".join(parts),
                                         padding_left=True, tooltip="perfsquad: measured in the last profile"))  # fmt: skip
        return hints

    def lenses(doc: Any) -> Iterable[types.CodeLens]:
        result = []
        for line, node in _test_nodes(doc.text, doc.path, root()):
            rng = doc.range(_line_span(line))
            result.append(types.CodeLens(range=rng, command=types.Command(
                title="perfsquad: profile this test", command="perfsquad.profile", arguments=[node])))  # fmt: skip
        if state.profile is not None:
            total = state.profile.total_seconds
            for fn in state.functions.get(_norm(doc.path), []):
                share = fn.total_seconds / total if total else 0.0
                if share < HINT_MIN_SHARE:
                    continue
                title = f"measured: {_pct(share)} total · {_pct(fn.self_seconds / total)} self"
                if fn.calls is not None:
                    title += f" · {fn.calls:,} calls"
                title += " · waiting" if function_kind(fn) == "io" else " · CPU"
                result.append(types.CodeLens(range=doc.range(_line_span(fn.line)),
                                             command=types.Command(title=title, command="")))  # fmt: skip
        return result

    server.finding_weighers.append(weigher)
    server.hover_providers.append(hover)
    server.inlay_providers.append(inlay)
    server.lens_providers.append(lenses)

    # -- commands ---------------------------------------------------------------------------------
    @server.command("perfsquad.profile")
    async def profile_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        from perfsquad.profiling.run import ProfileCancelled, ProfilerError, profile_command
        from perfsquad.profiling.target import TargetError

        options = _options(args)
        if state.running is not None:
            raise RuntimeError("a profile is already running: cancel it first")
        cancel = threading.Event()
        state.running = cancel
        progress = CommandProgress(ls, "profile", cancel)
        await progress.begin("perfsquad: profiling", " ".join(map(str, options["command"])))

        _status("profiling")
        cwd = options.get("cwd") or (str(root()) if root() is not None else None)
        try:
            profile = await progress.in_thread(
                profile_command, options["command"], sampler=options.get("sampler", "auto"), cwd=cwd,
                timeout=float(options.get("timeout", 300.0)), memory=bool(options.get("memory", False)),
                cancel=cancel, on_progress=progress.report,
            )  # fmt: skip
        except ProfileCancelled as exc:  # its status first, then the request's error
            _status("idle")
            raise RuntimeError(str(exc)) from None
        except (ProfilerError, TargetError) as exc:
            _status("error")
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"perfsquad: {exc}"))
            raise RuntimeError(str(exc)) from None
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
