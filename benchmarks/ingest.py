"""Ingest benchmark: the archive's writer against a plain sqlite3 insert of the same rows.

    python -m benchmarks.ingest [--statuses 200000 [1000000 ...]] [--rounds 3] [--page 40]

Generates realistic Mastodon statuses (`benchmarks/synthetic.py`), turns them into
records with the real transform, then times, in the same run and on the same disk:
- baseline: one plain `executemany` INSERT of the post rows in one transaction, into a
  table with no index;
- writer: `monitor.archive.save_pages` as a backfill calls it (pages of 40, PAGES_PER_COMMIT
  pages a transaction; each page's fetch row, author upserts, duplicate check, posts with
  every index of the schema, cursor).
Both start from the same `Post` records, so both pay for serialising them: the baseline
with the standard library's `json`, as a plain script would, the writer with orjson, as the
archive does. Also printed: the plain insert into a table with the archive's three post
indexes, the part of the writer's cost that no writer of this schema avoids. Targets: the
writer reaches 0.9 of the baseline's rate at 200,000 statuses and 0.85 at 1,000,000.

`--writer-only` times the writer alone, with its rate over each tenth of the run: the scale
run (10,000,000 statuses, about 35 GB), where three files of that size would not fit beside
each other and the baselines would double an hour's run. Each side's file is deleted once
it is measured, so a run needs the disk of its largest side only. `--rounds R` takes the three
sides in turn R times and compares their mean rates.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.core.records import Fetch, Page  # noqa: E402
from collectors.mastodon import transform_status  # noqa: E402
from monitor.archive import open_archive, save_pages, start_run  # noqa: E402
from monitor.archive.posts import KEY_ORDER  # noqa: E402
from monitor.pipeline.collect import PAGES_PER_COMMIT  # noqa: E402
from benchmarks.results import add_record_option, record  # noqa: E402
from benchmarks.synthetic import mastodon_statuses  # noqa: E402

CHUNK = 20_000  # statuses generated and transformed at a time, untimed: 1M at once would not fit in memory


def chunks(count: int) -> Iterator[list]:
    """The same statuses as records, CHUNK at a time, for each side in turn."""
    statuses = mastodon_statuses(count)
    while batch := [transform_status(s) for s in islice(statuses, CHUNK)]:
        yield batch


def baseline(path: Path, count: int, indexed: bool) -> float:
    """One plain `executemany` a chunk, all in one transaction; `indexed`: with the archive's post indexes."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, platform TEXT, key TEXT, source TEXT, local_id TEXT,"
        " url TEXT, author TEXT, author_id INTEGER, created_at TEXT, edited_at TEXT, text TEXT,"
        " content_warning TEXT, language TEXT, hashtags TEXT, media TEXT, likes INTEGER, reposts INTEGER,"
        " replies INTEGER, quotes INTEGER, raw TEXT)"
    )
    if indexed:  # the same indexes as the archive's posts table (migrations m005, m021, m022)
        conn.execute(f"CREATE UNIQUE INDEX k ON posts (platform, {KEY_ORDER}, key)")
        conn.execute("CREATE INDEX a ON posts (author_id)")
        conn.execute("CREATE INDEX r ON posts (created_at, platform, source, author_id, likes, reposts, replies,"
                     " quotes)")
    elapsed = 0.0
    conn.execute("BEGIN")
    for posts in chunks(count):
        began = time.perf_counter()
        conn.executemany(
            "INSERT INTO posts (platform, key, source, local_id, url, author, author_id, created_at, edited_at,"
            " text, content_warning, language, hashtags, media, likes, reposts, replies, quotes, raw)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (p.platform, p.key, "bench.example", p.local_id, p.url, p.author.handle,
                 int(p.author.key.rsplit("_", 1)[1]), p.created_at, p.edited_at, p.text, p.content_warning,
                 p.language, json.dumps(p.hashtags), json.dumps(p.media), p.likes, p.reposts, p.replies, p.quotes,
                 json.dumps(p.raw, ensure_ascii=False))
                for p in posts
            ],
        )
        elapsed += time.perf_counter() - began
    began = time.perf_counter()
    conn.execute("COMMIT")
    elapsed += time.perf_counter() - began
    conn.close()
    return elapsed


def writer(path: Path, count: int, page_size: int, marks: list[tuple[int, float]] | None = None) -> float:
    """As a backfill writes: pages of `page_size`, PAGES_PER_COMMIT of them a transaction.

    `marks` receives (posts written, seconds so far) after each chunk: how the rate moves as
    the archive grows.
    """
    db = open_archive(path)
    run_id = start_run(db, "benchmark")
    elapsed = 0.0
    written = 0
    for posts in chunks(count):
        pages = []
        for start in range(0, len(posts), page_size):
            chunk = posts[start : start + page_size]
            fetch = Fetch("mastodon", "bench.example", "GET", "https://bench.example/api/v1/timelines/tag/x",
                          {"min_id": chunk[0].local_id, "limit": str(page_size)}, 200, chunk[0].created_at)
            pages.append(Page("mastodon", "bench.example", "x", chunk, [fetch], chunk[-1].local_id))
        began = time.perf_counter()
        for start in range(0, len(pages), PAGES_PER_COMMIT):
            save_pages(db, pages[start : start + PAGES_PER_COMMIT], run_id)
        elapsed += time.perf_counter() - began
        written += len(posts)
        if marks is not None:
            marks.append((written, elapsed))
    db.close()
    return elapsed


