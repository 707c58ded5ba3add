"""Collecting Reddit searches from a fake Reddit through the real praw."""

from __future__ import annotations

import json

from tests.conftest import count_posts, reddit_section, rows, write_config
from tests.fakes.reddit import comment, submission


def config(tmp_path, server, **options):
    return write_config(tmp_path / "campaign.toml", [], extra=reddit_section(server, **options))


def searches(server):
    return server.requests_to("/r/")


def test_first_run_stores_matching_submissions_with_reach(fake_reddit, tmp_path, run_cli):
    for n in range(150):
        fake_reddit.add(submission(n))
    fake_reddit.add(submission(999, title="Unrelated question about marking"))
    result = run_cli("collect", "-c", str(config(tmp_path, fake_reddit, comments=False)))
    assert result.exit_code == 0, result.output
    posts = rows(tmp_path, "SELECT p.*, pp.raw FROM posts p LEFT JOIN post_payloads pp ON pp.post_id = p.id")
    assert len(posts) == 150
    post = next(p for p in posts if p["key"] == "t3_1k00007")
    assert post["platform"] == "reddit" and post["author"] == "u/nurture_teacher"
    assert post["url"].endswith("/r/Teachers/comments/1k00007/story_7/")
    assert (post["likes"], post["replies"]) == (12, 2)
    assert json.loads(post["metrics"]) == {"subreddit": "Teachers", "upvote_ratio": 0.93, "subreddit_subscribers": 412000}
    assert json.loads(post["hashtags"]) == ["aspirenottoexclude"]
    assert json.loads(post["raw"])["name"] == "t3_1k00007"


def test_hashtag_is_searched_with_and_without_hash_and_extra_queries_too(fake_reddit, tmp_path, run_cli):
    fake_reddit.add(submission(1, title="Nurture group exclusion figures"))
    run_cli("collect", "-c", str(config(tmp_path, fake_reddit, search=("nurture group exclusion",))))
    asked = [r.query["q"] for r in searches(fake_reddit)]
    assert asked == ["AspireNotToExclude", "#AspireNotToExclude", "nurture group exclusion"]
    assert all(r.query["sort"] == "new" and r.query["raw_json"] == "1" for r in searches(fake_reddit))
    assert count_posts(tmp_path) == 1


def test_comments_carrying_the_hashtag_are_archived_and_others_not(fake_reddit, tmp_path, run_cli):
    post = submission(1)
    reply = comment("c3", post, "Same in our school #aspirenottoexclude")
    fake_reddit.add(post, [
        comment("c1", post, "Our key adult made the difference #AspireNotToExclude", replies=[reply]),
        comment("c2", post, "Great thread, thanks"),
    ])
    run_cli("collect", "-c", str(config(tmp_path, fake_reddit)))
    keys = {r["key"] for r in rows(tmp_path, "SELECT key FROM posts")}
    assert keys == {"t3_1k00001", "t1_c1", "t1_c3"}


def test_second_run_stops_paging_at_the_newest_archived_post(fake_reddit, tmp_path, run_cli):
    for n in range(250):
        fake_reddit.add(submission(n))
    cfg = config(tmp_path, fake_reddit, comments=False)
    run_cli("collect", "-c", str(cfg))
    fake_reddit.requests.clear()
    for n in range(250, 260):
        fake_reddit.add(submission(n))
    result = run_cli("collect", "-c", str(cfg))
    assert result.exit_code == 0
    assert len(searches(fake_reddit)) == 2  # one page for each form of the hashtag
    assert count_posts(tmp_path) == 260


def test_reaching_the_listing_cap_records_a_completeness_warning(fake_reddit, tmp_path, run_cli):
    fake_reddit.cap = 120
    from collectors.reddit import client as reddit

    original = reddit.LISTING_CAP
    reddit.LISTING_CAP = 120
    try:
        for n in range(300):
            fake_reddit.add(submission(n))
        result = run_cli("collect", "-c", str(config(tmp_path, fake_reddit, comments=False)))
    finally:
        reddit.LISTING_CAP = original
    assert result.exit_code == 0
    [run] = rows(tmp_path, "SELECT warnings FROM source_runs")
    assert "listing cap" in run["warnings"]
    status = json.loads(run_cli("status", "-c", str(tmp_path / "campaign.toml"), "--json").output)
    assert "listing cap" in " ".join(status["sources"][0]["last_warnings"])


