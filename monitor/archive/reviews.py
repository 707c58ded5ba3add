"""Testimony rows: the model's scores, reviewers' decisions and redactions, face flags.

Scoring and review logic lives in `monitor.testimonies`; what it decides is written here,
each change in one transaction, so a decision and its history row never part.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from sqlite_utils import Database

from monitor.archive.db import write_transaction
from monitor.archive.posts import replace_text
from monitor.core.clock import utc_now


def store_scores(db: Database, scored: Iterable[tuple[int, dict[str, Any]]], model_version: str) -> None:
    """Each (post id, assessment) as the post's score: a reviewer's status is kept, a raised flag stays raised."""
    now = utc_now()
    with write_transaction(db):
        db.conn.executemany(
            "INSERT INTO testimonies (post_id, score, reasons, status, flagged, flag_reasons, consent, scored_at,"
            " model_version) VALUES (?, ?, ?, ?, ?, ?, 'unknown', ?, ?) ON CONFLICT (post_id) DO UPDATE SET"
            " score = excluded.score, reasons = excluded.reasons, scored_at = excluded.scored_at,"
            " model_version = excluded.model_version,"
            " flag_reasons = CASE WHEN excluded.flagged THEN excluded.flag_reasons ELSE flag_reasons END,"
            " flagged = max(flagged, excluded.flagged),"
            " status = CASE WHEN status IN ('accepted', 'rejected') THEN status ELSE excluded.status END",
            [(post_id, r["score"], r["reasons"], r["status"], r["flagged"], r["flag_reasons"], now, model_version)
             for post_id, r in scored],
        )


def record_decision(db: Database, post_id: int, status: str, consent: str, note: str | None, by: str) -> None:
    """A reviewer's accept or reject, with its row in the history."""
    now = utc_now()
    with write_transaction(db):
        db.execute("UPDATE testimonies SET status = ?, consent = ?, note = coalesce(?, note), decided_at = ?,"
                   " decided_by = ? WHERE post_id = ?", [status, consent, note, now, by, post_id])
        db.execute("INSERT INTO testimony_decisions (post_id, action, status, consent, note, decided_by, decided_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)", [post_id, status, status, consent, note, by, now])


def store_redaction(db: Database, post_id: int, text: str, result: dict[str, Any], flag_reasons: str,
                    model_version: str, by: str, media_text: str | None = None) -> None:
    """The redacted text replaces the post's text everywhere but the raw payloads, and
    `media_text` what its pictures say (for good: the reading job leaves it alone).

    An earlier redaction's text is dropped from the history: it may hold words this one removes.
    """
    now = utc_now()
    with write_transaction(db):
        db.execute("UPDATE testimonies SET display_text = ?, score = ?, reasons = ?, model_version = ?,"
                   " media_text_redacted = 1,"
                   " flag_reasons = CASE WHEN flagged OR ? THEN ? ELSE flag_reasons END, flagged = max(flagged, ?)"
                   " WHERE post_id = ?",
                   [text, result["score"], result["reasons"], model_version, result["flagged"],
                    flag_reasons, result["flagged"], post_id])
        db.execute("UPDATE testimony_decisions SET display_text = NULL WHERE post_id = ? AND action = 'redact'",
                   [post_id])
        db.execute("INSERT INTO testimony_decisions (post_id, action, display_text, decided_by, decided_at)"
                   " VALUES (?, 'redact', ?, ?, ?)", [post_id, text, by, now])
        replace_text(db, post_id, text)
        db.execute("UPDATE posts SET media_text = ? WHERE id = ?", [media_text, post_id])


def record_faces(db: Database, media_id: int, post_id: int, sha256: str, faces: int, label: str) -> None:
    """How many faces a stored image shows; any face flags its post until a reviewer accepts it."""
    with write_transaction(db):
        db.execute("UPDATE media_files SET faces = ? WHERE id = ?", [faces, media_id])
        if faces:
            row = db.execute("SELECT flag_reasons FROM testimonies WHERE post_id = ?", [post_id]).fetchone()
            reasons = json.loads((row[0] if row else None) or "[]")
            reasons.append({"label": label, "media_sha256": sha256})
            db.execute("UPDATE testimonies SET flagged = 1, flag_reasons = ? WHERE post_id = ?",
                       [json.dumps(reasons), post_id])
