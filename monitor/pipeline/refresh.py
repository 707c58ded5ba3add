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

from monitor.archive import (
    finish_run,
    media,
    record_source_result,
    save_refresh,
    start_run,
)
from monitor.core import platforms as registry
from monitor.core.clock import to_utc_iso
from monitor.core.config import Config
from monitor.core.records import DELETED, Notice, SourceError
from monitor.pipeline.collect import SourceOutcome, collapse, run_status

log = logging.getLogger("campaign_monitor.refresh")


def _due(db, platform: str, since: str) -> dict[str, list[tuple[str, str]]]:
    """(key, local id) of the live posts younger than the window, by the source they came from."""
    by_source: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in db.query(
        "SELECT source, key, local_id FROM current_posts WHERE platform = ?"
        " AND created_at >= ? ORDER BY source, created_at", [platform, since]
    ):
        by_source[row["source"]].append((row["key"], row["local_id"]))
    return by_source


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
            for source, batches in registry.get(platform).refresh(config, due, log.warning):
                outcome = SourceOutcome(platform, source)
                outcomes.append(outcome)
                try:
                    for batch in batches:
                        saved = save_refresh(db, batch, run_id)
                        outcome.updated += saved.updated
                        outcome.requests += len(batch.fetches)
                        outcome.warnings += [Notice(DELETED, f"{key}: deleted ({why}); content removed") for key, why in batch.gone.items()]
                        if stop.is_set():
                            break
                except SourceError as e:
                    outcome.requests += len(e.fetches)
                    outcome.errors.append(str(e))
                if stop.is_set():
                    break
        media.purge(db, config.archive)  # files of posts found deleted go too
        status = run_status(outcomes, stop.is_set())
    finally:
        for o in outcomes:
            record_source_result(db, run_id, o.platform, o.source, status="ok" if o.ok else "failed", new=0,
                                 updated=o.updated, requests=o.requests, warnings=collapse(o.warnings),
                                 error="; ".join(o.errors) or None)
        finish_run(db, run_id, status)
    return outcomes
