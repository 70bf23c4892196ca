"""I/O rules on code that only looks like N+1: concurrent requests, page-following, explicit
one-at-a-time paths and one-off code; and the look-alikes that must still be reported.

Each fixture line that must be reported carries ``# expect: CODE``; every other line must stay clean
for the I/O rules at default settings.
"""

from __future__ import annotations

import re

from perfsquad.analyzers import family_rules
from perfsquad.config import Config
from perfsquad.engine import analyze_text
from perfsquad.model import Confidence, Finding

IO_RULES = family_rules("IO")

EXPECT = re.compile(r"#\s*expect:\s*([A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)")


def findings(source: str, path: str = "fixture.py") -> set[tuple[int, str]]:
    report = analyze_text(source, path, rules=IO_RULES)
    assert report.rule_errors == (), report.rule_errors
    assert report.error is None, report.error
    return {(f.span.start.line, f.code) for f in report.findings}


def expected(source: str) -> set[tuple[int, str]]:
    out: set[tuple[int, str]] = set()
    for lineno, line in enumerate(source.splitlines(), 1):
        m = EXPECT.search(line)
        if m:
            out |= {(lineno, code.strip()) for code in m.group(1).split(",")}
    return out


CONCURRENT = '''
import asyncio

import aiohttp
import httpx


async def fetch(client: httpx.AsyncClient, url):
    return await client.get(url)


async def gathered_generator(client: httpx.AsyncClient, urls):
    return await asyncio.gather(*(client.get(u) for u in urls))


async def gathered_list(session: aiohttp.ClientSession, urls):
    return await asyncio.gather(*[session.get(u) for u in urls])


async def gathered_project_coroutines(client: httpx.AsyncClient, urls):
    return await asyncio.gather(*(fetch(client, u) for u in urls))


async def task_group(client: httpx.AsyncClient, urls):
    async with asyncio.TaskGroup() as tg:
        for u in urls:
            tg.create_task(client.get(u))


async def tasks(client: httpx.AsyncClient, urls):
    pending = [asyncio.create_task(fetch(client, u)) for u in urls]
    return await asyncio.wait(pending)


async def completed(client: httpx.AsyncClient, urls):
    for fut in asyncio.as_completed([client.get(u) for u in urls]):
        print(await fut)


# Look-alikes that do wait for one response at a time:
async def awaited_in_comprehension(client: httpx.AsyncClient, urls):
    return [await client.get(u) for u in urls]  # expect: IO001


async def awaited_in_loop(client: httpx.AsyncClient, urls):
    out = []
    for u in urls:
        out.append(await fetch(client, u))  # expect: IO002
    return out


def run_each(client: httpx.AsyncClient, urls):
    loop = asyncio.new_event_loop()
    return [loop.run_until_complete(client.get(u)) for u in urls]  # expect: IO001


def run_each_with_asyncio_run(client: httpx.AsyncClient, urls):
    for u in urls:
        asyncio.run(fetch(client, u))  # expect: IO001
'''


def test_concurrent_requests_are_not_n_plus_one() -> None:
    assert findings(CONCURRENT) == expected(CONCURRENT)


def low_findings(source: str, path: str = "fixture.py") -> dict[tuple[int, str], Finding]:
    """Every finding with ``--confidence low``, by (line, code)."""
    report = analyze_text(source, path, Config(confidence=Confidence.LOW), rules=IO_RULES)
    assert report.rule_errors == (), report.rule_errors
    return {(f.span.start.line, f.code): f for f in report.findings}


