"""`campaign-monitor browse`: Datasette over the archive, read-only, showing what a report may.

Datasette reads the archive through its own read-only connections (`mode=ro`), so it
is safe beside a collecting daemon. On each connection this module defines the report's
rule as SQL functions (`shown_author`, `shown_text`, `shown_link`, `shown_snippet`: the
report's `Disclosure`) and the `browse_posts` view that uses them, as a TEMP view: it
exists only where those functions do, so no other reader of the file meets a view it
cannot run. Post text reaches the page as text: Datasette escapes every cell, and the one
cell rendered here (a search snippet) is escaped before its matches are marked.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from markupsafe import Markup, escape
from pluggy import HookimplMarker

from monitor.core.config import Config
from reports.browse_metadata import (ARCHIVE, BROWSE_COUNTED, BROWSE_ROWS, BROWSE_SQL, BROWSE_VIEW,
                                     PASSWORD_ENV, metadata)
from reports.cells import spreadsheet
from reports.pseudonym import Disclosure, disclosure
from reports.search import END, RANKED, START, disclose_snippet, mark

PLUGIN = "campaign-monitor"
COUNT = f"select count(*) from {BROWSE_VIEW}"  # as Datasette's table page counts a view's rows
COUNT_MS = 400  # past this the page shows no count rather than wait: posts_by_day counts by day
# the search box's clause, as Datasette writes it; sorting every match of a word most posts have
# by date would take seconds, so the page's rows come from the RANKED matches collected last
SEARCH_BOX = "id in (select rowid from posts_fts where posts_fts match :search)"
hookimpl = HookimplMarker("datasette")  # datasette's own marker, without importing datasette


class _Rule:
    """The report's Disclosure, as Datasette hooks: SQL functions, the view, the snippet cell."""

    __name__ = PLUGIN  # Datasette lists plugins by their module's name; this one is an object

    def __init__(self, shown: Disclosure):
        self.shown = shown

    def author(self, platform: str | None, handle: str | None) -> str | None:
        return None if handle is None else self.shown.author(platform or "", handle)

    def text(self, text: str | None) -> str | None:
        # as in a spreadsheet cell: the pages offer CSV downloads, which Excel would run as formulas
        return None if text is None else spreadsheet(self.shown.text(text))

    def link(self, url: str | None) -> str | None:
        return self.shown.link(url) or None

    def snippet(self, marked: str | None) -> str | None:
        return None if marked is None else mark(*disclose_snippet(marked, self.shown))

    @hookimpl
    def prepare_connection(self, conn: sqlite3.Connection, database: str) -> None:
        if database != ARCHIVE:
            return
        for name, fn, arity in (("shown_author", self.author, 2), ("shown_text", self.text, 1),
                                ("shown_link", self.link, 1), ("shown_snippet", self.snippet, 1)):
            conn.create_function(name, arity, fn, deterministic=True)
        conn.execute(f"CREATE TEMP VIEW IF NOT EXISTS {BROWSE_VIEW} AS {BROWSE_SQL}")
        conn.execute(f"CREATE TEMP VIEW IF NOT EXISTS {BROWSE_COUNTED} AS {BROWSE_ROWS}")

    @hookimpl
    def render_cell(self, value: object, column: str) -> Markup | None:
        if column == "snippet" and isinstance(value, str) and START in value:
            return Markup(str(escape(value)).replace(START, "<mark>").replace(END, "</mark>"))
        return None


def _archive(ds, path: Path):
    """The archive as Datasette sees it, with the TEMP view `browse_posts` listed beside its own."""
    from datasette.database import Database  # deferred: datasette takes seconds to import, only browse needs it

    class Archive(Database):
        async def view_names(self) -> list[str]:
            return [*await super().view_names(), BROWSE_VIEW]

        async def get_view_definition(self, view: str) -> str | None:
            if view == BROWSE_VIEW:
                return f"CREATE TEMP VIEW {BROWSE_VIEW} AS {BROWSE_SQL};"
            return await super().get_view_definition(view)

        async def execute(self, sql, params=None, truncate=False, custom_time_limit=None, page_size=None,
                          log_sql_errors=True):
            if sql.startswith(COUNT):  # the table page's row count: without the order, and given up on quickly
                sql, custom_time_limit = sql.replace(COUNT, f"select count(*) from {BROWSE_COUNTED}", 1), COUNT_MS
            elif SEARCH_BOX in sql:  # its rows: the matches collected last, as `search` ranks them
                sql = sql.replace(SEARCH_BOX, f"{SEARCH_BOX[:-1]} order by rowid desc limit {RANKED})", 1)
            return await super().execute(sql, params, truncate, custom_time_limit, page_size, log_sql_errors)

    return Archive(ds, path=str(path), is_mutable=True)


def _schema(path: Path) -> tuple[list[str], list[str], dict[str, list[str]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')").fetchall()
        columns = {n: [r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')] for n, _ in names}
    finally:
        conn.close()
    columns[BROWSE_VIEW] = [part.rsplit(" AS ", 1)[-1].split(".")[-1].strip()
                            for part in BROWSE_SQL[len("SELECT "):BROWSE_SQL.index(" FROM ")].split(", ")]
    return [n for n, t in names if t == "table"], [n for n, t in names if t == "view"], columns


def app(config: Config):
    """A Datasette over `config`'s archive, its pages showing what the report's rule allows."""
    from datasette.app import Datasette  # deferred: datasette takes seconds to import, only browse needs it
    from datasette.plugins import pm

    previous = pm.get_plugin(PLUGIN)
    if previous is not None:
        pm.unregister(previous)
    pm.register(_Rule(disclosure(config)), name=PLUGIN)
    tables, views, columns = _schema(config.archive)
    ds = Datasette(metadata=metadata(config, tables, views, columns), secret=os.environ.get("DATASETTE_SECRET"),
                   settings={"allow_download": False, "default_page_size": 50, "sql_time_limit_ms": 3000,
                             "facet_time_limit_ms": 500,
                             "suggest_facets": False})
    ds.add_database(_archive(ds, config.archive), name=ARCHIVE)
    return ds


def sign_in_configured() -> bool:
    return bool(os.environ.get(PASSWORD_ENV))
