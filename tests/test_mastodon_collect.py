"""Collecting hashtag timelines from fake Mastodon instances through the real Mastodon.py."""

from __future__ import annotations

import json
import sqlite3

import pytest

from collectors.mastodon import token_variable
from tests.conftest import count_posts, rows
from tests.fakes.mastodon import FakeMastodon, seed, status


def timeline_requests(server):
    return server.requests_to("/api/v1/timelines/tag/")


def test_first_run_stores_every_status_of_the_hashtag(fake_mastodon, config_for, run_cli, tmp_path):
    served = seed(fake_mastodon, 95)
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 0, result.output
    keys = {r["key"] for r in rows(tmp_path, "SELECT key FROM posts")}
    assert keys == {s["uri"] for s in served}


def test_post_row_holds_plain_text_and_the_payload_as_received(fake_mastodon, config_for, run_cli, tmp_path):
    served = fake_mastodon.add(status(
        "fake.social", 7, text="Nurture &amp; calm: <br>day one", tags=("AspireNotToExclude", "SEND"),
        spoiler="Exclusion", media=True, mention="nurtureuk@mastodonapp.uk", emoji=True, likes=9,
    ))
    run_cli("collect", "-c", str(config_for(fake_mastodon)))
    [post] = rows(tmp_path, "SELECT p.*, pp.raw FROM posts p LEFT JOIN post_payloads pp ON pp.post_id = p.id")
    assert post["text"].startswith("@nurtureuk Nurture & calm:\nday one :nurture_heart: #AspireNotToExclude #SEND")
    assert "More: https://www.nurtureuk.org/what-we-do/nurture-groups/" in post["text"]
    assert "<" not in post["text"]
    assert json.loads(post["hashtags"]) == ["aspirenottoexclude", "send"]
    assert post["content_warning"] == "Exclusion"
    assert post["likes"] == 9 and post["reposts"] == 2 and post["replies"] == 1 and post["quotes"] == 0
    assert json.loads(post["media"])[0]["type"] == "image"
    assert post["created_at"].endswith("+00:00")
    assert post["author"] == "ms_okafor@fake.social"
    assert json.loads(post["raw"]) == served


def test_authors_are_kept_with_follower_counts_as_last_seen(fake_mastodon, config_for, run_cli, tmp_path):
    fake_mastodon.add(status("fake.social", 1, followers=10))
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    fake_mastodon.add(status("fake.social", 2, followers=25))
    run_cli("collect", "-c", str(config))
    [author] = rows(tmp_path, "SELECT * FROM authors")
    assert (author["handle"], author["followers_count"]) == ("ms_okafor@fake.social", 25)


def test_every_post_links_to_the_fetch_that_first_brought_it(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 50)
    run_cli("collect", "-c", str(config_for(fake_mastodon)))
    linked = rows(tmp_path, "SELECT f.endpoint, f.params, f.http_status, f.software_version, f.source"
                            " FROM posts p JOIN fetches f ON f.id = p.first_fetch_id")
    assert len(linked) == 50
    assert {r["http_status"] for r in linked} == {200}
    assert all(r["endpoint"].endswith("/api/v1/timelines/tag/AspireNotToExclude") for r in linked)
    assert {json.loads(r["params"])["limit"] for r in linked} == {"40"}


def test_second_run_asks_only_for_newer_statuses(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 30)
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    [cursor] = rows(tmp_path, "SELECT position FROM cursors")
    fake_mastodon.requests.clear()
    seed(fake_mastodon, 5, start=100)
    result = run_cli("collect", "-c", str(config))
    first = timeline_requests(fake_mastodon)[0]
    assert first.query["min_id"] == cursor["position"]
    assert count_posts(tmp_path) == 35
    assert " 5 " in result.output


def test_run_with_nothing_new_costs_one_timeline_request_per_instance_and_hashtag(
    fake_mastodon, second_mastodon, config_for, run_cli
):
    seed(fake_mastodon, 45)
    seed(second_mastodon, 3, domain="other.example")
    config = config_for(fake_mastodon, second_mastodon, hashtags=("AspireNotToExclude", "NurtureGroups"))
    run_cli("collect", "-c", str(config))
    fake_mastodon.requests.clear()
    second_mastodon.requests.clear()
    result = run_cli("collect", "-c", str(config))
    assert result.exit_code == 0
    assert len(timeline_requests(fake_mastodon)) == 2
    assert len(timeline_requests(second_mastodon)) == 2


def test_same_post_seen_on_two_instances_is_stored_once(fake_mastodon, second_mastodon, config_for, run_cli, tmp_path):
    shared = seed(fake_mastodon, 20)
    for s in shared:
        second_mastodon.add(s)
    seed(second_mastodon, 4, domain="other.example", start=500)
    result = run_cli("collect", "-c", str(config_for(fake_mastodon, second_mastodon)))
    assert result.exit_code == 0
    assert count_posts(tmp_path) == 24
    remote = rows(tmp_path, "SELECT handle FROM authors WHERE handle LIKE '%@other.example'")
    assert remote, "authors of the second instance keep their own domain"


def test_hashtag_is_matched_whatever_its_case(fake_mastodon, config_for, run_cli, tmp_path):
    fake_mastodon.add(status("fake.social", 1, tags=("aspirenottoexclude",)))
    fake_mastodon.add(status("fake.social", 2, tags=("ASPIRENOTTOEXCLUDE",)))
    run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert count_posts(tmp_path) == 2


