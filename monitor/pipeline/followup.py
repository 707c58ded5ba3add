"""What follows a collection: scoring the new posts, fetching testimonies' media, looking for faces,
reading what pictures and videos say ([reading]).

It runs in the pipeline, after the posts and cursors are committed, so none of it can fail
or slow a collection, and a report only ever reads what it left.
"""

from __future__ import annotations

import logging
from typing import Callable

from sqlite_utils import Database

from monitor.core.config import Config
from monitor.pipeline.media import fetch_media
from monitor.pipeline.reading import read_media
from monitor.testimonies.faces import check_faces
from monitor.testimonies.scoring import score_posts

log = logging.getLogger("campaign_monitor.followup")


def score_collected(config: Config, db: Database) -> None:
    """Score what was collected (a post is shown nowhere until it is checked): never fails a collection."""
    try:
        score_posts(db, config)
    except Exception:  # noqa: BLE001 - logged; the posts are safely stored already
        log.exception("scoring failed; 'campaign-monitor testimonies rescore' does it again")


def fetch_and_check_media(config: Config, db: Database,
                          progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Download testimonies' attachments, then look for faces in the new images."""
    counts = fetch_media(db, config, progress)
    counts["faces"] = check_faces(db, config)
    return counts


def after_collection(config: Config, db: Database) -> None:
    """The daemon's follow-up: scoring, then media and faces; none of it can fail a collection.

    The `collect` command stops after scoring, so it returns as soon as posts and cursors
    are committed; its media follow in the daemon or with `campaign-monitor media fetch`.
    """
    score_collected(config, db)
    try:
        fetch_and_check_media(config, db)
    except Exception:  # noqa: BLE001 - logged; every download is retried on a later run
        log.exception("media download or face check failed")
    if config.reading.enabled:
        try:
            counts = read_media(db, config)
            if counts["read"] or counts["unreadable"] or counts["failed"]:
                log.info("reading: %s", ", ".join(f"{n} {k}" for k, n in counts.items() if n))
        except Exception:  # noqa: BLE001 - logged; every file not read is read on a later run
            log.exception("reading pictures failed")
