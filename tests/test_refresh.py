"""`campaign-monitor refresh`: engagement snapshots, edits kept as versions, deletions as tombstones."""

from __future__ import annotations

import json

from tests.conftest import (
    bluesky_section,
    count_posts,
    reddit_section,
    rows,
    write_config,
)
from tests.fakes.bluesky import post_view
from tests.fakes.mastodon import FakeMastodon, seed, status
from tests.fakes.reddit import submission
from tests.fakes.server import json_response


def post(tmp_path, key):
    [row] = rows(tmp_path, "SELECT * FROM posts WHERE key = ?", [key])
    return row


def test_refresh_stores_a_snapshot_and_the_grown_counts(fake_mastodon, config_for, run_cli, tmp_path):
    [s] = seed(fake_mastodon, 1)
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    fake_mastodon.change(s["uri"], favourites_count=40, reblogs_count=9)
    assert run_cli("refresh", "-c", str(config)).exit_code == 0
    fake_mastodon.change(s["uri"], favourites_count=41)
    run_cli("refresh", "-c", str(config))
    snapshots = rows(tmp_path, "SELECT likes, reposts, observed_at FROM engagement_snapshots ORDER BY id")
    assert [(r["likes"], r["reposts"]) for r in snapshots] == [(40, 9), (41, 9)]
    assert snapshots[0]["observed_at"] < snapshots[1]["observed_at"]
    assert post(tmp_path, s["uri"])["likes"] == 41


def test_refresh_keeps_the_earlier_text_of_an_edited_post(fake_mastodon, config_for, run_cli, tmp_path):
    [s] = seed(fake_mastodon, 1)
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    fake_mastodon.edit(s["uri"], "Edited after a parent's comment #AspireNotToExclude")
    run_cli("refresh", "-c", str(config))
    assert post(tmp_path, s["uri"])["text"].startswith("Edited after")
    [old] = rows(tmp_path, "SELECT text FROM post_versions")
    assert "Our nurture group kept Sam" in old["text"]


def test_deleted_post_becomes_a_content_free_tombstone(fake_mastodon, config_for, run_cli, tmp_path):
    statuses = seed(fake_mastodon, 3)
    gone = statuses[1]["uri"]
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    fake_mastodon.edit(gone, "an edit, so a version exists")
    run_cli("refresh", "-c", str(config))
    fake_mastodon.delete(gone)
    result = run_cli("refresh", "-c", str(config))
    assert result.exit_code == 0
    tomb = post(tmp_path, gone)
    assert tomb["deleted_at"] and "HTTP 404" in tomb["deletion_reason"]
    assert tomb["text"] is None and tomb["media"] == "[]"
    for kept in ("post_versions", "post_payloads", "post_terms"):
        assert rows(tmp_path, f"SELECT count(*) AS n FROM {kept} WHERE post_id = ?", [tomb["id"]])[0]["n"] == 0
    assert b"an edit, so a version exists" not in (tmp_path / "archive.db").read_bytes()
    assert count_posts(tmp_path) == 3


def test_tombstone_is_never_collected_again(fake_mastodon, second_mastodon, config_for, run_cli, tmp_path):
    [s] = seed(fake_mastodon, 1)
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    fake_mastodon.delete(s["uri"])
    run_cli("refresh", "-c", str(config))
    second_mastodon.add(s)  # a stale copy still federated elsewhere
    config = config_for(fake_mastodon, second_mastodon)
    run_cli("collect", "-c", str(config))
    assert post(tmp_path, s["uri"])["text"] is None


def test_posts_older_than_the_window_are_not_refreshed(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 2)  # created three days ago
    config = config_for(fake_mastodon, extra='\n[schedule]\nrefresh_window = "1h"\n')
    run_cli("collect", "-c", str(config))
    fake_mastodon.requests.clear()
    run_cli("refresh", "-c", str(config))
    assert fake_mastodon.requests_to("/api/v1/statuses") == []


def test_statuses_are_re_read_twenty_at_a_time(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 45)
    config = config_for(fake_mastodon, extra='\n[schedule]\nrefresh_window = "3650d"\n')
    run_cli("collect", "-c", str(config))
    run_cli("refresh", "-c", str(config))
    batches = [len(r.multi["id[]"]) for r in fake_mastodon.requests_to("/api/v1/statuses") if "id[]" in r.multi]
    assert batches == [20, 20, 5]
    assert rows(tmp_path, "SELECT count(*) AS n FROM engagement_snapshots")[0]["n"] == 45


def test_instance_without_the_batch_endpoint_is_asked_one_status_at_a_time(config_for, run_cli, tmp_path):
    with FakeMastodon("old.example") as old:
        seed(old, 3)
        config = config_for(old, extra='\n[schedule]\nrefresh_window = "3650d"\n')
        run_cli("collect", "-c", str(config))
        original = old.route
        old.route = lambda r: (original(r) if r.path != "/api/v1/statuses"
                               else json_response(404, {"error": "Not Found"}))
        result = run_cli("refresh", "-c", str(config))
    assert result.exit_code == 0, result.output
    assert rows(tmp_path, "SELECT count(*) AS n FROM engagement_snapshots")[0]["n"] == 3
    assert rows(tmp_path, "SELECT count(*) AS n FROM posts WHERE deleted_at IS NOT NULL")[0]["n"] == 0


def test_reddit_removed_post_is_tombstoned_and_scores_are_refreshed(fake_reddit, tmp_path, run_cli):
    for n in range(3):
        fake_reddit.add(submission(n, created=1_790_000_000 + n))
    config = write_config(tmp_path / "campaign.toml", [], extra=reddit_section(fake_reddit, comments=False)
                          + '\n[schedule]\nrefresh_window = "3650d"\n')
    run_cli("collect", "-c", str(config))
    fake_reddit.remove("t3_1k00001")
    fake_reddit.posts[0]["score"] = 99
    assert run_cli("refresh", "-c", str(config)).exit_code == 0
    assert post(tmp_path, "t3_1k00001")["deletion_reason"] == "removed on Reddit (moderator)"
    assert post(tmp_path, "t3_1k00000")["likes"] == 99


def test_bluesky_deleted_post_is_tombstoned(fake_bluesky, tmp_path, run_cli):
    views = [fake_bluesky.add(post_view(n)) for n in range(3)]
    config = write_config(tmp_path / "campaign.toml", [], extra=bluesky_section(fake_bluesky))
    run_cli("collect", "-c", str(config))
    fake_bluesky.delete(views[2]["uri"])
    assert run_cli("refresh", "-c", str(config)).exit_code == 0
    assert post(tmp_path, views[2]["uri"])["deletion_reason"] == "no longer served by Bluesky"
    assert json.loads(post(tmp_path, views[0]["uri"])["hashtags"]) == ["aspirenottoexclude"]
    assert rows(tmp_path, "SELECT count(*) AS n FROM engagement_snapshots")[0]["n"] == 2


def test_deleting_a_testimony_removes_its_redaction_and_media_file(fake_mastodon, config_for, run_cli, tmp_path):
    from tests.test_testimonies import STORY

    s = fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    run_cli("media", "fetch", "-q", "-c", str(config))
    [media] = rows(tmp_path, "SELECT path FROM media_files")
    assert (tmp_path / media["path"]).exists()
    fake_mastodon.delete(s["uri"])
    run_cli("refresh", "-c", str(config))
    assert not (tmp_path / media["path"]).exists()
    assert rows(tmp_path, "SELECT status, path FROM media_files") == [{"status": "deleted", "path": None}]
    assert rows(tmp_path, "SELECT status FROM testimonies") == [{"status": "rejected"}]
