"""Testimonies: review from the CLI, reasons and model probability, media with checksums,
redaction, the register and the report section. The scorer itself is specified in
test_testimony_model.py, safeguarding in test_safeguarding.py."""

from __future__ import annotations

import csv
import hashlib
import json
import re

import openpyxl
import pytest

from tests.conftest import rows
from tests.fakes.files import png, wav
from tests.fakes.mastodon import status

STORY = ("As a parent I can't thank the nurture staff enough. My daughter went from daily meltdowns to making "
         "friends, and she's back in class full time.")
FLAGGED = ("My son Jamie, aged 7, was nearly excluded from Oakfield Primary. The nurture group kept him in school "
           "and his behaviour improved.")
POSTER = "Join the campaign! Download the poster and share it in your staffroom"


@pytest.fixture
def collected(fake_mastodon, config_for, run_cli, tmp_path):
    """Three posts collected through the fake: a story with a picture, a flagged story, a poster."""
    fake_mastodon.add(status("fake.social", 1, text=STORY, media=True, likes=50))
    fake_mastodon.add(status("fake.social", 2, text=FLAGGED, likes=40))
    fake_mastodon.add(status("fake.social", 3, text=POSTER, likes=99))
    config = config_for(fake_mastodon, extra='\n[report]\nshow_authors = false\n')
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    ids = {r["text"][:10]: r["id"] for r in rows(tmp_path, "SELECT id, text FROM posts")}
    return config, ids["As a paren"], ids["My son Jam"], ids["Join the c"]


def listed(run_cli, config, *args):
    result = run_cli("testimonies", "list", "-c", str(config), "--json", *args)
    return [json.loads(line) for line in result.output.splitlines()]


def test_collected_posts_are_scored_and_candidates_listed(collected, run_cli):
    config, story, flagged, poster = collected
    candidates = {r["id"]: r for r in listed(run_cli, config, "--status", "candidate")}
    assert set(candidates) == {story, flagged} and candidates[flagged]["flagged"] == 1


def test_decisions_are_kept_with_who_and_when_and_their_history(collected, run_cli, tmp_path):
    config, story, *_ = collected
    run_cli("testimonies", "accept", "-c", str(config), str(story), "--note", "lovely", "--consent", "asked", "--by", "ana")
    run_cli("testimonies", "reject", "-c", str(config), str(story), "--note", "parent withdrew", "--by", "ben")
    history = rows(tmp_path, "SELECT action, consent, note, decided_by FROM testimony_decisions ORDER BY id")
    assert [(h["action"], h["decided_by"]) for h in history] == [("accepted", "ana"), ("rejected", "ben")]
    shown = run_cli("testimonies", "show", "-c", str(config), str(story)).output
    assert "ana: accepted (asked) - lovely" in shown and "ben: rejected" in shown
    assert [r["id"] for r in listed(run_cli, config, "--status", "rejected")] == [story]


def test_show_prints_the_phrases_that_matched_and_the_model_probability(collected, run_cli):
    config, story, *_ = collected
    shown = run_cli("testimonies", "show", "-c", str(config), str(story)).output
    assert re.search(r"Model probability: [01]\.\d\d \(model \d{4}-\d\d-\d\d-[0-9a-f]{8}\)", shown)
    assert "intervention: 'nurture staff'" in shown and "experience: 'My daughter'" in shown


def test_show_names_what_may_identify_a_child(collected, run_cli):
    config, _, flagged, _ = collected
    shown = run_cli("testimonies", "show", "-c", str(config), str(flagged)).output
    assert "SAFEGUARDING: " in shown and "a child's first name with a family relation 'Jamie'" in shown


def test_unknown_testimony_is_a_clear_error(collected, run_cli):
    result = run_cli("testimonies", "accept", "-c", str(collected[0]), "99999")
    assert result.exit_code == 2 and "no testimony 99999" in result.output


def test_media_of_candidates_lands_in_the_content_addressed_store(collected, tmp_path):
    [media] = rows(tmp_path, "SELECT * FROM media_files")
    digest = hashlib.sha256(png()).hexdigest()
    assert (media["status"], media["sha256"], media["mime_type"], media["size"]) == ("stored", digest, "image/png", len(png()))
    stored = tmp_path / "media" / "sha256" / digest[:2] / digest[2:4] / digest
    assert media["path"] == str(stored.relative_to(tmp_path)) and stored.read_bytes() == png()


@pytest.fixture
def failing_media(fake_mastodon, config_for, run_cli):
    """A testimony whose picture answers 500, collected and its media fetched once: (config, its path)."""
    s = fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    path = s["media_attachments"][0]["url"].split(fake_mastodon.url)[1]
    fake_mastodon.fail("500", path=path, times=100)
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    return config, path


