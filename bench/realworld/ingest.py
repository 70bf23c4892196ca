"""Import a feed of articles into a SQLite file with sqlite-utils, then build the daily report.

Written the way the sqlite-utils docs show one record at a time: `table.insert(record)` per article,
then `table.get(pk)` per article to fetch its author for the report. `--batched` is the change the
audit's advice leads to (one transaction around the loops of inserts): bench/audit_realworld.py
times both.

Usage: python ingest.py [N] [--batched]
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

from sqlite_utils import Database  # type: ignore[import-not-found]  # (vendored by bench/audit_realworld.py)


def feed(n: int, authors: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    words = ["sqlite", "python", "index", "query", "cache", "profile", "vector", "batch"]
    return [
        {
            "id": i,
            "title": " ".join(rng.choice(words) for _ in range(6)),
            "author_id": rng.randrange(authors),
            "score": rng.random(),
        }
        for i in range(n)
    ]


def ingest(db: Database, articles: list[dict[str, object]], authors: int) -> None:
    for a in range(authors):
        db["authors"].insert({"id": a, "name": f"author {a}"}, pk="id")
    for article in articles:
        db["articles"].insert(article, pk="id")


def ingest_batched(db: Database, articles: list[dict[str, object]], authors: int) -> None:
    with db.atomic():  # one transaction: one COMMIT (one disk sync) instead of one per row
        ingest(db, articles, authors)


def report(db: Database) -> list[tuple[str, str]]:
    lines = []
    for row in db["articles"].rows_where(order_by="score desc"):
        author = db["authors"].get(row["author_id"])
        lines.append((str(row["title"]), str(author["name"])))
    return lines


def main(n: int = 1500, authors: int = 50, batched: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "news.db")
        (ingest_batched if batched else ingest)(db, feed(n, authors), authors)
        lines = report(db)
        print(len(lines), lines[0][1])


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:] if a.isdigit()]
    main(sizes[0] if sizes else 1500, batched="--batched" in sys.argv)
