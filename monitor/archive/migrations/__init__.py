"""The archive's schema, as an ordered list of migrations (sqlite-utils `Migrations`).

The migrations are the only source of truth for the schema: no table is created lazily
elsewhere. `PRAGMA user_version` mirrors how many have been applied, so an archive
written by a newer campaign-monitor is recognised and refused instead of damaged.
Each module below registers its migrations as it is imported, so the import order at the
end of this file is the order they apply in.
"""

from __future__ import annotations

from monitor.archive.migrations import collection, lean  # noqa: F401  (imported to register, in this order)
from monitor.archive.migrations.registry import MIGRATION_NAMES, migration, migrations

__all__ = ["MIGRATION_NAMES", "migration", "migrations"]