def measure_writer(n: int, page: int) -> dict:
    """The writer alone for `n` statuses, with its rate over each tenth of them."""
    marks: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        mine = writer(Path(folder) / "archive.db", n, page, marks)
        size = (Path(folder) / "archive.db").stat().st_size
    tenths, last = [], (0, 0.0)
    for done, seconds in marks:
        if done * 10 >= (len(tenths) + 1) * n:
            tenths.append((done - last[0]) / (seconds - last[1]))
            last = (done, seconds)
    shown = ", ".join(f"{rate:,.0f}" for rate in tenths)
    print(f"{n:,} statuses, archive writer alone, pages of {page}, {PAGES_PER_COMMIT} a commit: "
          f"{n / mine:,.0f} posts/s ({mine / 60:.1f} min); archive {size / 1e9:,.1f} GB")
    print(f"rate over each tenth: {shown} posts/s")
    return {"statuses": f"{n:,}", "writer": f"{n / mine:,.0f} posts/s", "minutes": f"{mine / 60:.1f}",
            "tenths": shown, "size": f"{size / 1e9:,.1f} GB"}


def in_turn(sides: dict[str, Callable[[Path], float]], n: int, rounds: int) -> dict[str, list[float]]:
    """Each side's rates (posts/s) over `rounds` rounds, the sides taken in turn, each in an empty folder
    deleted once it is measured (so a run needs the disk of its largest side only).

    Identical runs on this machine differ by up to a quarter, and a drift over the minutes of a
    run would favour whichever side goes first: alternated, the sides are compared by their means.
    """
    rates: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(rounds):
        for side, run in sides.items():
            with tempfile.TemporaryDirectory() as folder:
                rates[side].append(n / run(Path(folder)))
    return rates


def summary(rates: list[float]) -> str:
    """A side's mean rate, with the range of its rounds when there were several."""
    spread = f" ({min(rates):,.0f}-{max(rates):,.0f})" if len(rates) > 1 else ""
    return f"{statistics.mean(rates):,.0f} posts/s{spread}"


def measure(n: int, page: int, rounds: int = 1) -> dict:
    """All three sides for `n` statuses, taken in turn `rounds` times, printed, and the row the README keeps."""
    sizes = []

    def archive(folder: Path) -> float:
        seconds = writer(folder / "archive.db", n, page)
        sizes.append((folder / "archive.db").stat().st_size)  # closed: the WAL is checkpointed into it
        return seconds

    rates = in_turn({"plain": lambda folder: baseline(folder / "plain.db", n, indexed=False),
                     "indexed": lambda folder: baseline(folder / "indexed.db", n, indexed=True),
                     "writer": archive}, n, rounds)
    mean = {side: statistics.mean(values) for side, values in rates.items()}
    shown = {side: summary(values) for side, values in rates.items()}
    size = sizes[-1]
    of = f", mean of {rounds} rounds" if rounds > 1 else ""
    print(f"{n:,} statuses{of}")
    print(f"plain executemany, one transaction:                {shown['plain']}")
    print(f"  the same into a table with the archive's indexes: {shown['indexed']}")
    print(f"archive writer, pages of {page}, {PAGES_PER_COMMIT} a commit:          {shown['writer']}; "
          f"archive {size / 1e6:,.0f} MB")
    ratio = mean["writer"] / mean["plain"]
    target = 0.9 if n <= 200_000 else 0.85
    verdict = "OK" if ratio >= target else "BELOW TARGET"
    print(f"ratio writer/plain: {ratio:.2f} (target >= {target:.2f}) {verdict}; "
          f"writer/indexed plain: {mean['writer'] / mean['indexed']:.2f}")
    return {"statuses": f"{n:,}", "plain": shown["plain"], "indexed": shown["indexed"], "writer": shown["writer"],
            "ratio": f"{ratio:.2f} (target {target:.2f}) {verdict}",
            "indexed_ratio": f"{mean['writer'] / mean['indexed']:.2f}", "size": f"{size / 1e6:,.0f} MB"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statuses", type=int, nargs="+", default=[200_000],
                        help="one or more archive sizes, each measured from empty (the targets: 200000 1000000)")
    parser.add_argument("--page", type=int, default=40, help="statuses per page (Mastodon's maximum is 40)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="take the three sides in turn this many times and compare their means")
    parser.add_argument("--writer-only", action="store_true",
                        help="time the writer alone, with its rate over each tenth (the 10M scale run)")
    add_record_option(parser)
    args = parser.parse_args()
    if args.writer_only:
        rows = [measure_writer(n, args.page) for n in args.statuses]
        if args.record:
            record("ingest_scale", rows, module="ingest")
        return
    rows = [measure(n, args.page, args.rounds) for n in args.statuses]
    if args.record:
        record("ingest", rows)


if __name__ == "__main__":
    main()
