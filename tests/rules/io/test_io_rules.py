"""I/O rules on fixtures, one library family at a time: what is flagged, and the traps that are not.

Each fixture line that must be reported carries ``# expect: CODE`` (bugbear style); every other
line must stay clean for the I/O rules.
"""

from __future__ import annotations

import re

import pytest

from perfsquad.analyzers import family_rules
from perfsquad.engine import analyze_text

IO_RULES = family_rules("IO")

EXPECT = re.compile(r"#\s*expect:\s*([A-Z]+\d+(?:\s*,\s*[A-Z]+\d+)*)")


def findings(source: str) -> set[tuple[int, str]]:
    report = analyze_text(source, "fixture.py", rules=IO_RULES)
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


SQLITE = '''
import sqlite3

conn = sqlite3.connect("app.db")
rows = conn.execute("SELECT id FROM t").fetchall()   # a single query outside the loop


def load_each(ids):
    cur = conn.cursor()
    for i in ids:
        cur.execute("SELECT * FROM t WHERE id = ?", (i,))  # expect: IO001
        print(cur.fetchone())


def iterate_rows():
    cur = conn.cursor()
    for row in cur.execute("SELECT * FROM t"):   # iterating a cursor's rows is one query
        print(row)


def batched(chunks):
    for chunk in chunks:
        conn.executemany("UPDATE t SET a = ? WHERE id = ?", chunk)   # already batched


def in_chunks(ids):
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        conn.execute(f"SELECT * FROM t WHERE id IN ({','.join('?' * len(part))})", part)


def save(rows):
    for r in rows:
        conn.execute("INSERT INTO t VALUES (?, ?)", r)  # expect: IO006


def with_engine(path, ids):
    with sqlite3.connect(path) as c:
        return [c.execute("SELECT 1 WHERE ? > 0", (i,)).fetchone() for i in ids]  # expect: IO001


def reconnect(paths):
    for p in paths:
        sqlite3.connect(p).close()  # expect: IO003


class Store:
    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path)

    def delete(self, i):
        self.conn.execute("DELETE FROM t WHERE id = ?", (i,))

    def forget(self, ids):
        for i in ids:
            self.delete(i)  # expect: IO001
'''

POSTGRES = '''
import asyncpg
import psycopg
import psycopg2


def pg2(dsn, ids):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    for i in ids:
        cur.execute("SELECT name FROM users WHERE id = %s", (i,))  # expect: IO001
    cur.execute("SELECT name FROM users WHERE id = ANY(%s)", (ids,))


def pg3_vectors(dsn, embeddings):
    with psycopg.connect(dsn) as conn:
        for e in embeddings:
            conn.execute("SELECT id FROM items ORDER BY embedding <-> %s LIMIT 5", (e,))  # expect: IO001


async def apg(pool: asyncpg.Pool, ids):
    for i in ids:
        await pool.fetchrow("SELECT * FROM t WHERE id = $1", i)  # expect: IO002


async def apg_conn(dsn, ids):
    conn = await asyncpg.connect(dsn)
    for i in ids:
        await conn.fetchrow("SELECT * FROM t WHERE id = $1", i)  # expect: IO001
    await conn.executemany("INSERT INTO t VALUES ($1)", [(i,) for i in ids])
'''

SQLALCHEMY = '''
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)


def by_id(session: Session, ids):
    return [session.get(User, i) for i in ids]  # expect: IO001


def scalars(ids):
    with Session(engine) as session:
        for i in ids:
            session.scalars(select(User).where(User.id == i)).first()  # expect: IO001


def legacy(ids):
    session = SessionLocal()
    for i in ids:
        session.query(User).filter(User.id == i).first()  # expect: IO001
    return session.query(User).filter(User.id.in_(ids)).all()


def core(ids):
    with engine.connect() as c:
        for i in ids:
            c.execute(select(User).where(User.id == i))  # expect: IO001
'''

DJANGO = '''
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=50)


class Book(models.Model):
    title = models.CharField(max_length=50)
    author = models.ForeignKey(Author, on_delete=models.CASCADE)
    tags = models.ManyToManyField("Tag")


def titles_and_authors():
    for book in Book.objects.filter(title__startswith="A"):
        print(book.title, book.author.name)  # expect: IO001
        print([t.name for t in book.tags.all()])  # expect: IO001


def prefetched():
    for book in Book.objects.select_related("author").prefetch_related("tags"):
        print(book.author.name, list(book.tags.all()))


def counts(authors):
    return {a.id: Book.objects.filter(author=a).count() for a in authors}  # expect: IO001


def lazy_querysets(authors):
    return [Book.objects.filter(author=a) for a in authors]   # lazy: no query until evaluated
'''

HTTP = '''
import asyncio
import re
import urllib.request

import aiohttp
import httpx
import requests

session = requests.Session()


def sessionless(ids):
    for i in ids:
        requests.get(f"https://api/x/{i}")  # expect: IO003


def with_session(ids):
    return [session.get(f"https://api/x/{i}").json() for i in ids]  # expect: IO001


def not_http(d, keys, text):
    for k in keys:
        d.get(k)
        re.search(k, text)


def urllib_loop(urls):
    for u in urls:
        urllib.request.urlopen(u)  # expect: IO003


def client_in_loop(urls):
    for u in urls:
        with httpx.Client() as c:  # expect: IO003
            c.get(u)  # expect: IO001


async def gathered(urls):
    async with httpx.AsyncClient() as client:
        pages = []
        for u in urls:
            pages.append(await client.get(u))  # expect: IO002
        return pages


async def retry(client: httpx.AsyncClient, url):
    for attempt in range(5):
        try:
            return await client.get(url)
        except httpx.HTTPError:
            await asyncio.sleep(2**attempt)


async def as_completed(tasks):
    for fut in asyncio.as_completed(tasks):
        print(await fut)


async def rate_limited(session: aiohttp.ClientSession, urls):
    for u in urls:
        await session.get(u)
        await asyncio.sleep(0.1)


async def blocking_in_async(url):
    return requests.get(url).json()  # expect: IO004
'''

