"""The demo's seeded N+1 queries against their batched versions, on a real file-backed SQLite DB.

What perfsquad flags in ``demo/memoria`` (IO001, with the interprocedural chain) is run here as
written, then its batched reference version, on the same database and the same ids; both must
return the same result. Prints the median time of each and the ratio (the target is >= 5x).

    python bench/n_plus_one.py [--rows 50000] [--ids 5000] [--repeat 5] [--latency-us N ...]

Runs twice by default: on the local file as is (SQLite is in-process: each statement costs
locks and page reads, no network), and with a simulated 100 us round trip per statement (a
busy-wait in SQLite's trace callback: what a database server on the same network adds).

Then two shapes of issue #17, each against its fix, on real SQLite files:

* **connection per call** (IO003): saving N items where each save opens a connection, writes,
  commits and closes it (a ``@contextmanager`` like ``_get_connection()``), against one long-lived
  connection committing per item, and against one connection in WAL mode with
  ``synchronous=NORMAL`` committing once per batch;
* **lazy relationship** (IO001): ``[inv.customer.name for inv in session.scalars(select(Invoice))]``
  with ``Invoice.customer = relationship()`` (lazy ``select``: one query per distinct customer)
  against the same query with ``.options(selectinload(Invoice.customer))`` (needs SQLAlchemy,
  a dev extra; skipped with a message without it).

    python bench/n_plus_one.py --items 500 --invoices 5000 [--only lifecycle,orm]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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
    parser.add_argument("--items", type=int, default=500, help="notes saved by the connection-lifecycle cases")
    parser.add_argument("--invoices", type=int, default=5_000, help="rows read by the lazy-relationship cases")
    parser.add_argument(
        "--only", default="seeded,lifecycle,orm",
        help="comma-separated parts to run: seeded (the demo's N+1), lifecycle, orm",
    )  # fmt: skip
    args = parser.parse_args()
    latencies = args.latency_us if args.latency_us is not None else [0, 100]
    only = {part.strip() for part in args.only.split(",") if part.strip()}

    out: dict[str, Any] = {"rows": args.rows, "ids": args.ids, "runs": {}}
    try:
        run_issue17(args.items, args.invoices, args.repeat, only, out, latencies)
    except AssertionError as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    if "seeded" not in only:
        if args.json:
            args.json.write_text(json.dumps(out, indent=2))
        return 0
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


# -- a connection opened and committed per call, against one long-lived connection ------------------
SCHEMA = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"


@contextlib.contextmanager
def _per_call_connection(path: Path) -> Iterator[sqlite3.Connection]:
    """The shape IO003 reports: connect, commit and close on every operation."""
    conn = sqlite3.connect(str(path))
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def _notes(n: int) -> list[tuple[int, str]]:
    rng = random.Random(2)
    return [(i, " ".join(rng.choices(WORDS, k=12))) for i in range(1, n + 1)]


def _saved(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
    finally:
        conn.close()


def run_lifecycle(items: int, repeat: int) -> list[tuple[str, float, Any]]:
    """Save ``items`` notes three ways on a fresh SQLite file each run; all must store the same rows."""
    notes = _notes(items)

    def per_call(path: Path) -> None:
        for note in notes:  # save_note() called per item, each with its own connection
            with _per_call_connection(path) as conn:
                conn.execute("INSERT INTO notes VALUES (?, ?)", note)

    def one_connection(path: Path, *, wal: bool, commit_each: bool) -> None:
        conn = sqlite3.connect(str(path))
        try:
            if wal:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            for note in notes:
                conn.execute("INSERT INTO notes VALUES (?, ?)", note)
                if commit_each:
                    conn.commit()  # one commit (one fsync unless WAL + NORMAL) per item
            conn.commit()
        finally:
            conn.close()

    def long_lived(path: Path) -> None:
        one_connection(path, wal=False, commit_each=True)

    def long_lived_wal(path: Path) -> None:
        one_connection(path, wal=True, commit_each=True)

    def long_lived_wal_batched(path: Path) -> None:
        one_connection(path, wal=True, commit_each=False)

    cases = [
        ("connection per call (connect, insert, commit, close)", per_call),
        ("one long-lived connection, commit per item", long_lived),
        ("one connection, WAL + synchronous=NORMAL, commit per item", long_lived_wal),
        ("one connection, WAL + synchronous=NORMAL, one commit", long_lived_wal_batched),
    ]
    results: list[tuple[str, float, Any]] = []
    with tempfile.TemporaryDirectory(prefix="perfsquad-conn-") as tmp:
        for label, save in cases:
            times = []
            rows: Any = None
            for i in range(repeat):
                path = Path(tmp) / f"{save.__name__}-{i}.db"
                conn = sqlite3.connect(str(path))
                conn.execute(SCHEMA)
                conn.commit()
                conn.close()
                start = time.perf_counter()
                save(path)
                times.append(time.perf_counter() - start)
                rows = _saved(path)
            if rows != notes:
                raise AssertionError(f"{label}: stored rows differ")
            results.append((label, statistics.median(times), len(rows)))
    return results


# -- a lazy relationship read per row, against selectinload ---------------------------------------------
def run_orm(invoices: int, customers: int, repeat: int, latency_us: int = 0) -> list[tuple[str, float, int]] | None:
    """Read ``inv.customer.name`` for every invoice, lazily and with selectinload, in a fresh session
    each time (an empty identity map, as in a new request). None when SQLAlchemy is missing."""
    try:
        from sqlalchemy import ForeignKey, Integer, String, create_engine, event, select
        from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, relationship, selectinload
    except ImportError:
        return None

    # (no annotations: this module's `from __future__ import annotations` would hide the local names)
    class Base(DeclarativeBase):
        pass

    class Customer(Base):
        __tablename__ = "customers"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(String, nullable=False)

    class Invoice(Base):
        __tablename__ = "invoices"
        id = mapped_column(Integer, primary_key=True)
        customer_id = mapped_column(ForeignKey("customers.id"), nullable=False)
        customer = relationship(Customer)  # lazy="select", the default

    results: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="perfsquad-orm-") as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'invoices.db'}")
        Base.metadata.create_all(engine)
        rng = random.Random(3)
        with Session(engine) as session:
            session.add_all(Customer(id=i, name=f"customer {i}") for i in range(1, customers + 1))
            session.add_all(Invoice(id=i, customer_id=rng.randint(1, customers)) for i in range(1, invoices + 1))
            session.commit()
        engine.dispose()  # the next connections get the simulated round trip
        event.listen(engine, "connect", lambda dbapi_conn, _record: with_latency(dbapi_conn, latency_us))
        statements = [0]
        event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))

        def lazy() -> list[str]:
            with Session(engine) as session:
                rows = session.scalars(select(Invoice)).all()
                return [inv.customer.name for inv in rows]

        def preloaded() -> list[str]:
            with Session(engine) as session:
                rows = session.scalars(select(Invoice).options(selectinload(Invoice.customer))).all()
                return [inv.customer.name for inv in rows]

        expected: list[str] | None = None
        for label, read in (("lazy relationship (one SELECT per customer)", lazy), ("selectinload(Invoice.customer)", preloaded)):
            read()  # warm the page cache and SQLAlchemy's statement cache
            statements[0] = 0
            read()
            per_run = statements[0]
            seconds, names = timed(read, repeat)
            if expected is None:
                expected = names
            elif names != expected:
                raise AssertionError(f"{label}: different names")
            results.append((label, seconds, per_run))
        engine.dispose()
    return results


def run_issue17(
    items: int, invoices: int, repeat: int, only: set[str], out: dict[str, Any], latencies: list[int]
) -> None:
    if "lifecycle" in only:
        lifecycle = run_lifecycle(items, repeat)
        base = lifecycle[0][1]
        print(f"\nconnection lifecycle: saving {items:,} notes to a SQLite file, median of {repeat}")
        print(f"{'how each note is saved':<58} {'seconds':>9} {'vs per call':>12}")
        for label, seconds, _ in lifecycle:
            print(f"{label:<58} {seconds:>9.4f} {base / seconds:>11.1f}x")
        out["lifecycle"] = lifecycle
    if "orm" in only:
        customers = max(1, invoices * 2 // 5)
        out["orm"] = {}
        for latency in latencies:
            orm = run_orm(invoices, customers, repeat, latency)
            if orm is None:
                print("\nlazy relationship: skipped (SQLAlchemy is not installed: scripts/bootstrap.sh dev)")
                return
            base = orm[0][1]
            where = "local file" if latency == 0 else f"+{latency} us simulated round trip per statement"
            print(
                f"\nSQLAlchemy relationship read per row: {invoices:,} invoices, {customers:,} customers,"
                f" fresh session, median of {repeat} ({where})"
            )
            print(f"{'how Invoice.customer is loaded':<58} {'seconds':>9} {'SELECTs':>8} {'vs lazy':>8}")
            for label, seconds, selects in orm:
                print(f"{label:<58} {seconds:>9.4f} {selects:>8,} {base / seconds:>7.1f}x")
            out["orm"][str(latency)] = orm


def _hot(fn: Callable[[store.MemoryStore, list[int]], int], conn: sqlite3.Connection, ids: list[int]) -> Any:
    s = store.MemoryStore(conn)
    n = fn(s, ids)
    return n, s.hot


if __name__ == "__main__":
    raise SystemExit(main())
