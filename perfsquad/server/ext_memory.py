"""Leak checks from the editor: ``perfsquad.leakcheck`` and ``perfsquad.cancelLeakcheck``.

``perfsquad.leakcheck`` runs :func:`perfsquad.profiling.leak.run_leakcheck` off the event loop
(``$/progress``, cancellable: the workload's process group is killed), then

* says the verdict with ``window/showMessage`` (information when flat, warning when it grows);
* when memory grows, publishes ``HOT004`` diagnostics (memory kind) on the lines that allocated
  what each iteration leaves alive, with the bytes per iteration and the call chain; a flat
  result (or ``perfsquad.clearLeakcheck``) removes them.

Arguments: an options object ``{"callable": "pkg.mod:func" | "script": "file.py" | "module":
"name", "args": [...], "iterations": 20, "warmup": 5, "threshold": 64, "timeout": 120, "frames": 4, "cwd": ...}``
or the words of the CLI (``["--callable", "pkg.mod:func", "--iterations", "30", "--", "arg"]``).
The result is the CLI's JSON (schema ``perfsquad.leakcheck/1``).
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from perfsquad.model import Finding, Position, Severity, Span
from perfsquad.server.arguments import unwrap
from perfsquad.server.extensions import workspace_root
from perfsquad.server.progress import CommandProgress

if TYPE_CHECKING:
    from perfsquad.profiling.leak import LeakResult
    from perfsquad.server.app import PerfsquadServer

LEAK_CODE = "HOT004"
MAX_DIAGNOSTICS = 5
MIN_LINE_SHARE = 0.02
"""A retaining line gets a diagnostic when it holds at least this share of the growth..."""
MIN_LINE_BYTES = 16.0
"""...and at least this many bytes per iteration."""


@dataclass
class LeakState:
    running: threading.Event | None = None
    last: LeakResult | None = None
    published: set[int] = field(default_factory=set)


def _size(n: float) -> str:
    for unit, scale in (("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def leak_findings(result: LeakResult, root: Path | None = None) -> dict[str, list[Finding]]:
    """HOT004 findings keyed by file path: the lines that allocate what the iterations retain."""
    from perfsquad.profiling.analysis import is_user_file

    found: dict[str, list[Finding]] = {}
    if result.flat:
        return found
    growth = max(result.growth_per_iteration, 1.0)
    count = 0
    for line in result.top:
        if count >= MAX_DIAGNOSTICS:
            break
        per_iteration = line.bytes_per_iteration
        if per_iteration < MIN_LINE_BYTES or per_iteration < MIN_LINE_SHARE * growth:
            continue
        if not is_user_file(line.file, root):
            continue
        chain = [f"{os.path.basename(fr.file)}:{fr.line}" for fr in line.traceback[1:4]]
        notes = [f"measured by perfsquad leakcheck {result.target} ({result.iterations} iterations)"]
        if chain:
            notes.append("allocated via " + " <- ".join(chain))
        message = (
            f"Memory leak: {_size(per_iteration)} allocated here per iteration stays alive"
            f" ({line.count_diff:+d} blocks over {len(result.measured) - 1} iterations;"
            f" the workload grows {_size(result.growth_per_iteration)}/iteration)"
        )
        severity = Severity.WARNING if per_iteration >= 0.1 * growth else Severity.INFO
        span = Span(Position(line.line, 0), Position(line.line, 0))
        found.setdefault(os.path.realpath(line.file), []).append(
            Finding(LEAK_CODE, message, span, severity, notes=tuple(notes))
        )
        count += 1
    return found


def _parser() -> argparse.ArgumentParser:
    from perfsquad.commands import leakcheck

    parser = argparse.ArgumentParser(prog="perfsquad.leakcheck", add_help=False, exit_on_error=False)
    sub = parser.add_subparsers()
    leakcheck.register(sub)
    return parser


def leak_options(args: Sequence[Any]) -> dict[str, Any]:
    """Normalize the command's arguments (an options object or CLI words) to run_leakcheck's."""
    args = unwrap(args)
    if args and isinstance(args[0], dict):
        raw = dict(args[0])
        from perfsquad.profiling.leak import DEFAULT_FRAMES, DEFAULT_THRESHOLD

        kinds = [k for k in ("callable", "script", "module") if raw.get(k)]
        if len(kinds) != 1:
            raise ValueError("perfsquad.leakcheck: give exactly one of `callable`, `script` or `module`")
        return {
            "mode": kinds[0],
            "target": str(raw[kinds[0]]),
            "args": [str(a) for a in raw.get("args", [])],
            "iterations": int(raw.get("iterations", 20)),
            "warmup": int(raw.get("warmup", 5)),
            "threshold": float(raw.get("threshold", DEFAULT_THRESHOLD)),
            "timeout": float(raw.get("timeout", 120.0)),
            "frames": int(raw.get("frames", DEFAULT_FRAMES)),
            "cwd": raw.get("cwd"),
        }
    if not args or not all(isinstance(a, str) for a in args):
        raise ValueError("perfsquad.leakcheck: give an options object or the CLI's arguments")
    from perfsquad.commands.leakcheck import target_of

    try:
        parsed = _parser().parse_args(["leakcheck", *args])
    except (argparse.ArgumentError, SystemExit) as exc:
        raise ValueError(f"perfsquad.leakcheck: bad arguments: {exc}") from None
    mode, target, extra = target_of(parsed)
    return {
        "mode": mode,
        "target": target,
        "args": extra,
        "iterations": parsed.iterations,
        "warmup": parsed.warmup,
        "threshold": parsed.threshold,
        "timeout": parsed.timeout,
        "frames": parsed.frames,
        "cwd": str(parsed.cwd) if parsed.cwd is not None else None,
    }


def register(server: PerfsquadServer) -> None:
    state = LeakState()
    server.leak_state = state  # type: ignore[attr-defined]  # for tests

    def root() -> Path | None:
        return workspace_root(server)

    def apply(result: LeakResult | None) -> int:
        state.last = result
        extras = server.extra_diagnostics
        for key in list(extras):  # shared with other extensions: remove only ours
            kept = [d for d in extras[key] if id(d) not in state.published]
            if kept:
                extras[key] = kept
            else:
                del extras[key]
        state.published = set()
        total = 0
        if result is not None:
            for key, found in leak_findings(result, root()).items():
                extras[key] = [*extras.get(key, ()), *found]
                state.published.update(id(f) for f in found)
                total += len(found)
        server.refresh_overlays()
        return total

    @server.command("perfsquad.leakcheck")
    async def leakcheck_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        from perfsquad.profiling.leak import LeakCheckCancelled, LeakCheckError, run_leakcheck

        try:  # (no arguments, a plain LSP client's call: the current document, re-run as a script)
            options = leak_options(args or [{"script": server.current_document("perfsquad.leakcheck").path}])
        except ValueError as exc:
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=str(exc)))
            raise
        await server.consent.require(ls, root(), "the leak check")
        if state.running is not None:
            raise RuntimeError("a leak check is already running: cancel it first")
        cancel = threading.Event()
        state.running = cancel  # cleared by the `finally` below, whatever happens after this line
        progress = CommandProgress(ls, "leakcheck", cancel)
        try:
            await progress.begin("perfsquad: leak check", str(options["target"]))
            cwd = options["cwd"] or (str(root()) if root() is not None else None)
            result = await progress.in_thread(
                run_leakcheck,
                options["mode"],
                options["target"],
                options["args"],
                iterations=options["iterations"],
                warmup=options["warmup"],
                threshold=options["threshold"],
                timeout=options["timeout"],
                frames=options["frames"],
                cwd=cwd,
                cancel=cancel,
                on_progress=progress.report,
                cancelled=(LeakCheckCancelled,),
            )
        except LeakCheckError as exc:
            ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"perfsquad: {exc}"))
            raise RuntimeError(str(exc)) from None
        finally:
            state.running = None
            progress.end()
        shown = apply(result)
        if result.flat:
            text = (
                f"perfsquad leakcheck: memory is flat ({result.growth_per_iteration:,.0f} B/iteration over"
                f" {len(result.measured) - 1} iterations, threshold {result.threshold:,.0f})"
            )
        else:
            first = result.top[0] if result.top else None
            where = f"; most retained at {os.path.basename(first.file)}:{first.line}" if first is not None else ""
            text = (
                f"perfsquad leakcheck: memory grows {_size(result.growth_per_iteration)} per iteration"
                f" ({result.target}){where}"
            )
        kind = types.MessageType.Info if result.flat else types.MessageType.Warning
        ls.window_show_message(types.ShowMessageParams(type=kind, message=text))
        return {**result.to_json(), "diagnostics": shown}

    @server.command("perfsquad.cancelLeakcheck")
    def cancel_cmd(ls: Any, *args: Any) -> bool:
        if state.running is None:
            return False
        state.running.set()
        return True

    @server.command("perfsquad.clearLeakcheck")
    def clear_cmd(ls: Any, *args: Any) -> None:
        apply(None)
