"""The reading job: download the pictures and videos it needs, read them, score their posts again.

It runs after collection (in the daemon) or from `campaign-monitor media read`, never in
the collect path: reading costs about half a second a picture and a few seconds a video.
Each file is read once, whatever posts carry it; a file that fails to decode is recorded
and never blocks the others; the posts whose media text changed are scored again, so a
poster can make a post a testimony candidate or raise a safeguarding flag on its own.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from sqlite_utils import Database

from monitor.archive import media, media_text
from monitor.core.config import Config
from monitor.pipeline.media import fetch_media
from monitor.testimonies import pictures
from monitor.testimonies.faces import check_faces, flag_video_faces
from monitor.testimonies.scoring import score_posts

log = logging.getLogger("campaign_monitor.reading")
Progress = Callable[[str, int, int], None]


def _kind(row: dict) -> str:
    mime = row["mime_type"] or ""
    if mime.startswith("image/"):
        return "image"
    if mime.startswith("video/") or row["kind"] in ("video", "gifv"):
        return "video"
    return "image"  # unknown: tried as a picture, recorded as unreadable if it is not one


def read_file(path: Path, kind: str, config: Config, progress: Callable[[int, int], None] | None = None
              ) -> pictures.Reading:
    r = config.reading
    if kind == "video":
        return pictures.read_video(path, per_second=r.per_second, max_frames=r.max_frames, max_seconds=r.max_seconds,
                                   min_confidence=r.min_confidence, progress=progress)
    return pictures.read_image(path, r.min_confidence)


def read_media(db: Database, config: Config, *, limit: int | None = None, progress: Progress | None = None
               ) -> dict[str, int]:
    """Fetch what reading needs (under the media rules of `monitor.pipeline.media`), look for
    faces in new pictures, read up to `limit` files; return counts. Never raises for one file."""
    limit = limit or config.reading.per_run
    counts = {"read": 0, "unreadable": 0, "failed": 0, "lines": 0, "rescored": 0}
    fetched = fetch_media(db, config, (lambda done, total: progress("downloading", done, total)) if progress else None,
                          every_post=config.reading.all_posts, limit=limit)
    counts.update({f"downloaded_{k}": v for k, v in fetched.items() if v})
    counts["faces"] = check_faces(db, config)
    engine = pictures.engine_name()
    todo = media_text.unread(db, limit, engine=engine)
    changed: set[int] = set()
    root = config.archive.parent
    for done, row in enumerate(todo, 1):
        kind = _kind(row)
        frames = (lambda read, budget, n=done: progress(f"reading a video ({n}/{len(todo)}), frames", read, budget)
                  ) if progress and kind == "video" else None
        try:
            reading = read_file(root / row["path"], kind, config, frames)
        except pictures.Unreadable as e:
            log.info("media %s of post %s: %s", row["sha256"], row["post_id"], e)
            changed.update(media.record_reading(db, row["sha256"], kind=kind, status="unreadable", engine=engine,
                                                     error=str(e)))
            counts["unreadable"] += 1
        except Exception as e:  # noqa: BLE001 - one file never stops the others; retried later
            log.exception("reading media %s of post %s failed", row["sha256"], row["post_id"])
            changed.update(media.record_reading(db, row["sha256"], kind=kind, status="failed", engine=engine,
                                                     error=f"{type(e).__name__}: {e}"))
            counts["failed"] += 1
        else:
            changed.update(media.record_reading(
                db, row["sha256"], kind=reading.kind, status="read", engine=engine, text=reading.text,
                lines=reading.lines_json(), frames=reading.frames or None, seconds=reading.seconds,
                truncated=reading.truncated))
            if reading.faces is not None:  # a video's frames: flagged as a picture with a face is
                counts["faces"] += flag_video_faces(db, row["sha256"], reading.faces)
            counts["read"] += 1
            counts["lines"] += len(reading.lines)
        if progress:
            progress("reading", done, len(todo))
    if changed:  # marked to be scored again by record_reading: done now, or by the next scoring if stopped
        score_posts(db, config)
        counts["rescored"] = len(changed)
    return counts