def test_failed_download_is_retried_on_a_later_run_and_never_blocks_collection(failing_media, fake_mastodon,
                                                                                run_cli, tmp_path):
    config, _ = failing_media
    assert rows(tmp_path, "SELECT status, attempts FROM media_files")[0] == {"status": "failed", "attempts": 1}
    fake_mastodon.faults.clear()
    assert run_cli("collect", "-c", str(config)).exit_code == 0  # too soon: a failed URL waits before its next try
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert rows(tmp_path, "SELECT status, attempts FROM media_files")[0] == {"status": "failed", "attempts": 1}
    _backdate_media(tmp_path, minutes=6)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert rows(tmp_path, "SELECT status, attempts FROM media_files")[0] == {"status": "stored", "attempts": 2}


def _backdate_media(tmp_path, minutes: int) -> None:
    import sqlite3
    from datetime import datetime, timedelta, timezone

    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("UPDATE media_files SET fetched_at = ?",
                 [(datetime.now(timezone.utc) - timedelta(minutes=minutes)).isoformat()])
    conn.commit()
    conn.close()


def test_a_dead_media_url_costs_two_tries_a_run(failing_media, fake_mastodon):
    _, path = failing_media
    assert len(fake_mastodon.requests_to(path)) == 2


def test_files_over_the_size_cap_are_recorded_not_stored(fake_mastodon, config_for, run_cli, tmp_path):
    s = fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    path = s["media_attachments"][0]["url"].split(fake_mastodon.url)[1]
    fake_mastodon.files[path] = (wav(seconds=2.0), "audio/wav")
    config = config_for(fake_mastodon, extra="\n[testimonies]\nmedia_max_mb = 0.001\n")
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    [media] = rows(tmp_path, "SELECT status, last_error, path FROM media_files")
    assert media["status"] == "too_large" and "cap" in media["last_error"] and media["path"] is None


def test_redacted_text_is_what_every_output_shows(collected, run_cli, tmp_path):
    config, _, flagged, _ = collected
    run_cli("testimonies", "redact", "-c", str(config), str(flagged), "--text",
            "A pupil was nearly excluded. The nurture group kept him in school.")
    run_cli("testimonies", "accept", "-c", str(config), str(flagged), "--consent", "granted")
    register = run_cli("testimonies", "export", "-c", str(config), "--format", "jsonl").output
    assert "Jamie" not in register and "A pupil was nearly excluded" in register
    [post] = rows(tmp_path, "SELECT text, raw FROM posts JOIN post_payloads ON post_id = id WHERE id = ?", [flagged])
    assert "Jamie" not in post["text"] and "Jamie" in post["raw"]  # the original stays only in the raw payload


def test_register_and_report_hold_exactly_the_accepted_unflagged_or_reviewed_testimonies(collected, run_cli, tmp_path):
    config, story, flagged, poster = collected
    run_cli("testimonies", "accept", "-c", str(config), str(story), "--consent", "granted")
    out = tmp_path / "register.csv"
    run_cli("testimonies", "export", "-c", str(config), "--format", "csv", "--out", str(out))
    with open(out, encoding="utf-8-sig") as f:
        register = list(csv.DictReader(f))
    assert [int(r["id"]) for r in register] == [story]
    assert register[0]["author"].startswith("participant-") and register[0]["consent"] == "granted"
    assert register[0]["media_sha256"] == hashlib.sha256(png()).hexdigest()
    week = _week_of(tmp_path)
    assert run_cli("report", "-c", str(config), "--since", week[0], "--until", week[1]).exit_code == 0
    html_text = next((tmp_path / "reports").glob("*/report.html")).read_text()
    assert "Testimonies" in html_text and "making friends" in html_text
    assert "Jamie" not in html_text  # flagged and not accepted: out of every quotation, top posts too


def _week_of(tmp_path) -> tuple[str, str]:
    from datetime import date, timedelta

    [first] = rows(tmp_path, "SELECT min(created_at) AS d FROM posts")
    start = date.fromisoformat(first["d"][:10]) - timedelta(days=1)
    return start.isoformat(), (start + timedelta(days=8)).isoformat()


def test_register_exports_as_xlsx_and_jsonl(collected, run_cli, tmp_path):
    config, story, *_ = collected
    run_cli("testimonies", "accept", "-c", str(config), str(story))
    out = tmp_path / "register.xlsx"
    assert run_cli("testimonies", "export", "-c", str(config), "--format", "xlsx", "--out", str(out)).exit_code == 0
    sheet = openpyxl.load_workbook(out)["testimonies"]
    assert [c.value for c in sheet[1]][:5] == ["id", "text", "picture_text", "link", "platform"] and sheet.max_row == 2
    lines = run_cli("testimonies", "export", "-c", str(config), "--format", "jsonl").output.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [story]


