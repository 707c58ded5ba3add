"""Report benchmark: a one-week and a whole-year report over a large synthetic archive.

    python -m benchmarks.report [--posts 1000000] [--authors 50000]

Builds an archive of posts from many authors spread over one year (written with plain
inserts: this measures reports, not ingest), then builds each report in a fresh process,
timing it and reading that process's peak memory. Targets: one week under 2 s, the whole
year under 15 s, peak memory under 1 GB; a one-week report must not load the archive.
The baseline printed beside them is the time to count the period's posts in SQL alone.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.archive import open_archive, write_transaction  # noqa: E402

YEAR_START = datetime(2025, 11, 24, tzinfo=timezone.utc)  # a Monday
TAGS = ["aspirenottoexclude", "send", "nurturegroups", "edutwitter", "inclusion", "mentalhealth", "senco"]
PLATFORMS = [("mastodon", "mastodon.social"), ("mastodon", "mastodonapp.uk"), ("reddit", "r/Teachers"),
             ("bluesky", "bsky.social")]


def build(path: Path, posts: int, authors: int) -> None:
    db = open_archive(path)
    rng = random.Random(7)
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO authors (id, platform, key, handle, followers_count) VALUES (?, ?, ?, ?, ?)",
            [(i, PLATFORMS[i % 4][0], f"author-{i}", f"user{i}@example", rng.randint(0, 5000)) for i in range(1, authors + 1)],
        )
    seconds = 365 * 86400
    batch = []
    for n in range(posts):
        platform, source = PLATFORMS[n % 4]
        created = (YEAR_START + timedelta(seconds=rng.randrange(seconds))).isoformat(timespec="microseconds")
        tags = ["aspirenottoexclude"] + rng.sample(TAGS[1:], rng.randint(0, 2))
        text = f"Story {n}: the nurture group helped. https://example.org/story/{n % 500}"
        batch.append((platform, f"post-{n}", source, created, rng.randint(1, authors), f"user{n}", text,
                      json.dumps(tags), rng.randint(0, 50), rng.randint(0, 10), rng.randint(0, 8), 0,
                      f"https://example.org/p/{n}"))
        if len(batch) == 50_000:
            _insert(db, batch)
            batch = []
    _insert(db, batch)
    # collection scores every post (reports read only checked posts); 2% flagged for safeguarding
    with write_transaction(db):
        db.execute("INSERT INTO testimonies (post_id, score, reasons, status, flagged, flag_reasons, consent, scored_at,"
                   " model_version) SELECT id, 0.1, '[]', CASE WHEN id % 500 = 0 THEN 'candidate' ELSE 'none' END,"
                   " id % 50 = 0, '[]', 'unknown', created_at, 'benchmark' FROM posts")
    db.execute("ANALYZE")
    db.close()


def _insert(db, rows) -> None:
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO posts (platform, key, source, created_at, author_id, author, text, hashtags, likes,"
            " reposts, replies, quotes, url, raw, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', 1)",
            rows,
        )


CHILD = """
import resource, sys, time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo
sys.path.insert(0, sys.argv[1])
from monitor.archive import open_archive
from monitor.core.config import load_config
from reports.build import build_report
from reports.period import between
config = load_config(sys.argv[2])
period = between(date.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4]), ZoneInfo("Europe/London"))
db = open_archive(config.archive)
began = time.perf_counter()
if sys.argv[5] == "baseline":
    start, end = period.utc_bounds
    db.execute("SELECT count(*), sum(likes) FROM posts WHERE created_at >= ? AND created_at < ?", [start, end]).fetchone()
else:
    build_report(config, db, period)
print(time.perf_counter() - began, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure(config: Path, since: str, until: str, what: str) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(config), since, until, what],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "campaign.toml"
        config.write_text('[campaign]\nname = "Benchmark"\nhashtags = ["AspireNotToExclude"]\narchive = "archive.db"\n')
        began = time.perf_counter()
        build(Path(folder) / "archive.db", args.posts, args.authors)
        print(f"built {args.posts:,} posts by {args.authors:,} authors over a year in {time.perf_counter() - began:.0f} s")
        for label, since, until, target in (("one week", "2026-06-01", "2026-06-08", 2.0),
                                            ("whole year", "2025-11-24", "2026-11-23", 15.0)):
            base, _ = measure(config, since, until, "baseline")
            seconds, peak = measure(config, since, until, "report")
            verdict = "OK" if seconds < target and peak < 1024 else "ABOVE TARGET"
            print(f"{label:>10}: {seconds:6.2f} s (target < {target:.0f} s), peak {peak:6.0f} MB (target < 1024); "
                  f"SQL count alone {base:.2f} s, ratio {seconds / max(base, 1e-6):.0f}x  {verdict}")


if __name__ == "__main__":
    main()
