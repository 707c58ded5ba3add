"""Links, hashtags and mentions kept as `post_terms`, and payloads kept apart with their digests."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from sqlite_utils import Database

from monitor.archive import open_archive, reviews, save_page, save_refresh, start_run
from monitor.archive.migrations import migrations
from monitor.archive.terms import extract
from monitor.core.records import Author, Fetch, Page, Post, RefreshBatch

AUTHOR = Author("mastodon", "https://fake.social/users/a", "a@fake.social")
FETCH = Fetch("mastodon", "fake.social", "GET", "http://fake/api", {}, 200, "2026-11-02T09:00:00+00:00")


def post(text: str, *, edited_at: str | None = None, key: str = "https://fake.social/users/a/statuses/1") -> Post:
    return Post("mastodon", key, "https://fake.social/@a/1", AUTHOR, "2026-11-02T09:00:00.000000+00:00", text,
                {"id": "1", "content": text}, local_id="1", hashtags=["aspirenottoexclude", "send"],
                edited_at=edited_at)


@pytest.fixture
def db(tmp_path):
    return open_archive(tmp_path / "archive.db")


def terms(db, kind: str | None = None) -> set:
    rows = db.execute("SELECT kind, value FROM post_terms").fetchall()
    return {v for k, v in rows if k == kind} if kind else set(rows)


def test_extract_finds_each_link_hashtag_and_mention_once():
    text = ("Thanks @nurtureuk@mastodonapp.uk and @head.bsky.social! See https://nurtureuk.org/groups/. "
            "Again: https://nurtureuk.org/groups/ (mail me at jo@example.org)")
    assert extract(text, ["Send"], None) == {
        ("hashtag", "send"), ("link", "https://nurtureuk.org/groups/"),
        ("mention", "nurtureuk@mastodonapp.uk"), ("mention", "head.bsky.social")}


def test_extract_leaves_out_links_to_the_post_itself():
    assert extract("https://fake.social/@a/1 and https://other.example/x", [], "https://fake.social/@a/1") == {
        ("link", "https://other.example/x")}


def test_a_written_post_has_its_terms(db):
    save_page(db, Page("mastodon", "fake.social", "t", [post("Read https://nurtureuk.org/ @jo")], [FETCH], None),
              start_run(db, "test"))
    assert terms(db) == {("hashtag", "aspirenottoexclude"), ("hashtag", "send"),
                         ("link", "https://nurtureuk.org/"), ("mention", "jo")}


def test_an_edit_replaces_the_terms_of_the_post(db):
    run = start_run(db, "test")
    save_page(db, Page("mastodon", "fake.social", "t", [post("Old https://old.example/")], [FETCH], None), run)
    save_page(db, Page("mastodon", "fake.social", "t", [post("New https://new.example/",
              edited_at="2026-11-03T09:00:00.000Z")], [FETCH], None), run)
    assert terms(db, "link") == {"https://new.example/"}


def test_a_redaction_takes_the_links_it_cut_out_of_the_terms(db):
    save_page(db, Page("mastodon", "fake.social", "t", [post("Jamie's page https://school.example/jamie")], [FETCH],
                       None), start_run(db, "test"))
    [post_id] = [r[0] for r in db.execute("SELECT id FROM posts")]
    reviews.store_scores(db, [(post_id, {"score": 0.9, "reasons": "[]", "status": "candidate", "flagged": 1,
                                         "flag_reasons": "[]"})], "test")
    reviews.store_redaction(db, post_id, "A pupil's page", {"score": 0.9, "reasons": "[]", "flagged": 0}, "[]",
                            "test", "reviewer")
    assert terms(db, "link") == set()


def test_a_deleted_post_keeps_no_terms_and_no_payload(db):
    run = start_run(db, "test")
    save_page(db, Page("mastodon", "fake.social", "t", [post("https://nurtureuk.org/")], [FETCH], None), run)
    save_refresh(db, RefreshBatch("mastodon", "fake.social", [], {"https://fake.social/users/a/statuses/1": "HTTP 404"},
                                  [FETCH]), run)
    assert terms(db) == set()
    assert db.execute("SELECT count(*) FROM post_payloads").fetchone()[0] == 0


def test_a_payload_is_stored_with_the_digest_of_what_was_received(db):
    save_page(db, Page("mastodon", "fake.social", "t", [post("text")], [FETCH], None), start_run(db, "test"))
    raw, sha, origin = db.execute("SELECT raw, sha256, digest_origin FROM post_payloads").fetchone()
    assert json.loads(raw) == {"id": "1", "content": "text"}
    assert sha == hashlib.sha256(raw.encode()).hexdigest() and origin == "fetched"


def test_an_older_archive_has_its_payloads_moved_with_digests_marked_as_migrated(tmp_path):
    path = tmp_path / "archive.db"
    older = Database(sqlite3.connect(path))
    migrations.apply(older, stop_before="m012_payloads_and_terms")
    older.execute("INSERT INTO posts (id, platform, key, url, created_at, text, hashtags, raw) VALUES"
                  " (1, 'mastodon', 'k1', 'https://fake.social/@a/1', '2026-11-02', 'See https://a.example/', "
                  "'[\"send\"]', '{\"id\": \"1\"}'),"
                  " (2, 'mastodon', 'k2', NULL, '2026-11-02', NULL, '[]', '{}')")
    older.execute("UPDATE posts SET deleted_at = '2026-11-03' WHERE id = 2")
    older.conn.commit()
    older.close()
    db = open_archive(path)
    assert "raw" not in db["posts"].columns_dict
    assert db.execute("SELECT post_id, raw, sha256, digest_origin FROM post_payloads").fetchall() == [
        (1, '{"id": "1"}', hashlib.sha256(b'{"id": "1"}').hexdigest(), "migrated")]
    assert terms(db) == {("hashtag", "send"), ("link", "https://a.example/")}


def test_migrations_apply_in_the_order_of_their_numbers():
    from monitor.archive.migrations import MIGRATION_NAMES

    assert MIGRATION_NAMES == sorted(MIGRATION_NAMES)
