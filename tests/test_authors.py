"""What the archive keeps of an author for reports: the time of their earliest archived post."""

from __future__ import annotations

from dataclasses import replace

from monitor.archive import erasure, open_archive, save_page, start_run
from monitor.core.records import Page
from tests.test_terms import FETCH, post


def first_post_at(db) -> str:
    return db.execute("SELECT first_post_at FROM authors").fetchone()[0]


def test_an_authors_first_post_time_is_the_earliest_of_their_posts_in_any_order(tmp_path):
    db = open_archive(tmp_path / "archive.db")
    run = start_run(db, "test")
    later = post("later")
    earlier = replace(post("earlier"), key="k-earlier", created_at="2026-10-01T09:00:00.000000+00:00")
    save_page(db, Page("mastodon", "fake.social", "t", [later], [FETCH], None), run)
    assert first_post_at(db) == later.created_at
    save_page(db, Page("mastodon", "fake.social", "t", [earlier], [FETCH], None), run)
    save_page(db, Page("mastodon", "fake.social", "t", [later], [FETCH], None), run)
    assert first_post_at(db) == earlier.created_at


def test_erasing_an_authors_first_post_moves_their_first_post_time_to_the_next(tmp_path):
    db = open_archive(tmp_path / "archive.db")
    run = start_run(db, "test")
    later = post("later")
    earlier = replace(post("earlier"), key="k-earlier", created_at="2026-10-01T09:00:00.000000+00:00")
    save_page(db, Page("mastodon", "fake.social", "t", [later, earlier], [FETCH], None), run)
    erasure.erase(db, tmp_path / "archive.db", erasure.find(db, post="k-earlier"), reason="asked", by="test")
    assert first_post_at(db) == later.created_at
