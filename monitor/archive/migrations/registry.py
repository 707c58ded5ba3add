"""The migration set and the decorator that adds to it, in definition order."""

from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("campaign_monitor")
MIGRATION_NAMES: list[str] = []


def migration(fn):
    """Register `fn` as the next migration; the order of definition is the order applied."""
    MIGRATION_NAMES.append(fn.__name__)
    return migrations()(fn)

