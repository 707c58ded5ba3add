"""Pages saved in one transaction are written together, and store exactly what one by one would."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.archive import db as archive
from monitor.archive import open_archive, save_page, save_pages, start_run
from monitor.core.records import Author, Fetch, Page, Post

AUTHOR = Author("mastodon", "https://fake.social/users/a", "a@fake.social")


def post(i: int, **changes) -> Post:
    base = Post("mastodon", f"https://fake.social/users/a/statuses/{i}", None, AUTHOR,
                f"2026-11-02T09:00:{i:02d}.000000+00:00", f"text {i}", {"id": str(i)}, local_id=str(i), likes=1)
    return replace(base, **changes)


def page(n: int, posts: list[Post], **extra) -> Page:
    fetch = Fetch("mastodon", "fake.social", "GET", "http://fake/api", {"page": n}, 200, "2026-11-02T09:00:00+00:00")
    return Page("mastodon", "fake.social", "t", posts, [fetch], str(n), **extra)


def batch() -> list[Page]:
    """What a stream can bring within one commit: repeats, an edit, deletions before and after."""
    return [
        page(1, [post(1), post(2)]),
        page(2, [post(3)]),
        page(3, [post(2, likes=5, raw={"id": "2", "likes": 5})]),  # seen again on a later page, grown
        page(4, [post(4)], gone={post(3).key: "deleted"}),
        page(5, [post(5)], edits=[post(1, text="edited", edited_at="2026-11-03T09:00:00+00:00")]),
        page(6, [post(6)], gone={post(9).key: "deleted"}),
        page(7, [post(9)]),  # deleted before it was ever seen: still stored, as page by page
    ]


def state(db) -> dict:
    return {
        "posts": db.execute("SELECT p.id, p.key, p.text, p.likes, p.version, f1.params, f2.params, p.deleted_at"
                            " IS NOT NULL FROM posts p JOIN fetches f1 ON f1.id = p.first_fetch_id"
                            " JOIN fetches f2 ON f2.id = p.raw_fetch_id ORDER BY p.id").fetchall(),
        "versions": db.execute("SELECT post_id, version, text, likes FROM post_versions ORDER BY 1, 2").fetchall(),
        "payloads": db.execute("SELECT post_id, raw, fetch_id FROM post_payloads ORDER BY 1").fetchall(),
        "terms": db.execute("SELECT * FROM post_terms ORDER BY 1, 2, 3").fetchall(),
        "cursor": db.execute("SELECT position FROM cursors").fetchall(),
    }


@pytest.fixture
def archives(tmp_path):
    return open_archive(tmp_path / "together.db"), open_archive(tmp_path / "one-by-one.db")


def test_pages_saved_together_store_what_saving_them_one_by_one_stores(archives):
    together, one_by_one = archives
    save_pages(together, batch(), start_run(together, "test"))
    run = start_run(one_by_one, "test")
    for p in batch():
        save_page(one_by_one, p, run)
    assert state(together) == state(one_by_one)


def test_each_post_keeps_the_fetch_of_its_own_page_when_pages_are_written_together(archives):
    db, _ = archives
    save_pages(db, [page(1, [post(1)]), page(2, [post(2)])], start_run(db, "test"))
    assert db.execute("SELECT p.local_id, f.params FROM posts p JOIN fetches f ON f.id = p.first_fetch_id"
                      " ORDER BY p.id").fetchall() == [("1", '{"page": 1}'), ("2", '{"page": 2}')]


def test_a_post_on_two_pages_or_a_deletion_ends_a_run_of_pages_written_together():
    runs = [[p.cursor for p in run] for run in archive._together(batch())]
    assert runs == [["1", "2"], ["3", "4"], ["5", "6"], ["7"]]
