"""Migrations from m018: what the daemon has alerted about."""

from __future__ import annotations

from sqlite_utils import Database

from monitor.archive.migrations.registry import migration


@migration
def m018_alerts(db: Database) -> None:
    """`alerts`: each spike alert and review digest sent, so a spike is announced once.

    A spike stays open (`ended_at` null) while its platform's hourly rate stays above the
    threshold; no second alert is sent for it. A digest's `window_end` is where the next
    one starts. `delivered` says where it went (JSON list), `error` what failed.
    """
    db["alerts"].create(
        {"id": int, "kind": str, "platform": str, "started_at": str, "ended_at": str, "window_start": str,
         "window_end": str, "posts": int, "baseline": float, "delivered": str, "error": str, "sent_at": str},
        pk="id",
    )
    db["alerts"].create_index(["kind", "platform", "ended_at"])