def test_an_attachment_without_a_url_does_not_stop_the_other_downloads(fake_mastodon, config_for, run_cli, tmp_path):
    broken = status("fake.social", 1, text=STORY, media=True)
    broken["media_attachments"][0]["url"] = None
    fake_mastodon.add(broken)
    fake_mastodon.add(status("fake.social", 2, text=STORY + " Truly.", media=True))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert [r["status"] for r in rows(tmp_path, "SELECT status FROM media_files")] == ["stored"]


def test_a_media_server_that_trickles_is_given_up_at_the_total_deadline(fake_mastodon, config_for, run_cli, tmp_path):
    import time

    s = fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    fake_mastodon.fail("trickle", path=s["media_attachments"][0]["url"].split(fake_mastodon.url)[1], delay=0.05,
                       trickle_seconds=15)
    config = config_for(fake_mastodon, extra="\n[testimonies]\nmedia_deadline = 1\n")
    began = time.monotonic()
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert time.monotonic() - began < 10
    [media] = rows(tmp_path, "SELECT status, last_error FROM media_files")
    assert media["status"] == "failed" and "not complete within the deadline" in media["last_error"]


def test_a_media_server_that_never_answers_costs_one_deadline_not_a_read_timeout_per_try(
        fake_mastodon, config_for, run_cli, tmp_path):
    import time

    s = fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    fake_mastodon.fail("timeout", path=s["media_attachments"][0]["url"].split(fake_mastodon.url)[1], delay=20,
                       times=10)
    config = config_for(fake_mastodon, extra="\n[testimonies]\nmedia_deadline = 1\n")  # [http] timeout stays 30 s
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    began = time.monotonic()
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert time.monotonic() - began < 6  # one deadline and one back-off, not 2 x 30 s
    [media] = rows(tmp_path, "SELECT status FROM media_files")
    assert media["status"] == "failed"


def test_collect_returns_with_media_still_pending_for_media_fetch(fake_mastodon, config_for, run_cli, tmp_path):
    fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert rows(tmp_path, "SELECT count(*) AS n FROM media_files")[0]["n"] == 0
    assert not [r for r in fake_mastodon.requests if r.path in fake_mastodon.files]
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert [r["status"] for r in rows(tmp_path, "SELECT status FROM media_files")] == ["stored"]


def test_media_downloads_run_at_once_but_never_more_than_two_against_one_host(fake_mastodon, config_for, run_cli,
                                                                               tmp_path):
    for n in range(6):
        fake_mastodon.add(status("fake.social", n, text=STORY + f" ({n})", media=True))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    fake_mastodon.delay = 0.3  # each file takes a while, so downloads overlap if they can
    fake_mastodon.most_in_flight = 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert rows(tmp_path, "SELECT count(*) AS n FROM media_files WHERE status = 'stored'")[0]["n"] == 6
    assert fake_mastodon.most_in_flight == 2


def test_a_media_host_that_keeps_failing_is_not_asked_again_in_the_same_run(fake_mastodon, config_for, run_cli,
                                                                              tmp_path):
    from monitor.pipeline.media import HOST_GIVE_UP

    statuses = [fake_mastodon.add(status("fake.social", n, text=STORY, media=True)) for n in range(HOST_GIVE_UP + 4)]
    for s in statuses:
        fake_mastodon.fail("500", path=s["media_attachments"][0]["url"].split(fake_mastodon.url)[1], times=10)
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    result = run_cli("media", "fetch", "-c", str(config))
    assert result.exit_code == 0 and "skipped" in result.output
    tried = rows(tmp_path, "SELECT count(*) AS n FROM media_files")[0]["n"]
    assert HOST_GIVE_UP <= tried < len(statuses)  # the rest wait for a later run, with no attempt counted


def test_a_media_host_that_failed_lately_rests_on_the_next_run_too(fake_mastodon, config_for, run_cli, tmp_path):
    from monitor.pipeline.media import HOST_GIVE_UP

    statuses = [fake_mastodon.add(status("fake.social", n, text=STORY, media=True)) for n in range(HOST_GIVE_UP + 4)]
    for s in statuses:
        fake_mastodon.fail("500", path=s["media_attachments"][0]["url"].split(fake_mastodon.url)[1], times=10)
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    run_cli("media", "fetch", "-q", "-c", str(config))
    asked = len(fake_mastodon.requests_to("/system/"))
    run_cli("media", "fetch", "-q", "-c", str(config))
    assert len(fake_mastodon.requests_to("/system/")) == asked  # not one more request to a resting host
