"""`campaign-monitor run --stream`: a real daemon following a fake Jetstream and a fake Mastodon
stream, killed with SIGKILL and started again."""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import bluesky_section, rows, write_config
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.mastodon import status
from tests.fakes.mastodon_streaming import StreamingMastodon
from tests.test_run import daemon, logged, stop, wait_for


@pytest.fixture
def streams(fake_bluesky):
    with FakeJetstream() as jetstream, StreamingMastodon("stream.example") as mastodon:
        yield jetstream, mastodon, fake_bluesky


def config(tmp_path, jetstream, mastodon, bluesky):
    extra = (bluesky_section(bluesky) + f'jetstream = "{jetstream.url}"\ncdn = "{bluesky.url}"\n'
             '\n[schedule]\ncollect_every = "1h"\nstream = true\n')
    return write_config(tmp_path / "campaign.toml", [mastodon.url], extra=extra)


def texts(tmp_path) -> list[str]:
    try:
        return [r["text"] for r in rows(tmp_path, "SELECT text FROM posts ORDER BY id")]
    except Exception:  # noqa: BLE001 - not made yet
        return []


def has(tmp_path, words: str) -> bool:
    return any(words in (t or "") for t in texts(tmp_path))


def test_the_daemon_archives_a_post_from_each_stream_within_two_seconds(streams, tmp_path):
    jetstream, mastodon, bluesky = streams
    process = daemon(config(tmp_path, jetstream, mastodon, bluesky))
    try:
        wait_for(lambda: jetstream.connections and mastodon.streaming, timeout=30)
        jetstream.post("Jetstream: nurture kept me in school")
        mastodon.announce(status("stream.example", 1, text="Mastodon: nurture kept Jo in school"))
        sent = time.monotonic()
        wait_for(lambda: has(tmp_path, "Jetstream: nurture") and has(tmp_path, "Mastodon: nurture"), timeout=2)
        assert time.monotonic() - sent < 2
    finally:
        code, err = stop(process)
    assert code == 0, err
    assert "stream bluesky: following" in err


def test_after_a_sigkill_the_daemon_resumes_from_its_cursor_with_no_gap_and_no_duplicate(streams, tmp_path):
    jetstream, mastodon, bluesky = streams
    path = config(tmp_path, jetstream, mastodon, bluesky)
    process = daemon(path)
    wait_for(lambda: jetstream.connections, timeout=30)
    for n in range(20):
        jetstream.post(f"Before {n}")
    wait_for(lambda: sum("Before" in (t or "") for t in texts(tmp_path)) == 20)
    process.send_signal(signal.SIGKILL)
    assert process.wait(30) == -signal.SIGKILL
    for n in range(20):
        jetstream.post(f"While down {n}")
    connections = len(jetstream.connections)
    process = daemon(path)
    try:
        wait_for(lambda: len(jetstream.connections) > connections, timeout=30)
        wait_for(lambda: sum("While down" in (t or "") for t in texts(tmp_path)) == 20)
    finally:
        code, err = stop(process)
    assert code == 0, logged(process)
    assert len(texts(tmp_path)) == 40
    assert rows(tmp_path, "SELECT count(*) AS n FROM (SELECT key FROM posts GROUP BY key HAVING count(*) > 1)")[0]["n"] == 0