PAGES = '''
import httpx
import requests

session = requests.Session()


def follow_next(url):
    out = []
    for _ in range(100):
        resp = session.get(url)
        out.extend(resp.json()["items"])
        url = resp.json().get("next")
        if not url:
            break
    return out


def cursor_tokens(url, pages):
    token = None
    for _ in range(pages):
        data = session.get(url, params={"cursor": token}).json()
        token = data["cursor"]


class Feed:
    def __init__(self):
        self.client = httpx.Client()
        self.offset = 0

    def drain(self, pages):
        for _ in range(pages):
            batch = self.client.get("/feed", params={"offset": self.offset}).json()
            self.offset = batch["offset"]


def same_statement(url, pages):
    for _ in range(pages):
        url = session.get(url).json()["next"]


# Look-alikes: the arguments are fresh in every iteration (from the loop variable, or assigned
# before the call), so the requests are independent: N+1.
def fresh_each_time(ids):
    for i in ids:
        url = f"https://api/items/{i}"
        session.get(url)  # expect: IO001


def result_used_after(ids):
    total = 0
    for i in ids:
        resp = session.get(f"https://api/items/{i}")  # expect: IO001
        total += resp.json()["n"]
    return total


def reset_after_use(ids):
    for i in ids:
        params = {"id": i}
        session.get("https://api/items", params=params)  # expect: IO001
        params = None


def numbered(rows):
    n = 0
    for row in rows:
        session.post("https://api/rows", json={"n": n, "row": row})  # expect: IO001
        n += 1


def with_response(url, pages):
    for _ in range(pages):
        with session.get(url) as resp:
            url = resp.json()["next"]
'''


def test_page_following_is_not_told_to_batch() -> None:
    assert findings(PAGES) == expected(PAGES)
    low = low_findings(PAGES)
    pages = {key: f for key, f in low.items() if key[0] in (11, 22, 33, 39, 74)}
    assert sorted(line for line, _ in pages) == [11, 22, 33, 39, 74]
    for f in pages.values():
        assert f.confidence is Confidence.LOW
        assert "batch it" not in f.message and "page-following" in f.message
        assert f.evidence is not None and "from the one before" in f.evidence
    assert any("`url`" in n for n in low[(11, "IO001")].notes)
    assert any("`token`" in n for n in low[(22, "IO001")].notes)
    assert any("`self.offset`" in n for n in low[(33, "IO001")].notes)


ASYNC_PAGES = '''
import httpx


async def follow(client: httpx.AsyncClient, url, pages):
    out = []
    for _ in range(pages):
        resp = await client.get(url)
        out.append(resp)
        url = resp.json()["next"]
    return out


async def each(client: httpx.AsyncClient, ids):
    out = []
    for i in ids:
        out.append(await client.get(f"/items/{i}"))  # expect: IO002
    return out
'''


def test_async_page_following_is_neither_gathered_nor_batched() -> None:
    assert findings(ASYNC_PAGES) == expected(ASYNC_PAGES)
    (low,) = [f for key, f in low_findings(ASYNC_PAGES).items() if key[0] == 8]
    assert low.code == "IO001" and low.confidence is Confidence.LOW and "page-following" in low.message


UNBATCHED = '''
import sqlite3


def save_one(conn: sqlite3.Connection, row):
    conn.execute("UPDATE t SET a = ? WHERE id = ?", (row.a, row.id))


def save(conn: sqlite3.Connection, rows, batch=True):
    if not batch:
        for row in rows:
            save_one(conn, row)
        return
    conn.executemany("UPDATE t SET a = ? WHERE id = ?", [(r.a, r.id) for r in rows])


class Mapper:
    def __init__(self, conn: sqlite3.Connection, batch: bool):
        self.conn = conn
        self.batch = batch

    def flush(self, rows):
        if self.batch is False:
            for row in rows:
                save_one(self.conn, row)
        else:
            self.conn.executemany("UPDATE t SET a = ? WHERE id = ?", [(r.a, r.id) for r in rows])

    def flush_else(self, rows):
        if self.batch:
            self.conn.executemany("UPDATE t SET a = ? WHERE id = ?", [(r.a, r.id) for r in rows])
        else:
            for row in rows:
                save_one(self.conn, row)


def save_all(conn: sqlite3.Connection, rows, single=False):
    for row in rows:
        store(conn, [row], single=True)


def store(conn: sqlite3.Connection, rows, single=False):
    for row in rows:
        conn.execute("UPDATE t SET a = ? WHERE id = ?", (row.a, row.id))  # expect: IO001


# Look-alikes: a flag that is not about batching, and the batched branch itself.
def save_verbose(conn: sqlite3.Connection, rows, verbose=False):
    if not verbose:
        for row in rows:
            save_one(conn, row)  # expect: IO001


def save_when_batching(conn: sqlite3.Connection, rows, batch=True):
    if batch:
        for row in rows:
            save_one(conn, row)  # expect: IO001
'''


