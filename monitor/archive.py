"""The archive: opening it safely, and the one writer of posts, authors and cursors.

Collectors hand `Page`s to `save_page`, which stores the page's fetches, authors and
posts and moves the cursor, all in one `BEGIN IMMEDIATE` transaction: a crash at any
moment leaves either the whole page with its cursor or neither, never a cursor ahead
of the posts it covers.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlite_utils import Database

from collectors.base import Fetch, Page, Post
from monitor import __version__
from monitor.clock import utc_now
from monitor.migrations import MIGRATION_NAMES, migrations

BUSY_TIMEOUT_MS = 30_000
COUNTS = ("likes", "reposts", "replies", "quotes")


class ArchiveError(Exception):
    """The archive cannot be used; the message names the file and what to do."""


def open_archive(path: str | Path) -> Database:
    """Open (creating and migrating if need be) the archive at `path`.

    The connection may be shared between collector threads; callers serialise writes
    through `Writer`.
    """
    path = Path(path)
    if not path.parent.exists():
        raise ArchiveError(f"{path}: folder {path.parent} does not exist")
    try:
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise ArchiveError(f"{path}: could not switch the archive to WAL mode ({mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn)
        _migrate(db, path)
    except sqlite3.DatabaseError as e:
        raise ArchiveError(f"{path}: not a usable SQLite archive ({e})") from None
    return db


def _migrate(db: Database, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    applied = {m.name for m in migrations.applied(db)}
    unknown = applied - set(MIGRATION_NAMES)
    if version > len(MIGRATION_NAMES) or unknown:
        raise ArchiveError(
            f"{path}: written by a newer campaign-monitor (schema version {version}, this "
            f"version {__version__} knows up to {len(MIGRATION_NAMES)}); upgrade campaign-monitor"
        )
    if not migrations.pending(db):
        return
    tables = set(db.table_names())
    if tables and "_sqlite_migrations" not in tables:
        raise ArchiveError(
            f"{path}: is a SQLite database but not a campaign-monitor archive; "
            "point [campaign] archive at a new file"
        )
    migrations.apply(db)
    db.execute(f"PRAGMA user_version = {len(MIGRATION_NAMES)}")


@contextmanager
def write_transaction(db: Database) -> Iterator[None]:
    """A write transaction that takes the write lock up front.

    A deferred transaction that reads before writing can fail at once with
    'database is locked' in WAL mode, whatever busy_timeout says.
    """
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


@dataclass
class SaveResult:
    new: int = 0
    updated: int = 0


class Writer:
    """Serialises the collector threads' writes onto the one connection."""

    def __init__(self, db: Database, run_id: int):
        self.db = db
        self.run_id = run_id
        self.lock = threading.Lock()

    def save_page(self, page: Page) -> SaveResult:
        with self.lock:
            return save_page(self.db, page, self.run_id)

    def save_fetches(self, fetches: list[Fetch]) -> None:
        with self.lock, write_transaction(self.db):
            _insert_fetches(self.db, fetches, self.run_id)


def start_run(db: Database, command: str) -> int:
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO runs (command, started_at, status, software_version, pid) "
            "VALUES (?, ?, 'running', ?, ?)",
            [command, utc_now(), __version__, os.getpid()],
        )
    return int(cursor.lastrowid)


def finish_run(db: Database, run_id: int, status: str) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ? WHERE id = ?",
            [utc_now(), status, run_id],
        )


def record_source_result(
    db: Database,
    run_id: int,
    platform: str,
    source: str,
    *,
    status: str,
    new: int,
    updated: int,
    requests: int,
    warnings: list[str],
    error: str | None,
) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT INTO source_runs (run_id, platform, source, status, new_posts, updated_posts,"
            " requests, warnings, error, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, platform, source, status, new, updated, requests, json.dumps(warnings),
             error, utc_now()],
        )


def get_cursor(db: Database, platform: str, source: str, hashtag: str) -> str | None:
    row = db.execute(
        "SELECT position FROM cursors WHERE platform = ? AND source = ? AND hashtag = ?",
        [platform, source, hashtag.lower()],
    ).fetchone()
    return row[0] if row else None


def _insert_fetches(db: Database, fetches: list[Fetch], run_id: int) -> int | None:
    last = None
    for f in fetches:
        last = db.execute(
            "INSERT INTO fetches (run_id, platform, source, method, endpoint, params, http_status,"
            " error, retrieved_at, software_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, f.platform, f.source, f.method, f.endpoint, json.dumps(f.params),
             f.status, f.error, f.retrieved_at, __version__],
        ).lastrowid
    return last


def save_page(db: Database, page: Page, run_id: int) -> SaveResult:
    """Store one page and advance its cursor, atomically. The only writer of posts."""
    with write_transaction(db):
        fetch_id = _insert_fetches(db, page.fetches, run_id)
        result = store_posts(db, page.posts, fetch_id, page.source)
        if page.cursor is not None:
            advance_cursor(db, page, run_id)
    return result


