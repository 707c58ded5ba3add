"""Migrations from m012: rows that reports read stay small; what they count is indexed."""

from __future__ import annotations

import json

from sqlite_utils import Database

from monitor.archive.migrations.registry import migration
from monitor.archive.posts import digest
from monitor.archive.terms import add_terms

BATCH = 5_000


@migration
def m012_payloads_and_terms(db: Database) -> None:
    """Raw payloads move to `post_payloads`; links, hashtags and mentions get `post_terms`.

    Why: a payload is 2-4 KB, larger than a page, and SQLite reaches every column stored
    after it (deleted_at, revision...) through its overflow pages, so each live-post check
    read the whole payload; with it gone a posts row is a few hundred bytes. Each payload
    gets the sha256 of its stored JSON: `digest_origin` says 'fetched' when computed as it
    was received and 'migrated' for those computed here from what the archive already held
    (proof that nothing changed since now, not since the fetch).
    `post_terms` is filled from the text outputs show (a redaction, where there is one).
    """
    db.execute(
        "CREATE TABLE post_payloads (post_id INTEGER PRIMARY KEY REFERENCES posts(id), raw TEXT NOT NULL,"
        " sha256 TEXT NOT NULL, fetch_id INTEGER REFERENCES fetches(id), digest_origin TEXT NOT NULL)"
    )
    db.execute(
        "CREATE TABLE post_terms (post_id INTEGER NOT NULL REFERENCES posts(id), kind TEXT NOT NULL,"
        " value TEXT NOT NULL, PRIMARY KEY (post_id, kind, value)) WITHOUT ROWID"
    )
    last = 0
    while rows := db.execute(
        "SELECT p.id, p.raw, p.raw_fetch_id, p.deleted_at, coalesce(t.display_text, p.text), p.hashtags, p.url"
        " FROM posts p LEFT JOIN testimonies t ON t.post_id = p.id WHERE p.id > ? ORDER BY p.id LIMIT ?",
        [last, BATCH],
    ).fetchall():
        last = rows[-1][0]
        live = [r for r in rows if r[3] is None]  # a tombstone keeps no payload and no terms
        db.conn.executemany(
            "INSERT INTO post_payloads (post_id, raw, sha256, fetch_id, digest_origin) VALUES (?, ?, ?, ?, 'migrated')",
            [(r[0], r[1], digest(r[1]), r[2]) for r in live],
        )
        add_terms(db, [(r[0], r[4], json.loads(r[5] or "[]"), r[6]) for r in live])
    db.execute("ALTER TABLE posts DROP COLUMN raw")
