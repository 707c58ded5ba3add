"""Migrations from m020: what reports count, kept where an index can count it."""

from __future__ import annotations

from sqlite_utils import Database

from monitor.archive.migrations.reading import VISIBLE_SELECT
from monitor.archive.migrations.registry import migration
from monitor.archive.rollups import SHOWN, rebuild, triggers


@migration
def m020_review_and_rollups(db: Database) -> None:
    """`posts.review`, `term_days` and `post_hours` (see `monitor.archive.rollups`), filled from the
    archive as it is, before their triggers exist (so nothing is counted twice); the report
    index gains `review`, and `visible_posts` takes its rule from it."""
    db.execute("ALTER TABLE posts ADD COLUMN review TEXT NOT NULL DEFAULT 'unchecked'")
    db.execute("CREATE TABLE post_hours (hour TEXT NOT NULL, platform TEXT NOT NULL, source TEXT NOT NULL,"
               " review TEXT NOT NULL, posts INTEGER NOT NULL, engagement INTEGER NOT NULL,"
               " PRIMARY KEY (hour, platform, source, review)) WITHOUT ROWID")
    db.execute("CREATE TABLE term_days (day TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,"
               " posts INTEGER NOT NULL, PRIMARY KEY (day, kind, value)) WITHOUT ROWID")
    rebuild(db)
    db.execute("DROP INDEX idx_posts_report")
    db.execute("CREATE INDEX idx_posts_report ON posts (created_at, platform, source, author_id, likes, reposts,"
               " replies, quotes, review) WHERE deleted_at IS NULL")
    for statement in triggers():
        db.execute(statement)
    db.execute("DROP VIEW visible_posts")
    db.execute(f"CREATE VIEW visible_posts AS {VISIBLE_SELECT} WHERE {SHOWN}")
