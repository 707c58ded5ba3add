"""The content-addressed media store beside the archive and the `media_files` rows that index it.

`media/sha256/ab/cd/abcd…` holds each file once, whatever post or URL it came from.
Downloading is the pipeline's (`monitor.pipeline.media`); recording what a download came
to, what a file was read to say (`media_text`), and removing files no kept post holds, is done here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.archive import media_text
from monitor.archive.db import write_transaction
from monitor.core.clock import utc_now


def store_root(archive: Path) -> Path:
    return archive.parent / "media"


def record_download(db: Database, post_id: int, url: str, kind: str, status: str, *, sha256: str | None = None,
                    mime_type: str | None = None, size: int | None = None, path: str | None = None,
                    error: str | None = None) -> None:
    """One try at one attachment: its outcome, and one more attempt counted."""
    with write_transaction(db):
        db.execute(
            "INSERT INTO media_files (post_id, source_url, kind, status, sha256, mime_type, size, path, attempts,"
            " last_error, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (post_id, source_url)"
            " DO UPDATE SET status = excluded.status, sha256 = excluded.sha256, mime_type = excluded.mime_type,"
            " size = excluded.size, path = excluded.path, attempts = attempts + 1,"
            " last_error = excluded.last_error, fetched_at = excluded.fetched_at",
            [post_id, url, kind, status, sha256, mime_type, size, path, error, utc_now()],
        )


def record_reading(db: Database, sha256: str, *, kind: str, status: str, engine: str, text: str = "",
                   lines: list[dict[str, Any]] | None = None, frames: int | None = None,
                   seconds: float | None = None, truncated: bool = False, error: str | None = None) -> list[int]:
    """One file's reading (or why there is none), and the media text of every post carrying it,
    in one transaction. Returns the posts whose media text changed: they are scored again."""
    with write_transaction(db):
        db.execute(
            "INSERT INTO media_text (sha256, kind, status, engine, text, lines, frames, seconds, truncated, attempts,"
            " error, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (sha256) DO UPDATE SET"
            " kind = excluded.kind, status = excluded.status, engine = excluded.engine, text = excluded.text,"
            " lines = excluded.lines, frames = excluded.frames, seconds = excluded.seconds,"
            " truncated = excluded.truncated, error = excluded.error, read_at = excluded.read_at,"
            " attempts = CASE WHEN media_text.engine IS excluded.engine THEN media_text.attempts + 1 ELSE 1 END",
            [sha256, kind, status, engine, text, json.dumps(lines or []), frames, seconds, int(truncated), error,
             utc_now()],
        )
        posts = [r[0] for r in db.execute("SELECT DISTINCT post_id FROM media_files WHERE sha256 = ?", [sha256])]
        return media_text.refresh(db, posts)


def purge(db: Database, archive: Path) -> int:
    """Delete the stored files of posts deleted on their platform, unless another post has the same file."""
    root = store_root(archive)
    removed = 0
    rows = db.execute("SELECT id, sha256, path FROM media_files WHERE status = 'deleted' AND path IS NOT NULL").fetchall()
    for media_id, sha, path in rows:
        shared = db.execute("SELECT 1 FROM media_files WHERE sha256 = ? AND status = 'stored' LIMIT 1", [sha]).fetchone()
        target = root.parent / path
        if not shared and target.exists():
            target.unlink()
            removed += 1
        with write_transaction(db):
            db.execute("UPDATE media_files SET path = NULL WHERE id = ?", [media_id])
    return removed
