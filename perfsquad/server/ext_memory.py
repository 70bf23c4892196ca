"""Leak checks from the editor: ``perfsquad.leakcheck`` and ``perfsquad.cancelLeakcheck``.

``perfsquad.leakcheck`` runs :func:`perfsquad.profiling.leak.run_leakcheck` off the event loop
(``$/progress``, cancellable from the progress, by ``$/cancelRequest`` or ``perfsquad.cancelLeakcheck``:
the workload's process group is killed before the command ends), then

* says the result once with ``window/showMessage`` (information when flat, warning when it grows):
  the verdict, the growth per iteration and the top places as ``file:line``
  (:func:`perfsquad.profiling.leak.summary`); the response has the same text as ``summary``, the
  full report as ``text``, and ``shown: true``;
* a failure (timeout, cancel, the workload raised, bad arguments) is one message too, and the
  error response (``RequestFailed``, ``data.shown``) carries the same words, without a traceback;
  a timeout names the setting to raise, ``perfsquad.leakcheck.timeoutSeconds`` (120 s);
* when memory grows, publishes ``HOT004`` diagnostics (memory kind) on the lines that allocated
  what each iteration leaves alive, with the bytes per iteration and the call chain; a flat
  result (or ``perfsquad.clearLeakcheck``) removes them.

Arguments: an options object ``{"callable": "pkg.mod:func" | "script": "file.py" | "module":
"name", "args": [...], "iterations": 20, "warmup": 5, "threshold": 64, "timeout": 120, "budget": 15,
"frames": 4, "cwd": ...}`` (``timeout`` defaults to the setting)
or the words of the CLI (``["--callable", "pkg.mod:func", "--iterations", "30", "--", "arg"]``).
The result is the CLI's JSON (schema ``perfsquad.leakcheck/1``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException

from perfsquad.model import Finding, Position, Severity, Span
from perfsquad.server.arguments import fail, unwrap
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
        if line.holder:  # the untraced method: the container that keeps the memory
            short = line.holder.rsplit(".", 2)[-2:] if "." in line.holder else [line.holder]
            message = f"Memory leak: `{'.'.join(short)}` keeps {_size(per_iteration)} more per iteration"
            notes.append(f"held: {', '.join(f'{n} {k}' for k, n in line.types)} over {len(result.measured)} iterations")
        else:
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


def leak_options(args: Sequence[Any], timeout: float | None = None) -> dict[str, Any]:
    """Normalize the command's arguments (an options object or CLI words) to run_leakcheck's;
    ``timeout`` (the setting) applies unless the arguments give one."""
    from perfsquad.profiling.leak import DEFAULT_BUDGET, DEFAULT_FRAMES, DEFAULT_THRESHOLD, DEFAULT_TIMEOUT

    default_timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    args = unwrap(args)
    if args and isinstance(args[0], dict):
        raw = dict(args[0])

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
            "timeout": float(raw.get("timeout", default_timeout)),
            "budget": float(raw.get("budget", DEFAULT_BUDGET)),
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
        "timeout": parsed.timeout if any(str(a).startswith("--timeout") for a in args) else default_timeout,
        "budget": parsed.budget,
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
        from perfsquad.profiling.leak import LeakCheckCancelled, LeakCheckError, format_text, run_leakcheck, summary

        try:  # (no arguments, a plain LSP client's call: the current document, re-run as a script)
            target = args or [{"script": server.current_document("perfsquad.leakcheck").path}]
            options = leak_options(target, server.documents.options.leakcheck_timeout)
        except (ValueError, TypeError, JsonRpcException) as exc:  # (JsonRpcException: no document open)
            raise fail(ls, f"perfsquad: {getattr(exc, 'message', None) or exc}") from None
        await server.consent.require(ls, root(), "the leak check")
        if state.running is not None:
            raise fail(ls, "perfsquad: a leak check is already running: cancel it first", types.MessageType.Warning)
        cancel = threading.Event()
        state.running = cancel  # cleared by the `finally` below, whatever happens after this line
        progress = CommandProgress(ls, "leakcheck", cancel)
        name = os.path.basename(str(options["target"]))
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
                budget=options["budget"],
                frames=options["frames"],
                cwd=cwd,
                cancel=cancel,
                on_progress=progress.report,
                timeout_hint="raise the setting perfsquad.leakcheck.timeoutSeconds",
            )
        except LeakCheckCancelled:
            raise fail(ls, f"perfsquad: leak check cancelled; {name} was stopped", types.MessageType.Info) from None
        except LeakCheckError as exc:
            raise fail(ls, f"perfsquad: leak check failed: {exc}") from None
        except asyncio.CancelledError:  # $/cancelRequest (answered RequestCancelled): the child is gone
            fail(ls, f"perfsquad: leak check cancelled; {name} was stopped", types.MessageType.Info)
            raise
        finally:
            state.running = None
            progress.end()
        shown = apply(result)
        text = "perfsquad: " + summary(result, root())
        kind = types.MessageType.Info if result.flat else types.MessageType.Warning
        ls.window_show_message(types.ShowMessageParams(type=kind, message=text))
        return {
            **result.to_json(), "diagnostics": shown, "summary": text, "text": format_text(result, root()),
            "shown": True,
        }  # fmt: skip

    @server.command("perfsquad.cancelLeakcheck")
    def cancel_cmd(ls: Any, *args: Any) -> bool:
        if state.running is None:
            return False
        state.running.set()
        return True

    @server.command("perfsquad.clearLeakcheck")
    def clear_cmd(ls: Any, *args: Any) -> None:
        apply(None)
