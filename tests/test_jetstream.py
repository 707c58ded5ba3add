"""Bluesky's Jetstream followed live: a fake Jetstream (a real WebSocket server) on 127.0.0.1,
the real `websockets` client, the archive's one writer."""

from __future__ import annotations

import json
import time

import pytest

from monitor.archive import open_archive
from monitor.core.config import load_config
from tests.conftest import rows, write_config
from tests.fakes.jetstream import TAG, FakeJetstream, now_us
from tests.following import Following, wait_for


@pytest.fixture
def jetstream():
    with FakeJetstream() as server:
        yield server


def stream_config(tmp_path, server, extra: str = ""):
    return write_config(tmp_path / "campaign.toml", [], extra=(
        f'\n[bluesky]\nservice = "http://127.0.0.1:9"\njetstream = "{server.url}"\ncdn = "http://127.0.0.1:9"\n' + extra))


def follow(tmp_path, server) -> Following:
    return Following(stream_config(tmp_path, server), "bluesky")


def posts(tmp_path) -> list[dict]:
    try:
        return rows(tmp_path, "SELECT key, text, author, hashtags, deleted_at, version FROM posts ORDER BY id")
    except Exception:  # noqa: BLE001 - the archive is still being made
        return []


def test_a_tagged_post_reaches_the_archive_within_two_seconds_and_others_are_left_out(jetstream, tmp_path):
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections)
        jetstream.post("Lunch was nice", tags=())
        jetstream.post("Nurture kept me in school", tags=(TAG.lower(),))
        sent = time.monotonic()
        wait_for(lambda: len(posts(tmp_path)) == 1, timeout=2)
        assert time.monotonic() - sent < 2
    assert posts(tmp_path)[0]["text"].startswith("Nurture kept me in school")


def test_a_hashtag_typed_without_a_facet_still_counts(jetstream, tmp_path):
    record_tags: tuple[str, ...] = ()
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections)
        jetstream.post(f"Typed by hand #{TAG}!", tags=record_tags)
        wait_for(lambda: len(posts(tmp_path)) == 1)


def test_the_commit_event_is_kept_as_the_raw_payload_with_its_connection_as_provenance(jetstream, tmp_path):
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections)
        jetstream.post("Our nurture group")
        wait_for(lambda: len(posts(tmp_path)) == 1)
    raw = rows(tmp_path, "SELECT raw FROM post_payloads")[0]["raw"]
    assert json.loads(raw)["commit"]["operation"] == "create"
    fetch = rows(tmp_path, "SELECT f.endpoint, f.http_status, f.params FROM posts p JOIN fetches f ON f.id = p.first_fetch_id")[0]
    assert fetch["endpoint"].endswith("/subscribe") and fetch["http_status"] == 101
    assert json.loads(fetch["params"])["wantedCollections"] == "app.bsky.feed.post"


def test_an_edit_is_a_new_version_and_a_delete_a_tombstone(jetstream, tmp_path):
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections)
        did, rkey = jetstream.post("First words")
        wait_for(lambda: len(posts(tmp_path)) == 1)
        jetstream.edit(did, rkey, "Better words")
        wait_for(lambda: posts(tmp_path)[0]["version"] == 2)
        jetstream.delete(did, rkey)
        wait_for(lambda: posts(tmp_path)[0]["deleted_at"] is not None)
    post = posts(tmp_path)[0]
    assert post["text"] is None
    assert rows(tmp_path, "SELECT count(*) AS n FROM post_payloads")[0]["n"] == 0


def test_an_edit_that_takes_the_hashtag_away_is_kept_as_a_version_and_others_untagged_edits_are_not(
        jetstream, tmp_path):
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections)
        did, rkey = jetstream.post("Our nurture group")
        wait_for(lambda: len(posts(tmp_path)) == 1)
        other, other_rkey = jetstream.post("Lunch", author="stranger", tags=())
        jetstream.edit(other, other_rkey, "Lunch was late", tags=())
        jetstream.edit(did, rkey, "Our nurture group (tag removed)", tags=())
        wait_for(lambda: posts(tmp_path)[0]["version"] == 2)
    assert [p["text"] for p in posts(tmp_path)] == ["Our nurture group (tag removed)"]


