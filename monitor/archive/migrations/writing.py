"""Migrations from m021: what the writer pays for on every post it inserts."""

from __future__ import annotations

from sqlite_utils import Database

from monitor.archive.migrations.registry import migration
from monitor.archive.posts import KEY_ORDER


@migration
def m021_posts_key_in_time_order(db: Database) -> None:
    """The posts' unique index ordered by each key's id (`KEY_ORDER`) before the key itself: the
    same uniqueness (the order is a function of the key), but new posts are inserted at its end
    instead of beside each of their authors' earlier posts (see `monitor.archive.posts`)."""
    db.execute(f"CREATE UNIQUE INDEX idx_posts_key_order ON posts (platform, {KEY_ORDER}, key)")
    db.execute("DROP INDEX idx_posts_platform_key")