def test_explicit_one_at_a_time_path_is_low() -> None:
    assert findings(UNBATCHED) == expected(UNBATCHED)
    low = low_findings(UNBATCHED)
    for line in (12, 25, 34, 39):
        f = low[(line, "IO001")]
        assert f.confidence is Confidence.LOW
        assert f.evidence is not None and "one-at-a-time path" in f.evidence


MIGRATION = '''
from django.db import migrations


def forwards(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for model in apps.get_models():
        Permission.objects.filter(content_type__model=model.__name__).update(name="x")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(forwards)]
'''

ALEMBIC = '''
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session


def upgrade():
    session = Session(bind=op.get_bind())
    for row in session.execute(sa.text("SELECT id FROM t")).all():
        session.execute(sa.text("UPDATE t SET a = 1 WHERE id = :id"), {"id": row.id})
'''

NOT_A_MIGRATION = '''
from django.db import models


class Migration(models.Model):
    name = models.CharField()


def rename(ids):
    for i in ids:
        Migration.objects.filter(pk=i).update(name="x")  # expect: IO001
'''


def test_migrations_run_once_per_database() -> None:
    for source in (MIGRATION, ALEMBIC):
        assert findings(source) == set()
        low = [f for f in low_findings(source).values() if f.code == "IO001"]
        assert len(low) == 1 and low[0].confidence is Confidence.LOW
        assert low[0].evidence is not None and "migration" in low[0].evidence
    assert findings(NOT_A_MIGRATION) == expected(NOT_A_MIGRATION)


EVIDENCE = '''
import asyncio
import sqlite3
import time

import httpx
import requests

session = requests.Session()
conn = sqlite3.connect("app.db")
CODES = ("a", "b", "c")


def per_param(ids):
    for i in ids:
        conn.execute("SELECT * FROM t WHERE id = ?", (i,))  # expect: IO001


def per_literal():
    for code in CODES:
        conn.execute("SELECT * FROM t WHERE code = ?", (code,))


for code in ["x", "y"]:
    conn.execute("SELECT * FROM t WHERE code = ?", (code,))


def inserts(rows):
    for r in rows:
        conn.execute("INSERT INTO t VALUES (?)", (r,))  # expect: IO006


def sessions(urls):
    for u in urls:
        requests.get(u)  # expect: IO003


async def awaits(client: httpx.AsyncClient, urls):
    for u in urls:
        await client.get(u)  # expect: IO002


async def blocks():
    time.sleep(1)  # expect: IO004


def log_each(events):
    for e in events:
        with open("audit.log", "a") as fh:  # expect: IO005
            fh.write(e)


def log_fixed():
    for e in ("start", "stop"):
        with open("audit.log", "a") as fh:
            fh.write(e)


def log_attribute(job):
    for e in job.events:
        with open("audit.log", "a") as fh:
            fh.write(e)
'''


def test_every_io_finding_carries_evidence() -> None:
    assert findings(EVIDENCE) == expected(EVIDENCE)
    low = low_findings(EVIDENCE)
    assert all(f.evidence for f in low.values())
    assert low[(16, "IO001")].confidence is Confidence.HIGH
    assert "parameter `ids`" in (low[(16, "IO001")].evidence or "")
    assert low[(21, "IO001")].confidence is Confidence.LOW
    assert low[(25, "IO001")].confidence is Confidence.LOW
    assert "import" in (low[(25, "IO001")].evidence or "")
    # The saving per iteration is small: IO005 is one level below its loop's evidence.
    assert low[(49, "IO005")].confidence is Confidence.MEDIUM
    assert low[(55, "IO005")].confidence is Confidence.LOW
    assert low[(61, "IO005")].confidence is Confidence.LOW
