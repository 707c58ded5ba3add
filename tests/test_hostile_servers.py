"""Servers that send bad items, pages that never end: the source goes on, nothing is lost (issue #11, 2, 3)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import count_posts, rows
from tests.fakes.mastodon import seed, status

MALFORMED = {
    "no uri": lambda s: {k: v for k, v in s.items() if k != "uri"},
    "tags as a number": lambda s: {**s, "tags": 7},
    "account missing": lambda s: {k: v for k, v in s.items() if k != "account"},
}


def _served(fake, n: int, change) -> bytes:
    s = status("fake.social", n)
    s["id"] = str(fake.add_raw(b"{}"))  # reserve an id in timeline order, then serve the bad body under it
    fake.timeline = [(i, meta, json.dumps(change(s)).encode() if str(i) == s["id"] else body)
                     for i, meta, body in fake.timeline]
    return s["id"]


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_status_is_kept_raw_and_the_rest_of_the_page_and_the_cursor_go_on(kind, fake_mastodon, config_for,
                                                                                    run_cli, tmp_path):
    seed(fake_mastodon, 3)
    bad_id = _served(fake_mastodon, 90, MALFORMED[kind])
    seed(fake_mastodon, 2, start=10)
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert count_posts(tmp_path) == 5
    [kept] = rows(tmp_path, "SELECT item_id, reason, raw FROM rejected_items")
    assert kept["item_id"] == bad_id and json.loads(kept["raw"])["id"] == bad_id
    [run] = rows(tmp_path, "SELECT warnings FROM source_runs")
    assert f"skipped a malformed item ({bad_id}: " in run["warnings"]
    assert run_cli("collect", "-c", str(config)).exit_code == 0  # the next run is not stuck on it
    assert rows(tmp_path, "SELECT count(*) AS n FROM rejected_items")[0]["n"] == 1


def test_a_lone_surrogate_in_a_status_is_stored_and_its_payload_kept_exactly(fake_mastodon, config_for, run_cli,
                                                                             tmp_path):
    fake_mastodon.add(status("fake.social", 1, text="Nurture \ud800 group kept him in school"))
    assert run_cli("collect", "-c", str(config_for(fake_mastodon))).exit_code == 0
    [post] = rows(tmp_path, "SELECT text, raw FROM posts JOIN post_payloads ON post_id = posts.id")
    assert "Nurture \ufffd group" in post["text"]
    assert "\\ud800" in post["raw"] and "Nurture \ud800 group" in json.loads(post["raw"])["content"]


def test_a_prev_link_that_does_not_move_stops_the_walk_with_a_warning(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 5)
    fake_mastodon.stuck_prev = True
    assert run_cli("collect", "-c", str(config_for(fake_mastodon))).exit_code == 0
    assert count_posts(tmp_path) == 5
    assert len(fake_mastodon.requests_to("/api/v1/timelines/tag/")) == 2
    [run] = rows(tmp_path, "SELECT warnings FROM source_runs")
    assert "served no status newer than" in run["warnings"]


def test_a_source_stops_at_the_request_cap_and_the_next_run_goes_on(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 100)
    config = config_for(fake_mastodon, extra="max_requests = 2\n")  # appended to [http]
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert count_posts(tmp_path) == 80  # two pages of 40
    [run] = rows(tmp_path, "SELECT warnings FROM source_runs")
    assert "stopped after 2 requests ([http] max_requests)" in run["warnings"]
    for _ in range(3):
        run_cli("collect", "-c", str(config))
    assert count_posts(tmp_path) == 100