def test_the_cursor_is_the_last_event_seen_even_when_none_was_the_campaigns(jetstream, tmp_path):
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections)
        for _ in range(5):
            jetstream.post("Nothing to do with it", tags=())
        source = f"127.0.0.1:{jetstream.port}"
        # a cursor alone is committed every few seconds (LIVE_CURSOR_SECONDS), not at every page
        wait_for(lambda: rows(tmp_path, "SELECT position FROM cursors WHERE source = ?", [source])
                 == [{"position": str(jetstream.times[-1])}], timeout=15)
    assert posts(tmp_path) == []


def test_a_restart_resumes_a_few_seconds_before_its_cursor_without_duplicates(jetstream, tmp_path):
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections)
        jetstream.post("Before the restart")
        wait_for(lambda: len(posts(tmp_path)) == 1)
    jetstream.post("While we were down")
    with follow(tmp_path, jetstream):
        wait_for(lambda: len(posts(tmp_path)) == 2)
        time.sleep(0.5)
    resumed = int(jetstream.connections[-1]["cursor"])
    assert jetstream.times[0] - 5_000_000 <= resumed < jetstream.times[0]
    assert [p["text"].split(" #")[0] for p in posts(tmp_path)] == ["Before the restart", "While we were down"]


def test_a_connection_cut_mid_frame_is_reopened_and_nothing_is_missed_or_doubled(jetstream, tmp_path):
    with follow(tmp_path, jetstream) as following:
        wait_for(lambda: jetstream.connections)
        jetstream.post("One")
        wait_for(lambda: len(posts(tmp_path)) == 1)
        jetstream.drop_mid_event()
        jetstream.post("Two")
        jetstream.post("Three")
        wait_for(lambda: len(posts(tmp_path)) == 3)
    assert len(jetstream.connections) >= 2
    assert sorted(p["text"].split(" #")[0] for p in posts(tmp_path)) == ["One", "Three", "Two"]
    assert any("connection dropped" in n.message for n in following.notices)


def test_malformed_frames_are_kept_as_rejects_and_the_stream_goes_on(jetstream, tmp_path):
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections)
        jetstream.malformed()
        jetstream.post("After the noise")
        wait_for(lambda: len(posts(tmp_path)) == 1)
        wait_for(lambda: len(rows(tmp_path, "SELECT * FROM rejected_items")) == 4)
    reasons = [r["reason"] for r in rows(tmp_path, "SELECT reason FROM rejected_items")]
    assert sum("not a Jetstream event" in r for r in reasons) == 3
    assert any("createdAt" in r for r in reasons)


def test_a_refused_handshake_is_retried_after_its_retry_after(jetstream, tmp_path):
    jetstream.refuse(429, retry_after=1)
    with follow(tmp_path, jetstream):
        wait_for(lambda: jetstream.connections, timeout=5)
        jetstream.post("Through at last")
        wait_for(lambda: len(posts(tmp_path)) == 1)
    retried = rows(tmp_path, "SELECT http_status FROM fetches WHERE http_status = 429")
    assert retried


def test_a_cursor_older_than_the_replay_window_warns_of_the_gap(jetstream, tmp_path):
    config = load_config(stream_config(tmp_path, jetstream))
    db = open_archive(config.archive)
    db.execute("INSERT INTO cursors (platform, source, stream, position, updated_at) VALUES (?, ?, ?, ?, ?)",
               ["bluesky", f"127.0.0.1:{jetstream.port}", "jetstream", str(now_us() - 3 * 86400 * 10**6), "x"])
    db.conn.commit()
    db.close()
    with follow(tmp_path, jetstream) as following:
        wait_for(lambda: following.notices)
    assert following.notices[0].kind == "gap"
