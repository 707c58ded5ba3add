"""Report benchmark: a one-week and a whole-year report over a large synthetic archive.

    python -m benchmarks.report [--posts 1000000] [--authors 50000]

Builds an archive of posts from many authors spread over one year (written through the
archive's writer, as collection would), then builds each report in a fresh process,
timing it and reading that process's peak memory; each twice, since the first run after
the build meets a file the OS has mostly not cached (the weekly job's case) and the second
a warm one. Targets: one week under 1 s and 200 MB,
the whole year under 5 s and 1 GB; a one-week report must not load the archive.
The chart and workbook libraries (matplotlib, openpyxl) are loaded before the clock starts
and their loading time printed apart: a fixed cost of a fresh process, paid once by the
daemon, that does not grow with the archive.
The baseline printed beside them is the time to count the period's posts in SQL alone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import add_record_option, record  # noqa: E402
from benchmarks.synthetic import year_of_pages  # noqa: E402
from monitor.archive import open_archive, reviews, save_page, start_run  # noqa: E402

def build(path: Path, posts: int, authors: int) -> None:
    """Through the archive's own writer, as collection would; then every post scored, 2% flagged."""
    db = open_archive(path)
    run_id = start_run(db, "benchmark")
    for page in year_of_pages(posts, authors):
        save_page(db, page, run_id)
    ids = [row[0] for row in db.execute("SELECT id FROM posts ORDER BY id")]
    for start in range(0, len(ids), 50_000):
        reviews.store_scores(db, ((i, {"score": 0.1, "reasons": "[]", "status": "candidate" if i % 500 == 0 else "none",
                                       "flagged": int(i % 50 == 0), "flag_reasons": "[]"})
                                  for i in ids[start:start + 50_000]), "benchmark")
    db.execute("ANALYZE")
    db.close()


CHILD = """
import sys, time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo
sys.path.insert(0, sys.argv[1])
from benchmarks.results import peak_mb
from monitor.archive import open_archive
from monitor.core.config import load_config
from reports.build import build_report
from reports.period import between
config = load_config(sys.argv[2])
period = between(date.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4]), ZoneInfo("Europe/London"))
db = open_archive(config.archive)
began = time.perf_counter()
if sys.argv[5] != "baseline":  # the libraries the first chart and workbook load, timed apart
    import matplotlib.figure, openpyxl  # noqa: E401,F401
loaded = time.perf_counter() - began
began = time.perf_counter()
if sys.argv[5] == "baseline":
    start, end = period.utc_bounds
    db.execute("SELECT count(*), sum(likes) FROM posts WHERE created_at >= ? AND created_at < ? AND deleted_at IS NULL",
               [start, end]).fetchone()
else:
    build_report(config, db, period)
print(time.perf_counter() - began, peak_mb(), loaded)
"""


def measure(config: Path, since: str, until: str, what: str) -> tuple[float, float, float]:
    """(seconds, peak MB, seconds the chart and workbook libraries took to load before)."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(config), since, until, what],
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def archive_options(doc: str) -> argparse.ArgumentParser:
    """The options of the benchmarks that run on this archive: its size, where to keep it, --record."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="build the archive in DIR and keep it; reuse it when DIR already holds one")
    add_record_option(parser)
    return parser


def main() -> None:
    args = archive_options(__doc__).parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        config = Path(folder) / "campaign.toml"
        config.write_text('[campaign]\nname = "Benchmark"\nhashtags = ["AspireNotToExclude"]\narchive = "archive.db"\n')
        built = None
        if (Path(folder) / "archive.db").exists():
            print(f"reusing the archive in {folder} (built earlier: its build time is not measured)")
        else:
            began = time.perf_counter()
            build(Path(folder) / "archive.db", args.posts, args.authors)
            built = time.perf_counter() - began
            print(f"built {args.posts:,} posts by {args.authors:,} authors over a year in {built:.0f} s")
        size = (Path(folder) / "archive.db").stat().st_size
        print(f"archive file: {size / 1e6:,.0f} MB")
        for label, since, until, target, memory in (("one week", "2026-06-01", "2026-06-08", 1.0, 200),
                                                    ("whole year", "2025-11-24", "2026-11-23", 5.0, 1024)):
            base, _, _ = measure(config, since, until, "baseline")
            first, _, _ = measure(config, since, until, "report")  # as the weekly job meets it: the file mostly uncached
            seconds, peak, loading = measure(config, since, until, "report")  # again, the OS cache warm from the first
            verdict = "OK" if seconds < target and peak < memory else "ABOVE TARGET"
            print(f"{label:>10}: {seconds:6.2f} s warm, {first:.2f} s first (target < {target:.0f} s), peak {peak:6.0f} MB "
                  f"(target < {memory}); SQL count alone {base:.2f} s, ratio {seconds / max(base, 1e-6):.0f}x  {verdict}; "
                  f"matplotlib and openpyxl loaded before, in {loading:.2f} s")
            rows.append({"report": label, "time": f"{seconds:.2f} s (target {target:.0f} s)", "first": f"{first:.2f} s",
                         "loading": f"{loading:.2f} s",
                         "memory": f"{peak:,.0f} MB (target {memory:,})", "baseline": f"{base:.2f} s",
                         "verdict": verdict})
    if args.record:
        record("report", rows, posts=args.posts, authors=args.authors,
               build_seconds=None if built is None else round(built),
               archive_mb=round(size / 1e6))


if __name__ == "__main__":
    main()
