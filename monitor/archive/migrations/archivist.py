"""Migrations from m013: what the archivist's tools (verify, erasure) keep, and what reports read."""

from __future__ import annotations

import secrets

from sqlite_utils import Database

from monitor.archive.migrations.registry import migration
from monitor.archive.posts import digest


@migration
def m013_fixity_events(db: Database) -> None:
    """PREMIS-style events: each verify check and each failed object, each deliberate change
    to a payload (an erasure). Appended, never updated: the archive's own fixity history."""
    db["fixity_events"].create(
        {"id": int, "at": str, "event_type": str, "check_name": str, "object": str, "outcome": str, "detail": str,
         "agent": str},
        pk="id",
        not_null={"at", "event_type", "object", "outcome"},
    )
    db["fixity_events"].create_index(["at"])


@migration
def m014_erasures(db: Database) -> None:
    """What `forget` keeps: a content-free audit of each erasure, and the keyed hashes of what
    it erased, so a later collection recognises an erased post or author and skips it.
    The key is this archive's own (`archive_meta`), made here: a hash proves nothing to
    whoever holds another archive, and the ids themselves are kept nowhere."""
    db["archive_meta"].create({"name": str, "value": str}, pk="name")
    db["archive_meta"].insert({"name": "erasure_key", "value": secrets.token_hex(32)})
    db["erasures"].create(
        {"id": int, "at": str, "by": str, "reason": str, "scope": str, "counts": str, "hashes": str}, pk="id")
    db.execute("CREATE TABLE erased_keys (hash TEXT PRIMARY KEY, erasure_id INTEGER REFERENCES erasures(id),"
               " kind TEXT NOT NULL) WITHOUT ROWID")


@migration
def m015_first_post_at(db: Database) -> None:
    """When each author's earliest archived post was made, kept on the author: a report tells new
    participants from returning ones with one lookup an author, not a seek into the posts' index
    for each (1.4 s of a cold one-week report on a million posts)."""
    db["authors"].add_column("first_post_at", str)
    db.execute("UPDATE authors SET first_post_at = (SELECT min(created_at) FROM posts WHERE author_id = authors.id)")


@migration
def m016_version_digests(db: Database) -> None:
    """Earlier versions' payloads get their sha256 too, carried over from the payload they were;
    those an older archive holds are computed here and marked 'migrated'."""
    db["post_versions"].add_column("raw_sha256", str)
    db["post_versions"].add_column("digest_origin", str)
    rows = db.execute("SELECT id, raw FROM post_versions").fetchall()
    db.conn.executemany("UPDATE post_versions SET raw_sha256 = ?, digest_origin = 'migrated' WHERE id = ?",
                        [(digest(raw or ""), vid) for vid, raw in rows])
