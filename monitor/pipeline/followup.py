"""What follows a collection: scoring the new posts, fetching testimonies' media, looking for faces.

It runs in the pipeline, after the posts and cursors are committed, so none of it can fail
or slow a collection, and a report only ever reads what it left.
"""

from __future__ import annotations

import logging

from sqlite_utils import Database

from monitor.core.config import Config
from monitor.pipeline.media import fetch_media
from monitor.testimonies.faces import check_faces
from monitor.testimonies.scoring import score_posts

log = logging.getLogger("campaign_monitor.followup")


def after_collection(config: Config, db: Database) -> None:
    """Score what was collected, fetch testimonies' media, look for faces: none can fail a collection."""
    try:
        score_posts(db, config)
        fetch_media(db, config)
        check_faces(db, config)
    except Exception:  # noqa: BLE001 - logged; the posts are safely stored already
        log.exception("scoring, media download or face check failed")
