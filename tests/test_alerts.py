"""Spike alerts and the review digest: a real SMTP server (aiosmtpd) and a local webhook receiver."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from monitor.core.config import load_config
from reports.alerts import check_spikes, send_digest
from tests.conftest import rows, smtp_section
from tests.fakes.server import FakeServer, Request, Response, json_response
from tests.report_data import author, build, post

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


class Receiver(FakeServer):
    """A webhook endpoint: keeps each JSON body it is sent."""

    def route(self, request: Request) -> Response:
        return json_response(200, {"ok": True})

    def bodies(self) -> list[dict]:
        return [json.loads(r.body) for r in self.requests if r.method == "POST"]


@pytest.fixture
def receiver(monkeypatch):
    with Receiver() as server:
        monkeypatch.setenv("ALERTS_WEBHOOK_URL", f"{server.url}/hook/campaign-topic")
        yield server


def campaign(tmp_path, port: int, *, fmt: str = "json", show_authors: bool = False):
    (tmp_path / "campaign.toml").write_text(
        '[campaign]\nname = "Aspire"\nhashtags = ["AspireNotToExclude"]\narchive = "archive.db"\n\n'
        '[mastodon]\ninstances = ["https://m.example"]\n\n'
        "[http]\ntimeout = 2\nmax_attempts = 3\nbackoff = 0.01\nmax_wait = 5\n\n"
        f"[report]\nshow_authors = {str(show_authors).lower()}\n" + smtp_section(port) +
        f'\n[alerts]\nfactor = 3.0\nfloor = 5\nreviewers = ["safeguarding@example.org"]\nwebhook_format = "{fmt}"\n',
        encoding="utf-8")
    return load_config(tmp_path / "campaign.toml")


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="microseconds")


def archive(tmp_path, per_hour: int, now_hour: int, *, texts: dict[int, str] | None = None):
    """`per_hour` posts in the same hour on each of the 7 days before NOW, `now_hour` in the last hour."""
    made, n = [], 0
    for day in range(1, 8):
        for i in range(per_hour):
            n += 1
            made.append(post(f"d{n}", iso(NOW - timedelta(days=day, minutes=50 - i)), author(n % 9)))
    for i in range(now_hour):
        n += 1
        text = (texts or {}).get(i, f"Nurture group story {i}: it kept a pupil in school")
        made.append(post(f"n{n}", iso(NOW - timedelta(minutes=55 - i % 50)), author(n % 9), text=text, likes=i))
    return build(tmp_path / "archive.db", made)


def test_a_quiet_week_sends_no_alert(tmp_path, smtp_inbox, receiver):
    port, inbox = smtp_inbox
    config = campaign(tmp_path, port)
    db = archive(tmp_path, per_hour=2, now_hour=4)
    assert check_spikes(config, db, NOW) == []
    assert inbox == [] and receiver.bodies() == []


def test_a_spike_is_alerted_once_by_mail_and_webhook_with_its_top_posts(tmp_path, smtp_inbox, receiver):
    port, inbox = smtp_inbox
    config = campaign(tmp_path, port)
    db = archive(tmp_path, per_hour=2, now_hour=30)
    said = check_spikes(config, db, NOW)
    assert len(said) == 1 and "sent by email, webhook" in said[0]
    assert check_spikes(config, db, NOW + timedelta(minutes=5)) == []  # the same spike: no second alert
    assert len(inbox) == 1 and len(receiver.bodies()) == 1
    body = receiver.bodies()[0]
    assert body["kind"] == "spike" and body["posts"] == 30 and body["baseline"] == 5
    assert body["top_posts"][0]["text"].startswith("Nurture group story 29")
    mail = inbox[0].content.decode()
    assert "spike on mastodon, 30 posts" in mail and "Nurture group story 29" in mail


def test_a_spike_names_no_author_when_authors_are_pseudonymised(tmp_path, smtp_inbox, receiver):
    config = campaign(tmp_path, smtp_inbox[0])
    db = archive(tmp_path, per_hour=1, now_hour=20)
    check_spikes(config, db, NOW)
    sent = json.dumps(receiver.bodies()) + smtp_inbox[1][0].content.decode()
    assert "teacher" not in sent and "m.example/@x" not in sent


def test_a_flagged_post_is_never_quoted_by_an_alert(tmp_path, smtp_inbox, receiver):
    config = campaign(tmp_path, smtp_inbox[0])
    child = "Maya's first term at Riverside High and not one phone call home"
    db = archive(tmp_path, per_hour=1, now_hour=20, texts={19: child})
    check_spikes(config, db, NOW)
    assert "Riverside" not in json.dumps(receiver.bodies()) + smtp_inbox[1][0].content.decode()


def test_a_spike_that_ends_and_comes_back_is_alerted_again(tmp_path, smtp_inbox, receiver):
    config = campaign(tmp_path, smtp_inbox[0])
    db = archive(tmp_path, per_hour=1, now_hour=20)
    assert len(check_spikes(config, db, NOW)) == 1
    assert "spike over" in check_spikes(config, db, NOW + timedelta(hours=2))[0]
    assert len(check_spikes(config, db, NOW - timedelta(minutes=1))) == 1  # the same posts, seen as a new spike
    assert len(receiver.bodies()) == 2


def test_an_alert_nobody_received_is_tried_again_at_the_next_check(tmp_path, smtp_inbox, receiver):
    config = campaign(tmp_path, smtp_inbox[0])
    db = archive(tmp_path, per_hour=1, now_hour=20)
    receiver.fail("503", path="/hook", times=3)  # every try of the first check
    broken = replace(config, report=replace(config.report, smtp_port=9))  # nothing listens there
    assert "not sent" in check_spikes(broken, db, NOW)[0]
    assert "sent by email, webhook" in check_spikes(config, db, NOW + timedelta(minutes=5))[0]


def test_a_webhook_answering_503_is_retried_under_the_fault_policy(tmp_path, smtp_inbox, receiver):
    config = campaign(tmp_path, smtp_inbox[0])
    db = archive(tmp_path, per_hour=1, now_hour=20)
    receiver.fail("503", path="/hook", times=1)
    assert "webhook" in check_spikes(config, db, NOW)[0]
    assert [r.method for r in receiver.requests] == ["POST", "POST"]


def test_a_slack_body_escapes_what_slack_would_read_as_a_mention(tmp_path, smtp_inbox, receiver):
    config = campaign(tmp_path, smtp_inbox[0], fmt="slack")
    db = archive(tmp_path, per_hour=1, now_hour=20, texts={19: "Everyone <!channel> look & <https://evil.example|here>"})
    check_spikes(config, db, NOW)
    text = receiver.bodies()[0]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp;" in text


def test_an_ntfy_body_is_published_to_the_server_root_naming_its_topic(tmp_path, smtp_inbox, receiver):
    config = campaign(tmp_path, smtp_inbox[0], fmt="ntfy")
    db = archive(tmp_path, per_hour=1, now_hour=20)
    check_spikes(config, db, NOW)
    assert receiver.requests[-1].path == "/"
    body = receiver.bodies()[0]
    assert body["topic"] == "campaign-topic" and body["title"].startswith("Aspire: spike on mastodon")


def test_the_digest_quotes_new_candidates_and_names_flags_by_id_only(tmp_path, smtp_inbox, receiver):
    port, inbox = smtp_inbox
    config = campaign(tmp_path, port)
    child = "Maya's first term at Riverside High and not one phone call home #AspireNotToExclude"
    db = archive(tmp_path, per_hour=0, now_hour=3, texts={
        0: "Nurture group kept my son in school: he was close to exclusion, now he is thriving", 1: child})
    summary = send_digest(config, db, datetime.now(timezone.utc) + timedelta(minutes=1))
    assert "sent by email" in summary
    mail = inbox[0].content.decode()
    assert inbox[0].rcpt_tos == ["safeguarding@example.org"]
    assert "Riverside" not in mail and "Flagged for safeguarding" in mail
    assert receiver.bodies() == []  # the digest is the reviewers', not the comms channel's
    assert send_digest(config, db, datetime.now(timezone.utc) + timedelta(minutes=2)) == "nothing new to review"


def test_alerts_test_sends_one_of_each(tmp_path, smtp_inbox, receiver, run_cli):
    port, inbox = smtp_inbox
    campaign(tmp_path, port)
    archive(tmp_path, per_hour=0, now_hour=1)
    result = run_cli("alerts", "test", "-c", str(tmp_path / "campaign.toml"))
    assert result.exit_code == 0, result.output
    assert "spike alert: sent by email, webhook" in result.output
    assert sorted(m.rcpt_tos[0] for m in inbox) == ["comms@example.org", "safeguarding@example.org"]
    assert receiver.bodies()[0]["kind"] == "test"
    assert rows(tmp_path, "SELECT count(*) AS n FROM alerts")[0]["n"] == 0  # a test opens no spike


def test_alerts_test_works_before_the_first_collect_and_makes_no_archive(tmp_path, smtp_inbox, receiver, run_cli):
    port, inbox = smtp_inbox
    campaign(tmp_path, port)
    result = run_cli("alerts", "test", "-c", str(tmp_path / "campaign.toml"))
    assert result.exit_code == 0, result.output
    assert "spike alert: sent by email, webhook" in result.output
    assert len(inbox) == 2 and not (tmp_path / "archive.db").exists()
