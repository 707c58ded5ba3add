"""What the archive holds, read for `campaign-monitor status`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from monitor.core.records import Notice


@dataclass
class ArchiveStatus:
    totals: dict[str, int]
    sources: list[dict[str, Any]]
    cursors: list[dict[str, Any]]
    last_run: dict[str, Any] | None
    schedule: list[dict[str, Any]]


def archive_status(db: Database) -> ArchiveStatus:
    totals = {
        table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("posts", "authors", "post_versions", "fetches", "runs")
    }
    totals["media_files"] = db.execute("SELECT count(DISTINCT sha256) FROM media_files WHERE status = 'stored'"
                                       ).fetchone()[0]
    totals.update({f"media_{status}": n for status, n in db.execute(
        "SELECT status, count(*) FROM media_text GROUP BY status")})
    posts_by_source = {
        (row["platform"], row["source"]): row
        for row in db.query(
            "SELECT platform, source, count(*) AS posts, min(created_at) AS oldest,"
            " max(created_at) AS newest FROM posts GROUP BY platform, source"
        )
    }
    latest = {
        (row["platform"], row["source"]): row
        for row in db.query(
            "SELECT s.*, r.started_at FROM source_runs s JOIN runs r ON r.id = s.run_id"
            " WHERE s.id IN (SELECT max(id) FROM source_runs GROUP BY platform, source)"
        )
    }
    sources = []
    for key in sorted(set(posts_by_source) | set(latest)):
        counts = posts_by_source.get(key, {})
        last = latest.get(key, {})
        sources.append(
            {
                "platform": key[0],
                "source": key[1],
                "posts": counts.get("posts", 0),
                "oldest": counts.get("oldest"),
                "newest": counts.get("newest"),
                "last_run_at": last.get("started_at"),
                "last_status": last.get("status"),
                "last_new": last.get("new_posts"),
                "last_requests": last.get("requests"),
                "last_warnings": [_said(w) for w in json.loads(last.get("warnings") or "[]")],
                "last_error": last.get("error"),
            }
        )
    cursors = list(
        db.query(
            "SELECT platform, source, stream, position, updated_at FROM cursors"
            " ORDER BY platform, source, stream"
        )
    )
    runs = list(db.query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"))
    schedule = list(db.query("SELECT * FROM schedule ORDER BY job"))
    return ArchiveStatus(totals, sources, cursors, runs[0] if runs else None, schedule)


def _said(notice: dict | str) -> str:
    """A stored notice as its one line (rows older than m010 that were not upgraded are plain text)."""
    if isinstance(notice, str):
        return notice
    return str(Notice(notice["kind"], notice["message"], notice.get("count", 1)))
