#!/usr/bin/env python3
"""Soak benchmark of `perfsquad serve` (issue #19): memory and latency under a long editing session.

Stdlib only (the client is bench/lsp_client.py). Drives ONE real server over stdio through four
phases and prints a table (and writes bench/results/soak.json):

1. **edits**: ``--edits`` (10,000) didChange on django's ``db/models/query.py``, sent as fast as
   the pipe takes them; every 1,000th edit waits for the publish of its version: VmRSS and that
   edit's latency (didChange written -> its publishDiagnostics decoded).
2. **open/close**: ``--docs`` (200) django files opened (each waited for its diagnostics), then
   all closed (each waited for its empty publish): VmRSS before, with all open, after closing.
3. **4 MB file**: real django files concatenated to 4 MB, opened (diagnostics waited for), then
   closed: VmRSS before, open, after close.
4. **typing**: a key every 250 ms (``--keys`` of them) into methods of pandas'
   ``core/frame.py`` (20,426 lines, one class: the largest real file of the corpus) and into 18,000
   lines of real django modules concatenated: a statement typed key by key (so most intermediate
   texts do not parse, as in an editor), a new line in another method after each. The latency of a
   keystroke is from its didChange to the first publish of that version or a later one;
   p50/p95/max.

The server runs with the editor's default settings (``debounceMs`` 150). Targets (issue #19):
RSS after 10,000 edits within 10% of RSS after 1,000; RSS after closing 200 documents within 20%
of the start; p95 publish latency while typing under 1 s.

    python3 bench/soak.py [--perfsquad CMD] [--edits 10000] [--docs 200] [--keys 80] [--py-spy FILE]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus import SetupError, prepare_corpus
from lsp_client import LspClient, LspError, default_perfsquad, publish_params, rss_kib

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results" / "soak.json"
EDIT_FILE = "db/models/query.py"  # inside the django package
BIG_FILE = ("pandas", "core/frame.py")  # (corpus, path inside its package): prepared like django
WAIT_S = 120.0
TYPING_PERIOD_S = 0.25
TYPING_FILES = tuple(os.environ.get("SOAK_TYPING", "frame.py,django_18k.py").split(","))  # one 20k-line class; 18k lines of many modules
TYPED = "total = sum(len(str(x)) for x in range(3))"  # typed key by key into methods
BIG_BYTES = 4_000_000  # "4 MB": under the default max-file-bytes (4 MiB), so it is analyzed
TARGETS = {"edits_rss_growth": 0.10, "close_rss_growth": 0.20, "typing_p95_ms": 1000.0}


@dataclass
class Soak:
    edits: list[dict[str, float]] = field(default_factory=list)  # {"edits", "rss_mib", "latency_ms"}
    docs: dict[str, float] = field(default_factory=dict)
    big: dict[str, float] = field(default_factory=dict)
    typing: dict[str, dict[str, float]] = field(default_factory=dict)  # per file


def mib(pid: int) -> float:
    return rss_kib(pid) / 1024


def settled_mib(pid: int, limit: float = 30.0) -> float:
    """RSS once it stops falling (the server frees a closed document's memory in the background):
    sampled every 0.5 s until it has moved less than 1 MiB for 3 s, or ``limit`` seconds."""
    deadline = time.monotonic() + limit
    samples = [mib(pid)]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        samples.append(mib(pid))
        recent = samples[-7:]
        if len(recent) == 7 and max(recent) - min(recent) < 1.0:
            break
    return samples[-1]


def published(uri: str, version: int | None = None) -> Any:
    """A matcher for a publishDiagnostics of ``uri`` (of ``version`` or a later one)."""

    def match(body: dict[str, Any]) -> bool:
        params = publish_params(body, uri)
        if params is None:
            return False
        got = params.get("version")
        return version is None or (got is not None and got >= version)

    return match


def cleared(uri: str) -> Any:
    def match(body: dict[str, Any]) -> bool:
        params = publish_params(body, uri)
        return params is not None and params.get("diagnostics") == []

    return match


def open_doc(client: LspClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    body = text if text is not None else path.read_text(encoding="utf-8")
    item = {"uri": uri, "languageId": "python", "version": 0, "text": body}
    client.notify("textDocument/didOpen", {"textDocument": item})
    return uri


def close_doc(client: LspClient, uri: str) -> None:
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})


def change(client: LspClient, uri: str, version: int, line: int, col: int, text: str, end_col: int | None = None) -> float:
    rng = {"start": {"line": line, "character": col}, "end": {"line": line, "character": col if end_col is None else end_col}}
    params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": rng, "text": text}]}
    return client.notify("textDocument/didChange", params)


def body_lines(source: str, limit: int) -> list[tuple[int, str]]:
    """(0-based line, indentation) of the first statement of up to ``limit`` function bodies,
    spread over the file (methods included)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(node.body) > 1:
                first = node.body[1]  # after the docstring
            text = lines[first.lineno - 1]
            found.append((first.lineno - 1, text[: len(text) - len(text.lstrip())]))
    found.sort()
    step = max(1, len(found) // limit)
    return found[::step][:limit]


# --- the phases ------------------------------------------------------------------------------
def phase_edits(client: LspClient, root: Path, count: int, soak: Soak) -> None:
    path = root / "django" / EDIT_FILE
    uri = open_doc(client, path)
    client.wait_for(published(uri), WAIT_S)
    spots = body_lines(path.read_text(encoding="utf-8"), 50)
    for i in range(1, count + 1):
        line, indent = spots[((i - 1) // 2) % len(spots)]  # edits 1 and 2 at one spot, 3 and 4 at the next
        version = i
        if i % 2:  # insert a statement, then remove it: the text returns to the original
            sent = change(client, uri, version, line, 0, f"{indent}_soak = len(str({i}))\n")
        else:
            params = {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": line, "character": 0}, "end": {"line": line + 1, "character": 0}}, "text": ""}],
            }
            sent = client.notify("textDocument/didChange", params)
        if i % 1000 == 0:
            got = client.wait_for(published(uri, version), WAIT_S, since=0)
            soak.edits.append({"edits": i, "rss_mib": mib(client.pid), "latency_ms": (got.received - sent) * 1000})
            print(f"  {i:>6} edits: RSS {soak.edits[-1]['rss_mib']:.1f} MiB, latency {soak.edits[-1]['latency_ms']:.0f} ms", flush=True)
    close_doc(client, uri)


def phase_docs(client: LspClient, root: Path, count: int, soak: Soak) -> None:
    files = django_files(root)[:count]
    soak.docs["before_mib"] = settled_mib(client.pid)
    uris = []
    for path in files:
        since = client.cursor()
        uri = open_doc(client, path)
        client.wait_for(published(uri), WAIT_S, since=since)
        uris.append(uri)
    soak.docs["open_mib"] = mib(client.pid)
    for uri in uris:
        since = client.cursor()
        close_doc(client, uri)
        client.wait_for(cleared(uri), WAIT_S, since=since)
    soak.docs["after_mib"] = settled_mib(client.pid)
    soak.docs["count"] = len(files)


def big_text(root: Path, size: int) -> str:
    parts, total = [], 0
    for path in django_files(root):
        text = path.read_text(encoding="utf-8")
        parts.append(text if text.endswith("\n") else text + "\n")
        total += len(parts[-1])
        if total >= size:
            break
    text = "".join(parts)
    cut = text.rfind("\n", 0, size)  # whole lines, at most ``size`` bytes (the files are ASCII-heavy)
    while len(text[: cut + 1].encode()) > size:
        cut = text.rfind("\n", 0, cut)
    return text[: cut + 1]


def django_files(root: Path) -> list[Path]:
    return sorted((root / "django").rglob("*.py"), key=lambda p: (-p.stat().st_size, str(p)))


def lines_of_django(root: Path, count: int) -> str:
    """Real django modules (the largest first) concatenated, cut after ``count`` lines at a
    top-level statement so that the text parses."""
    parts: list[str] = []
    for path in django_files(root):
        text = path.read_text(encoding="utf-8")
        parts.append(text if text.endswith("\n") else text + "\n")
        if sum(part.count("\n") for part in parts) > count + 2000:
            break
    lines = "".join(parts).splitlines(keepends=True)
    tops = [n.lineno - 1 for n in ast.parse("".join(lines)).body]
    cut = next((i for i in tops if i >= count), len(lines))
    while cut > 0 and lines[cut - 1].lstrip().startswith(("@", "#")):
        cut -= 1  # a decorator or comment belongs to the statement after it
    return "".join(lines[:cut])


def phase_big(client: LspClient, root: Path, soak: Soak) -> None:
    text = big_text(root, BIG_BYTES)
    path = root / "big_module.py"
    path.write_text(text, encoding="utf-8")
    soak.big["before_mib"] = settled_mib(client.pid)
    soak.big["lines"] = text.count("\n")
    soak.big["bytes"] = len(text.encode())
    since = client.cursor()
    started = time.perf_counter()
    uri = open_doc(client, path, text)
    got = client.wait_for(published(uri), 600.0, since=since)
    soak.big["first_publish_s"] = got.received - started
    soak.big["open_mib"] = mib(client.pid)
    since = client.cursor()
    close_doc(client, uri)
    client.wait_for(cleared(uri), WAIT_S, since=since)
    soak.big["after_mib"] = settled_mib(client.pid)


def phase_typing(client: LspClient, root: Path, name: str, keys: int, soak: Soak) -> None:
    path = root / name
    source = path.read_text(encoding="utf-8")
    uri = open_doc(client, path, source)
    client.wait_for(published(uri), WAIT_S)
    per_line = len(TYPED) + 1  # Enter (with the indentation an editor adds), then each character
    spots = body_lines(source, keys // per_line + 1)
    sent: dict[int, float] = {}
    version = 0
    start = client.cursor()
    next_at = time.perf_counter()
    for k in range(keys):
        spot, key = divmod(k, per_line)
        line, indent = spots[spot]
        line += spot  # one line inserted above each earlier spot (spots are in file order)
        version += 1
        time.sleep(max(0.0, next_at - time.perf_counter()))
        if key == 0:  # a new line above the method's first statement
            sent[version] = change(client, uri, version, line, 0, f"{indent}\n")
        else:  # the statement, one key at a time: most intermediate texts do not parse
            sent[version] = change(client, uri, version, line, len(indent) + key - 1, TYPED[key - 1])
        next_at += TYPING_PERIOD_S
    last = client.wait_for(published(uri, version), WAIT_S, since=start)
    # Every publish received while typing, in order: a keystroke's latency is the first publish
    # of its version or a later one.
    publishes: list[tuple[float, int]] = []
    index = start
    while True:
        try:
            msg = client.wait_for(published(uri, 1), 0.01, since=index)
        except LspError:
            break
        index = client._messages.index(msg, index) + 1
        publishes.append((msg.received, int(msg.body["params"]["version"])))
        if msg is last:
            break
    latencies = []
    for v, stamp in sent.items():
        first = next((t for t, pv in publishes if pv >= v), last.received)
        latencies.append((first - stamp) * 1000)
    latencies.sort()
    soak.typing[name] = {
        "keys": keys,
        "lines": source.count("\n"),
        "publishes": len(publishes),
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        "max_ms": latencies[-1],
        "after_last_key_ms": (last.received - sent[version]) * 1000,
    }
    close_doc(client, uri)


# --- driver ----------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(soak: Soak) -> tuple[str, bool]:
    rows = ["| measure | value | target | verdict |", "|---|---|---|---|"]
    ok_all = True
    rows.extend(
        f"| after {int(row['edits']):,} edits | RSS {row['rss_mib']:.1f} MiB, latency {row['latency_ms']:.0f} ms | | |"
        for row in soak.edits
    )
    if soak.edits:
        first, last = soak.edits[0]["rss_mib"], soak.edits[-1]["rss_mib"]
        growth = (last - first) / first
        ok = growth <= TARGETS["edits_rss_growth"]
        ok_all &= ok
        rows.append(f"| RSS {int(soak.edits[-1]['edits']):,} vs 1,000 edits | {growth:+.1%} | <= +10% | {verdict(ok)} |")
    if soak.docs:
        d = soak.docs
        growth = (d["after_mib"] - d["before_mib"]) / d["before_mib"]
        ok = growth <= TARGETS["close_rss_growth"]
        ok_all &= ok
        rows.append(
            f"| {int(d['count'])} documents: RSS before / all open / after close | {d['before_mib']:.1f} / {d['open_mib']:.1f} / "
            f"{d['after_mib']:.1f} MiB ({growth:+.1%}) | after <= +20% | {verdict(ok)} |"
        )
    if soak.big:
        b = soak.big
        rows.append(
            f"| {b['bytes'] / 2**20:.1f} MB file ({int(b['lines']):,} lines): RSS before / open / after close | "
            f"{b['before_mib']:.1f} / {b['open_mib']:.1f} / {b['after_mib']:.1f} MiB (kept {b['after_mib'] - b['before_mib']:+.1f} MiB) | | |"
        )
        rows.append(f"| {b['bytes'] / 2**20:.1f} MB file: first diagnostics | {b['first_publish_s']:.1f} s | | |")
    for name, t in soak.typing.items():
        ok = t["p95_ms"] < TARGETS["typing_p95_ms"]
        ok_all &= ok
        rows.append(
            f"| typing every 250 ms, {name} ({int(t['lines']):,} lines), {int(t['keys'])} keys: publish latency p50 / p95 / max | "
            f"{t['p50_ms']:.0f} / {t['p95_ms']:.0f} / {t['max_ms']:.0f} ms ({int(t['publishes'])} publishes) | p95 < 1000 ms | {verdict(ok)} |"
        )
        rows.append(f"| typing in {name}: last key to its diagnostics | {t['after_last_key_ms']:.0f} ms | | |")
    return "\n".join(rows), ok_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--perfsquad", help="the server command (default: this checkout's `python -m perfsquad serve`)")
    parser.add_argument("--edits", type=int, default=10_000)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--keys", type=int, default=80, help="keystrokes in the typing phase (one per 250 ms)")
    parser.add_argument("--skip", default="", help="phases to skip, comma separated: edits,docs,big,typing")
    parser.add_argument("--py-spy", dest="py_spy", help="record the server with py-spy into this file (speedscope)")
    parser.add_argument("--server-log", help="keep the server's stderr in this file")
    parser.add_argument("--no-save", action="store_true", help="do not write bench/results/soak.json")
    args = parser.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    try:
        django = prepare_corpus("django")
        big_file = prepare_corpus(BIG_FILE[0]) / BIG_FILE[1]
    except SetupError as exc:
        print(f"soak: setup failed: {exc}", file=sys.stderr)
        return 2
    if not big_file.is_file():
        print(f"soak: {big_file} is missing from the prepared corpus", file=sys.stderr)
        return 2
    cmd = shlex.split(args.perfsquad) if args.perfsquad else default_perfsquad()
    if cmd[1:3] == ["-m", "perfsquad"]:  # no installed perfsquad: this checkout's
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    soak = Soak()
    with tempfile.TemporaryDirectory(prefix="perfsquad-soak-") as tmp:
        root = Path(tmp)
        (root / "django").symlink_to(django, target_is_directory=True)
        (root / "frame.py").write_text(big_file.read_text(encoding="utf-8"), encoding="utf-8")
        (root / "django_18k.py").write_text(lines_of_django(root, 18_000), encoding="utf-8")
        with open(args.server_log or root / "server.log", "wb") as log:
            client = LspClient(cmd, root, stderr=log)
            spy: subprocess.Popen[bytes] | None = None
            try:
                client.initialize(root, {})
                if args.py_spy:  # attached to the server: the RSS read is the server's own
                    spy_cmd = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(client.pid)]
                    spy_cmd += ["-o", args.py_spy, "-f", "speedscope", "--threads", "--nonblocking"]
                    spy = subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                print(f"server pid {client.pid}: RSS at start {mib(client.pid):.1f} MiB", flush=True)
                if "edits" not in skip:
                    print(f"phase 1: {args.edits:,} edits", flush=True)
                    phase_edits(client, root, args.edits, soak)
                if "docs" not in skip:
                    print(f"phase 2: {args.docs} documents opened and closed", flush=True)
                    phase_docs(client, root, args.docs, soak)
                if "big" not in skip:
                    print("phase 3: a 4 MB file", flush=True)
                    phase_big(client, root, soak)
                if "typing" not in skip:
                    print(f"phase 4: typing every 250 ms ({args.keys} keys)", flush=True)
                    for name in TYPING_FILES:
                        phase_typing(client, root, name, args.keys, soak)
            except LspError as exc:
                print(f"soak: {exc}", file=sys.stderr)
                print(Path(log.name).read_text(errors="replace")[-3000:], file=sys.stderr)
                return 2
            finally:
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        spy.wait(timeout=30)
                client.close(timeout=30.0)
    text, ok = table(soak)
    print()
    print(text)
    if not args.no_save:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"python": sys.version.split()[0], "soak": soak.__dict__, "pass": ok}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
