"""Mastodon's hashtag streams followed live: server-sent events from the fake instance, read by
Mastodon.py's own streaming client, stored by the archive's one writer."""

from __future__ import annotations

import time

import pytest

from tests.conftest import rows, write_config
from tests.fakes.mastodon import status
from tests.fakes.mastodon_streaming import StreamingMastodon
from tests.following import Following, wait_for


@pytest.fixture
def instance():
    with StreamingMastodon("stream.example") as server:
        yield server


def follow(tmp_path, server) -> Following:
    return Following(write_config(tmp_path / "campaign.toml", [server.url]), "mastodon")


def posts(tmp_path) -> list[dict]:
    try:
        return rows(tmp_path, "SELECT key, text, deleted_at, version, first_fetch_id FROM posts ORDER BY id")
    except Exception:  # noqa: BLE001 - the archive is still being made
        return []


def test_a_status_on_the_hashtag_stream_reaches_the_archive_within_two_seconds(instance, tmp_path):
    with follow(tmp_path, instance):
        wait_for(lambda: instance.streaming)
        instance.announce(status("stream.example", 1, text="Nurture kept Jo in school"))
        sent = time.monotonic()
        wait_for(lambda: len(posts(tmp_path)) == 1, timeout=2)
        assert time.monotonic() - sent < 2
    post = posts(tmp_path)[0]
    assert "Nurture kept Jo in school" in post["text"] and post["first_fetch_id"] is not None


def test_an_edit_on_the_stream_is_a_new_version_and_a_delete_a_tombstone(instance, tmp_path):
    with follow(tmp_path, instance):
        wait_for(lambda: instance.streaming)
        served = instance.announce(status("stream.example", 2))
        wait_for(lambda: len(posts(tmp_path)) == 1)
        instance.announce_edit(served["uri"], "Edited: nurture kept Sam in school")
        wait_for(lambda: posts(tmp_path)[0]["version"] == 2)
        instance.announce_delete(served["uri"])
        wait_for(lambda: posts(tmp_path)[0]["deleted_at"] is not None)
    assert posts(tmp_path)[0]["text"] is None


def test_a_connection_cut_mid_event_is_reopened_by_mastodon_py(instance, tmp_path):
    with follow(tmp_path, instance):
        wait_for(lambda: instance.streaming)
        instance.drop_mid_event()
        instance.announce(status("stream.example", 3))  # lost with the connection: the poll fetches it
        wait_for(lambda: len(instance.requests_to("/api/v1/streaming/hashtag")) >= 2)
        wait_for(lambda: instance.streaming)
        instance.announce(status("stream.example", 4, text="After the reconnect"))
        wait_for(lambda: any("After the reconnect" in (p["text"] or "") for p in posts(tmp_path)))


def test_a_malformed_event_is_kept_as_a_reject_and_the_stream_goes_on(instance, tmp_path):
    with follow(tmp_path, instance):
        wait_for(lambda: instance.streaming)
        instance.malformed()
        instance.announce(status("stream.example", 5))
        wait_for(lambda: len(posts(tmp_path)) == 1)
    assert len(rows(tmp_path, "SELECT * FROM rejected_items")) == 1


def test_a_stream_seen_by_the_poll_too_is_one_row(instance, tmp_path, run_cli):
    with follow(tmp_path, instance):
        wait_for(lambda: instance.streaming)
        instance.announce(status("stream.example", 6))
        wait_for(lambda: len(posts(tmp_path)) == 1)
    assert run_cli("collect", "-c", str(tmp_path / "campaign.toml"), "-q").exit_code == 0
    assert len(posts(tmp_path)) == 1


def test_an_instance_refusing_anonymous_streaming_is_named_once_and_the_stream_ends(tmp_path):
    with StreamingMastodon("closed.example", require_stream_auth="secret") as server:
        with follow(tmp_path, server) as following:
            wait_for(lambda: following.notices)
            following.thread.join(5)
            assert not following.thread.is_alive()
    assert len(following.notices) == 1
    assert "MASTODON_ACCESS_TOKEN_127_0_0_1" in following.notices[0].message