VECTOR_AI = '''
import chromadb
from openai import AsyncOpenAI, OpenAI
from pinecone import Pinecone
from qdrant_client import QdrantClient

qdrant = QdrantClient(url="http://localhost:6333")
pc = Pinecone(api_key="k")
index = pc.Index("memories")
chroma = chromadb.PersistentClient(path="db")
collection = chroma.get_or_create_collection("docs")
client = OpenAI()
aclient = AsyncOpenAI()


def search_each(vectors):
    return [qdrant.search("c", query_vector=v, limit=3) for v in vectors]  # expect: IO001


def upsert_in_chunks(chunks):
    for chunk in chunks:
        qdrant.upsert("c", points=chunk)   # a batch per chunk


def pinecone_each(vectors):
    for v in vectors:
        index.query(vector=v, top_k=3)  # expect: IO001


def chroma_each(texts):
    for t in texts:
        collection.query(query_texts=[t], n_results=2)  # expect: IO001


def embed_each(texts):
    return [client.embeddings.create(model="m", input=t) for t in texts]  # expect: IO001


def embed_once(texts):
    return client.embeddings.create(model="m", input=texts)


async def embed_concurrently(texts):
    out = []
    for t in texts:
        out.append(await aclient.embeddings.create(model="m", input=t))  # expect: IO002
    return out


def clients_in_loop(urls):
    for u in urls:
        QdrantClient(url=u).count("c")  # expect: IO003
'''

FILES_PROCESSES = '''
import subprocess
import time
from pathlib import Path


def append_lines(events):
    for e in events:
        with open("audit.log", "a") as log:  # expect: IO005
            log.write(e)


def per_file(paths):
    for p in paths:
        with open(p) as fh:
            print(fh.read())


def config_each(items):
    cfg = Path("settings.toml")
    for i in items:
        print(cfg.read_text(), i)  # expect: IO005


def build():
    subprocess.run(["make"])


async def handler(path):
    time.sleep(0.5)  # expect: IO004
    with open(path) as fh:
        data = fh.read()  # expect: IO004
    build()  # expect: IO004
    return data


async def offloaded(path):
    import asyncio

    return await asyncio.to_thread(Path(path).read_text)


def sync_sleep():
    time.sleep(1)
'''

FIXTURES = {
    "sqlite": SQLITE,
    "postgres": POSTGRES,
    "sqlalchemy": SQLALCHEMY,
    "django": DJANGO,
    "http": HTTP,
    "vector-ai": VECTOR_AI,
    "files-processes": FILES_PROCESSES,
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_fixture_findings_match_expectations(name: str) -> None:
    source = FIXTURES[name]
    want = expected(source)
    assert want, "a fixture must expect something"
    got = findings(source)
    assert got == want, f"missing {sorted(want - got)}, unexpected {sorted(got - want)}"


def test_interprocedural_chain_is_in_message_and_notes() -> None:
    source = (
        "import sqlite3\n"
        "def delete_heuristic(cursor: sqlite3.Cursor, i):\n"
        "    cursor.execute('DELETE FROM h WHERE id = ?', (i,))\n"
        "class Agent:\n"
        "    def __init__(self, conn: sqlite3.Connection):\n"
        "        self.cursor = conn.cursor()\n"
        "    def _delete_memory(self, i):\n"
        "        delete_heuristic(self.cursor, i)\n"
        "    def forget(self, ids):\n"
        "        for i in ids:\n"
        "            self._delete_memory(i)\n"
    )
    report = analyze_text(source, "agent.py", rules=IO_RULES)
    (finding,) = report.findings
    assert finding.code == "IO001" and finding.span.start.line == 11
    chain = "loop \u2192 self._delete_memory \u2192 delete_heuristic \u2192 cursor.execute"
    assert chain not in finding.message and len(finding.message) <= 80  # short; the chain is in the notes
    assert f"chain: {chain}" in finding.notes
    assert "cursor.execute at agent.py:3" in finding.notes


def test_receiver_types_are_precise() -> None:
    # `get` on a dict, a local function named like a library call, a shadowed module.
    source = (
        "import requests\n"
        "def f(cache: dict, ids):\n"
        "    for i in ids:\n"
        "        cache.get(i)\n"
        "def g(ids):\n"
        "    requests = {}\n"
        "    for i in ids:\n"
        "        requests.get(i)\n"
    )
    assert findings(source) == set()


def test_recursion_and_cycles_do_not_hang() -> None:
    source = (
        "import sqlite3\n"
        "conn = sqlite3.connect('x')\n"
        "def a(n):\n    return b(n)\n"
        "def b(n):\n    return a(n) if n else conn.execute('SELECT 1')\n"
        "def c(xs):\n    for x in xs:\n        a(x)\n"
        "x = y\ny = x\n"
        "def d(xs):\n    for v in xs:\n        x.execute(v)\n"
    )
    assert findings(source) == {(9, "IO001")}