def test_edited_post_keeps_its_earlier_text_as_a_version(fake_mastodon, config_for, run_cli, tmp_path):
    [original] = seed(fake_mastodon, 1)
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    fake_mastodon.edit(original["uri"], "Edited: the nurture room made all the difference #AspireNotToExclude")
    # an edited status keeps its id, so only a walk from the start sees it again
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("DELETE FROM cursors")
    conn.commit()
    conn.close()
    result = run_cli("collect", "-c", str(config))
    assert result.exit_code == 0
    [post] = rows(tmp_path, "SELECT * FROM posts")
    [old] = rows(tmp_path, "SELECT * FROM post_versions")
    assert post["text"].startswith("Edited:") and post["version"] == 2 and post["edited_at"]
    assert "Our nurture group kept Sam" in old["text"] and old["version"] == 1
    assert json.loads(old["raw"])["edited_at"] is None


def test_stale_copy_on_another_instance_does_not_undo_an_edit(fake_mastodon, second_mastodon, config_for, run_cli, tmp_path):
    [original] = seed(fake_mastodon, 1)
    second_mastodon.add(original)
    fake_mastodon.edit(original["uri"], "Edited text #AspireNotToExclude")
    run_cli("collect", "-c", str(config_for(fake_mastodon, second_mastodon)))
    [post] = rows(tmp_path, "SELECT text FROM posts")
    assert post["text"].startswith("Edited text")


def test_duplicate_statuses_in_a_response_are_stored_once(fake_mastodon, config_for, run_cli, tmp_path):
    [s] = seed(fake_mastodon, 1)
    fake_mastodon.add(s)  # the same status under a second local id
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 0
    assert count_posts(tmp_path) == 1


def test_failing_instance_is_named_and_the_others_are_still_stored(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 12)
    with FakeMastodon("broken.example") as broken:
        broken.fail("404", path="/api/v1/timelines/", times=10)
        result = run_cli("collect", "-c", str(config_for(broken, fake_mastodon)))
    assert result.exit_code == 1
    assert f"{broken.url.split('//')[1]} #AspireNotToExclude: HTTP 404" in result.output
    assert count_posts(tmp_path) == 12


def test_unreachable_instance_fails_without_stopping_the_others(fake_mastodon, tmp_path, run_cli):
    from tests.conftest import count_posts, write_config

    seed(fake_mastodon, 3)
    config = write_config(tmp_path / "campaign.toml", ["http://127.0.0.1:9", fake_mastodon.url])
    result = run_cli("collect", "-c", str(config))
    assert result.exit_code == 1
    assert "127.0.0.1:9 #AspireNotToExclude: gave up after 4 tries: network error: connection refused" in result.output
    assert count_posts(tmp_path) == 3


def test_login_required_tells_which_variable_to_set(config_for, run_cli, monkeypatch):
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
    with FakeMastodon("private.example", require_auth="s3cret") as private:
        seed(private, 2)
        result = run_cli("collect", "-c", str(config_for(private)))
        expected = token_variable(private.url)
    assert result.exit_code == 1
    assert f"requires a login for hashtag timelines; set {expected} (or MASTODON_ACCESS_TOKEN)" in result.output
    assert expected == f"MASTODON_ACCESS_TOKEN_127_0_0_1___{private.url.rsplit(':', 1)[1]}"


@pytest.mark.parametrize("a, b", [
    ("http://127.0.0.1:8001", "http://127.0.0.1:8002"),
    ("https://mastodon-social.example", "https://mastodon.social.example"),
    ("https://a-b.example", "https://a.b.example"),
])
def test_distinct_instances_read_their_tokens_from_distinct_variables(a, b):
    assert token_variable(a) != token_variable(b)


def test_each_instance_gets_only_its_own_token(config_for, run_cli, monkeypatch, tmp_path):
    monkeypatch.delenv("MASTODON_ACCESS_TOKEN", raising=False)
    with FakeMastodon("one.example", require_auth="token-one") as one, \
            FakeMastodon("two.example", require_auth="token-two") as two:
        seed(one, 1)
        seed(two, 1)
        monkeypatch.setenv(token_variable(one.url), "token-one")
        monkeypatch.setenv(token_variable(two.url), "token-two")
        assert run_cli("collect", "-c", str(config_for(one, two))).exit_code == 0
    assert count_posts(tmp_path) == 2


def test_access_token_from_the_environment_is_sent_and_never_stored(config_for, run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "s3cret")
    with FakeMastodon("private.example", require_auth="s3cret") as private:
        seed(private, 2)
        result = run_cli("collect", "-c", str(config_for(private)))
    assert result.exit_code == 0
    assert b"s3cret" not in (tmp_path / "archive.db").read_bytes()
    wal = tmp_path / "archive.db-wal"
    assert not wal.exists() or b"s3cret" not in wal.read_bytes()


def test_platform_option_rejects_a_platform_without_sources(fake_mastodon, config_for, run_cli):
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)), "--platform", "reddit")
    assert result.exit_code == 2


def test_instance_answering_garbage_is_named_after_its_retries(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 2)
    with FakeMastodon("garbage.example") as garbage:
        garbage.fail("html", path="/api/v1/timelines/", times=10)
        result = run_cli("collect", "-c", str(config_for(garbage, fake_mastodon)))
    assert result.exit_code == 1
    assert "gave up after 4 tries: malformed response" in result.output
    assert count_posts(tmp_path) == 2


def test_an_idle_collect_sends_one_request_per_instance_and_hashtag(fake_mastodon, config_for, run_cli):
    seed(fake_mastodon, 3)
    config = config_for(fake_mastodon, hashtags=("AspireNotToExclude", "NurtureGroups"))
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    before = len(fake_mastodon.requests)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    sent = [r.path for r in fake_mastodon.requests[before:]]
    assert sorted(sent) == ["/api/v1/timelines/tag/AspireNotToExclude", "/api/v1/timelines/tag/NurtureGroups"]
