"""The alerts table: which spikes are open, when the last digest went out, what was sent where."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from monitor.archive.db import write_transaction
from monitor.core.clock import utc_now


def open_spike(db: Database, platform: str) -> dict[str, Any] | None:
    """The spike already announced for `platform` and not yet over, if any."""
    rows = list(db.query("SELECT * FROM alerts WHERE kind = 'spike' AND platform = ? AND ended_at IS NULL"
                         " ORDER BY id DESC LIMIT 1", [platform]))
    return rows[0] if rows else None


def record_alert(db: Database, kind: str, *, platform: str | None = None, window_start: str, window_end: str,
                 posts: int, baseline: float | None = None, delivered: list[str], error: str | None) -> int:
    now = utc_now()
    with write_transaction(db):
        cursor = db.execute(
            "INSERT INTO alerts (kind, platform, started_at, window_start, window_end, posts, baseline, delivered,"
            " error, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [kind, platform, now, window_start, window_end, posts, baseline, json.dumps(delivered), error, now])
    return int(cursor.lastrowid)


def end_spike(db: Database, alert_id: int) -> None:
    with write_transaction(db):
        db.execute("UPDATE alerts SET ended_at = ? WHERE id = ?", [utc_now(), alert_id])


def last_digest_end(db: Database) -> str | None:
    row = db.execute("SELECT max(window_end) FROM alerts WHERE kind = 'digest' AND error IS NULL").fetchone()
    return row[0] if row else None
