"""The archive's schema, as an ordered list of migrations (sqlite-utils `Migrations`).

The migrations are the only source of truth for the schema: no table is created lazily
elsewhere. `PRAGMA user_version` mirrors how many have been applied, so an archive
written by a newer campaign-monitor is recognised and refused instead of damaged.
Each module registers its migrations as it is imported, so MODULES, imported in its order
(not by an import statement a sorter could reorder), is the order they apply in.
"""

from __future__ import annotations

import importlib

from monitor.archive.migrations.registry import MIGRATION_NAMES, migration, migrations

# m001-m011, m012, m013-m016, m017, m018, m019, m020, m021-
MODULES = ("collection", "lean", "archivist", "search", "alerts", "reading", "counting", "writing")
for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["MIGRATION_NAMES", "migration", "migrations"]