def test_missing_credentials_skip_reddit_with_one_line_and_succeed(tmp_path, run_cli, monkeypatch, fake_mastodon):
    from tests.fakes.mastodon import seed

    monkeypatch.delenv("REDDIT_CLIENT_ID", raising=False)
    monkeypatch.delenv("REDDIT_CLIENT_SECRET", raising=False)
    seed(fake_mastodon, 2)
    from tests.fakes.reddit import FakeReddit

    with FakeReddit() as server:
        cfg = write_config(tmp_path / "campaign.toml", [fake_mastodon.url], extra=reddit_section(server))
        result = run_cli("collect", "-c", str(cfg))
    assert result.exit_code == 0
    assert "reddit: skipped: set REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET" in result.output
    assert count_posts(tmp_path) == 2


def test_wrong_credentials_fail_reddit_with_a_clear_message(fake_reddit, tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "wrong")
    fake_reddit.add(submission(1))
    result = run_cli("collect", "-c", str(config(tmp_path, fake_reddit)))
    assert result.exit_code == 1
    assert "check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET" in result.output
    assert "wrong" not in result.output


def test_expired_token_is_renewed_without_losing_the_run(fake_reddit, tmp_path, run_cli):
    for n in range(150):
        fake_reddit.add(submission(n))
    original = fake_reddit.search
    calls = {"n": 0}

    def expire_after_first_page(subreddit, q):
        calls["n"] += 1
        if calls["n"] == 2:
            fake_reddit.expire_tokens()
        return original(subreddit, q)

    fake_reddit.search = expire_after_first_page
    result = run_cli("collect", "-c", str(config(tmp_path, fake_reddit, comments=False)))
    assert result.exit_code == 0, result.output
    assert count_posts(tmp_path) == 150
    assert len(fake_reddit.requests_to("/api/v1/access_token")) >= 2


def test_rate_limited_search_waits_and_completes(fake_reddit, tmp_path, run_cli, monkeypatch):
    from monitor.core import http

    waits = []
    monkeypatch.setattr(http, "_sleep", waits.append)
    fake_reddit.add(submission(1))
    fake_reddit.fail("429", path="/r/", retry_after=3)
    result = run_cli("collect", "-c", str(config(tmp_path, fake_reddit)))
    assert result.exit_code == 0
    assert 3.0 in waits
    assert count_posts(tmp_path) == 1


def test_malformed_listing_is_retried(fake_reddit, tmp_path, run_cli, monkeypatch):
    from monitor.core import http

    monkeypatch.setattr(http, "_sleep", lambda s: None)
    fake_reddit.add(submission(1))
    fake_reddit.fail("malformed", path="/r/")
    result = run_cli("collect", "-c", str(config(tmp_path, fake_reddit)))
    assert result.exit_code == 0, result.output
    assert count_posts(tmp_path) == 1


def test_collect_platform_option_collects_one_platform(fake_reddit, fake_mastodon, tmp_path, run_cli):
    from tests.fakes.mastodon import seed

    seed(fake_mastodon, 3)
    fake_reddit.add(submission(1))
    cfg = write_config(tmp_path / "campaign.toml", [fake_mastodon.url], extra=reddit_section(fake_reddit))
    result = run_cli("collect", "-c", str(cfg), "--platform", "reddit")
    assert result.exit_code == 0
    assert [r["platform"] for r in rows(tmp_path, "SELECT platform FROM posts")] == ["reddit"]
    assert fake_mastodon.requests == []


def test_server_error_is_retried_and_the_run_completes(fake_reddit, tmp_path, run_cli, monkeypatch):
    from monitor.core import http

    monkeypatch.setattr(http, "_sleep", lambda s: None)
    for n in range(3):
        fake_reddit.add(submission(n))
    fake_reddit.fail("503", path="/r/", times=3)  # more than praw's own two retries
    result = run_cli("collect", "-c", str(config(tmp_path, fake_reddit, comments=False)))
    assert result.exit_code == 0, result.output
    assert count_posts(tmp_path) == 3


def test_one_token_serves_every_search_of_a_source(fake_reddit, tmp_path, run_cli):
    fake_reddit.add(submission(1))
    run_cli("collect", "-c", str(config(tmp_path, fake_reddit, search=("nurture",))))
    assert len(fake_reddit.requests_to("/api/v1/access_token")) == 1


def test_run_with_nothing_new_costs_one_search_request_per_query(fake_reddit, tmp_path, run_cli):
    for n in range(30):
        fake_reddit.add(submission(n))
    cfg = config(tmp_path, fake_reddit)
    run_cli("collect", "-c", str(cfg))
    fake_reddit.requests.clear()
    result = run_cli("collect", "-c", str(cfg))
    assert result.exit_code == 0
    assert len(searches(fake_reddit)) == 2
    assert fake_reddit.requests_to("/comments/") == []
    assert count_posts(tmp_path) == 30
