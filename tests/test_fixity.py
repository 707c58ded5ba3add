"""The archivist's proofs: `verify` catches damage and logs it; `backup` copies a live archive whole."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from monitor.archive import fixity, open_archive
from tests.conftest import rows
from tests.fakes.mastodon import lean_status, seed, status
from tests.test_cli import campaign_monitor
from tests.test_run import posts_so_far
from tests.test_testimonies import STORY


@pytest.fixture
def collected(fake_mastodon, config_for, run_cli, tmp_path):
    """An archive of a few posts, one a testimony whose picture is in the media store."""
    seed(fake_mastodon, 3)
    fake_mastodon.add(status("fake.social", 9, text=STORY, media=True))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-q", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    return config


def test_verify_passes_on_an_intact_archive_and_logs_each_check(collected, run_cli, tmp_path):
    result = run_cli("verify", "--json", "-c", str(collected))
    assert result.exit_code == 0, result.output
    checks = {c["check"]: c for c in json.loads(result.output)["checks"]}
    assert checks["payload digests"]["checked"] == 4 and checks["media digests"]["checked"] == 1
    events = rows(tmp_path, "SELECT check_name, outcome FROM fixity_events")
    assert {e["check_name"] for e in events} >= {"quick_check", "payload digests", "media digests", "provenance"}
    assert {e["outcome"] for e in events} == {"pass"}


def test_verify_full_runs_the_full_integrity_check(collected, run_cli, tmp_path):
    assert run_cli("verify", "--full", "-c", str(collected)).exit_code == 0
    assert rows(tmp_path, "SELECT outcome FROM fixity_events WHERE check_name = 'integrity_check'") == [
        {"outcome": "pass"}]


def test_a_flipped_byte_in_a_raw_payload_fails_verify_naming_the_payload(collected, run_cli, tmp_path):
    conn = sqlite3.connect(tmp_path / "archive.db")
    post_id, raw = conn.execute("SELECT post_id, raw FROM post_payloads ORDER BY post_id LIMIT 1").fetchone()
    conn.execute("UPDATE post_payloads SET raw = ? WHERE post_id = ?", [raw.replace("nurture", "nurturf", 1), post_id])
    conn.commit()
    conn.close()
    result = run_cli("verify", "-c", str(collected))
    assert result.exit_code == 1
    assert f"post_payloads/{post_id}: raw payload does not match its sha256" in result.output
    assert rows(tmp_path, "SELECT outcome FROM fixity_events WHERE object = ?", [f"post_payloads/{post_id}"]) == [
        {"outcome": "fail"}]


def test_a_corrupted_media_file_fails_verify_naming_the_file(collected, run_cli, tmp_path):
    [media] = rows(tmp_path, "SELECT DISTINCT path FROM media_files WHERE status = 'stored'")
    target = tmp_path / media["path"]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = run_cli("verify", "-c", str(collected))
    assert result.exit_code == 1 and f"{media['path']}: file does not match its sha256" in result.output


def test_a_missing_media_file_fails_verify(collected, run_cli, tmp_path):
    [media] = rows(tmp_path, "SELECT DISTINCT path FROM media_files WHERE status = 'stored'")
    (tmp_path / media["path"]).unlink()
    result = run_cli("verify", "-c", str(collected))
    assert result.exit_code == 1 and "file is missing" in result.output


def test_a_version_without_its_post_fails_verify(collected, run_cli, tmp_path):
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("INSERT INTO post_versions (post_id, version, text, raw) VALUES (9999, 1, 'orphan', '{}')")
    conn.commit()
    conn.close()
    result = run_cli("verify", "-c", str(collected))
    assert result.exit_code == 1 and "version of post 9999, which is not archived" in result.output


def test_the_weekly_report_says_when_the_archive_was_last_verified(collected, run_cli, tmp_path):
    out = tmp_path / "out"
    run_cli("report", "-c", str(collected), "--since", "2026-10-01", "--until", "2026-12-01", "--out", str(out))
    assert "never been verified" in next(out.rglob("report.md")).read_text()
    run_cli("verify", "-c", str(collected))
    run_cli("report", "-c", str(collected), "--since", "2026-10-01", "--until", "2026-12-01", "--out", str(out))
    assert "every check passed" in next(out.rglob("report.md")).read_text()


def test_last_verified_counts_the_problems_of_the_latest_run(collected, tmp_path):
    db = open_archive(tmp_path / "archive.db")
    fixity.verify_and_record(db, tmp_path / "archive.db")
    at, checked, problems = fixity.last_verified(db)
    assert checked > 4 and problems == 0


def test_a_backup_taken_during_a_collect_is_whole_and_holds_every_committed_post(fake_mastodon, config_for, tmp_path):
    for n in range(800):
        fake_mastodon.add(lean_status("fake.social", n))
    fake_mastodon.delay = 0.3  # 20 pages: about 6 s of collecting, while the backup runs
    config = config_for(fake_mastodon)
    collect = campaign_monitor("collect", "-q", "-c", str(config), cwd=tmp_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not ((tmp_path / "archive.db").exists() and posts_so_far(tmp_path) >= 40):
        time.sleep(0.05)
    committed = posts_so_far(tmp_path)
    backup = campaign_monitor("backup", "-c", str(config), str(tmp_path / "copy.sqlite"), cwd=tmp_path)
    out, err = backup.communicate(timeout=60)
    assert backup.returncode == 0, err
    assert collect.poll() is None, "the collect ended before the backup: the test proved nothing"
    collect.kill()  # its end is not this test's subject (interrupted collects: test_crash)
    collect.communicate(timeout=30)
    copy = sqlite3.connect(tmp_path / "copy.sqlite")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    held = copy.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert committed <= held < 800 and held % 40 == 0  # whole pages only, never a page without its cursor


def test_a_backup_with_media_copies_and_checks_the_files(collected, run_cli, tmp_path):
    (tmp_path / "backups").mkdir()
    result = run_cli("backup", "-c", str(collected), "--media", "copy", str(tmp_path / "backups" / "a.sqlite"))
    assert result.exit_code == 0, result.output
    assert "1 copied" in result.output
    [media] = rows(tmp_path, "SELECT DISTINCT path FROM media_files WHERE status = 'stored'")
    assert (tmp_path / "backups" / media["path"]).read_bytes() == (tmp_path / media["path"]).read_bytes()


def test_a_backup_never_overwrites_a_file_unless_forced(collected, run_cli, tmp_path):
    (tmp_path / "a.sqlite").write_text("an older backup")
    result = run_cli("backup", "-c", str(collected), str(tmp_path / "a.sqlite"))
    assert result.exit_code == 2 and "already exists" in result.output
    assert (tmp_path / "a.sqlite").read_text() == "an older backup"
    assert run_cli("backup", "-c", str(collected), "--force", str(tmp_path / "a.sqlite")).exit_code == 0


def test_an_earlier_version_keeps_the_digest_of_the_payload_it_was_and_verify_checks_it(
        collected, fake_mastodon, run_cli, tmp_path):
    [post] = rows(tmp_path, "SELECT p.id, p.key, pp.sha256 FROM posts p JOIN post_payloads pp ON pp.post_id = p.id"
                            " ORDER BY p.id LIMIT 1")
    fake_mastodon.edit(post["key"], "Edited: our nurture group kept Sam in school #AspireNotToExclude")
    run_cli("refresh", "-c", str(collected))
    [version] = rows(tmp_path, "SELECT id, raw_sha256, digest_origin FROM post_versions WHERE post_id = ?", [post["id"]])
    assert version["raw_sha256"] == post["sha256"] and version["digest_origin"] == "fetched"
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("UPDATE post_versions SET raw = replace(raw, 'nurture', 'nurturf') WHERE id = ?", [version["id"]])
    conn.commit()
    conn.close()
    result = run_cli("verify", "-c", str(collected))
    assert result.exit_code == 1 and f"post_versions/{version['id']}: earlier version's payload" in result.output
