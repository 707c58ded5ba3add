"""`campaign-monitor run --stream`: a real daemon following a fake Jetstream and a fake Mastodon
stream, killed with SIGKILL and started again."""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import bluesky_section, rows, smtp_section, write_config
from tests.test_alerts import receiver  # noqa: F401 - the webhook receiver fixture
from tests.fakes.jetstream import FakeJetstream
from tests.fakes.mastodon import status
from tests.fakes.mastodon_streaming import StreamingMastodon
from tests.test_run import daemon, logged, stop, wait_for


@pytest.fixture
def streams(fake_bluesky):
    with FakeJetstream() as jetstream, StreamingMastodon("stream.example") as mastodon:
        yield jetstream, mastodon, fake_bluesky


def config(tmp_path, jetstream, mastodon, bluesky, extra: str = ""):
    extra = (bluesky_section(bluesky) + f'jetstream = "{jetstream.url}"\ncdn = "{bluesky.url}"\n'
             '\n[schedule]\ncollect_every = "1h"\nstream = true\n' + extra)
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


def alerting(tmp_path, streams, port: int):
    """A daemon checking for spikes every second; an empty week before, so the floor (2 an hour) is the
    baseline and 6 posts in the hour make a spike."""
    jetstream, mastodon, bluesky = streams
    alerts = '\n[alerts]\nfactor = 3\nfloor = 2\ncheck_every = "1s"\nemail_to = ["comms@example.org"]\n'
    process = daemon(config(tmp_path, jetstream, mastodon, bluesky, "\n[report]\n" + smtp_section(port) + alerts))
    wait_for(lambda: jetstream.connections, timeout=30)
    return process


def test_a_spike_arriving_on_the_stream_is_mailed_and_posted_to_the_webhook_once(streams, tmp_path, smtp_inbox,
                                                                                 receiver):  # noqa: F811
    port, inbox = smtp_inbox
    process = alerting(tmp_path, streams, port)
    try:
        for n in range(8):
            streams[0].post(f"Our nurture group story {n}")
        wait_for(lambda: inbox and receiver.bodies(), timeout=20)
        time.sleep(3)  # three more checks of the same spike
    finally:
        code, err = stop(process)
    assert code == 0, err
    assert len(inbox) == 1 and len(receiver.bodies()) == 1
    assert receiver.bodies()[0]["kind"] == "spike" and receiver.bodies()[0]["platform"] == "bluesky"
    assert "Our nurture group story" in inbox[0].content.decode()


def test_a_quiet_hour_on_the_stream_sends_no_alert(streams, tmp_path, smtp_inbox, receiver):  # noqa: F811
    port, inbox = smtp_inbox
    process = alerting(tmp_path, streams, port)
    try:
        for n in range(4):
            streams[0].post(f"Our nurture group story {n}")
        wait_for(lambda: len(texts(tmp_path)) == 4)
        wait_for(lambda: "alerts: ok" in logged(process), timeout=10)
        time.sleep(2)
    finally:
        code, err = stop(process)
    assert code == 0, err
    assert "alerts: ok" in logged(process)
    assert inbox == [] and receiver.bodies() == []
