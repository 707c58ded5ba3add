"""What reports count from indexes (`posts.review`, `term_days`) always equals a recount from
the tables they summarise, whatever changed the posts: scoring, flags, decisions, redactions,
edits, tombstones and erasures."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from sqlite_utils import Database

from monitor.archive import erasure, open_archive, reviews, save_page, start_run
from monitor.archive.db import write_transaction
from monitor.archive.migrations import migrations
from monitor.archive.posts import tombstone
from monitor.archive.rollups import hour_counts, review_of, term_counts
from monitor.core.records import Author, Fetch, Page, Post

FETCH = Fetch("mastodon", "fake.social", "GET", "http://fake/api", {}, 200, "2026-11-02T09:00:00+00:00")
SCORED = {"score": 0.1, "reasons": "[]", "status": "none", "flagged": 0, "flag_reasons": "[]"}
START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def author(n: int) -> Author:
    return Author("mastodon", f"https://fake.social/users/a{n}", f"a{n}@fake.social")


def post(n: int, hours: float, text: str, *, tags=("aspirenottoexclude",), who: int | None = None,
         edited_at: str | None = None) -> Post:
    created = (START + timedelta(hours=hours)).isoformat(timespec="microseconds")
    return Post("mastodon", f"https://fake.social/users/a/statuses/{n}", f"https://fake.social/@a/{n}",
                author(n % 3 if who is None else who), created, text, {"id": str(n), "content": text},
                local_id=str(n), hashtags=list(tags), edited_at=edited_at)


def save(db, *posts: Post) -> None:
    save_page(db, Page("mastodon", "fake.social", "t", list(posts), [FETCH], None), start_run(db, "test"))


def ids(db) -> dict[str, int]:
    return {key.rsplit("/", 1)[1]: i for i, key in db.execute("SELECT id, key FROM posts")}


def score(db, flagged: set[int] = frozenset()) -> None:
    reviews.store_scores(db, [(i, {**SCORED, "flagged": int(n in flagged)}) for n, i in
                              ((int(k), i) for k, i in ids(db).items())], "test")


def rollup(db) -> dict:
    return {(d, k, v): n for d, k, v, n in db.execute("SELECT day, kind, value, posts FROM term_days")}


def recount(db) -> dict:
    """term_days as it should be: counted from visible_posts (the one rule) and post_terms."""
    return {(d, k, v): n for d, k, v, n in db.execute(
        "SELECT substr(v.created_at, 1, 10), t.kind, t.value, count(*) FROM visible_posts v"
        " JOIN post_terms t ON t.post_id = v.id GROUP BY 1, 2, 3")}


def agrees(db) -> bool:
    reviews_match = db.execute(
        f"SELECT count(*) FROM posts p LEFT JOIN testimonies t ON t.post_id = p.id"
        f" WHERE p.review IS NOT coalesce({review_of('t')}, 'unchecked') AND t.post_id IS NOT NULL"
        " OR (t.post_id IS NULL AND p.review != 'unchecked')").fetchone()[0] == 0
    return reviews_match and rollup(db) == recount(db)


@pytest.fixture
def db(tmp_path):
    db = open_archive(tmp_path / "archive.db")
    save(db, post(1, 2, "See https://nurtureuk.org/a with @jo"), post(2, 23.5, "Read https://nurtureuk.org/a"),
         post(3, 24.2, "Thanks @jo@fake.social", tags=("aspirenottoexclude", "send")),
         post(4, 50, "Nothing to link", tags=("send",)))
    return db


def test_an_unchecked_post_is_counted_nowhere_until_it_is_scored(db):
    assert rollup(db) == {} and {r for (r,) in db.execute("SELECT review FROM posts")} == {"unchecked"}
    score(db)
    assert agrees(db)
    assert rollup(db)[("2026-11-01", "link", "https://nurtureuk.org/a")] == 2


def test_a_flag_takes_a_posts_terms_out_and_a_reviewers_acceptance_brings_them_back(db):
    score(db, flagged={1})
    assert rollup(db)[("2026-11-01", "link", "https://nurtureuk.org/a")] == 1
    assert db.execute("SELECT review FROM posts WHERE id = ?", [ids(db)["1"]]).fetchone()[0] == "held"
    reviews.record_decision(db, ids(db)["1"], "accepted", "given", None, "test")
    assert agrees(db) and rollup(db)[("2026-11-01", "link", "https://nurtureuk.org/a")] == 2


def test_a_redaction_that_cuts_a_link_cuts_its_count(db):
    score(db)
    reviews.store_redaction(db, ids(db)["1"], "See [link removed]", SCORED, "[]", "test", "test")
    assert agrees(db) and rollup(db)[("2026-11-01", "link", "https://nurtureuk.org/a")] == 1
    assert ("2026-11-01", "mention", "jo") not in rollup(db)


def test_an_edit_moves_the_count_to_the_new_terms(db):
    score(db)
    save(db, post(4, 50, "Now https://new.example/", tags=("send",), edited_at="2026-11-04T00:00:00+00:00"))
    assert agrees(db) and rollup(db)[("2026-11-03", "link", "https://new.example/")] == 1


def test_a_tombstone_takes_the_posts_terms_out(db):
    score(db)
    with write_transaction(db):
        tombstone(db, "mastodon", {"https://fake.social/users/a/statuses/3": "deleted"})
    assert agrees(db) and not any(day == "2026-11-02" for day, _, _ in rollup(db))


def test_an_erased_author_leaves_no_term_of_theirs_in_the_rollups(db, tmp_path):
    score(db)
    erasure.erase(db, tmp_path / "archive.db", erasure.find(db, author="a0@fake.social", platform="mastodon"),
                  reason="request", by="test")
    assert agrees(db)
    assert all(n > 0 for n in rollup(db).values())  # a count that fell to nothing is gone, not kept as 0
    assert ("2026-11-02", "mention", "jo@fake.social") not in rollup(db)  # post 3 was a0's


@pytest.mark.parametrize("seed", range(6))
def test_any_periods_terms_from_the_rollups_equal_a_count_of_its_visible_posts(tmp_path, seed):
    chance = random.Random(seed)
    db = open_archive(tmp_path / "archive.db")
    links = [f"https://site{i}.example/" for i in range(5)]
    save(db, *[post(n, chance.uniform(0, 24 * 9), " ".join(chance.sample(links, 2)),
                    tags=tuple(chance.sample(["send", "nurture", "aspirenottoexclude"], 2)))
               for n in range(60)])
    score(db, flagged=set(chance.sample(range(60), 10)))
    for _ in range(5):
        start = START + timedelta(hours=chance.uniform(0, 100))
        end = start + timedelta(hours=chance.choice([0.5, 5, 23, 24, 49.5, 100]))
        bounds = (start.isoformat(timespec="microseconds"), end.isoformat(timespec="microseconds"))
        sql, parameters = term_counts(*bounds, ("link", "hashtag"))
        expected = {(k, v): n for k, v, n in db.execute(
            "SELECT t.kind, t.value, count(*) FROM visible_posts v JOIN post_terms t ON t.post_id = v.id"
            " WHERE v.created_at >= ? AND v.created_at < ? AND t.kind IN ('link', 'hashtag') GROUP BY 1, 2", bounds)}
        assert {(k, v): n for k, v, n in db.execute(sql, parameters)} == expected, bounds


def test_an_older_archive_gets_its_review_states_and_rollups_when_migrated(tmp_path):
    path = tmp_path / "archive.db"
    older = Database(sqlite3.connect(path))
    migrations.apply(older, stop_before="m020_review_and_rollups")
    older.execute("INSERT INTO posts (id, platform, key, created_at, text, hashtags, media) VALUES"
                  " (1, 'mastodon', 'k1', '2026-11-01T10:00:00.000000+00:00', 'x', '[]', '[]'),"
                  " (2, 'mastodon', 'k2', '2026-11-01T11:00:00.000000+00:00', 'y', '[]', '[]')")
    older.execute("INSERT INTO post_terms (post_id, kind, value) VALUES (1, 'hashtag', 'send'), (2, 'hashtag', 'send')")
    older.execute("INSERT INTO testimonies (post_id, status, flagged) VALUES (1, 'candidate', 0), (2, 'none', 1)")
    older.conn.commit()
    older.close()
    db = open_archive(path)
    assert dict(db.execute("SELECT id, review FROM posts").fetchall()) == {1: "candidate", 2: "held"}
    assert rollup(db) == {("2026-11-01", "hashtag", "send"): 1} and agrees(db)
    assert [r[0] for r in db.execute("SELECT id FROM visible_posts")] == [1]


def hours(db) -> dict:
    return {(h, p, s, r): (n, e) for h, p, s, r, n, e in db.execute("SELECT * FROM post_hours")}


def hour_recount(db) -> dict:
    return {(h, p, s, r): (n, e) for h, p, s, r, n, e in db.execute(
        "SELECT substr(created_at, 1, 13), platform, coalesce(source, ''), review, count(*),"
        " sum(coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0) + coalesce(quotes, 0))"
        " FROM posts WHERE deleted_at IS NULL GROUP BY 1, 2, 3, 4")}


def test_the_hourly_counts_follow_new_posts_grown_counts_reviews_and_deletions(db, tmp_path):
    assert hours(db) == hour_recount(db) and sum(n for n, _ in hours(db).values()) == 4
    score(db, flagged={2})
    grown = post(1, 2, "See https://nurtureuk.org/a with @jo")
    save(db, Post(**{**grown.__dict__, "likes": 7}))
    with write_transaction(db):
        tombstone(db, "mastodon", {"https://fake.social/users/a/statuses/4": "deleted"})
    erasure.erase(db, tmp_path / "archive.db", erasure.find(db, author="a0@fake.social", platform="mastodon"),
                  reason="request", by="test")
    assert hours(db) == hour_recount(db)
    assert sum(e for n, e in hours(db).values()) == 7 and all(n > 0 for n, _ in hours(db).values())


@pytest.mark.parametrize("seed", range(4))
def test_any_periods_hourly_counts_from_the_rollups_equal_a_count_of_its_posts(tmp_path, seed):
    chance = random.Random(seed)
    db = open_archive(tmp_path / "archive.db")
    save(db, *[post(n, chance.uniform(0, 24 * 4), "text") for n in range(80)])
    score(db, flagged=set(chance.sample(range(80), 10)))
    for _ in range(5):
        start = START + timedelta(hours=chance.uniform(0, 50))
        end = start + timedelta(hours=chance.choice([0.3, 1, 5.5, 24, 49.75]))
        bounds = (start.isoformat(timespec="microseconds"), end.isoformat(timespec="microseconds"))
        sql, parameters = hour_counts(*bounds)
        counted = {}
        for h, p, s, r, n, e in db.execute(sql, parameters):
            counted[(h, p, s, r)] = tuple(a + b for a, b in zip(counted.get((h, p, s, r), (0, 0)), (n, e)))
        expected = {(h, p, s, r): (n, e) for h, p, s, r, n, e in db.execute(
            "SELECT substr(created_at, 1, 13), platform, source, review, count(*), sum(coalesce(likes, 0)) FROM posts"
            " WHERE created_at >= ? AND created_at < ? AND deleted_at IS NULL GROUP BY 1, 2, 3, 4", bounds)}
        assert counted == expected, bounds
