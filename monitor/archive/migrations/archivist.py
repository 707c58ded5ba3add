"""Migrations from m013: what the archivist's tools (verify, erasure) keep."""

from __future__ import annotations

from sqlite_utils import Database

from monitor.archive.migrations.registry import migration


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
