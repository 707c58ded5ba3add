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
from pathlib import Path
from typing import Any, Iterator

from sqlite_utils import Database

from monitor import __version__
from monitor.archive.checkpoint import ArchiveConnection
from monitor.archive.migrations import MIGRATION_NAMES, migrations
from monitor.archive.posts import (
    SaveResult,
    digest,
    placeholders,
    post_ids,
    snapshot,
    storable_json,
    store_posts,
    tombstone,
)
from monitor.core.clock import utc_now
from monitor.core.records import Fetch, Notice, Page, Post, RefreshBatch

BUSY_TIMEOUT_MS = 30_000


class ArchiveError(Exception):
    """The archive cannot be used; the message names the file and what to do."""


# A new archive's pages: 8 KiB, not SQLite's 4. Every page a commit changes is one frame of
# the WAL, written with two system calls and copied again by the checkpoint, and what a page
# holds is what costs: a 2-3 KB payload filled a 4 KiB page alone. Taken in turn in one process
# at 200,000 posts (four pairs), 8 KiB was faster in each, by 5-7%; 16 KiB gained as much there
# (and at a million in single runs, as 8 KiB did) but reads four 4 KiB pages' worth for each
# row a report or a search fetches by id. Existing archives keep theirs (SQLite changes it only
# by a VACUUM, which WAL mode refuses to do for the page size).
PAGE_SIZE = 8192
APPLICATION_ID = 0x434D4F4E  # "CMON" in PRAGMA application_id: this file is a campaign-monitor archive


def _new(path: Path) -> bool:
    """No database in it yet: nothing to check it against, and its page size still to choose."""
    return not path.exists() or path.stat().st_size == 0


def _ours(path: Path) -> None:
    """Refuse, before anything is written to it, a file that is not an archive of ours.

    Checked before the archive's own connection opens: switching a foreign database to
    WAL, or adding our tables to someone's sqlite-utils database, would change a file
    that is not ours.
    Ours: an empty file, one marked with our application id, or an archive from before
    the mark (no id, but our migrations recorded).
    """
    if _new(path):
        return
    # Read through SQLite only, never with open(): closing any other descriptor of the file
    # drops every POSIX lock this process holds on it, the live connections' included.
    # A plain connection that only reads changes nothing: no journal mode, no table, no write.
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        recorded = "_sqlite_migrations" in tables and conn.execute(
            "SELECT count(*) FROM _sqlite_migrations WHERE migration_set = ?", [migrations.name]).fetchone()[0]
    finally:
        conn.close()
    if app_id == APPLICATION_ID or (app_id == 0 and (recorded or not tables)):
        return
    raise ArchiveError(f"{path}: is a SQLite database but not a campaign-monitor archive "
                       f"(application id {app_id:#x}, {len(tables)} tables); point [campaign] archive at a new file")


def open_archive(path: str | Path) -> Database:
    """Open (creating and migrating if need be) the archive at `path`.

    The connection may be shared between collector threads; callers serialise writes
    through `Writer`.
    """
    path = Path(path)
    if not path.parent.exists():
        raise ArchiveError(f"{path}: folder {path.parent} does not exist")
    conn = None
    try:
        _ours(path)
        new = _new(path)
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000,
                               factory=ArchiveConnection)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if new:  # only before the first write: an existing archive keeps the size it was made with
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            conn.close()
            raise ArchiveError(f"{path}: could not switch the archive to WAL mode ({mode})")
        conn.start_checkpoints(str(path))  # not inside COMMIT (monitor.archive.checkpoint)
        # NORMAL in WAL mode syncs at checkpoints, not at each commit. A power cut may then lose
        # the last transactions, never corrupt the file, and a lost transaction takes its page's
        # cursor with it, so those posts are fetched again (tests/test_crash.py shows the pair
        # is never split). What stays on disk is the truth: never a cursor ahead of its posts.
        conn.execute("PRAGMA synchronous = NORMAL")
        # 64 MiB of page cache (SQLite's default is 2 MiB): the unique (platform, key) index
        # takes URIs in no order, and past a few hundred thousand posts its pages stop fitting
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA foreign_keys = ON")
        # freed space is zeroed, not left holding what was deleted: an erased post or a platform's
        # deletion must leave no trace in the file's bytes (monitor.archive.erasure)
        conn.execute("PRAGMA secure_delete = ON")
        db = Database(conn)
        _migrate(db, path)
    except (sqlite3.DatabaseError, ArchiveError) as e:
        if conn is not None:
            conn.close()  # and its checkpoint thread
        if isinstance(e, ArchiveError):
            raise
        if is_disk_error(e):  # a full disk while creating or upgrading the schema: each migration rolled back
            raise ArchiveError(f"{path}: {e}; {DISK_HINT}") from None
        raise ArchiveError(f"{path}: not a usable SQLite archive ({e})") from None
    return db


DISK_HINT = ("the disk may be full or failing: free some space, then run the command again (every "
             "transaction that did not complete was rolled back)")


def is_disk_error(e: sqlite3.DatabaseError) -> bool:
    return any(word in str(e) for word in ("full", "disk I/O"))


def _migrate(db: Database, path: Path) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    applied = {m.name for m in migrations.applied(db)}
    unknown = applied - set(MIGRATION_NAMES)
    if version > len(MIGRATION_NAMES) or unknown:
        raise ArchiveError(
            f"{path}: written by a newer campaign-monitor (schema version {version}, this "
            f"version {__version__} knows up to {len(MIGRATION_NAMES)}); upgrade campaign-monitor"
        )
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    if not migrations.pending(db):
        return
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
    if isinstance(db.conn, ArchiveConnection):
        db.conn.after_commit()


