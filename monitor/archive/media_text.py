"""What pictures say, in the archive: each file's reading (`media_text`) and each post's `posts.media_text`.

A file is read once, by its sha256, whichever post carries it. A post's media text is put
together here, and only here, from its attachments in their order: each one's description
from the platform (alt text), then what was read in it. The writer fills in the
descriptions as a post arrives (`described`), the reading job the rest
(`monitor.archive.media.record_reading`, which calls `refresh`);
a reviewer's redaction replaces it and nothing writes over that.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from sqlite_utils import Database


MAX_ATTEMPTS = 3  # a file that failed to be read this many times waits for a new engine
# a file that did not decode, or whose reading failed, is tried again after this many hours times
# its tries so far: a decoder or engine upgraded meanwhile may read it, and a file once read is never read again
RETRY_AFTER = timedelta(hours=1)


def _description(item: Any) -> str | None:
    """An attachment's description as a line: whitespace collapsed, lone surrogates (which no
    UTF-8 can hold; the raw payload keeps them) replaced by U+FFFD."""
    text = item.get("description") if isinstance(item, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    text = " ".join(text.split())
    try:
        text.encode()
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def described(media: list[dict[str, Any]]) -> str | None:
    """A new post's media text: its attachments' descriptions (alt text), one a line."""
    return "\n".join(d for d in map(_description, media) if d) or None


def compose(media: list[dict[str, Any]], read: dict[str, str]) -> str | None:
    """A post's media text from its attachments and what was read in each (by source URL)."""
    parts = []
    for item in media:
        parts += [p for p in (_description(item), read.get(item.get("url") if isinstance(item, dict) else None)) if p]
    return "\n".join(parts) or None


def refresh(db: Database, post_ids: Iterable[int]) -> list[int]:
    """Put these posts' media text together again; inside a transaction. Returns those that changed,
    each marked to be scored again.

    Deleted posts and posts whose media text a reviewer redacted are left as they are.
    """
    changed = []
    for post_id in post_ids:
        row = db.execute(
            "SELECT p.media, p.media_text FROM posts p LEFT JOIN testimonies t ON t.post_id = p.id"
            " WHERE p.id = ? AND p.deleted_at IS NULL AND coalesce(t.media_text_redacted, 0) = 0", [post_id]).fetchone()
        if row is None:
            continue
        read = dict(db.execute(
            "SELECT f.source_url, r.text FROM media_files f JOIN media_text r ON r.sha256 = f.sha256"
            " WHERE f.post_id = ? AND r.status = 'read' AND r.text != ''", [post_id]).fetchall())
        text = compose(json.loads(row[0] or "[]"), read)
        if text != row[1]:
            db.execute("UPDATE posts SET media_text = ? WHERE id = ?", [text, post_id])
            # scored again by the next scoring, whenever it runs: a reading is never left unscored
            db.execute("UPDATE testimonies SET model_version = NULL WHERE post_id = ?", [post_id])
            changed.append(post_id)
    return changed


def unread(db: Database, limit: int, *, engine: str) -> list[dict[str, Any]]:
    """Stored pictures and videos not read yet (or whose last try did not decode or failed a while
    ago), one row per file, testimonies' first, then the newest posts'."""
    now = datetime.now(timezone.utc)
    tried = {sha: (status, attempts, read_at, old_engine) for sha, status, attempts, read_at, old_engine in db.execute(
        "SELECT sha256, status, attempts, read_at, engine FROM media_text")}
    rows = db.execute(
        "SELECT f.sha256, f.path, f.kind, f.mime_type, min(f.post_id) AS post_id,"
        " max(t.status IN ('candidate', 'accepted')) AS testimony FROM media_files f"
        " JOIN posts p ON p.id = f.post_id AND p.deleted_at IS NULL LEFT JOIN testimonies t ON t.post_id = f.post_id"
        " WHERE f.status = 'stored' AND f.path IS NOT NULL AND f.sha256 IS NOT NULL"
        " GROUP BY f.sha256 ORDER BY testimony DESC, max(f.post_id) DESC").fetchall()
    out = []
    for sha, path, kind, mime, post_id, _ in rows:
        if sha in tried:
            status, attempts, read_at, old_engine = tried[sha]
            if status == "read" or (old_engine == engine and (
                    attempts >= MAX_ATTEMPTS or datetime.fromisoformat(read_at) + RETRY_AFTER * attempts > now)):
                continue  # read; or tried lately, or too often, by this engine (a new one tries again)
        out.append({"sha256": sha, "path": path, "kind": kind, "mime_type": mime, "post_id": post_id})
        if len(out) >= limit:
            break
    return out


def forget_unheld(db: Database) -> int:
    """Readings of files no kept post holds any more (after an erasure or a platform's deletion):
    what a picture said is its post's content; inside a transaction."""
    return db.execute("DELETE FROM media_text WHERE sha256 NOT IN"
                      " (SELECT sha256 FROM media_files WHERE status = 'stored' AND sha256 IS NOT NULL)").rowcount
