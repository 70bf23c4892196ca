"""Benchmark comparison in the editor: ``perfsquad.benchmark``, ``perfsquad.compareBenchmarks``,
``perfsquad.listBenchmarks`` (and ``perfsquad.cancelBenchmark``).

Records are the CLI's (``perfsquad bench`` / ``perfsquad compare``): JSON files under
``.perfsquad/bench/`` of the workspace, so a "before" recorded yesterday (or on the command line)
survives restarts and can be compared with an "after" recorded in the editor.

* ``perfsquad.benchmark`` — ``{"command": [argv...] | "command line", "name", "runs", "warmup",
  "timeout", "profile": bool, "cwd"}``: times the command (each run a subprocess with a timeout,
  killed as a process group on cancel) with ``$/progress``, stores the record and returns its
  ``name``, ``path``, ``runs``, ``mean``, ``stdev`` and a ``summary``.
* ``perfsquad.compareBenchmarks`` — ``[before, after]`` or ``{"before", "after", "alpha",
  "minEffect"}`` (record names or JSON paths): Welch's t-test and the verdict (the CLI's JSON plus
  ``summary`` and ``text``).
* ``perfsquad.listBenchmarks`` — the stored records' names, newest first (for a client's picker).
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfsquad.server.arguments import int_option, tell_plain_client, unwrap
from perfsquad.server.progress import CommandProgress

if TYPE_CHECKING:
    from perfsquad.server.app import PerfsquadServer


def _options(args: Sequence[Any]) -> dict[str, Any]:
    args = unwrap(args)
    if args and isinstance(args[0], dict):
        return dict(args[0])
    return {"positional": list(args)}


def register(server: PerfsquadServer) -> None:
    running: dict[str, threading.Event] = {}

    def store() -> Path:
        from perfsquad.audit.bench import bench_dir, workspace_root

        root = getattr(server.documents, "root", None)
        return bench_dir(Path(root) if root is not None else workspace_root())

    @server.command("perfsquad.benchmark")
    async def bench_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        from perfsquad.audit.bench import BenchCancelled, default_name, run_bench, valid_name
        from perfsquad.audit.stats import mean, stdev

        opts = _options(args)
        if not args:  # a plain LSP client's call: run the current document with the user's interpreter
            from perfsquad.profiling.target import user_interpreter

            opts["command"] = [user_interpreter(server.documents.config_in(server.documents.root).python)[0],
                               server.current_document("perfsquad.benchmark").path]  # fmt: skip
        command = opts.get("command")
        if isinstance(command, str):
            argv = shlex.split(command)
        elif isinstance(command, list) and all(isinstance(a, str) for a in command):
            argv = list(command)
        else:
            raise ValueError('perfsquad.benchmark: give {"command": [argv...] or "command line", "name": ...}')
        if not argv:
            raise ValueError("perfsquad.benchmark: the command is empty")
        name = opts.get("name") or default_name()
        if not isinstance(name, str) or not valid_name(name):
            raise ValueError(f"perfsquad.benchmark: bad record name {name!r} (letters, digits, . _ -)")
        runs = int_option(opts, "runs", 5, 1, "perfsquad.benchmark")
        warmup = int_option(opts, "warmup", 1, 0, "perfsquad.benchmark")
        timeout = float(opts.get("timeout", 300.0))
        root = getattr(server.documents, "root", None)
        cwd = Path(opts["cwd"]) if opts.get("cwd") else (Path(root) if root is not None else None)
        await server.consent.require(ls, Path(root) if root is not None else None, "the benchmark")
        if "benchmark" in running:
            raise RuntimeError("a benchmark is already running: cancel it first")
        cancel = threading.Event()
        running["benchmark"] = cancel  # cleared by the `finally` below, whatever happens after this line
        progress = CommandProgress(ls, "bench", cancel)
        try:
            await progress.begin(f"perfsquad: benchmark {name}")
            record = await progress.in_thread(
                run_bench, argv, name=name, runs=runs, warmup=warmup, timeout=timeout, cwd=cwd,
                profile=bool(opts.get("profile", False)), cancel=cancel, on_progress=progress.report,
                cancelled=(BenchCancelled,),
            )  # fmt: skip
            path = store() / f"{name}.json"
            await progress.in_thread(record.dump, path)
        finally:
            running.pop("benchmark", None)
            progress.end()
        m, s = mean(record.runs), stdev(record.runs)
        tell_plain_client(ls, args, f"benchmark {name}: {len(record.runs)} runs, mean {m:.4f} s ± {s:.4f} s")
        return {
            "name": name,
            "path": str(path),
            "runs": list(record.runs),
            "mean": m,
            "stdev": s,
            "summary": f"{name}: {len(record.runs)} runs, mean {m:.4f} s ± {s:.4f} s",
        }

    @server.command("perfsquad.cancelBenchmark")
    def cancel_cmd(ls: Any, *args: Any) -> bool:
        cancel = running.get("benchmark")
        if cancel is None:
            return False
        cancel.set()
        return True

    @server.command("perfsquad.compareBenchmarks")
    async def compare_cmd(ls: Any, *args: Any) -> dict[str, Any]:
        from perfsquad.audit.bench import load_record, resolve_record
        from perfsquad.audit.compare import compare, format_comparison

        opts = _options(args)
        if not args:  # a plain LSP client's call: the two newest records, older first
            newest = records()[:2]
            if len(newest) < 2:
                raise ValueError("perfsquad.compareBenchmarks: record two benchmarks first (perfsquad.benchmark)")
            opts = {"positional": newest[::-1]}
        positional = opts.get("positional", [])
        before = opts.get("before", positional[0] if len(positional) > 0 else None)
        after = opts.get("after", positional[1] if len(positional) > 1 else None)
        if not isinstance(before, str) or not isinstance(after, str):
            raise ValueError('perfsquad.compareBenchmarks: give [before, after] or {"before", "after"} (record names)')
        alpha = float(opts.get("alpha", 0.05))
        min_effect = float(opts.get("minEffect", 0.02))
        if not 0 < alpha < 1 or min_effect < 0:
            raise ValueError("perfsquad.compareBenchmarks: alpha must be in (0, 1) and minEffect >= 0")
        where = store()
        # BenchError (unknown name, malformed record) reaches the client as the request's error.
        first = load_record(resolve_record(before, where))
        second = load_record(resolve_record(after, where))
        result = compare(first, second, alpha=alpha, min_effect=min_effect)
        tell_plain_client(ls, args, format_comparison(result))
        return {**result.to_json(), "summary": f"{before} → {after}: {result.verdict}", "text": format_comparison(result)}

    def records() -> list[str]:
        """The recorded benchmarks' names, newest first."""
        where = store()
        if not where.is_dir():
            return []
        found = sorted(where.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        return [p.stem for p in found]

    @server.command("perfsquad.listBenchmarks")
    def list_cmd(ls: Any, *args: Any) -> list[str]:
        names = records()
        tell_plain_client(ls, args, f"benchmarks, newest first: {', '.join(names)}" if names else "no benchmark recorded")
        return names
