"""Testimonies in the archive: scoring every post, and the reviewers' decisions.

The tool proposes, people decide: a score only ever makes a post a *candidate*; only a
reviewer accepts or rejects it, and every decision is kept with who and when, so changing
one keeps its history. A post that may identify a child is flagged and kept out of every
report and export until a reviewer accepts it (after redacting it, if need be).
"""

from __future__ import annotations

import getpass
import json
from typing import Any

from sqlite_utils import Database

from monitor.archive import write_transaction
from monitor.clock import utc_now
from monitor.config import Config
from monitor.testimony_signals import assess, compile_signals

STATUSES = ("candidate", "accepted", "rejected")
CONSENT = ("unknown", "asked", "granted", "refused")
# what reports and exports may show: accepted, or never flagged
VISIBLE = "(t.post_id IS NULL OR t.flagged = 0 OR t.status = 'accepted')"


class ReviewError(Exception):
    """A review command cannot be carried out; the message says why."""


def score_posts(db: Database, config: Config, *, rescore: bool = False) -> int:
    """Score posts not scored yet (all live posts with `rescore`); decisions are kept."""
    signals = compile_signals(config.testimonies.signals)
    where = "" if rescore else "AND t.post_id IS NULL"
    rows = db.execute(
        f"SELECT p.id, p.text FROM posts p LEFT JOIN testimonies t ON t.post_id = p.id"
        f" WHERE p.deleted_at IS NULL {where}"
    ).fetchall()
    now = utc_now()
    values = []
    for post_id, text in rows:
        a = assess(text or "", signals)
        status = "candidate" if a.candidate(config.testimonies.threshold) else "none"
        values.append((post_id, a.score, json.dumps(a.reasons), status, int(bool(a.flags)), json.dumps(a.flags), now))
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO testimonies (post_id, score, reasons, status, flagged, flag_reasons, consent, scored_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'unknown', ?) ON CONFLICT (post_id) DO UPDATE SET"
            " score = excluded.score, reasons = excluded.reasons, flagged = excluded.flagged,"
            " flag_reasons = excluded.flag_reasons, scored_at = excluded.scored_at,"
            " status = CASE WHEN status IN ('accepted', 'rejected') THEN status ELSE excluded.status END",
            values,
        )
    return len(values)


def reviewer(by: str | None) -> str:
    return by or getpass.getuser()


def _row(db: Database, post_id: int) -> dict[str, Any]:
    rows = list(db.query("SELECT t.*, p.text, p.url, p.platform, p.author, p.created_at, p.media"
                         " FROM testimonies t JOIN posts p ON p.id = t.post_id WHERE t.post_id = ?", [post_id]))
    if not rows:
        raise ReviewError(f"no testimony {post_id} (see 'campaign-monitor testimonies list')")
    return rows[0]


def decide(db: Database, post_id: int, status: str, *, by: str | None, note: str | None = None,
           consent: str | None = None) -> dict[str, Any]:
    """Accept or reject a testimony, keeping every earlier decision in `testimony_decisions`."""
    current = _row(db, post_id)
    now, who = utc_now(), reviewer(by)
    consent = consent or current["consent"] or "unknown"
    with write_transaction(db):
        db.execute("UPDATE testimonies SET status = ?, consent = ?, note = coalesce(?, note), decided_at = ?,"
                   " decided_by = ? WHERE post_id = ?", [status, consent, note, now, who, post_id])
        db.execute("INSERT INTO testimony_decisions (post_id, action, status, consent, note, decided_by, decided_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)", [post_id, status, status, consent, note, who, now])
    return _row(db, post_id)


def redact(db: Database, post_id: int, text: str, *, by: str | None) -> dict[str, Any]:
    """Replace the text every output shows; the original stays only in the raw payload."""
    _row(db, post_id)
    now, who = utc_now(), reviewer(by)
    with write_transaction(db):
        db.execute("UPDATE testimonies SET display_text = ? WHERE post_id = ?", [text, post_id])
        db.execute("INSERT INTO testimony_decisions (post_id, action, display_text, decided_by, decided_at)"
                   " VALUES (?, 'redact', ?, ?, ?)", [post_id, text, who, now])
        # the readable copies go too: what remains of the original is the raw payload
        db.execute("UPDATE posts SET text = ? WHERE id = ?", [text, post_id])
        db.execute("UPDATE post_versions SET text = ? WHERE post_id = ?", [text, post_id])
    return _row(db, post_id)


def listing(db: Database, status: str | None) -> list[dict[str, Any]]:
    where = "t.status = ?" if status else "t.status IN ('candidate', 'accepted', 'rejected')"
    return list(db.query(
        "SELECT t.post_id AS id, t.status, t.score, t.flagged, t.consent, p.platform, p.created_at,"
        " coalesce(t.display_text, p.text) AS text, p.url, t.reasons, t.flag_reasons FROM testimonies t"
        f" JOIN posts p ON p.id = t.post_id WHERE {where} AND p.deleted_at IS NULL"
        " ORDER BY t.score DESC, p.created_at", [status] if status else [],
    ))


def details(db: Database, post_id: int) -> dict[str, Any]:
    row = _row(db, post_id)
    row["decisions"] = list(db.query("SELECT * FROM testimony_decisions WHERE post_id = ? ORDER BY id", [post_id]))
    row["media_files"] = list(db.query("SELECT * FROM media_files WHERE post_id = ? ORDER BY id", [post_id]))
    return row


def after_collection(config: Config, db: Database) -> None:
    """Score what was collected, then fetch testimonies' media: neither can fail a collection."""
    import logging

    from monitor.media import fetch_media

    try:
        score_posts(db, config)
        fetch_media(db, config)
    except Exception:  # noqa: BLE001 - logged; the posts are safely stored already
        logging.getLogger("campaign_monitor.testimonies").exception("scoring or media download failed")
