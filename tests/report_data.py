"""A small archive with known numbers, for the report tests (week of Mon 9 Nov 2026)."""

from __future__ import annotations

from pathlib import Path

from monitor.core.records import Author, Fetch, Page, Post
from monitor.archive import (
    finish_run,
    open_archive,
    record_source_result,
    save_page,
    start_run,
    write_transaction,
)
from monitor.core.config import load_config
from monitor.testimonies.scoring import score_posts

XSS = ('<script>document.body.setAttribute("data-xss","script")</script>'
       '<img src=x onerror="document.body.setAttribute(\'data-xss\',\'img\')"> Nurture group story')


def author(n: int, platform: str = "mastodon", followers: int = 100) -> Author:
    return Author(platform, f"https://m.example/users/a{n}", f"teacher{n}@m.example", followers_count=followers)


def post(key: str, created: str, who: Author, *, text: str = "Our nurture group kept him in school",
         tags=("aspirenottoexclude",), likes=1, reposts=0, replies=0, url=None, source="m.example") -> tuple[Post, str]:
    return Post(who.platform, key, url or f"https://m.example/@x/{key}", who, created, text, {"id": key},
                local_id=key, hashtags=list(tags), likes=likes, reposts=reposts, replies=replies, quotes=0), source


def build(path: Path, rows: list[tuple[Post, str]]):
    """Store the posts and score them, as `collect` does (reports read only scored posts)."""
    db = open_archive(path)
    run = start_run(db, "collect")
    for p, source in rows:
        fetch = Fetch(p.platform, source, "GET", "https://m.example/api", {}, 200, p.created_at)
        save_page(db, Page(p.platform, source, "AspireNotToExclude", [p], [fetch], None), run)
    finish_run(db, run, "ok")
    score_posts(db, load_config(path.parent / "campaign.toml"))
    return db


def standard_archive(path: Path):
    """Previous week: 2 posts by teacher1. This week: 5 posts by 3 people (teacher1 returning)."""
    t1, t2, t3 = author(1, followers=100), author(2, followers=250), author(3, "bluesky", followers=40)
    rows = [
        post("p1", "2026-11-03T10:00:00.000000+00:00", t1),
        post("p2", "2026-11-04T10:00:00.000000+00:00", t1),
        post("w1", "2026-11-09T09:00:00.000000+00:00", t1, likes=5, tags=("aspirenottoexclude", "send")),
        post("w2", "2026-11-10T12:00:00.000000+00:00", t2, likes=10, reposts=3, replies=2,
             text="See https://www.nurtureuk.org/boxall for the Boxall profile", tags=("aspirenottoexclude", "send")),
        post("w3", "2026-11-11T18:30:00.000000+00:00", t2, likes=0, tags=("aspirenottoexclude", "nurturegroups")),
        post("w4", "2026-11-14T08:00:00.000000+00:00", t3, likes=2, source="bsky.social",
             text=XSS, url="javascript:alert(1)"),
        post("w5", "2026-11-15T22:59:00.000000+00:00", t3, likes=1, source="bsky.social"),
    ]
    return build(path, rows)


def record_failure(db, started: str, platform: str = "mastodon", source: str = "m.example",
                   error: str = "m.example #AspireNotToExclude: gave up after 5 tries: server error (HTTP 503)"):
    run = start_run(db, "collect")
    with write_transaction(db):
        db.execute("UPDATE runs SET started_at = ? WHERE id = ?", [started, run])
    record_source_result(db, run, platform, source, status="failed", new=0, updated=0, requests=5,
                         warnings=[], error=error)
    finish_run(db, run, "failed")
