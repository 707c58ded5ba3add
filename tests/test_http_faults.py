"""The shared HTTP-fault policy, exercised through Mastodon.py against a misbehaving fake."""

from __future__ import annotations

import sqlite3
import time
from email.utils import formatdate

import pytest

from monitor.core import http
from tests.conftest import count_posts
from tests.fakes.mastodon import seed

TIMELINE = "/api/v1/timelines/tag/"


@pytest.fixture
def waits(monkeypatch):
    """The policy's waits, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(http, "_sleep", recorded.append)
    return recorded



def cursor(tmp_path):
    conn = sqlite3.connect(tmp_path / "archive.db")
    try:
        row = conn.execute("SELECT position FROM cursors").fetchone()
        return row[0] if row else None
    finally:
        conn.close()


def test_429_waits_as_long_as_retry_after_in_seconds(fake_mastodon, config_for, run_cli, waits, tmp_path):
    seed(fake_mastodon, 10)
    fake_mastodon.fail("429", path=TIMELINE, retry_after=3)
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 0
    assert waits == [3.0]
    assert count_posts(tmp_path) == 10


def test_429_waits_until_the_http_date_in_retry_after(fake_mastodon, config_for, run_cli, waits):
    seed(fake_mastodon, 2)
    fake_mastodon.fail("429", path=TIMELINE, retry_after=4, http_date=True)
    run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert len(waits) == 1 and 2 <= waits[0] <= 4


def test_429_asking_longer_than_max_wait_fails_the_source_at_once(fake_mastodon, config_for, run_cli, waits):
    seed(fake_mastodon, 2)
    fake_mastodon.fail("429", path=TIMELINE, retry_after=3600)
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 1
    assert "asked to wait 3600s, more than [http] max_wait = 5s" in result.output
    assert waits == []


@pytest.mark.parametrize("kind", ["500", "502", "503", "malformed", "html", "truncated", "reset"])
def test_transient_fault_is_retried_and_the_run_completes(kind, fake_mastodon, config_for, run_cli, waits, tmp_path):
    seed(fake_mastodon, 60)
    fake_mastodon.fail(kind, path=TIMELINE, times=2)
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 0, result.output
    assert len(waits) == 2
    assert count_posts(tmp_path) == 60


def test_timeout_is_retried(fake_mastodon, config_for, run_cli, waits, tmp_path):
    seed(fake_mastodon, 5)
    fake_mastodon.fail("timeout", path=TIMELINE, delay=2.5)
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 0
    assert "timed out" in " ".join(http_warnings(tmp_path))
    assert count_posts(tmp_path) == 5


def http_warnings(tmp_path) -> list[str]:
    conn = sqlite3.connect(tmp_path / "archive.db")
    try:
        return [row[0] for row in conn.execute("SELECT warnings FROM source_runs")]
    finally:
        conn.close()


def test_backoff_grows_between_tries(fake_mastodon, config_for, run_cli, waits):
    seed(fake_mastodon, 1)
    fake_mastodon.fail("503", path=TIMELINE, times=3)
    run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert len(waits) == 3 and waits[0] < waits[1] < waits[2]


def test_persistent_5xx_gives_up_after_max_attempts(fake_mastodon, config_for, run_cli, waits):
    seed(fake_mastodon, 1)
    fake_mastodon.fail("500", path=TIMELINE, times=100)
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 1
    assert "gave up after 4 tries: server error (HTTP 500)" in result.output
    assert len(waits) == 3


def test_cursor_stays_at_the_last_stored_page_when_a_later_page_fails(fake_mastodon, config_for, run_cli, waits, tmp_path):
    served = seed(fake_mastodon, 100)
    config = config_for(fake_mastodon)
    # two good pages, then the third fails every time
    original_route = fake_mastodon.route
    calls = {"n": 0}

    def route(request):
        if request.path.startswith(TIMELINE):
            calls["n"] += 1
            if calls["n"] >= 3:
                from tests.fakes.server import Response
                return Response(500, b"oops", content_type="text/plain")
        return original_route(request)

    fake_mastodon.route = route
    result = run_cli("collect", "-c", str(config))
    assert result.exit_code == 1
    assert count_posts(tmp_path) == 80
    assert cursor(tmp_path) == sorted((s["id"] for s in served), key=int)[79]
    fake_mastodon.route = original_route
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert count_posts(tmp_path) == 100


def test_failed_requests_are_kept_as_provenance(fake_mastodon, config_for, run_cli, waits, tmp_path):
    seed(fake_mastodon, 1)
    fake_mastodon.fail("503", path=TIMELINE)
    run_cli("collect", "-c", str(config_for(fake_mastodon)))
    conn = sqlite3.connect(tmp_path / "archive.db")
    statuses = [r[0] for r in conn.execute("SELECT http_status FROM fetches WHERE endpoint LIKE '%/tag/%' ORDER BY id")]
    conn.close()
    assert statuses[:2] == [503, 200]


def test_no_requests_remaining_waits_for_the_reset_before_the_next_request(fake_mastodon, config_for, run_cli, waits):
    seed(fake_mastodon, 50)
    original = fake_mastodon.extra_headers

    def exhausted(request):
        headers = original(request)
        headers["X-RateLimit-Remaining"] = "0"
        headers["X-RateLimit-Reset"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 2))
        return headers

    fake_mastodon.extra_headers = exhausted
    result = run_cli("collect", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 0
    assert waits and all(0 < w <= 3 for w in waits)


def test_retry_after_parses_seconds_and_http_dates():
    now = time.time()
    assert http.parse_retry_after("120") == 120
    assert 59 <= http.parse_retry_after(formatdate(now + 60, usegmt=True), now) <= 60
    assert http.parse_retry_after("soon") is None


def test_rate_limit_reset_is_read_in_each_platforms_format():
    date = formatdate(1_800_000_000, usegmt=True)
    assert http.parse_reset("2027-01-15T08:00:30.000Z", date) == pytest.approx(30, abs=1)  # Mastodon
    assert http.parse_reset("42", date) == 42  # Reddit: seconds
    assert http.parse_reset("1800000010", date) == pytest.approx(10)  # Bluesky: Unix time


def test_a_parameter_sent_more_than_once_keeps_every_value_in_order():
    recorder = http.Recorder("bluesky", "bsky.social")
    recorder.record("GET", "https://bsky.social/xrpc/app.bsky.actor.getProfiles?actors=a.bsky&actors=b.bsky"
                    "&actors=c.bsky&limit=25&access_token=t0k", 200, {})
    [fetch] = recorder.drain()
    assert fetch.params == {"actors": ["a.bsky", "b.bsky", "c.bsky"], "limit": "25", "access_token": "<redacted>"}
