"""Ingest benchmark: the archive's writer against a plain sqlite3 insert of the same rows.

    python -m benchmarks.ingest [--statuses 200000] [--page 40]

Generates realistic Mastodon statuses (the fake instance's builder), turns them into
records with the real transform, then times, in the same run and on the same disk:
- baseline: one plain `executemany` INSERT of the post rows in one transaction;
- writer: `monitor.archive.save_page`, one page at a time as collection does it
  (its fetch row, author upserts, duplicate check, posts, cursor: one transaction a page).
Both start from the same `Post` records, so both pay for serialising them. Target: the
writer reaches at least 0.8 of the baseline's rate.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.core.records import Fetch, Page  # noqa: E402
from collectors.mastodon import transform_status  # noqa: E402
from monitor.archive import open_archive, save_page, start_run  # noqa: E402
from benchmarks.synthetic import mastodon_statuses  # noqa: E402

def make_posts(count: int) -> list:
    return [transform_status(s) for s in mastodon_statuses(count)]


def baseline(path: Path, posts: list) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, platform TEXT, key TEXT, source TEXT, local_id TEXT,"
        " url TEXT, author TEXT, created_at TEXT, edited_at TEXT, text TEXT, content_warning TEXT,"
        " language TEXT, hashtags TEXT, media TEXT, likes INTEGER, reposts INTEGER, replies INTEGER,"
        " quotes INTEGER, raw TEXT)"
    )
    began = time.perf_counter()
    with conn:
        conn.executemany(
            "INSERT INTO posts (platform, key, source, local_id, url, author, created_at, edited_at, text,"
            " content_warning, language, hashtags, media, likes, reposts, replies, quotes, raw)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (p.platform, p.key, "bench.example", p.local_id, p.url, p.author.handle, p.created_at,
                 p.edited_at, p.text, p.content_warning, p.language, json.dumps(p.hashtags),
                 json.dumps(p.media), p.likes, p.reposts, p.replies, p.quotes,
                 json.dumps(p.raw, ensure_ascii=False))
                for p in posts
            ],
        )
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed


def writer(path: Path, posts: list, page_size: int) -> float:
    db = open_archive(path)
    run_id = start_run(db, "benchmark")
    began = time.perf_counter()
    for start in range(0, len(posts), page_size):
        chunk = posts[start : start + page_size]
        fetch = Fetch("mastodon", "bench.example", "GET", "https://bench.example/api/v1/timelines/tag/x",
                      {"min_id": chunk[0].local_id, "limit": str(page_size)}, 200, chunk[0].created_at)
        save_page(db, Page("mastodon", "bench.example", "x", chunk, [fetch], chunk[-1].local_id), run_id)
    elapsed = time.perf_counter() - began
    db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statuses", type=int, default=200_000)
    parser.add_argument("--page", type=int, default=40, help="statuses per page (Mastodon's maximum is 40)")
    args = parser.parse_args()
    print(f"generating {args.statuses:,} statuses...", flush=True)
    posts = make_posts(args.statuses)
    with tempfile.TemporaryDirectory() as folder:
        base = baseline(Path(folder) / "plain.db", posts)
        mine = writer(Path(folder) / "archive.db", posts, args.page)
    n = len(posts)
    print(f"plain executemany, one transaction: {n / base:10,.0f} posts/s ({base:.2f} s)")
    print(f"archive writer, pages of {args.page:<3}:       {n / mine:10,.0f} posts/s ({mine:.2f} s)")
    ratio = base / mine
    print(f"ratio writer/plain: {ratio:.2f} (target >= 0.80) {'OK' if ratio >= 0.8 else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
