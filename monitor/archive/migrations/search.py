"""Migrations from m017: full-text search over what outputs show."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress
from sqlite_utils import Database

from monitor.archive.migrations.registry import migration

BATCH = 20_000
# Porter stemming over unicode61 with diacritics removed: "excluded" finds "exclusion's" stem and
# "école" finds "ecole"; the same tokenizer Datasette's search box and `search` both query.
TOKENIZE = "porter unicode61 remove_diacritics 2"
FTS_COLUMNS = ("text", "content_warning")


@migration
def m017_full_text_search(db: Database) -> None:
    """`posts_fts`: an FTS5 index over each post's shown text and content warning.

    An external-content index (`content='posts'`): it keeps the words, not a second copy of
    the text, and snippets are cut from `posts.text`, which already holds a redaction
    instead of the original. The writer (`posts.store_posts`, the one place that inserts
    posts) indexes each new post in the transaction that stores it, explicitly: an AFTER
    INSERT trigger measured three to four times slower per row. Triggers keep it current
    whenever a post's text changes or its row goes, whichever code does it (an edit, a
    redaction, a tombstone that empties the text, an erasure that deletes the row). What
    is *shown* is still decided by `visible_posts`, which every search joins: the index
    holds unchecked and flagged posts' words, never shows them.
    """
    create_index(db, FTS_COLUMNS)


def create_index(db: Database, fts_columns: tuple[str, ...]) -> None:
    """The index over `fts_columns` of posts, its triggers, and every post indexed (progress on a terminal)."""
    columns = ", ".join(fts_columns)
    old = ", ".join(f"old.{c}" for c in fts_columns)
    new = ", ".join(f"new.{c}" for c in fts_columns)
    db.execute(f"CREATE VIRTUAL TABLE posts_fts USING fts5({columns}, content='posts', content_rowid='id',"
               f" tokenize='{TOKENIZE}')")
    db.execute(f"CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN"
               f" INSERT INTO posts_fts (posts_fts, rowid, {columns}) VALUES ('delete', old.id, {old}); END")
    db.execute(f"CREATE TRIGGER posts_fts_update AFTER UPDATE OF {columns} ON posts BEGIN"
               f" INSERT INTO posts_fts (posts_fts, rowid, {columns}) VALUES ('delete', old.id, {old});"
               f" INSERT INTO posts_fts (rowid, {columns}) VALUES (new.id, {new}); END")
    total = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    console = Console(stderr=True)
    with Progress(console=console, transient=True, disable=not console.is_terminal or total < BATCH) as bar:
        task = bar.add_task("Building the search index", total=total)
        last = 0
        while (upper := db.execute("SELECT max(id) FROM (SELECT id FROM posts WHERE id > ? ORDER BY id LIMIT ?)",
                                   [last, BATCH]).fetchone()[0]) is not None:
            cursor = db.execute(f"INSERT INTO posts_fts (rowid, {columns}) SELECT id, {columns} FROM posts"
                                " WHERE id > ? AND id <= ?", [last, upper])
            bar.advance(task, cursor.rowcount)
            last = upper


def drop_index(db: Database) -> None:
    db.execute("DROP TRIGGER IF EXISTS posts_fts_delete")
    db.execute("DROP TRIGGER IF EXISTS posts_fts_update")
    db.execute("DROP TABLE IF EXISTS posts_fts")
