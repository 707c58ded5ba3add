"""`export parquet`: the archive as a Parquet dataset, for analysts' tools (DuckDB, pandas, R, Spark).

SQLite stays the archive; Parquet is a copy for questions across months or years that
a row store answers slowly. It is an output like any other, so it obeys the one rule:
posts from `visible_posts`, their text and authors through the report's `Disclosure`,
snapshots and testimonies only of those posts. Posts and engagement snapshots are
partitioned by UTC month (`posts/month=2026-11/part-0.parquet`, Hive style, so tools
prune months they don't need); every column carries its description from
`reports.schema_docs` in the file's field metadata. The dataset is written in a hidden
folder beside OUT and renamed when complete: there is never a half-written export.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlite_utils import Database

from monitor import __version__
from monitor.archive import ArchiveError
from monitor.core.config import Config
from reports.pseudonym import Disclosure, disclosure
from reports.schema_docs import describe

BATCH = 50_000
TIME = pa.timestamp("us", tz="UTC")

POSTS = [("id", pa.int64()), ("created_at", TIME), ("edited_at", TIME), ("platform", pa.string()),
         ("source", pa.string()), ("author", pa.string()), ("text", pa.string()), ("media_text", pa.string()),
         ("content_warning", pa.string()),
         ("language", pa.string()), ("hashtags", pa.list_(pa.string())), ("media", pa.int32()),
         ("likes", pa.int64()), ("reposts", pa.int64()), ("replies", pa.int64()), ("quotes", pa.int64()),
         ("engagement", pa.int64()), ("url", pa.string()), ("testimony_status", pa.string()),
         ("testimony_score", pa.float64()), ("consent", pa.string())]
AUTHORS = [("author", pa.string()), ("platform", pa.string()), ("display_name", pa.string()), ("url", pa.string()),
           ("followers_count", pa.int64()), ("following_count", pa.int64()), ("posts_count", pa.int64()),
           ("first_seen_at", TIME), ("visible_posts", pa.int64())]
SNAPSHOTS = [("post_id", pa.int64()), ("observed_at", TIME), ("likes", pa.int64()), ("reposts", pa.int64()),
             ("replies", pa.int64()), ("quotes", pa.int64())]
TESTIMONIES = [("post_id", pa.int64()), ("status", pa.string()), ("score", pa.float64()),
               ("evidence", pa.list_(pa.string())), ("consent", pa.string()), ("scored_at", TIME),
               ("decided_at", TIME), ("model_version", pa.string())]
EXTRA = {"engagement": "likes + reposts + replies + quotes", "visible_posts": "Its posts in this export (a count)",
         "evidence": "What the model found: intervention, experience, outcome",
         "media": "Attached pictures and videos (a count)",
         "author": "The author as reports show it: a pseudonym unless the config's show_authors is true"}


@dataclass
class ParquetCounts:
    posts: int = 0
    authors: int = 0
    snapshots: int = 0
    testimonies: int = 0
    files: list[Path] = field(default_factory=list)


def _schema(table: str, columns: list[tuple[str, pa.DataType]], about: dict[str, str]) -> pa.Schema:
    fields = [pa.field(name, kind, metadata={"description": EXTRA.get(name) or describe(table, name) or ""})
              for name, kind in columns]
    return pa.schema(fields, metadata=about)


def _times(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for c in columns:
        frame[c] = pd.to_datetime(frame[c], utc=True, format="ISO8601")
    return frame


def _batches(db: Database, sql: str, key: str = "id") -> Iterator[pd.DataFrame]:
    """`sql` (with a `{key} > ?` bound and ORDER BY key) a batch at a time: the export never holds the archive."""
    last = 0
    while True:
        frame = pd.read_sql_query(sql, db.conn, params=[last, BATCH])
        if frame.empty:
            return
        last = int(frame[key].iloc[-1])
        yield frame


class _Months:
    """One Parquet file a UTC month, kept open while the batches stream past in id order."""

    def __init__(self, folder: Path, schema: pa.Schema, counts: ParquetCounts):
        self.folder, self.schema, self.counts, self.writers = folder, schema, counts, {}

    def write(self, frame: pd.DataFrame, column: str) -> None:
        months = frame[column].dt.strftime("%Y-%m")
        for month, part in frame.groupby(months, sort=True):
            if month not in self.writers:
                path = self.folder / f"month={month}" / "part-0.parquet"
                path.parent.mkdir(parents=True)
                self.writers[month] = pq.ParquetWriter(path, self.schema, compression="zstd")
                self.counts.files.append(path)
            self.writers[month].write_table(pa.Table.from_pandas(part, schema=self.schema, preserve_index=False))

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


def _posts(db: Database, shown: Disclosure, out: Path, about: dict, counts: ParquetCounts,
           progress: Callable[[int], None]) -> None:
    sql = ("SELECT v.id, v.created_at, v.edited_at, v.platform, v.source, a.platform AS a_platform, a.handle,"
           " v.text, v.media_text, v.content_warning, v.language, v.hashtags, json_array_length(v.media) AS media, v.likes,"
           " v.reposts, v.replies, v.quotes, v.url, v.testimony_status, v.testimony_score, v.consent"
           " FROM visible_posts v LEFT JOIN authors a ON a.id = v.author_id WHERE v.id > ? ORDER BY v.id LIMIT ?")
    names: dict[tuple[str, str], str] = {}  # a pseudonym is an HMAC: once an author, not once a post

    def named(platform: str, handle: str | None) -> str | None:
        if handle is not None and (platform, handle) not in names:
            names[platform, handle] = shown.author(platform, handle)
        return None if handle is None else names[platform, handle]

    months = _Months(out / "posts", _schema("posts", POSTS, about), counts)
    try:
        for frame in _batches(db, sql):
            frame["author"] = [named(p, h) for p, h in zip(frame.pop("a_platform"), frame.pop("handle"))]
            frame["text"] = frame["text"].map(shown.text)
            for column in ("media_text", "content_warning"):
                frame[column] = frame[column].map(lambda w: None if w is None else shown.text(w))
            frame["hashtags"] = frame["hashtags"].map(lambda h: json.loads(h) if h else [])
            frame["url"] = frame["url"].map(lambda u: shown.link(u) or None)
            frame["engagement"] = frame[["likes", "reposts", "replies", "quotes"]].fillna(0).sum(axis=1)
            months.write(_times(frame, "created_at", "edited_at"), "created_at")
            counts.posts += len(frame)
            progress(counts.posts)
    finally:
        months.close()


def _authors(db: Database, shown: Disclosure, out: Path, about: dict, counts: ParquetCounts) -> None:
    frame = pd.read_sql_query(
        "SELECT a.platform, a.handle, a.display_name, a.url, a.followers_count, a.following_count, a.posts_count,"
        " a.first_seen_at, c.n AS visible_posts FROM (SELECT author_id, count(*) AS n FROM visible_posts"
        " GROUP BY author_id) c JOIN authors a ON a.id = c.author_id ORDER BY a.id", db.conn)
    frame.insert(0, "author", [shown.author(p, h) for p, h in zip(frame["platform"], frame.pop("handle"))])
    if shown.pseudonymised:  # a display name or profile address names the person the pseudonym hides
        frame["display_name"] = frame["url"] = None
    _write(out / "authors.parquet", _times(frame, "first_seen_at"), _schema("authors", AUTHORS, about), counts)
    counts.authors = len(frame)


def _snapshots(db: Database, out: Path, about: dict, counts: ParquetCounts) -> None:
    sql = ("SELECT s.id, s.post_id, s.observed_at, s.likes, s.reposts, s.replies, s.quotes FROM engagement_snapshots s"
           " WHERE s.post_id IN (SELECT id FROM visible_posts) AND s.id > ? ORDER BY s.id LIMIT ?")
    months = _Months(out / "engagement_snapshots", _schema("engagement_snapshots", SNAPSHOTS, about), counts)
    try:
        for frame in _batches(db, sql):
            months.write(_times(frame.drop(columns="id"), "observed_at"), "observed_at")
            counts.snapshots += len(frame)
    finally:
        months.close()


def _testimonies(db: Database, out: Path, about: dict, counts: ParquetCounts) -> None:
    frame = pd.read_sql_query(
        "SELECT t.post_id, t.status, t.score, t.reasons, t.consent, t.scored_at, t.decided_at, t.model_version"
        " FROM testimonies t JOIN visible_posts v ON v.id = t.post_id ORDER BY t.post_id", db.conn)
    # the model's evidence as kinds; its spans index the archived text, not the pseudonymised one
    frame["evidence"] = frame.pop("reasons").map(lambda r: sorted({e["kind"] for e in json.loads(r)}) if r else [])
    _write(out / "testimonies.parquet", _times(frame, "scored_at", "decided_at"),
           _schema("testimonies", TESTIMONIES, about), counts)
    counts.testimonies = len(frame)


def _write(path: Path, frame: pd.DataFrame, schema: pa.Schema, counts: ParquetCounts) -> None:
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path, compression="zstd")
    counts.files.append(path)


def write_parquet(db: Database, config: Config, out: Path,
                  progress: Callable[[int, int | None], None] = lambda d, t: None) -> ParquetCounts:
    """Write the dataset into `out`, a folder that must not exist yet; return what it holds."""
    if out.exists():
        raise ArchiveError(f"{out}: already exists; name a new folder for the Parquet export")
    if not out.parent.is_dir():
        raise ArchiveError(f"{out}: folder {out.parent} does not exist")
    shown = disclosure(config)
    about = {"campaign": config.name, "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "exported_by": f"campaign-monitor {__version__}",
             "rule": ("visible posts only (live, checked, not flagged unless accepted); authors "
                      + ("pseudonymised" if shown.pseudonymised else "as they are"))}
    total = db.execute("SELECT count(*) FROM visible_posts").fetchone()[0]
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    counts = ParquetCounts()
    try:
        _posts(db, shown, building, about, counts, lambda done: progress(done, total))
        _authors(db, shown, building, about, counts)
        _snapshots(db, building, about, counts)
        _testimonies(db, building, about, counts)
        os.rename(building, out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    counts.files = [out / p.relative_to(building) for p in counts.files]
    return counts
