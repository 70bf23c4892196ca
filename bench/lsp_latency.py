#!/usr/bin/env python3
"""Editor latency benchmark: `perfsquad serve` against `ruff server`, through the same stdio LSP client.

Stdlib only (the client is bench/lsp_client.py). Run from anywhere:

    python3 bench/lsp_latency.py [--perfsquad CMD] [--ruff CMD] [--edits 20] [--rss-files 50]
                                 [--kinds K1,K2] [--interval 0.3] [--debounce-ms N]
                                 [--py-spy FILE]   # also profile perfsquad's latency runs

For each file, each kind of edit (a statement inside a function, a top-level statement between two
blocks, a new function, a deleted block, a 50-line paste: :func:`plan_kind`) and each server:
initialize, open the file, wait for its first diagnostics, do two unmeasured warm-up edits, then make
``--edits`` edits of that kind (each followed by its undo, spread over the file), one every
``--interval`` seconds (0.3 s: typing pace), and time each from the moment ``textDocument/didChange``
is written to the moment the ``publishDiagnostics`` for that document version is decoded. Both
servers run with their DEFAULT settings (perfsquad's debounce included: nothing is subtracted;
``--debounce-ms`` overrides it); ruff server pushes diagnostics because our client does not
advertise pull diagnostics.
Then both servers open the ``--rss-files`` largest files of the django corpus and their VmRSS
(/proc/PID/status) is read once every file has its diagnostics.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from corpus import CORPORA, SetupError, prepare_corpus
from lsp_client import LspClient, LspError, cpu_ns, default_perfsquad, publish_params, rss_kib

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results" / "lsp_latency.json"
FILES = (  # (corpus, path inside the corpus package)
    ("django", "db/models/query.py"),
    ("sympy", "polys/polytools.py"),
)
PERFSQUAD_OPTIONS: dict[str, Any] | None = None  # default settings, as a user runs it (--debounce-ms to override)
INTERVAL_S = 0.3  # one edit every 0.3 s, a typing pace
RUFF_SELECT = ["PERF", "FURB", "C4", "SIM", "UP"]  # the same peer rules as bench/throughput.py
# editorOnly: ignore every pyproject/ruff.toml (this repository's [tool.ruff] excludes bench/.corpus).
RUFF_OPTIONS = {"settings": {"configurationPreference": "editorOnly", "lint": {"select": RUFF_SELECT}}}
WAIT_S = 60.0
TARGET_P95_MS = 50.0
TARGET_RSS_MIB = 150.0


@dataclass(frozen=True)
class Edit:
    """One didChange: ``text`` replaces lines [start, end) (0-based, whole lines)."""

    start: int
    end: int
    text: str
    function: str
    kind: str = "in a function"


@dataclass
class Run:
    file: str
    tool: str
    lines: int
    kind: str = "in a function"
    open_ms: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # server CPU time (all threads) per measured edit
    diagnostics: list[int] = field(default_factory=list)  # diagnostics per measured publish
    median_ms: float | None = None
    p95_ms: float | None = None
    median_cpu_ms: float | None = None
    rss_open_mib: float | None = None  # VmRSS once the file's first diagnostics arrived
    rss_end_mib: float | None = None  # VmRSS after all the edits (growth here is kept per-edit state)
    error: str | None = None


def p95(values: list[float]) -> float:
    """95th percentile, linear interpolation between closest ranks (what numpy calls 'linear')."""
    ordered = sorted(values)
    rank = 0.95 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def plan_edits(source: str, count: int, probe: str = "_bench_probe = len(str({k}))") -> list[Edit]:
    """``count`` edits: insert a statement at the top of a function body, then remove it, in
    functions spread evenly over the file (so every pair leaves the text as it found it).
    Every edited text is checked to parse: the servers see realistic, valid code."""
    lines = source.splitlines(keepends=True)
    spots: list[tuple[int, str, str]] = []  # (0-based line, indentation, function name)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # after the docstring
        if not body:
            continue
        first = body[0]
        decorators = getattr(first, "decorator_list", [])
        line = min([first.lineno, *(d.lineno for d in decorators)]) - 1  # a decorated def starts at its "@"
        indent = lines[line][: first.col_offset]
        if indent.strip() == "" and lines[line][len(indent) :].strip():  # the statement starts its line
            spots.append((line, indent, node.name))
    spots.sort()
    pairs = (count + 1) // 2
    if len(spots) < pairs:
        raise SetupError(f"only {len(spots)} functions to edit, {pairs} needed")
    chosen = [spots[(i * len(spots)) // pairs] for i in range(pairs)]
    edits: list[Edit] = []
    for k, (line, indent, name) in enumerate(chosen):
        statement = f"{indent}{probe.format(k=k)}\n"
        ast.parse("".join([*lines[:line], statement, *lines[line:]]))  # SyntaxError if the plan is wrong
        edits.append(Edit(line, line, statement, name))
        edits.append(Edit(line, line + 1, "", name))
    return edits[:count]


def _blocks(source: str) -> list[tuple[int, int, ast.stmt, list[ast.stmt]]]:
    """Every def/class statement as (first line incl. decorators, end line, node, its siblings),
    0-based and end-exclusive, for those that start and end their own lines."""
    tree = ast.parse(source)
    out: list[tuple[int, int, ast.stmt, list[ast.stmt]]] = []
    parents: list[list[ast.stmt]] = [tree.body]
    parents.extend(
        node.body for node in ast.walk(tree) if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    )
    for body in parents:
        for stmt in body:
            if isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and stmt.end_lineno:
                first = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)]) - 1
                out.append((first, stmt.end_lineno, stmt, body))
    return sorted(out, key=lambda b: b[0])


def _spread(items: list[Any], pairs: int, what: str) -> list[Any]:
    if len(items) < pairs:
        raise SetupError(f"only {len(items)} places for {what}, {pairs} needed")
    return [items[(i * len(items)) // pairs] for i in range(pairs)]


def _pairs(lines: list[str], chosen: list[tuple[int, int, str, str]], kind: str, count: int) -> list[Edit]:
    """(start, end, new text, name) changes, each followed by its undo; every edited text parses."""
    edits: list[Edit] = []
    for start, end, text, name in chosen:
        edited = [*lines[:start], text, *lines[end:]]
        ast.parse("".join(edited))  # SyntaxError if the plan is wrong
        old = "".join(lines[start:end])
        added = text.count("\n")
        edits.append(Edit(start, end, text, name, kind))
        edits.append(Edit(start, start + added, old, name, kind))
    return edits[:count]


def plan_kind(source: str, kind: str, count: int, probe: str = "_bench_probe = len(str({k}))") -> list[Edit]:
    """``count`` edits of one kind, each pair leaving the text as it found it:

    - ``in a function``: a statement at the top of a function body (:func:`plan_edits`);
    - ``top-level statement``: an assignment inserted at module level between two blocks;
    - ``new function``: a three-line function inserted between two blocks (same indentation);
    - ``deleted block``: a function or method of 3-40 lines removed, then put back;
    - ``50-line paste``: 50 lines of a longer function pasted as a copy (renamed) before it.
    """
    if kind == "in a function":
        return [dataclasses.replace(e, kind=kind) for e in plan_edits(source, count, probe)]
    lines = source.splitlines(keepends=True)
    blocks = _blocks(source)
    pairs = (count + 1) // 2
    chosen: list[tuple[int, int, str, str]] = []
    if kind == "top-level statement":
        top = [b for b in blocks if b[2].col_offset == 0]
        for k, (first, _end, node, _siblings) in enumerate(_spread(top, pairs, kind)):
            chosen.append((first, first, f"_bench_flag_{k} = {k}\n", getattr(node, "name", "")))
    elif kind == "new function":
        for k, (first, _end, node, _siblings) in enumerate(_spread(blocks, pairs, kind)):
            indent = " " * node.col_offset
            text = f"{indent}def _bench_new_{k}(value):\n{indent}    return value + {k}\n\n"
            chosen.append((first, first, text, node.name))
    elif kind == "deleted block":
        small = [
            b
            for b in blocks
            if isinstance(b[2], ast.FunctionDef | ast.AsyncFunctionDef) and 3 <= b[1] - b[0] <= 40 and len(b[3]) > 1
        ]
        for first, end, node, _siblings in _spread(small, pairs, kind):
            chosen.append((first, end, "", node.name))
    elif kind == "50-line paste":
        long = [b for b in blocks if isinstance(b[2], ast.FunctionDef | ast.AsyncFunctionDef) and b[1] - b[0] >= 50]
        for k, (first, end, node, _siblings) in enumerate(_spread(long, pairs, kind)):
            body = lines[first:end]
            # The function's first 50 lines (more when line 50 is inside a statement: up to the
            # first cut that parses on its own), its name changed so the copy is a new function.
            cut = 50
            while cut < len(body) and not _complete(body[:cut]):
                cut += 1
            piece = "".join(body[:cut]).replace(f"def {node.name}(", f"def {node.name}_pasted_{k}(", 1)
            if not piece.endswith("\n"):
                piece += "\n"
            chosen.append((first, first, piece, node.name))
    else:
        raise ValueError(f"unknown edit kind {kind!r}")
    return _pairs(lines, chosen, kind, count)


def _complete(lines: list[str]) -> bool:
    """Whether these lines of a function, alone, parse as a function (dedented to column 0)."""
    import textwrap

    try:
        ast.parse(textwrap.dedent("".join(lines)))
    except SyntaxError:
        return False
    return True


KIND_DOC = {
    "in a function": "a statement inserted at the top of a function body, then removed",
    "top-level statement": "an assignment inserted at module level before a top-level block, then removed",
    "new function": "a three-line function inserted before a def/class (same indentation), then removed",
    "deleted block": "a function or method of 3-40 lines removed, then put back",
    "50-line paste": "the first 50 lines of a long function pasted before it as a renamed copy, then removed",
}
KINDS = tuple(KIND_DOC)


def change_params(uri: str, version: int, edit: Edit) -> dict[str, Any]:
    span = {"start": {"line": edit.start, "character": 0}, "end": {"line": edit.end, "character": 0}}
    return {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": span, "text": edit.text}]}


def diagnostics_of(uri: str, version: int | None) -> Any:
    """A matcher for the publishDiagnostics of ``uri`` (for ``version`` if the server sends versions)."""

    def match(body: dict[str, Any]) -> bool:
        params = publish_params(body, uri)
        return params is not None and (version is None or params.get("version") in (None, version))

    return match


def start(tool: str, cmd: list[str], cwd: Path, options: Any, log: Path) -> LspClient:
    stderr = log.open("ab")
    try:
        client = LspClient(cmd, cwd, stderr=stderr)
    finally:
        stderr.close()  # the child has its own copy
    client.initialize(cwd, options)
    return client


def measure_file(
    tool: str,
    cmd: list[str],
    options: Any,
    path: Path,
    root: Path,
    edits: list[Edit],
    log: Path,
    interval: float = 0.0,
) -> Run:
    """One server, one file, one kind of edit (see :func:`measure_together`)."""
    return measure_together([(tool, cmd, options)], path, root, edits, {tool: log}, interval)[0]


def measure_together(
    servers: list[tuple[str, list[str], Any]],
    path: Path,
    root: Path,
    edits: list[Edit],
    logs: dict[str, Path],
    interval: float = 0.0,
) -> list[Run]:
    """Several servers, one file, one kind of edit, side by side: every server has the file
    open, and each edit goes to one server, is timed to its version's diagnostics, then goes to
    the next (the first server alternating from edit to edit), so that a change of the machine's
    speed meanwhile (other load, CPU frequency) affects all alike. Each server gets its next
    edit ``interval`` seconds after its previous one (or as soon as it is answered, if later)."""
    source = path.read_text(encoding="utf-8")
    kind = edits[0].kind if edits else "in a function"
    runs = [Run(str(path.relative_to(root.parent)), tool, len(source.splitlines()), kind) for tool, _, _ in servers]
    for run in runs:
        print(f"  {run.tool}: {run.file} ({run.lines:,} lines), {kind}", file=sys.stderr)
    clients: list[LspClient | None] = []
    uri = path.as_uri()
    try:
        for (tool, cmd, options), run in zip(servers, runs, strict=True):
            try:
                client = start(tool, cmd, root, options, logs[tool])
                since = client.cursor()
                sent = client.notify(
                    "textDocument/didOpen",
                    {"textDocument": {"uri": uri, "languageId": "python", "version": 0, "text": source}},
                )
                run.open_ms = (client.wait_for(diagnostics_of(uri, 0), WAIT_S, since).received - sent) * 1000
                run.rss_open_mib = rss_kib(client.pid) / 1024
                clients.append(client)
            except (LspError, OSError, SetupError) as exc:
                run.error = str(exc)
                print(f"!!! {tool} on {run.file} FAILED: {exc}", file=sys.stderr)
                clients.append(None)
        warmup = plan_edits(source, 2)
        last_sent = [0.0] * len(servers)
        for version, edit in enumerate([*warmup, *edits], start=1):
            order = list(range(len(servers)))
            if version % 2:
                order.reverse()
            for i in order:
                editing, run = clients[i], runs[i]
                if editing is None or run.error is not None:
                    continue
                try:
                    time.sleep(max(0.0, last_sent[i] + interval - time.perf_counter()))
                    since = editing.cursor()
                    cpu_before = cpu_ns(editing.pid)
                    sent = last_sent[i] = editing.notify("textDocument/didChange", change_params(uri, version, edit))
                    reply = editing.wait_for(diagnostics_of(uri, version), WAIT_S, since)
                    cpu_after = cpu_ns(editing.pid)
                except (LspError, OSError, SetupError) as exc:
                    run.error = str(exc)
                    print(f"!!! {run.tool} on {run.file} FAILED: {exc}", file=sys.stderr)
                    continue
                if version > len(warmup):
                    run.latencies_ms.append((reply.received - sent) * 1000)
                    if cpu_before >= 0 and cpu_after >= 0:
                        run.cpu_ms.append((cpu_after - cpu_before) / 1e6)
                    run.diagnostics.append(len(reply.body["params"].get("diagnostics") or []))
        for measured, run in zip(clients, runs, strict=True):
            if measured is None or run.error is not None or not run.latencies_ms:
                continue
            run.median_ms = statistics.median(run.latencies_ms)
            run.p95_ms = p95(run.latencies_ms)
            run.median_cpu_ms = statistics.median(run.cpu_ms) if run.cpu_ms else None
            run.rss_end_mib = rss_kib(measured.pid) / 1024
    finally:
        for opened in clients:
            if opened is not None:
                opened.close()
    return runs


def measure_rss(tool: str, cmd: list[str], options: Any, files: list[Path], root: Path, log: Path) -> dict[str, Any]:
    """VmRSS once every file is open and has its first diagnostics."""
    print(f"  {tool}: opening {len(files)} files", file=sys.stderr)
    client = start(tool, cmd, root, options, log)
    out: dict[str, Any] = {"tool": tool, "files": len(files)}
    try:
        out["rss_before_open_mib"] = rss_kib(client.pid) / 1024
        begin = time.perf_counter()
        for path in files:
            uri = path.as_uri()
            since = client.cursor()
            text = path.read_text(encoding="utf-8")
            client.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": "python", "version": 0, "text": text}},
            )
            client.wait_for(diagnostics_of(uri, 0), WAIT_S, since)
        out["open_all_s"] = time.perf_counter() - begin
        out["lines"] = sum(len(p.read_bytes().splitlines()) for p in files)
        out["rss_mib"] = rss_kib(client.pid) / 1024
    except (LspError, OSError) as exc:
        out["error"] = str(exc)
        print(f"!!! {tool} RSS run FAILED: {exc}", file=sys.stderr)
    finally:
        client.close()
    return out


def version_of(cmd: list[str]) -> str:
    try:
        proc = subprocess.run([cmd[0], "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return (proc.stdout or proc.stderr).strip().splitlines()[0] if (proc.stdout or proc.stderr).strip() else "unknown"


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_table(runs: list[Run], rss: list[dict[str, Any]]) -> None:
    ruff_median = {(r.file, r.kind): r.median_ms for r in runs if r.tool == "ruff server" and r.median_ms}
    header = (
        "file",
        "edit",
        "tool",
        "lines",
        "edits",
        "median ms",
        "p95 ms",
        "max ms",
        "open ms",
        "median / ruff",
        "CPU ms",
    )
    rows = [header]
    for r in runs:
        base = ruff_median.get((r.file, r.kind))
        ratio = f"{r.median_ms / base:.2f}x" if r.median_ms is not None and base else "-"
        top = max(r.latencies_ms) if r.latencies_ms else None
        rows.append(
            (
                r.file,
                r.kind,
                r.tool,
                f"{r.lines:,}",
                str(len(r.latencies_ms)),
                fmt(r.median_ms),
                fmt(r.p95_ms),
                fmt(top),
                fmt(r.open_ms, 0),
                ratio,
                fmt(r.median_cpu_ms),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print(
            "  ".join(
                [
                    row[0].ljust(widths[0]),
                    row[1].ljust(widths[1]),
                    row[2].ljust(widths[2]),
                    *(c.rjust(w) for c, w in zip(row[3:], widths[3:], strict=True)),
                ]
            )
        )
    for r in runs:
        if r.error:
            print(f"{r.tool} on {r.file} ({r.kind}): FAILED ({r.error})")
        elif r.rss_open_mib is not None and r.rss_end_mib is not None:
            print(
                f"{r.tool} on {r.file} ({r.kind}): VmRSS {r.rss_open_mib:.1f} MiB after open, "
                f"{r.rss_end_mib:.1f} MiB after the edits"
            )
    print()
    for item in rss:
        if "error" in item:
            print(f"{item['tool']}: RSS run FAILED ({item['error']})")
        else:
            print(
                f"{item['tool']}: VmRSS {item['rss_mib']:.1f} MiB with {item['files']} django files open "
                f"({item['lines']:,} lines; {item['rss_before_open_mib']:.1f} MiB before; opened in {item['open_all_s']:.1f} s)"
            )


def check_targets(runs: list[Run], rss: list[dict[str, Any]]) -> list[dict[str, Any]]:
    targets: list[dict[str, Any]] = []

    def add(name: str, value: float | None, op: str, goal: float) -> None:
        if value is None:
            verdict = "FAIL"  # a failed or missing measurement never passes
        else:
            verdict = "PASS" if (value <= goal if op == "<=" else value < goal) else "FAIL"
        targets.append({"target": name, "value": value, "op": op, "goal": goal, "verdict": verdict})

    by = {(r.file, r.kind, r.tool): r for r in runs}
    for file, kind in dict.fromkeys((r.file, r.kind) for r in runs):
        ours, ruff = by.get((file, kind, "perfsquad")), by.get((file, kind, "ruff server"))
        ratio = None
        if ours and ruff and ours.median_ms is not None and ruff.median_ms:
            ratio = ours.median_ms / ruff.median_ms
        name = f"{Path(file).name}, {kind}"
        if ruff is not None:
            add(f"{name}: median / ruff's", ratio, "<=", 1.0)
        add(f"{name}: perfsquad p95 ms", ours.p95_ms if ours else None, "<", TARGET_P95_MS)
    ours_rss = next((item for item in rss if item["tool"] == "perfsquad"), None)
    add(
        f"perfsquad VmRSS MiB, {ours_rss['files'] if ours_rss else '?'} files open",
        ours_rss.get("rss_mib") if ours_rss else None,
        "<",
        TARGET_RSS_MIB,
    )
    print("\ntargets:")
    for t in targets:
        shown = "-" if t["value"] is None else f"{t['value']:.2f}"
        print(f"  {t['verdict']:4}  {t['target']:52} {shown:>8}  (target {t['op']} {t['goal']:g})")
    return targets


def py_spy_prefix(out: Path) -> list[str]:
    exe = Path(sys.executable).with_name("py-spy")
    return [str(exe) if exe.exists() else "py-spy", "record", "--rate", "250", "--format", "raw", "-o", str(out), "--"]


def print_hotspots(profile: Path, top: int = 25) -> None:
    """Cumulative and self samples per function in the analysis threads of a py-spy raw profile."""
    if not profile.exists():
        print(f"\n(no profile at {profile})")
        return
    cumulative: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in profile.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")[1:]]  # drop the thread and line numbers
        if not any("analyze_snapshot" in f for f in frames):
            continue  # the event loop thread, idle workers
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            cumulative[frame] += n
    print(f"\nhotspots in {profile} ({total} samples in analysis threads at 250 Hz):")
    for title, counter in (("cumulative", cumulative), ("self", own)):
        print(f"  {title}:")
        for frame, n in counter.most_common(top):
            short = frame.replace(str(BENCH.parent) + "/", "")
            print(f"    {100 * n / max(total, 1):5.1f}%  {short}")


def default_ruff() -> list[str]:
    for exe in (Path(sys.executable).with_name("ruff"), BENCH.parent / ".venv" / "bin" / "ruff"):
        if exe.exists():
            return [str(exe), "server"]
    return ["ruff", "server"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--perfsquad", help="server command (default: the venv's `perfsquad serve`)")
    parser.add_argument("--ruff", help="server command (default: the venv's `ruff server`)")
    parser.add_argument("--edits", type=int, default=20, help="measured edits per file, kind and server")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help="edit kinds, comma-separated (default: all: %(default)s)",
    )
    parser.add_argument(
        "--interval", type=float, default=INTERVAL_S, help="seconds from one edit to the next (default: %(default)s)"
    )
    parser.add_argument(
        "--debounce-ms",
        type=int,
        help="perfsquad's debounceMs setting (default: the server's default, as users run it)",
    )
    parser.add_argument("--rss-files", type=int, default=50, help="django files opened for the RSS figure")
    parser.add_argument(
        "--probe",
        default="_bench_probe = len(str({k}))",
        help="the statement each edit inserts ({k}: the edit pair's number); default: %(default)s",
    )
    parser.add_argument("--skip-ruff", action="store_true", help="measure perfsquad only")
    parser.add_argument("--skip-rss", action="store_true", help="skip the many-files RSS run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="run perfsquad's latency runs under `py-spy record --format raw` (stacks to FILE.<n>) and print "
        "its hotspots; the latencies then include py-spy's overhead (a few percent)",
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown edit kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    ours_options = PERFSQUAD_OPTIONS if args.debounce_ms is None else {"debounceMs": args.debounce_ms}
    servers = [
        ("perfsquad", shlex.split(args.perfsquad) if args.perfsquad else default_perfsquad(), ours_options),
        ("ruff server", shlex.split(args.ruff) if args.ruff else default_ruff(), RUFF_OPTIONS),
    ][: 1 if args.skip_ruff else 2]
    try:
        roots = {name: prepare_corpus(name).parent for name in dict.fromkeys(c for c, _ in FILES)}
        targets_files = [(roots[c], roots[c] / CORPORA[c][2] / rel) for c, rel in FILES]
        plans = [
            plan_kind(path.read_text(encoding="utf-8"), kind, args.edits, args.probe)
            for _, path in targets_files
            for kind in kinds
        ]
        planned = [(root, path) for root, path in targets_files for _ in kinds]
    except (SetupError, OSError, zipfile.BadZipFile, SyntaxError) as exc:
        print(f"lsp_latency: setup failed: {exc}", file=sys.stderr)
        return 2
    django = roots["django"] / "django"
    rss_files = sorted(django.rglob("*.py"), key=lambda p: (-p.stat().st_size, str(p)))[: args.rss_files]

    runs: list[Run] = []
    rss: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    profiles: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="lsp-latency-") as scratch:
        logs = {tool: Path(scratch) / f"{tool.split()[0]}.stderr" for tool, _, _ in servers}
        for tool, cmd, _ in servers:
            print(f"{tool}: {shlex.join(cmd)}", file=sys.stderr)
        # Side by side: each file and kind is measured with every server at once, edit by edit
        # (see measure_together), so a change of the machine's speed affects all alike.
        for (root, path), edits in zip(planned, plans, strict=True):
            together = []
            for tool, cmd, options in servers:
                run_cmd = cmd
                if args.py_spy is not None and tool == "perfsquad":
                    profiles.append(args.py_spy.with_name(f"{args.py_spy.name}.{len(profiles) + 1}").resolve())
                    profiles[-1].parent.mkdir(parents=True, exist_ok=True)
                    run_cmd = [*py_spy_prefix(profiles[-1]), *cmd]
                together.append((tool, run_cmd, options))
            runs.extend(measure_together(together, path, root, edits, logs, args.interval))
        for tool, cmd, options in servers:
            log = logs[tool]
            if not args.skip_rss:
                rss.append(measure_rss(tool, cmd, options, rss_files, roots["django"], log))
            if any(r.error for r in runs if r.tool == tool) or any(
                "error" in item for item in rss if item["tool"] == tool
            ):
                tail = log.read_text(errors="replace").strip().splitlines()[-10:]
                print(f"{tool} stderr (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)

    load_after = os.getloadavg()
    runs.sort(key=lambda r: (r.file, KINDS.index(r.kind), r.tool))
    print()
    print_table(runs, rss)
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} on {os.cpu_count()} CPUs")
    for profile in profiles:
        print_hotspots(profile)
    targets = check_targets(runs, rss)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_1min": {"before": load_before[0], "after": load_after[0]},
        "servers": {
            tool: {"cmd": cmd, "version": version_of(cmd), "initializationOptions": options}
            for tool, cmd, options in servers
        },
        "method": {
            "latency": "didChange written -> publishDiagnostics for that version decoded (reader thread stamp)",
            "side_by_side": "every server has the file open; each edit goes to one server after the other "
            "(the first alternating), each server's edits interval_s apart",
            "cpu": "server CPU time (all threads, /proc/PID/task/*/schedstat) from before didChange to after its publish",
            "perfsquad_options": ours_options,
            "debounce_subtracted_ms": 0,
            "interval_s": args.interval,
            "ruff_diagnostics": "push (client advertises no pull diagnostics capability)",
            "edits": {kind: KIND_DOC[kind] for kind in kinds},
            "warmup_edits": 2,
        },
        "corpora": {name: {"dist": CORPORA[name][0], "version": CORPORA[name][1]} for name in roots},
        "edits": {
            f"{path.relative_to(root)} ({plan[0].kind if plan else '-'})": [asdict(e) for e in plan]
            for (root, path), plan in zip(planned, plans, strict=True)
        },
        "runs": [asdict(r) for r in runs],
        "rss": rss,
        "targets": targets,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
