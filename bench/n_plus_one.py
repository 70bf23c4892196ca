"""The demo's seeded N+1 queries against their batched versions, on a real file-backed SQLite DB.

What perfsquad flags in ``demo/memoria`` (IO001, with the interprocedural chain) is run here as
written, then its batched reference version, on the same database and the same ids; both must
return the same result. Prints the median time of each and the ratio (the target is >= 5x).

    python bench/n_plus_one.py [--rows 50000] [--ids 5000] [--repeat 5] [--latency-us N ...]

Runs twice by default: on the local file as is (SQLite is in-process: each statement costs
locks and page reads, no network), and with a simulated 100 us round trip per statement (a
busy-wait in SQLite's trace callback: what a database server on the same network adds).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "demo"))
sys.path.insert(0, str(ROOT))

from memoria import agent, store  # type: ignore[import-not-found]  # noqa: E402

from perfsquad.api import analyze_paths  # noqa: E402
from perfsquad.config import Config  # noqa: E402

_TEXT = """the agent remembers a user prefers short answers and tea over coffee meeting moved to
Tuesday project deadline is in March call Alice about budget of travel plan Paris hotel booked"""
WORDS = tuple(_TEXT.split())
KINDS = ("episodic", "semantic", "procedural", "preference")


def build_db(path: Path, rows: int) -> None:
    rng = random.Random(0)
    conn = store.connect(str(path))
    memories = [
        store.Memory(i, rng.choice(KINDS), " ".join(rng.choices(WORDS, k=rng.randint(12, 40))), round(rng.random(), 4))
        for i in range(1, rows + 1)
    ]
    store.save_memories_batched(conn, memories)
    conn.close()


def with_latency(conn: sqlite3.Connection, latency_us: int) -> None:
    if latency_us <= 0:
        return
    delay = latency_us / 1e6

    def trace(_statement: str) -> None:
        end = time.perf_counter() + delay
        while time.perf_counter() < end:
            pass

    conn.set_trace_callback(trace)


def timed(fn: Callable[[], Any], repeat: int, fresh: Callable[[], None] | None = None) -> tuple[float, Any]:
    times = []
    result: Any = None
    for _ in range(repeat):
        if fresh is not None:
            fresh()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def seeded_chains() -> dict[str, str]:
    """What perfsquad says about the demo's N+1 loops (function -> message)."""
    reports = analyze_paths([ROOT / "demo" / "memoria"], Config(select=("IO001",)), jobs=1)
    out = {}
    for report in reports:
        for f in report.findings:
            out[f"{Path(report.path).name}:{f.span.start.line}"] = f.message
    return out


def run(rows_n: int, ids_n: int, repeat: int, latency_us: int) -> list[tuple[str, float, float, float]]:
    """Time each seeded N+1 and its batched version; raises if they disagree."""
    with tempfile.TemporaryDirectory(prefix="perfsquad-n1-") as tmp:
        master = Path(tmp) / "memories.db"
        build_db(master, rows_n)
        work = Path(tmp) / "work.db"
        rng = random.Random(1)
        ids = rng.sample(range(1, rows_n + 1), min(ids_n, rows_n))
        ids += ids[: len(ids) // 20]  # a few duplicates, and ids that do not exist
        ids += [rows_n + i for i in range(1, 50)]
        conn_box: list[sqlite3.Connection] = []

        def fresh() -> None:
            if conn_box:
                conn_box.pop().close()
            shutil.copyfile(master, work)
            conn = sqlite3.connect(str(work))
            with_latency(conn, latency_us)
            conn_box.append(conn)

        def conn() -> sqlite3.Connection:
            return conn_box[-1]

        fresh()
        cases: list[tuple[str, Callable[[], Any], Callable[[], Any], bool]] = [
            (
                "agent.recall (recall -> _recall_memory -> store.load_memory)",
                lambda: agent.Agent(conn()).recall(ids),
                lambda: agent.Agent(conn()).recall_batched(ids),
                False,
            ),
            (
                "store.refresh (refresh -> _load_one)",
                lambda: _hot(store.refresh, conn(), ids),
                lambda: _hot(store.refresh_batched, conn(), ids),
                False,
            ),
            (
                "store.fetch_memories",
                lambda: store.fetch_memories(conn(), ids),
                lambda: store.fetch_memories_batched(conn(), ids),
                False,
            ),
            (
                "agent.forget (forget -> _delete_memory -> store.delete_memory)",
                lambda: agent.Agent(conn()).forget(ids),
                lambda: agent.Agent(conn()).forget_batched(ids),
                True,
            ),
        ]
        results = []
        for label, slow, fast, writes in cases:
            if not writes:  # warm SQLite's page cache for both versions alike
                slow()
                fast()
            t_slow, r_slow = timed(slow, repeat, fresh if writes else None)
            t_fast, r_fast = timed(fast, repeat, fresh if writes else None)
            if writes:
                fresh()  # the next cases read the full database again
            if r_slow != r_fast:
                raise AssertionError(f"{label}: the batched version returns a different result")
            results.append((label, t_slow, t_fast, t_slow / t_fast))
        conn().close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--ids", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--latency-us", type=int, action="append", default=None,
        help="simulated round trip per statement, in microseconds (repeatable; default: 0 and 100)",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    latencies = args.latency_us if args.latency_us is not None else [0, 100]

    out: dict[str, Any] = {"rows": args.rows, "ids": args.ids, "runs": {}}
    verdicts = []
    for latency in latencies:
        try:
            results = run(args.rows, args.ids, args.repeat, latency)
        except AssertionError as exc:
            print(f"FAIL: {exc}", file=sys.stderr)
            return 1
        where = "local file, no added latency" if latency == 0 else f"+{latency} us simulated round trip per statement"
        print(f"\nfile-backed SQLite, {args.rows:,} rows, ~{args.ids:,} ids per call, median of {args.repeat} ({where})")
        print(f"{'seeded N+1 (flagged IO001)':<66} {'N+1 s':>8} {'batched s':>10} {'ratio':>7}")
        for label, t_slow, t_fast, ratio in results:
            print(f"{label:<66} {t_slow:>8.4f} {t_fast:>10.4f} {ratio:>6.1f}x")
        out["runs"][str(latency)] = results
        best = results[0][3]
        verdicts.append(
            f"{'PASS' if best >= 5 else 'FAIL'}  cross-module N+1 (agent.recall), {where}:"
            f" batched {best:.1f}x faster (target >= 5x)"
        )
    chains = seeded_chains()
    out["chains"] = chains
    print("\nperfsquad on demo/memoria (IO001):")
    for at, message in sorted(chains.items()):
        print(f"  {at}: {message}")
    print()
    print("\n".join(verdicts))
    print("note: on a local file each SQLite statement costs tens of microseconds (locks, page reads);")
    print("      a database server adds a network round trip per statement, which is what batching saves.")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


def _hot(fn: Callable[[store.MemoryStore, list[int]], int], conn: sqlite3.Connection, ids: list[int]) -> Any:
    s = store.MemoryStore(conn)
    n = fn(s, ids)
    return n, s.hot


if __name__ == "__main__":
    raise SystemExit(main())