class Writer:
    """Serialises the collector threads' writes onto the one connection."""

    def __init__(self, db: Database, run_id: int):
        self.db = db
        self.run_id = run_id
        self.lock = threading.Lock()

    def save_pages(self, pages: list[Page]) -> list[SaveResult]:
        with self.lock:
            return save_pages(self.db, pages, self.run_id)

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
    warnings: list[Notice],
    error: str | None,
) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT INTO source_runs (run_id, platform, source, status, new_posts, updated_posts,"
            " requests, warnings, error, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, platform, source, status, new, updated, requests, json.dumps([w.as_json() for w in warnings]),
             error, utc_now()],
        )


def get_cursor(db: Database, platform: str, source: str, stream: str) -> str | None:
    row = db.execute(
        "SELECT position FROM cursors WHERE platform = ? AND source = ? AND stream = ?",
        [platform, source, stream.lower()],
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
    """Store one page and advance its cursor, atomically."""
    return save_pages(db, [page], run_id)[0]


def save_pages(db: Database, pages: list[Page], run_id: int) -> list[SaveResult]:
    """Store consecutive pages of one stream and advance its cursor, in one transaction.

    Each page keeps its own fetch as the provenance of its posts; the cursor ends at the
    last page's. A commit costs about as much as writing a page of 40 posts, so a backfill
    commits several pages at once; a crash loses them all and their cursor with them,
    never one without the other, and they are fetched again. Within the transaction the
    pages' posts are written together where that changes nothing (`_together`): one result
    for each run of pages so written.
    """
    results = []
    with write_transaction(db):
        for run in _together(pages):
            fetch_ids = [_insert_fetches(db, page.fetches, run_id) for page in run]
            results.append(store_posts(db, [(page.posts + known(db, page), fetch_id)
                                            for page, fetch_id in zip(run, fetch_ids)], run[0].source))
            for page, fetch_id in zip(run, fetch_ids):
                if page.rejects:
                    _store_rejects(db, page, fetch_id)
                if page.gone or page.gone_local:
                    results[-1].deleted += tombstone(db, page.platform, {**page.gone, **local_keys(db, page)})
                if page.cursor is not None:
                    advance_cursor(db, page, run_id)
    return results


def _together(pages: list[Page]) -> Iterator[list[Page]]:
    """Runs of consecutive pages whose posts can be written as one, exactly as page by page:
    from one source, no post (or edit) on two of them, and a page that announces deletions
    ends its run, so its tombstones come after its posts and before any later page's."""
    run: list[Page] = []
    keys: set[str] = set()
    for page in pages:
        mine = {p.key for p in page.posts} | {p.key for p in page.edits}
        if run and (not keys.isdisjoint(mine) or (page.platform, page.source) != (run[0].platform, run[0].source)):
            yield run
            run, keys = [], set()
        run.append(page)
        keys |= mine
        if page.gone or page.gone_local:
            yield run
            run, keys = [], set()
    if run:
        yield run


def known(db: Database, page: Page) -> list[Post]:
    """The page's edits of posts the archive holds (the edit took the hashtag away; the post stays ours)."""
    held = post_ids(db, page.platform, list({p.key for p in page.edits}))
    return [p for p in page.edits if p.key in held]


def local_keys(db: Database, page: Page) -> dict[str, str]:
    """The keys of the posts a stream's deletions name by their id on the page's source."""
    ids = list(page.gone_local)
    found = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(db.execute(
            f"SELECT key, local_id FROM posts WHERE platform = ? AND source = ? AND local_id IN ({placeholders(chunk)})",
            [page.platform, page.source, *chunk]).fetchall())
    return {key: page.gone_local[local] for key, local in found.items()}


def _store_rejects(db: Database, page: Page, fetch_id: int | None) -> None:
    now = utc_now()
    rows = []
    for r in page.rejects:
        raw = storable_json(r.raw)
        rows.append((page.platform, page.source, page.stream, r.ident, r.reason, raw,
                     digest(raw), fetch_id, now))
    db.conn.executemany(
        "INSERT OR IGNORE INTO rejected_items (platform, source, stream, item_id, reason, raw, raw_sha256, fetch_id,"
        " first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def save_refresh(db: Database, batch: RefreshBatch, run_id: int) -> SaveResult:
    """Store a re-read of archived posts: new versions, a counts snapshot, tombstones."""
    with write_transaction(db):
        fetch_id = _insert_fetches(db, batch.fetches, run_id)
        result = store_posts(db, [(batch.observed, fetch_id)], batch.source)
        snapshot(db, batch.observed, fetch_id)
        result.deleted = tombstone(db, batch.platform, batch.gone)
    return result


def advance_cursor(db: Database, page: Page, run_id: int) -> None:
    db.execute(
        "INSERT INTO cursors (platform, source, stream, position, updated_at, run_id)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (platform, source, stream) DO UPDATE SET"
        " position = excluded.position, updated_at = excluded.updated_at, run_id = excluded.run_id",
        [page.platform, page.source, page.stream.lower(), page.cursor, utc_now(), run_id],
    )


def record_job(db: Database, job: str, **values: Any) -> None:
    """Upsert a daemon job's row in `schedule` (what `status` shows, and what a restart resumes from)."""
    values = {"job": job, "updated_at": utc_now(), **values}
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    updates = ", ".join(f"{c} = excluded.{c}" for c in values if c != "job")
    with write_transaction(db):
        db.execute(f"INSERT INTO schedule ({columns}) VALUES ({marks}) ON CONFLICT (job) DO UPDATE SET {updates}",
                   list(values.values()))
