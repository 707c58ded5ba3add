"""Migrations from m019: what pictures and videos say, beside what posts say."""

from __future__ import annotations

import json

from sqlite_utils import Database

from monitor.archive.media_text import described
from monitor.archive.migrations.registry import migration
from monitor.archive.migrations.search import create_index, drop_index

# the search index's columns since m019: a poster's words are found like the post's own
FTS_COLUMNS = ("text", "content_warning", "media_text")
# what `visible_posts` shows since m019 (its rule, the WHERE, changed in m020)
VISIBLE_SELECT = (
    "SELECT p.id, p.platform, p.source, p.url, p.author_id, p.author, p.created_at, p.edited_at,"
    " coalesce(t.display_text, p.text) AS text, p.content_warning, p.language, p.hashtags, p.media, p.likes,"
    " p.reposts, p.replies, p.quotes, p.metrics, t.status AS testimony_status, t.score AS testimony_score,"
    " t.consent, t.note, t.reasons, p.media_text FROM posts p JOIN testimonies t ON t.post_id = p.id"
)


@migration
def m019_media_text(db: Database) -> None:
    """`media_text`: each stored picture's or video's recognised lines, read once by file.

    A row per sha256, whichever post carries the file, with the engine that read it (a
    later engine may read it again), each line's confidence and box, a video's caption
    times. `posts.media_text` is what a post's pictures say as outputs show it: the
    platforms' own descriptions (alt text) first, filled in at once from what was
    collected, then the recognised text of each file as the reading job gets to it; a
    reviewer's redaction replaces it (`testimonies.media_text_redacted`), and the reading
    job never writes over that. It joins the search index, `visible_posts` and scoring.
    """
    db["media_text"].create(
        {"id": int, "sha256": str, "kind": str, "status": str, "engine": str, "text": str, "lines": str,
         "frames": int, "seconds": float, "truncated": int, "attempts": int, "error": str, "read_at": str},
        pk="id",
    )
    db["media_text"].create_index(["sha256"], unique=True)
    db["posts"].add_column("media_text", str)
    db["testimonies"].add_column("media_text_redacted", int)
    rows = db.execute("SELECT id, media FROM posts WHERE media != '[]' AND deleted_at IS NULL").fetchall()
    db.conn.executemany("UPDATE posts SET media_text = ? WHERE id = ?",
                        [(text, post_id) for post_id, media in rows
                         if (text := described(json.loads(media or "[]")))])
    db.execute("DROP VIEW visible_posts")
    db.execute(f"CREATE VIEW visible_posts AS {VISIBLE_SELECT}"
               " WHERE p.deleted_at IS NULL AND (t.flagged = 0 OR t.status = 'accepted')")
    drop_index(db)
    create_index(db, FTS_COLUMNS)
