"""I/O rules on code that only looks like N+1: concurrent requests, page-following, explicit
one-at-a-time paths and one-off code; and the look-alikes that must still be reported.

Each fixture line that must be reported carries ``# expect: CODE``; every other line must stay clean
for the I/O rules at default settings.
"""

from __future__ import annotations

import re

from perfsquad.analyzers import family_rules
from perfsquad.engine import analyze_text

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