def advance_cursor(db: Database, page: Page, run_id: int) -> None:
    db.execute(
        "INSERT INTO cursors (platform, source, hashtag, position, updated_at, run_id)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, source, hashtag) DO UPDATE SET"
        " position = excluded.position, updated_at = excluded.updated_at, run_id = excluded.run_id",
        [page.platform, page.source, page.hashtag.lower(), page.cursor, utc_now(), run_id],
    )


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _author_ids(db: Database, posts: list[Post], now: str) -> dict[str, int]:
    authors = {p.author.key: p.author for p in posts}
    db.conn.executemany(
        "INSERT INTO authors (platform, key, handle, display_name, url, followers_count,"
        " following_count, posts_count, first_seen_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, key) DO UPDATE SET"
        " handle = excluded.handle, display_name = excluded.display_name, url = excluded.url,"
        " followers_count = coalesce(excluded.followers_count, followers_count),"
        " following_count = coalesce(excluded.following_count, following_count),"
        " posts_count = coalesce(excluded.posts_count, posts_count),"
        " last_seen_at = excluded.last_seen_at",
        [
            (a.platform, a.key, a.handle, a.display_name, a.url, a.followers_count,
             a.following_count, a.posts_count, now, now)
            for a in authors.values()
        ],
    )
    platform = posts[0].platform
    ids: dict[str, int] = {}
    for chunk in _chunks(list(authors)):
        marks = ",".join("?" * len(chunk))
        for id_, key in db.execute(
            f"SELECT id, key FROM authors WHERE platform = ? AND key IN ({marks})",
            [platform, *chunk],
        ):
            ids[key] = id_
    return ids


def _is_newer(post: Post, old: sqlite3.Row) -> tuple[bool, bool]:
    """(edited, counts grew): the only changes that make a new version.

    The same post read through different instances carries each instance's partial
    counts and its own rendering of the HTML, so only a later `edited_at` counts as an
    edit and counts only ever grow; otherwise polling two instances would make a new
    version on every run.
    """
    edited = bool(post.edited_at) and (old["edited_at"] is None or post.edited_at > old["edited_at"])
    grew = any(
        getattr(post, name) is not None and (old[name] is None or getattr(post, name) > old[name])
        for name in COUNTS
    )
    return edited, grew


def store_posts(db: Database, posts: list[Post], fetch_id: int | None, source: str) -> SaveResult:
    """Insert new posts, version changed ones; must run inside `write_transaction`."""
    result = SaveResult()
    if not posts:
        return result
    now = utc_now()
    unique = list({p.key: p for p in posts}.values())
    author_ids = _author_ids(db, unique, now)
    platform = unique[0].platform
    existing: dict[str, sqlite3.Row] = {}
    db.conn.row_factory = sqlite3.Row
    try:
        for chunk in _chunks([p.key for p in unique]):
            marks = ",".join("?" * len(chunk))
            for row in db.conn.execute(
                "SELECT id, key, text, content_warning, edited_at, likes, reposts, replies,"
                f" quotes, metrics, raw, raw_fetch_id, version FROM posts WHERE platform = ? AND key IN ({marks})",
                [platform, *chunk],
            ):
                existing[row["key"]] = row
    finally:
        db.conn.row_factory = None

    fresh = [p for p in unique if p.key not in existing]
    db.conn.executemany(
        "INSERT INTO posts (platform, key, source, local_id, url, author_id, author, created_at,"
        " edited_at, text, content_warning, language, hashtags, media, likes, reposts, replies,"
        " quotes, metrics, raw, version, first_fetch_id, raw_fetch_id, first_seen_at, last_seen_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
        [
            (p.platform, p.key, source, p.local_id, p.url, author_ids[p.author.key],
             p.author.handle, p.created_at, p.edited_at, p.text, p.content_warning, p.language,
             json.dumps(p.hashtags), json.dumps(p.media), p.likes, p.reposts, p.replies,
             p.quotes, json.dumps(p.metrics) if p.metrics else None,
             json.dumps(p.raw, ensure_ascii=False), fetch_id, fetch_id, now, now)
            for p in fresh
        ],
    )
    result.new = len(fresh)

    seen_again = []
    for post in unique:
        old = existing.get(post.key)
        if old is None:
            continue
        edited, grew = _is_newer(post, old)
        if not (edited or grew):
            seen_again.append((now, old["id"]))
            continue
        _new_version(db, post, old, edited, fetch_id, now)
        result.updated += 1
    db.conn.executemany("UPDATE posts SET last_seen_at = ? WHERE id = ?", seen_again)
    return result


def _new_version(
    db: Database, post: Post, old: sqlite3.Row, edited: bool, fetch_id: int | None, now: str
) -> None:
    """Keep the stored state as a version, then make the post's row the newer one."""
    db.execute(
        "INSERT INTO post_versions (post_id, version, text, content_warning, edited_at, likes,"
        " reposts, replies, quotes, metrics, raw, raw_fetch_id, superseded_at, superseded_by_fetch_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [old["id"], old["version"], old["text"], old["content_warning"], old["edited_at"],
         old["likes"], old["reposts"], old["replies"], old["quotes"], old["metrics"], old["raw"],
         old["raw_fetch_id"], now, fetch_id],
    )
    counts = {
        name: max(v for v in (getattr(post, name), old[name]) if v is not None)
        if (getattr(post, name) is not None or old[name] is not None) else None
        for name in COUNTS
    }
    content = (
        {"text": post.text, "content_warning": post.content_warning, "edited_at": post.edited_at,
         "hashtags": json.dumps(post.hashtags), "media": json.dumps(post.media)}
        if edited else {}
    )
    values = {
        **content,
        **counts,
        "metrics": json.dumps(post.metrics) if post.metrics else old["metrics"],
        "raw": json.dumps(post.raw, ensure_ascii=False),
        "raw_fetch_id": fetch_id,
        "version": old["version"] + 1,
        "last_seen_at": now,
    }
    assignments = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"UPDATE posts SET {assignments} WHERE id = ?", [*values.values(), old["id"]])
