"""Collecting Bluesky search results from a fake Bluesky through the real atproto Client."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.conftest import bluesky_section, count_posts, rows, write_config
from tests.fakes.bluesky import NOW, post_view


def config(tmp_path, server, **options):
    return write_config(tmp_path / "campaign.toml", [], extra=bluesky_section(server, **options))


def searches(server):
    return server.requests_to("/xrpc/app.bsky.feed.searchPosts")



def test_first_run_stores_tagged_posts_with_reach_and_followers(fake_bluesky, tmp_path, run_cli):
    for n in range(150):
        fake_bluesky.add(post_view(n, image=n % 5 == 0))
    fake_bluesky.add(post_view(900, tags=("SomethingElse",)))
    result = run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    assert result.exit_code == 0, result.output
    assert count_posts(tmp_path) == 150
    post = rows(tmp_path, "SELECT p.*, pp.raw FROM posts p LEFT JOIN post_payloads pp ON pp.post_id = p.id WHERE p.key LIKE '%3m00000000005'")[0]
    assert post["platform"] == "bluesky" and post["author"] == "teacher5.bsky.social"
    assert post["url"] == "https://bsky.app/profile/teacher5.bsky.social/post/3m00000000005"
    assert json.loads(post["hashtags"]) == ["aspirenottoexclude"]
    assert (post["likes"], post["reposts"], post["replies"], post["quotes"]) == (6, 2, 1, 0)
    assert json.loads(post["media"])[0]["description"] == "Poster: nurture works"
    assert json.loads(post["raw"])["uri"].startswith("at://did:plc:")
    authors = rows(tmp_path, "SELECT handle, followers_count FROM authors")
    assert len(authors) == 7 and all(a["followers_count"] >= 300 for a in authors)


def test_search_sends_tag_sort_and_window_bounds(fake_bluesky, tmp_path, run_cli):
    fake_bluesky.add(post_view(1))
    run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    first = searches(fake_bluesky)[0]
    assert first.multi["tag"] == ["AspireNotToExclude"] and first.query["q"] == "#AspireNotToExclude"
    assert first.query["sort"] == "latest" and first.query["since"] < first.query["until"]


def test_profiles_are_fetched_in_batches_of_25(fake_bluesky, tmp_path, run_cli):
    for n in range(60):
        fake_bluesky.add(post_view(n, handle=f"pupil{n}.bsky.social"))
    run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    batches = [len(r.multi["actors"]) for r in fake_bluesky.requests_to("/xrpc/app.bsky.actor.getProfiles")]
    assert sum(batches) == 60 and max(batches) <= 25


def test_second_run_searches_only_from_the_cursor_with_an_overlap(fake_bluesky, tmp_path, run_cli):
    for n in range(40):
        fake_bluesky.add(post_view(n))
    cfg = config(tmp_path, fake_bluesky)
    run_cli("collect", "-c", str(cfg))
    first_run = len(searches(fake_bluesky))
    fake_bluesky.requests.clear()
    fake_bluesky.add(post_view(1000, created=NOW + timedelta(minutes=2)))  # newer than everything else
    result = run_cli("collect", "-c", str(cfg))
    assert result.exit_code == 0
    assert len(searches(fake_bluesky)) < first_run
    assert count_posts(tmp_path) == 41


def test_window_reaching_the_search_cap_records_a_warning(fake_bluesky, tmp_path, run_cli, monkeypatch):
    from collectors.bluesky import client as bluesky

    monkeypatch.setattr(bluesky, "SEARCH_CAP", 50)
    fake_bluesky.cap = 50
    for n in range(120):
        fake_bluesky.add(post_view(n % 24, handle=f"t{n}.bsky.social") | {"uri": f"at://did:plc:x{n}/app.bsky.feed.post/{n}"})
    result = run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    assert result.exit_code == 0
    [run] = rows(tmp_path, "SELECT warnings FROM source_runs")
    assert "search cap" in run["warnings"]


def test_wrong_password_is_one_clear_line(fake_bluesky, tmp_path, run_cli, monkeypatch):
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "wrong-password")
    result = run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    assert result.exit_code == 1
    [line] = [l for l in result.output.splitlines() if l.startswith("Error:")]
    assert "check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD" in line
    assert "wrong-password" not in result.output and "Traceback" not in result.output


def test_missing_login_skips_bluesky_and_collect_succeeds(tmp_path, run_cli, monkeypatch):
    from tests.fakes.bluesky import FakeBluesky

    monkeypatch.delenv("BLUESKY_HANDLE", raising=False)
    with FakeBluesky() as server:
        result = run_cli("collect", "-c", str(config(tmp_path, server)))
    assert result.exit_code == 0
    assert "bluesky: skipped: set BLUESKY_HANDLE and BLUESKY_APP_PASSWORD" in result.output


def test_session_is_created_once_per_run(fake_bluesky, tmp_path, run_cli):
    for n in range(30):
        fake_bluesky.add(post_view(n))
    run_cli("collect", "-c", str(config(tmp_path, fake_bluesky, search=("calm space",))))
    assert len(fake_bluesky.requests_to("/xrpc/com.atproto.server.createSession")) == 1


def test_a_login_asks_for_no_profile(fake_bluesky, tmp_path, run_cli):
    fake_bluesky.add(post_view(1))
    assert run_cli("collect", "-c", str(config(tmp_path, fake_bluesky))).exit_code == 0
    assert [r for r in fake_bluesky.requests if r.path == "/xrpc/app.bsky.actor.getProfile"] == []
    assert fake_bluesky.requests_to("/xrpc/app.bsky.actor.getProfiles")  # followers still come in batches


def test_a_service_that_creates_no_sessions_is_named_as_the_failed_login_step(tmp_path, run_cli, monkeypatch):
    from tests.fakes.bluesky import FakeBluesky

    with FakeBluesky(appview=True) as appview:
        monkeypatch.setenv("BLUESKY_HANDLE", appview.handle)
        monkeypatch.setenv("BLUESKY_APP_PASSWORD", appview.password)
        result = run_cli("collect", "-c", str(config(tmp_path, appview)))
    assert result.exit_code == 1
    assert "login (com.atproto.server.createSession)" in result.output and "not an AppView" in result.output
    assert "search" not in result.output.split("login (")[1]


def test_session_near_expiry_is_refreshed(fake_bluesky, tmp_path, run_cli):
    fake_bluesky.access_ttl = 600  # atproto refreshes tokens that expire within 15 minutes
    fake_bluesky.add(post_view(1))
    result = run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    assert result.exit_code == 0
    assert fake_bluesky.requests_to("/xrpc/com.atproto.server.refreshSession")
    assert count_posts(tmp_path) == 1


def test_session_expired_by_the_server_is_renewed(fake_bluesky, tmp_path, run_cli):
    for n in range(100):
        fake_bluesky.add(post_view(n % 48, handle=f"p{n}.bsky.social") | {"uri": f"at://did:plc:y{n}/app.bsky.feed.post/{n}"})
    original = fake_bluesky.search
    calls = {"n": 0}

    def expire_once(request):
        calls["n"] += 1
        if calls["n"] == 2:
            fake_bluesky.expire_sessions()
        return original(request)

    fake_bluesky.search = expire_once
    result = run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    assert result.exit_code == 0, result.output
    assert count_posts(tmp_path) == 100


def test_rate_limit_waits_for_the_reset_time(fake_bluesky, tmp_path, run_cli, monkeypatch):
    import time

    from monitor.core import http
    from tests.fakes.server import json_response

    waits = []
    monkeypatch.setattr(http, "_sleep", waits.append)
    fake_bluesky.add(post_view(1))
    original = fake_bluesky.route
    state = {"limited": False}

    def limited_once(request):
        if request.path.endswith("searchPosts") and not state["limited"]:
            state["limited"] = True
            return json_response(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                                 {"ratelimit-remaining": "0", "ratelimit-reset": str(int(time.time()) + 3)})
        return original(request)

    fake_bluesky.route = limited_once
    result = run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    assert result.exit_code == 0, result.output
    assert waits and 1 <= waits[0] <= 4
    assert count_posts(tmp_path) == 1


def test_server_errors_and_malformed_json_are_retried(fake_bluesky, tmp_path, run_cli, monkeypatch):
    from monitor.core import http

    monkeypatch.setattr(http, "_sleep", lambda s: None)
    for n in range(10):
        fake_bluesky.add(post_view(n))
    fake_bluesky.fail("502", path="/xrpc/app.bsky.feed.searchPosts")
    fake_bluesky.fail("malformed", path="/xrpc/app.bsky.feed.searchPosts")
    result = run_cli("collect", "-c", str(config(tmp_path, fake_bluesky)))
    assert result.exit_code == 0, result.output
    assert count_posts(tmp_path) == 10


def test_run_with_nothing_new_adds_nothing_and_moves_the_cursor_on(fake_bluesky, tmp_path, run_cli):
    for n in range(20):
        fake_bluesky.add(post_view(n))
    cfg = config(tmp_path, fake_bluesky)
    run_cli("collect", "-c", str(cfg))
    [before] = rows(tmp_path, "SELECT position FROM cursors")
    fake_bluesky.requests.clear()
    result = run_cli("collect", "-c", str(cfg))
    assert result.exit_code == 0
    assert len(searches(fake_bluesky)) == 1  # the last hour again, in one window
    assert count_posts(tmp_path) == 20
    [after] = rows(tmp_path, "SELECT position FROM cursors")
    assert after["position"] >= before["position"]


def test_a_search_server_that_ignores_tag_and_window_cannot_fill_the_archive_with_other_posts(tmp_path, run_cli,
                                                                                                 monkeypatch):
    from tests.fakes.bluesky import FakeBluesky

    with FakeBluesky(reference_search=True) as server:
        monkeypatch.setenv("BLUESKY_HANDLE", server.handle)
        monkeypatch.setenv("BLUESKY_APP_PASSWORD", server.password)
        tagged = server.add(post_view(1))
        typed = server.add(post_view(2, text="In text only #AspireNotToExclude: the nurture room", tags=()))
        server.add(post_view(3, text="Mentions #AspireNotToExclude-ish things", tags=("Other",)))
        server.add(post_view(4, text="#AspireNotToExclude long ago", created=NOW - timedelta(days=400)))
        result = run_cli("collect", "-c", str(config(tmp_path, server, days_back=8, window_hours=48)))
    assert result.exit_code == 0, result.output
    stored = {r["key"]: json.loads(r["hashtags"]) for r in rows(tmp_path, "SELECT key, hashtags FROM posts")}
    assert set(stored) == {tagged["uri"], typed["uri"]}
    assert stored[typed["uri"]] == ["aspirenottoexclude"]
    [run] = rows(tmp_path, "SELECT warnings FROM source_runs WHERE platform = 'bluesky'")
    assert "the search server ignores some of the query's terms" in run["warnings"]


def test_an_edit_seen_as_a_new_cid_is_stored_as_a_version(fake_bluesky, tmp_path, run_cli):
    view = fake_bluesky.add(post_view(1))
    cfg = config(tmp_path, fake_bluesky)
    assert run_cli("collect", "-c", str(cfg)).exit_code == 0
    older = fake_bluesky.edit(view["uri"], "Edited: the nurture room kept him in school #AspireNotToExclude")
    assert run_cli("refresh", "-c", str(cfg)).exit_code == 0
    [stored] = rows(tmp_path, "SELECT id, text, version, edited_at, revision FROM posts")
    assert stored["text"].startswith("Edited:") and stored["version"] == 2 and stored["edited_at"]
    [kept] = rows(tmp_path, "SELECT text FROM post_versions WHERE post_id = ?", [stored["id"]])
    assert kept["text"].startswith("Nurture group story 1")
    fake_bluesky.serve_instead(view["uri"], older)  # a lagging copy of the old record
    assert run_cli("refresh", "-c", str(cfg)).exit_code == 0
    assert rows(tmp_path, "SELECT text, version FROM posts")[0]["version"] == 2


def test_a_search_that_repeats_its_page_cursor_stops_and_keeps_the_stream_cursor_before_it(fake_bluesky, tmp_path,
                                                                                           run_cli):
    for n in range(300):
        fake_bluesky.add(post_view(n % 40, handle=f"p{n}.bsky.social") | {"uri": f"at://did:plc:r{n}/app.bsky.feed.post/{n}"})
    fake_bluesky.repeat_cursor = True
    assert run_cli("collect", "-c", str(config(tmp_path, fake_bluesky, window_hours=744))).exit_code == 0
    assert len(searches(fake_bluesky)) == 2
    assert rows(tmp_path, "SELECT * FROM cursors") == []
    [run] = rows(tmp_path, "SELECT warnings FROM source_runs WHERE platform = 'bluesky'")
    assert "repeated its page cursor" in run["warnings"]
