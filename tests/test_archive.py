"""The archive: schema by migrations, refusal of what it cannot trust, one atomic writer."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import replace

import pytest

from monitor.core.records import Author, Fetch, Page, Post
from monitor.archive import checkpoint
from monitor.archive import db as archive
from monitor.archive import posts as posts_module
from monitor.archive import ArchiveError, open_archive, save_page, start_run
from monitor.archive.migrations import MIGRATION_NAMES


def page(n: int, *, cursor: str | None = None, key_prefix: str = "https://fake.social/s/") -> Page:
    author = Author("mastodon", "https://fake.social/users/a", "a@fake.social", followers_count=5)
    posts = [
        Post("mastodon", f"{key_prefix}{i}", None, author, "2026-11-02T09:00:00.000000+00:00",
             f"text {i}", {"id": str(i)}, local_id=str(i), likes=1)
        for i in range(n)
    ]
    fetch = Fetch("mastodon", "fake.social", "GET", "http://fake/api", {}, 200, "2026-11-02T09:00:00+00:00")
    return Page("mastodon", "fake.social", "AspireNotToExclude", posts, [fetch], cursor)


@pytest.fixture
def db(tmp_path):
    return open_archive(tmp_path / "archive.db")


def test_new_archive_is_created_in_wal_mode_at_the_current_schema_version(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATION_NAMES)
    assert {"posts", "authors", "post_versions", "fetches", "runs", "source_runs", "cursors"} <= set(db.table_names())


def test_reopening_an_archive_applies_no_migration_twice(tmp_path, db):
    db.close()
    again = open_archive(tmp_path / "archive.db")
    assert again.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(MIGRATION_NAMES)


def test_older_archive_is_upgraded(tmp_path, monkeypatch):
    from monitor.archive import migrations

    path = tmp_path / "archive.db"
    open_archive(path).close()

    @migrations.migration
    def m999_add_note(db):
        db["posts"].add_column("note", str)

    try:
        upgraded = open_archive(path)
        assert "note" in upgraded["posts"].columns_dict
        assert upgraded.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATION_NAMES)
    finally:
        MIGRATION_NAMES.remove("m999_add_note")
        migrations.migrations._migrations.pop()


def test_archive_from_a_newer_version_is_refused(tmp_path, db):
    db.execute(f"PRAGMA user_version = {len(MIGRATION_NAMES) + 1}")
    db.close()
    with pytest.raises(ArchiveError, match="written by a newer campaign-monitor .* upgrade campaign-monitor"):
        open_archive(tmp_path / "archive.db")


def test_file_that_is_not_sqlite_is_refused_with_its_name(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not a database, just notes " * 100)
    with pytest.raises(ArchiveError, match=r"notes.db: not a usable SQLite archive"):
        open_archive(path)


def test_other_sqlite_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (id INTEGER)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(ArchiveError, match="not a campaign-monitor archive"):
        open_archive(path)
    assert _digest(path) == before and not (tmp_path / "other.db-wal").exists()  # not even switched to WAL
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["things"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def _digest(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_foreign_sqlite_utils_database_gets_none_of_our_tables(tmp_path):
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    path = tmp_path / "theirs.db"
    theirs = Migrations("someone_else")

    @theirs()
    def m001(db):
        db["notes"].create({"id": int}, pk="id")

    db = Database(path)
    theirs.apply(db)
    db.close()
    before = _digest(path)
    with pytest.raises(ArchiveError, match="not a campaign-monitor archive"):
        open_archive(path)
    assert _digest(path) == before


def test_a_new_archive_is_marked_as_ours_and_an_unmarked_one_of_ours_is_marked_when_opened(tmp_path):
    path = tmp_path / "archive.db"
    open_archive(path).close()
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == archive.APPLICATION_ID
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")  # as archives written before the mark are
    conn.commit()
    conn.close()
    open_archive(path).close()
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == archive.APPLICATION_ID


def test_an_empty_file_becomes_an_archive(tmp_path):
    path = tmp_path / "archive.db"
    path.touch()
    assert "posts" in open_archive(path).table_names()


def test_a_new_archive_has_8_kib_pages_and_an_older_one_keeps_its_own(tmp_path):
    open_archive(tmp_path / "new.db").close()
    assert sqlite3.connect(tmp_path / "new.db").execute("PRAGMA page_size").fetchone()[0] == 8192
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("PRAGMA application_id = %d" % archive.APPLICATION_ID)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    db = open_archive(old)
    save_page(db, page(3, cursor="2"), start_run(db, "test"))
    db.close()
    assert sqlite3.connect(old).execute("PRAGMA page_size").fetchone()[0] == 4096


def test_page_and_its_cursor_are_written_together(db):
    run = start_run(db, "test")
    save_page(db, page(3, cursor="2"), run)
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 3
    assert archive.get_cursor(db, "mastodon", "fake.social", "AspireNotToExclude") == "2"


def test_failed_page_leaves_neither_posts_nor_cursor(db, monkeypatch):
    run = start_run(db, "test")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(archive, "advance_cursor", explode)
    with pytest.raises(RuntimeError):
        save_page(db, page(3, cursor="2"), run)
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM fetches").fetchone()[0] == 0


def test_counts_only_grow_so_instances_with_partial_counts_do_not_flip_versions(db):
    run = start_run(db, "test")
    high = page(1)
    high.posts[0].likes = 10
    save_page(db, high, run)
    low = page(1)
    low.posts[0].likes = 2
    result = save_page(db, low, run)
    assert (result.new, result.updated) == (0, 0)
    assert db.execute("SELECT likes, version FROM posts").fetchone() == (10, 1)


def test_grown_counts_keep_the_earlier_state_as_a_version(db):
    run = start_run(db, "test")
    save_page(db, page(1), run)
    more = page(1)
    more.posts[0].likes = 7
    more.posts[0].raw = {"id": "0", "favourites_count": 7}
    assert save_page(db, more, run).updated == 1
    assert db.execute("SELECT likes, version FROM posts").fetchone() == (7, 2)
    likes, raw = db.execute("SELECT likes, raw FROM post_versions").fetchone()
    assert (likes, json.loads(raw)) == (1, {"id": "0"})


def test_second_writer_waits_for_the_first_instead_of_failing(tmp_path, db):
    other = open_archive(tmp_path / "archive.db")
    run = start_run(db, "test")
    db.conn.execute("BEGIN IMMEDIATE")
    import threading

    done = []
    t = threading.Thread(target=lambda: done.append(save_page(other, page(2, cursor="1"), run)))
    t.start()
    t.join(0.3)
    assert not done
    db.conn.execute("COMMIT")
    t.join(10)
    assert done and done[0].new == 2


@pytest.mark.parametrize("field", [*posts_module.TEXT_FIELDS, *(f"author.{f}" for f in posts_module.AUTHOR_FIELDS),
                                   "hashtags"])
def test_a_lone_surrogate_in_any_text_field_is_replaced_before_storing(field):
    post = page(1).posts[0]
    post.revision = "r1"
    if field == "hashtags":
        post = replace(post, hashtags=["ok\ud83d"])
    elif field.startswith("author."):
        post = replace(post, author=replace(post.author, **{field[7:]: "x\udc00"}))
    else:
        post = replace(post, **{field: "x\ud800"})
    stored = posts_module.storable(post)
    assert stored is not post
    value = stored.hashtags[0] if field == "hashtags" else (
        getattr(stored.author, field[7:]) if field.startswith("author.") else getattr(stored, field))
    assert "\ufffd" in value and value.encode()


@pytest.mark.parametrize("raw", [{"id": "0", "big": 2**70}, {"id": "0", "alt": "x\ud800"}, {"id": "0", "emoji": "\U0001f600"}],
                         ids=["integer-beyond-64-bits", "lone-surrogate", "non-ascii"])
def test_a_payload_is_stored_as_the_same_json_value_whatever_it_holds(db, raw):
    batch = page(1)
    batch.posts[0].raw = raw
    save_page(db, batch, start_run(db, "test"))
    stored, sha = db.execute("SELECT raw, sha256 FROM post_payloads").fetchone()
    assert json.loads(stored) == raw
    assert sha == posts_module.digest(stored)


def write_past_the_first_checkpoint(db, path) -> None:
    """~6 MB of payloads, then wait (10 s at most) for the checkpoint thread to copy some into the file."""
    run = start_run(db, "test")
    for n in range(60):
        batch = page(100, key_prefix=f"https://fake.social/s/{n}-")
        for p in batch.posts:
            p.raw = {"id": p.local_id, "content": "x" * 1000}
        save_page(db, batch, run)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not checkpointed(path):
        time.sleep(0.05)


def test_the_wal_is_checkpointed_while_the_writer_writes_and_folded_in_when_it_closes(tmp_path):
    db = open_archive(tmp_path / "archive.db")
    write_past_the_first_checkpoint(db, tmp_path / "archive.db")
    wal = tmp_path / "archive.db-wal"
    assert checkpointed(tmp_path / "archive.db")
    db.close()
    assert not wal.exists()
    assert sqlite3.connect(tmp_path / "archive.db").execute("SELECT count(*) FROM posts").fetchone()[0] == 6000


def test_the_checkpoints_go_on_when_their_first_look_at_the_page_size_is_refused(tmp_path, monkeypatch):
    refused, checkpoints = [], []

    class Busy(sqlite3.Connection):  # the thread's connection (timeout 0), refused once as a locked file would be
        def execute(self, sql, *args):
            if sql == "PRAGMA page_size" and not refused:
                refused.append(sql)
                raise sqlite3.OperationalError("database is locked")
            if refused and sql.startswith("PRAGMA wal_checkpoint"):
                checkpoints.append(sql)
            return super().execute(sql, *args)

    connect = sqlite3.connect
    monkeypatch.setattr(checkpoint.sqlite3, "connect",
                        lambda *a, **k: connect(*a, **k, **({"factory": Busy} if k.get("timeout") == 0 else {})))
    db = open_archive(tmp_path / "archive.db")
    write_past_the_first_checkpoint(db, tmp_path / "archive.db")
    deadline = time.monotonic() + 5  # the writer's own restarts fill the file too: the thread must go on itself
    while time.monotonic() < deadline and len(checkpoints) < 2 and db.conn._thread.is_alive():
        time.sleep(0.05)
    assert refused and len(checkpoints) >= 2 and checkpointed(tmp_path / "archive.db")
    db.close()


def checkpointed(path) -> bool:
    """Pages have been copied from the WAL into the file itself (by the archive's checkpoint thread:
    the writer's automatic checkpoint is off, so only it grows the file while the writer writes)."""
    return path.stat().st_size > 2_000_000


def test_a_wal_restart_left_to_the_writer_never_waits_for_a_reader(tmp_path):
    """A long reader (a backup, a year's report) holds an old snapshot: the writer's restart of
    the WAL is skipped, not waited for through the whole busy timeout, and tried again later."""
    db = open_archive(tmp_path / "archive.db")
    run = start_run(db, "test")
    save_page(db, page(5), run)
    reader = sqlite3.connect(tmp_path / "archive.db")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM posts").fetchone()
    db.conn._restart_due.set()  # as the checkpoint thread does when it could not restart the WAL itself
    saved = threading.Thread(target=save_page, args=(db, page(5, key_prefix="https://fake.social/t/"), run))
    saved.start()
    saved.join(timeout=10)
    assert not saved.is_alive(), "the writer waited for the reader"
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == archive.BUSY_TIMEOUT_MS
    reader.rollback()
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 10
