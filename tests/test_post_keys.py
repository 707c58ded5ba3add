"""The posts' unique index: ordered by each key's id (m021), the same uniqueness as the key alone,
and every lookup of a post by its key a search of it, never a scan of the posts. The author
index: an author alone (m022), what every lookup of an author's posts searches."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils import Database

from monitor.archive import open_archive, save_page, start_run
from monitor.archive.migrations import migrations
from monitor.archive.posts import KEY_ORDER, by_key_sql, key_order, post_ids
from monitor.core.records import Author, Fetch, Page, Post

KEYS = [
    "https://mastodon.social/users/teacher/statuses/113456789012345678",  # Mastodon: a status URI
    "at://did:plc:abc123/app.bsky.feed.post/3kxyzabcdef2a",  # Bluesky: an at:// URI
    "t3_1h2k3l4",  # Reddit: a fullname, no slash at all
    "https://pleroma.example/objects/",  # a trailing slash: an empty order, still unique by the key
    "///",
    "",
    "https://école.example/@élève/ünïcödé",  # characters beyond ASCII are counted as characters
]


def post(key: str, n: int = 1) -> Post:
    author = Author("mastodon", "https://fake.social/users/a", "a@fake.social")
    return Post("mastodon", key, None, author, "2026-11-02T09:00:00.000000+00:00", f"text {n}", {"id": str(n)},
                local_id=str(n))


def save(db, *posts: Post):
    fetch = Fetch("mastodon", "fake.social", "GET", "http://fake/api", {}, 200, "2026-11-02T09:00:00+00:00")
    return save_page(db, Page("mastodon", "fake.social", "t", list(posts), [fetch], None), start_run(db, "test"))


@pytest.fixture
def db(tmp_path):
    return open_archive(tmp_path / "archive.db")


@pytest.mark.parametrize("key", KEYS)
def test_a_keys_order_is_the_same_computed_in_python_and_by_the_index(key):
    in_sql = sqlite3.connect(":memory:").execute(f"SELECT {KEY_ORDER} FROM (SELECT ? AS key)", [key]).fetchone()[0]
    assert key_order(key) == in_sql


def test_a_post_is_looked_up_by_its_key_through_the_unique_index_not_a_scan(db):
    plan = " ".join(row[-1] for row in db.execute(
        "EXPLAIN QUERY PLAN " + by_key_sql("id, key, text", 2), ["mastodon", *map(key_order, KEYS[:2]), *KEYS[:2]]))
    assert "idx_posts_key_order" in plan and "SCAN" not in plan


def test_posts_whose_keys_end_alike_are_kept_apart_and_each_found_again(db):
    alike = ["https://one.example/users/a/statuses/42", "https://two.example/users/b/statuses/42", "42"]
    assert save(db, *(post(k, n) for n, k in enumerate(alike))).new == 3
    assert set(post_ids(db, "mastodon", alike)) == set(alike)
    again = save(db, *(post(k, n) for n, k in enumerate(alike)))
    assert (again.new, db.execute("SELECT count(*) FROM posts").fetchone()[0]) == (0, 3)


def test_every_kind_of_key_is_stored_once_and_found_by_itself_alone(db):
    save(db, *(post(k, n) for n, k in enumerate(KEYS)))
    assert save(db, *(post(k, n) for n, k in enumerate(KEYS))).new == 0
    for key in KEYS:
        assert list(post_ids(db, "mastodon", [key])) == [key]


def test_the_same_key_cannot_be_inserted_twice_whatever_writes_it(db):
    save(db, post(KEYS[0]))
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO posts (platform, key, created_at) VALUES ('mastodon', ?, '2026-11-02')", [KEYS[0]])


def older_archive(path, stop_before: str):
    """An archive made before `stop_before`, holding three posts by two authors, then opened as it is now."""
    older = Database(sqlite3.connect(path))
    migrations.apply(older, stop_before=stop_before)
    older.conn.executemany("INSERT INTO posts (platform, key, author_id, created_at, text, hashtags, media)"
                           " VALUES ('mastodon', ?, ?, '2026-11-01T10:00:00.000000+00:00', 'x', '[]', '[]')",
                           [(k, n % 2) for n, k in enumerate(KEYS[:3])])
    older.conn.commit()
    older.close()
    return open_archive(path)


def post_indexes(db) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'posts'")}


def test_an_older_archives_posts_are_found_by_their_keys_once_its_index_is_reordered(tmp_path):
    db = older_archive(tmp_path / "archive.db", "m021_posts_key_in_time_order")
    assert set(post_ids(db, "mastodon", KEYS[:3])) == set(KEYS[:3])
    assert save(db, post(KEYS[0])).new == 0
    assert "idx_posts_key_order" in post_indexes(db) and "idx_posts_platform_key" not in post_indexes(db)


AUTHORS_POSTS = "SELECT id FROM posts WHERE author_id IN (?, ?)"  # as an erasure of an author finds them


def test_an_authors_posts_are_found_through_the_author_index_not_a_scan(db):
    plan = " ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + AUTHORS_POSTS, [1, 2]))
    assert "idx_posts_author" in plan and "SCAN" not in plan


def test_an_older_archives_author_index_is_replaced_by_one_without_dates_when_it_is_opened(tmp_path):
    db = older_archive(tmp_path / "archive.db", "m022_posts_author_index_without_dates")
    assert "idx_posts_author" in post_indexes(db) and "idx_posts_author_created" not in post_indexes(db)
    assert len(db.execute(AUTHORS_POSTS, [0, 1]).fetchall()) == 3
