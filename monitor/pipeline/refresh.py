"""Re-reading archived posts: engagement over time, edits, and deletions on the platforms.

Reach changes after a post is collected, so posts younger than `[schedule]
refresh_window` are re-read in batches (within the shared fault policy): each re-read
stores a timestamped snapshot of the counts, an edit becomes a new version, and a post
its platform no longer serves becomes a content-free tombstone.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

from monitor.core.records import RefreshBatch, SourceError
from monitor.archive import finish_run, record_source_result, save_refresh, start_run
from monitor.core.clock import to_utc_iso
from monitor.pipeline.collect import SourceOutcome, collapse, run_status
from monitor.core.config import Config

log = logging.getLogger("campaign_monitor.refresh")


def _due(db, platform: str, since: str) -> dict[str, list[tuple[str, str]]]:
    """(key, local id) of the live posts younger than the window, by the source they came from."""
    by_source: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in db.query(
        "SELECT source, key, local_id FROM posts WHERE platform = ? AND deleted_at IS NULL"
        " AND created_at >= ? ORDER BY source, created_at", [platform, since]
    ):
        by_source[row["source"]].append((row["key"], row["local_id"]))
    return by_source


def _mastodon(config: Config, due, on_retry) -> Iterator[tuple[str, Iterator[RefreshBatch]]]:
    from collectors import mastodon

    urls = {mastodon.source_name(u): u for u in config.mastodon.instances}
    for source, items in due.items():
        if source not in urls:
            log.warning("mastodon %s: no longer in [mastodon] instances; its %d posts are not refreshed",
                        source, len(items))
            continue
        conn = mastodon.connect(urls[source], mastodon.token_for(urls[source]), config.http)
        yield source, mastodon.refresh(conn, items, policy=config.http, on_retry=on_retry)


def _reddit(config: Config, due, on_retry) -> Iterator[tuple[str, Iterator[RefreshBatch]]]:
    from collectors import reddit

    creds = reddit.credentials()
    if creds is None:
        return
    conn = reddit.connect(config.reddit, config.reddit.subreddits[0], creds, config.http)
    keys = [key for items in due.values() for key, _ in items]
    yield "reddit", reddit.refresh(config.reddit, conn, keys, policy=config.http, on_retry=on_retry)


def _bluesky(config: Config, due, on_retry) -> Iterator[tuple[str, Iterator[RefreshBatch]]]:
    from collectors import bluesky

    creds = bluesky.credentials()
    if creds is None:
        return
    conn = bluesky.connect(config.bluesky, creds, config.http)
    uris = [key for items in due.values() for key, _ in items]
    yield conn.source, bluesky.refresh(conn, uris, on_retry=on_retry)


REFRESHERS: dict[str, Callable] = {"mastodon": _mastodon, "reddit": _reddit, "bluesky": _bluesky}


def run_refresh(config: Config, db, *, stop: threading.Event | None = None,
                command: str = "refresh", now: datetime | None = None) -> list[SourceOutcome]:
    """Re-read every platform's recent posts once; return what happened per source."""
    stop = stop or threading.Event()
    since = to_utc_iso((now or datetime.now(timezone.utc)) - timedelta(seconds=config.schedule.refresh_window))
    run_id = start_run(db, command)
    outcomes: list[SourceOutcome] = []
    status = "failed"
    try:
        for platform in config.platforms:
            due = _due(db, platform, since)
            if not due:
                continue
            for source, batches in REFRESHERS[platform](config, due, log.warning):
                outcome = SourceOutcome(platform, source)
                outcomes.append(outcome)
                try:
                    for batch in batches:
                        saved = save_refresh(db, batch, run_id)
                        outcome.updated += saved.updated
                        outcome.requests += len(batch.fetches)
                        outcome.warnings += [f"{key}: deleted ({why}); content removed" for key, why in batch.gone.items()]
                        if stop.is_set():
                            break
                except SourceError as e:
                    outcome.requests += len(e.fetches)
                    outcome.errors.append(str(e))
                if stop.is_set():
                    break
        from monitor.pipeline.media import purge

        purge(db, config)  # files of posts found deleted go too
        status = run_status(outcomes, stop.is_set())
    finally:
        for o in outcomes:
            record_source_result(db, run_id, o.platform, o.source, status="ok" if o.ok else "failed", new=0,
                                 updated=o.updated, requests=o.requests, warnings=collapse(o.warnings),
                                 error="; ".join(o.errors) or None)
        finish_run(db, run_id, status)
    return outcomes
