"""One archive, three platforms: every post exactly once, whatever the faults."""

from __future__ import annotations

import json
import sqlite3

from monitor.core import http
from tests.conftest import bluesky_section, reddit_section, write_config
from tests.fakes.bluesky import post_view
from tests.fakes.mastodon import seed
from tests.fakes.reddit import comment, submission


def test_collect_from_three_faulty_platforms_stores_every_post_once(
    fake_mastodon, second_mastodon, fake_reddit, fake_bluesky, tmp_path, run_cli, monkeypatch
):
    monkeypatch.setattr(http, "_sleep", lambda seconds: None)
    shared = seed(fake_mastodon, 90)
    for s in shared[:50]:
        second_mastodon.add(s)
    expected = {s["uri"] for s in shared}
    for n in range(130):
        post = submission(n)
        thread = [comment(f"c{n}", post, "Kept in school thanks to nurture #AspireNotToExclude")] if n % 10 == 0 else []
        fake_reddit.add(post, thread)
        expected.add(post["name"])
        expected |= {f"t1_c{n}"} if thread else set()
    for n in range(120):
        expected.add(fake_bluesky.add(post_view(n))["uri"])

    fake_mastodon.fail("429", path="/api/v1/timelines/", retry_after=1)
    second_mastodon.fail("malformed", path="/api/v1/timelines/")
    fake_mastodon.fail("truncated", path="/api/v1/timelines/")
    fake_reddit.fail("429", path="/r/", retry_after=1)
    fake_reddit.fail("html", path="/r/")
    fake_bluesky.fail("503", path="/xrpc/app.bsky.feed.searchPosts")
    fake_bluesky.fail("timeout", path="/xrpc/app.bsky.feed.searchPosts", delay=2.5)

    config = write_config(tmp_path / "campaign.toml", [fake_mastodon.url, second_mastodon.url],
                          extra=reddit_section(fake_reddit) + bluesky_section(fake_bluesky))
    first = run_cli("collect", "-c", str(config))
    assert first.exit_code == 0, first.output
    again = run_cli("collect", "-c", str(config))
    assert again.exit_code == 0, again.output

    conn = sqlite3.connect(tmp_path / "archive.db")
    keys = [row[0] for row in conn.execute("SELECT key FROM posts")]
    by_platform = dict(conn.execute("SELECT platform, count(*) FROM posts GROUP BY platform").fetchall())
    conn.close()
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert by_platform == {"mastodon": 90, "reddit": 143, "bluesky": 120}

    shown = run_cli("status", "-c", str(config), "--json")
    state = json.loads(shown.output)
    assert {s["platform"] for s in state["sources"]} == {"mastodon", "reddit", "bluesky"}
    assert {c["platform"] for c in state["cursors"]} == {"mastodon", "reddit", "bluesky"}
    conn = sqlite3.connect(tmp_path / "archive.db")
    first_run_warnings = [json.loads(w) for (w,) in conn.execute("SELECT warnings FROM source_runs WHERE run_id = 1")]
    conn.close()
    assert all(first_run_warnings), "every source met a fault in the first run and says so"
