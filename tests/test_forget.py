"""`forget`: an erasure that leaves no byte of what it erased, blocks its return, and keeps a content-free audit."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from tests.conftest import count_posts, rows
from tests.fakes.mastodon import EPOCH, png, seed, status

SECRET = ("As a parent at Kestrelwood I watched the nurture room give my son back his confidence: he no longer "
          "hides under the table and now reads aloud to his class every Friday.")
HANDLE = "jamies_mum@fake.social"
# the fake's posts are dated from EPOCH (three days ago): a fixed window would lose them as the calendar moves
AROUND_THEM = ("--since", (EPOCH - timedelta(days=30)).date().isoformat(),
               "--until", (EPOCH + timedelta(days=2)).date().isoformat())


@pytest.fixture
def archive(fake_mastodon, config_for, run_cli):
    """Posts by several people; two by the author to forget, one with its own picture; one by another
    author that mentions her."""
    seed(fake_mastodon, 3)
    erased = [fake_mastodon.add(status("fake.social", 20 + i, username="jamies_mum", text=SECRET + f" ({i})",
                                       media=i == 0)) for i in range(2)]
    path = "/system/" + erased[0]["media_attachments"][0]["url"].split("/system/")[1]
    fake_mastodon.files[path] = (png(colour=(200, 10, 10)), "image/png")  # a file no one else holds
    fake_mastodon.add(status("fake.social", 30, username="head_teacher", mention=HANDLE,
                             text="Thank you for sharing this story about our nurture group."))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-q", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    return config, erased


def forget_author(run_cli, config, *extra):
    return run_cli("forget", "-c", str(config), "--author", HANDLE, "--platform", "mastodon",
                   "--reason", f"erasure request by {HANDLE}", "--yes", *extra)


def traces(erased) -> list[bytes]:
    found = [SECRET[:60], "jamies_mum", "Kestrelwood"]
    for s in erased:
        found += [s["id"], s["uri"], s["url"]]
    return [t.encode() for t in found]


def test_forgetting_an_author_leaves_no_byte_of_them_in_the_archive_its_wal_the_media_or_any_export(
        archive, run_cli, tmp_path):
    config, erased = archive
    [media] = rows(tmp_path, "SELECT path FROM media_files WHERE post_id IN (SELECT id FROM posts WHERE"
                             " author = ?) AND status = 'stored'", [HANDLE])
    result = forget_author(run_cli, config)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / media["path"]).exists()
    run_cli("report", "-c", str(config), *AROUND_THEM, "--out",
            str(tmp_path / "reports"))
    run_cli("export", "bag", "--include-flagged", "-c", str(config), str(tmp_path / "bag"))
    run_cli("testimonies", "export", "--format", "csv", "--status", "candidate", "-c", str(config), "--out",
            str(tmp_path / "register.csv"))
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix not in (".toml", ".key", ".lock")]
    assert any(p.name == "archive.db" for p in files) and any(p.name == "posts.jsonl" for p in files)
    for path in files:
        data = path.read_bytes()
        for trace in traces(erased):
            assert trace not in data, (path, trace)
    wal = tmp_path / "archive.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0 or all(t not in wal.read_bytes() for t in traces(erased))


def test_an_erased_author_is_not_collected_again(archive, run_cli, tmp_path):
    config, _ = archive
    forget_author(run_cli, config)
    before = count_posts(tmp_path)
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("DELETE FROM cursors")  # the next collect reads the whole timeline again
    conn.commit()
    conn.close()
    assert run_cli("collect", "-q", "-c", str(config)).exit_code == 0
    assert count_posts(tmp_path) == before
    assert rows(tmp_path, "SELECT count(*) AS n FROM posts WHERE author = ?", [HANDLE])[0]["n"] == 0


def test_the_audit_record_is_readable_and_holds_no_content(archive, run_cli, tmp_path):
    config, erased = archive
    forget_author(run_cli, config)
    [audit] = rows(tmp_path, "SELECT * FROM erasures")
    counts = json.loads(audit["counts"])
    assert counts["posts"] == 2 and counts["authors"] == 1 and counts["post_versions"] == 0
    assert audit["scope"] == "author" and audit["reason"] == "erasure request by [erased]" and audit["by"]
    assert len(json.loads(audit["hashes"])) == 3  # the account and its two posts, as keyed hashes
    for trace in traces(erased):
        assert trace.decode() not in json.dumps(audit)


def test_a_kept_post_that_named_the_author_is_rewritten_its_new_digest_stored_and_the_change_logged(
        archive, run_cli, tmp_path):
    config, _ = archive
    forget_author(run_cli, config)
    [kept] = rows(tmp_path, "SELECT p.id, p.text, pp.raw FROM posts p JOIN post_payloads pp ON pp.post_id = p.id"
                            " WHERE p.author = 'head_teacher@fake.social'")
    assert "[erased]" in kept["text"] and json.loads(kept["raw"])["mentions"] == [{"erased": True}]
    assert rows(tmp_path, "SELECT outcome, detail FROM fixity_events WHERE object = ?",
                [f"post_payloads/{kept['id']}"]) == [{"outcome": "altered",
                                                     "detail": '{"reason": "rewritten by an erasure"}'}]
    assert run_cli("verify", "-c", str(config)).exit_code == 0


def test_forgetting_one_post_by_its_url_leaves_the_rest(archive, run_cli, tmp_path):
    config, erased = archive
    before = count_posts(tmp_path)
    result = run_cli("forget", "-c", str(config), "--post", erased[1]["url"], "--reason", "asked", "--yes")
    assert result.exit_code == 0, result.output
    assert count_posts(tmp_path) == before - 1
    assert rows(tmp_path, "SELECT count(*) AS n FROM posts WHERE key = ?", [erased[0]["uri"]])[0]["n"] == 1


def test_forget_asks_first_and_erases_nothing_when_refused(archive, run_cli, tmp_path):
    config, _ = archive
    before = count_posts(tmp_path)
    result = run_cli("forget", "-c", str(config), "--author", HANDLE, "--platform", "mastodon", "--reason", "x",
                     input="n\n")
    assert result.exit_code == 1 and "Erase for good: 2 posts" in result.output
    assert count_posts(tmp_path) == before and rows(tmp_path, "SELECT count(*) AS n FROM erasures")[0]["n"] == 0


def test_forgetting_someone_the_archive_does_not_hold_says_so(archive, run_cli):
    config, _ = archive
    result = run_cli("forget", "-c", str(config), "--author", "nobody@fake.social", "--platform", "mastodon",
                     "--reason", "x", "--yes")
    assert result.exit_code == 1 and "no author 'nobody@fake.social' on mastodon" in result.output


def test_a_platform_deletion_goes_the_same_way_keeping_only_the_proof(archive, run_cli, fake_mastodon, tmp_path):
    config, erased = archive
    fake_mastodon.delete(erased[1]["uri"])
    assert run_cli("refresh", "-c", str(config)).exit_code == 0
    [tomb] = rows(tmp_path, "SELECT id, text, deleted_at FROM posts WHERE key = ?", [erased[1]["uri"]])
    assert tomb["text"] is None and tomb["deleted_at"]
    for table in ("post_payloads", "post_terms", "post_versions", "testimony_decisions"):
        assert rows(tmp_path, f"SELECT count(*) AS n FROM {table} WHERE post_id = ?", [tomb["id"]])[0]["n"] == 0
    assert SECRET[:60].encode() + b" (1)" not in (tmp_path / "archive.db").read_bytes()


def test_forget_names_the_earlier_reports_that_still_quote_what_it_erased(archive, run_cli, tmp_path):
    config, _ = archive
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("UPDATE testimonies SET status = 'accepted' WHERE post_id IN (SELECT id FROM posts WHERE author = ?)",
                 [HANDLE])
    conn.commit()
    conn.close()
    run_cli("report", "-c", str(config), *AROUND_THEM)
    result = forget_author(run_cli, config)
    assert result.exit_code == 0
    assert "files written before this erasure still quote it" in result.output
    assert "report.html" in result.output and "report.xlsx" in result.output


@pytest.mark.parametrize("cursor, moved", [("1700000000.0:t3_gone", "1700000000.0:"),
                                           ("117000000000000042", "117000000000000041")])
def test_a_cursor_that_names_an_erased_post_moves_just_before_it(tmp_path, cursor, moved):
    from monitor.archive import erasure, open_archive, save_page, start_run
    from monitor.core.records import Author, Fetch, Page, Post

    db = open_archive(tmp_path / "archive.db")
    key = cursor.split(":")[-1] if ":" in cursor else f"https://fake.social/users/a/statuses/{cursor}"
    author = Author("mastodon", "https://fake.social/users/a", "a@fake.social")
    gone = Post("mastodon", key, None, author, "2026-11-02T09:00:00.000000+00:00", "text", {"id": cursor},
                local_id=cursor.split(":")[-1])
    fetch = Fetch("mastodon", "fake.social", "GET", "http://fake/api", {}, 200, "2026-11-02T09:00:00+00:00")
    save_page(db, Page("mastodon", "fake.social", "t", [gone], [fetch], cursor), start_run(db, "test"))
    erasure.erase(db, tmp_path / "archive.db", erasure.find(db, post=key), reason="asked", by="test")
    assert db.execute("SELECT position FROM cursors").fetchone()[0] == moved
