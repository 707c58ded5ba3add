"""`campaign-monitor report`: the numbers, the files, the empty and the failed period, the mail."""

from __future__ import annotations

import csv
import email

import openpyxl
import pytest

from tests.conftest import smtp_section
from tests.report_data import record_failure, standard_archive

WEEK = ("--since", "2026-11-09", "--until", "2026-11-16")


@pytest.fixture
def campaign(tmp_path):
    config = tmp_path / "campaign.toml"
    config.write_text('[campaign]\nname = "Aspire Not To Exclude"\nhashtags = ["AspireNotToExclude"]\n'
                      'archive = "archive.db"\n\n[schedule]\ntimezone = "Europe/London"\n')
    return config


def report(run_cli, config, *args):
    result = run_cli("report", "-c", str(config), *WEEK, *args)
    assert result.exit_code == 0, result.output
    return config.parent / "reports" / "2026-11-09_to_2026-11-15"


def headlines(folder):
    with open(folder / "headlines.csv", encoding="utf-8-sig") as f:
        return {r["metric"]: r for r in csv.DictReader(f)}


def test_report_counts_posts_participants_reach_and_engagement(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    numbers = headlines(report(run_cli, campaign))
    assert float(numbers["Posts"]["value"]) == 5 and float(numbers["Posts"]["previous period"]) == 2
    assert float(numbers["Posts"]["change %"]) == 150.0
    assert float(numbers["Participants"]["value"]) == 3
    assert float(numbers["New participants"]["value"]) == 2
    assert float(numbers["Potential reach"]["value"]) == 100 + 250 + 40
    assert float(numbers["Engagement"]["value"]) == 5 + 15 + 0 + 2 + 1
    assert float(numbers["Engagement per post"]["value"]) == pytest.approx(23 / 5)


def test_report_folder_holds_html_markdown_csv_with_bom_and_one_workbook(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    folder = report(run_cli, campaign)
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert (folder / "report.md").read_text().startswith("# Aspire Not To Exclude")
    assert (folder / "sources.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    book = openpyxl.load_workbook(folder / "report.xlsx")
    assert {"headlines", "daily_volume", "top_posts", "co_hashtags", "coverage"} <= set(book.sheetnames)


def test_daily_volume_uses_the_campaign_time_zone(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    with open(report(run_cli, campaign) / "daily_volume.csv", encoding="utf-8-sig") as f:
        days = {r["day"]: r for r in csv.DictReader(f)}
    assert len(days) == 7 and days["2026-11-15"]["bluesky"] == "1"  # 22:59 UTC is still Sunday in London


def test_conversation_lists_co_hashtags_and_links(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    folder = report(run_cli, campaign)
    with open(folder / "co_hashtags.csv", encoding="utf-8-sig") as f:
        tags = [r["hashtag"] for r in csv.DictReader(f)]
    assert tags[0] == "#send" and "#aspirenottoexclude" not in tags
    assert "https://www.nurtureuk.org/boxall" in (folder / "links.csv").read_text(encoding="utf-8-sig")


def test_authors_are_pseudonymised_unless_show_authors(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    html_text = (report(run_cli, campaign) / "report.html").read_text()
    assert "teacher2@m.example" not in html_text and "participant-" in html_text
    key = (tmp_path / ".campaign-monitor.key")
    assert key.exists() and oct(key.stat().st_mode)[-3:] == "600"
    campaign.write_text(campaign.read_text() + "\n[report]\nshow_authors = true\n")
    assert "teacher2@m.example" in (report(run_cli, campaign) / "report.html").read_text()


def test_pseudonyms_are_stable_between_reports(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    first = (report(run_cli, campaign) / "top_participants.csv").read_text()
    assert (report(run_cli, campaign) / "top_participants.csv").read_text() == first


def elements(html_text: str) -> list[tuple[str, dict]]:
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, dict(attrs)))

    Collect().feed(html_text)
    return found


def test_untrusted_post_text_reaches_the_html_inert(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    html_text = (report(run_cli, campaign) / "report.html").read_text()
    tags = elements(html_text)
    assert not [t for t, _ in tags if t in ("script", "img", "iframe", "object", "embed")]
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert not [attrs for t, attrs in tags if t == "a" and not attrs.get("href", "https:").startswith("https:")]
    assert "&lt;script&gt;" in html_text  # the payload is shown as text, not run
    assert "script-src 'none'" in html_text


def test_empty_period_says_nothing_was_collected(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    result = run_cli("report", "-c", str(campaign), "--since", "2025-01-06", "--until", "2025-01-13")
    assert result.exit_code == 0
    html_text = (tmp_path / "reports" / "2025-01-06_to_2025-01-12" / "report.html").read_text()
    assert "Nothing collected in this period" in html_text and "<svg" not in html_text
    assert "No collection ran in this period" in html_text


def test_failed_collection_in_the_period_is_shown_beside_the_numbers(campaign, tmp_path, run_cli):
    db = standard_archive(tmp_path / "archive.db")
    record_failure(db, "2026-11-12T10:00:00.000000+00:00")
    html_text = (report(run_cli, campaign) / "report.html").read_text()
    assert "What these numbers may be missing" in html_text
    assert "mastodon m.example failed: m.example #AspireNotToExclude: gave up after 5 tries" in html_text


def test_default_period_is_the_last_full_week(campaign, tmp_path, run_cli):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from reports.period import last_full_week

    standard_archive(tmp_path / "archive.db")
    result = run_cli("report", "-c", str(campaign))
    assert result.exit_code == 0, result.output
    period = last_full_week(datetime.now(timezone.utc), ZoneInfo("Europe/London"))
    assert period.start.weekday() == 0 and (period.end - period.start).days == 7
    assert (tmp_path / "reports" / period.label / "report.html").exists()


def test_report_is_mailed_with_text_html_and_the_workbook(campaign, tmp_path, run_cli, smtp_inbox):
    port, messages = smtp_inbox
    campaign.write_text(campaign.read_text() + "\n[report]\n" + smtp_section(port))
    standard_archive(tmp_path / "archive.db")
    report(run_cli, campaign, "--email")
    [envelope] = messages
    assert envelope.rcpt_tos == ["comms@example.org"]
    message = email.message_from_bytes(envelope.content)
    parts = {p.get_content_type(): p for p in message.walk()}
    assert "**Posts**: 5" in parts["text/plain"].get_payload(decode=True).decode()
    assert "<!DOCTYPE html>" in parts["text/html"].get_payload(decode=True).decode()
    xlsx = parts["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
    assert xlsx.get_filename() == "report.xlsx"


def test_mailing_without_recipients_is_a_clear_error(campaign, tmp_path, run_cli):
    standard_archive(tmp_path / "archive.db")
    result = run_cli("report", "-c", str(campaign), *WEEK, "--email")
    assert result.exit_code == 1 and "set [report] email_to and email_from" in result.output


def test_the_smtp_password_is_never_sent_without_tls_unless_the_config_allows_it(campaign, tmp_path, run_cli,
                                                                                   smtp_inbox, monkeypatch):
    port, messages = smtp_inbox
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    campaign.write_text(campaign.read_text() + "\n[report]\n" + smtp_section(port) + 'smtp_user = "comms"\n')
    standard_archive(tmp_path / "archive.db")
    result = run_cli("report", "-c", str(campaign), *WEEK, "--email")
    assert result.exit_code == 1 and "refusing to send the password of smtp_user 'comms' in clear" in result.output
    assert messages == [] and "s3cret" not in result.output
