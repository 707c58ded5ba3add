"""Erasure that really erases: a person's request to be forgotten, and what a platform deleted.

`erase` removes the posts and everything derived from them (versions, payloads, terms,
testimony rows and decisions, engagement snapshots, media files no kept post shares), then
scrubs every other place that quotes them: another post's payload that embeds the post or
names its author (rewritten, its new digest stored, the change logged in `fixity_events`
with no content), mentions in other posts' text, request parameters, warnings. What stays
is content-free: when, who, why, how many rows of each kind, and keyed hashes (HMAC with
this archive's own key) of the erased platform keys, which `blocked` checks so the next
collection does not bring them back. `secure_delete` is on for every archive connection,
so freed pages are zeroed, and the WAL is checkpointed and truncated at the end, so the
file's bytes keep no old copy.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.archive.blocklist import archive_key, keyed_hash
from monitor.archive.db import write_transaction
from monitor.archive.fixity import record_alteration
from monitor.archive.media import store_root
from monitor.archive.posts import digest, placeholders, remove_content, storable_json
from monitor.archive.terms import replace_terms
from monitor.core.clock import utc_now

ERASED = "[erased]"


class ErasureError(Exception):
    """Nothing to erase, or the request is ambiguous; the message says what was asked."""


@dataclass
class Target:
    """What one request erases: posts, and (for --author) the account itself."""

    scope: str  # "author" or "post"
    post_ids: list[int]
    author_ids: list[int] = field(default_factory=list)
    keys: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, platform, platform key) to block
    needles: set[str] = field(default_factory=set)  # strings that must not survive anywhere
    openings: set[str] = field(default_factory=set)  # each erased text's first words: how a report quotes it


def find(db: Database, *, author: str | None = None, platform: str | None = None, post: str | None = None) -> Target:
    """The posts (and account) a request names; an ErasureError if it names nothing."""
    if author:
        name = author.strip().lstrip("@")
        rows = db.execute("SELECT id, platform, key, handle, display_name, url FROM authors WHERE platform = ?"
                          " AND lower(handle) IN (lower(?), lower(?))", [platform, name, f"u/{name}"]).fetchall()
        if not rows:
            raise ErasureError(f"no author {author!r} on {platform} in the archive (see 'campaign-monitor status')")
        target = Target("author", [], [r[0] for r in rows])
        for _, plat, key, handle, display_name, url in rows:
            target.keys.append(("author", plat, key))
            user = handle.split("@")[0]
            target.needles.update(n for n in (handle, key, url, display_name, f"@{user}", f"/users/{user}",
                                              f"/u/{user}", f"u_{user}", f"/profile/{handle}", f"<span>{user}</span>")
                                  if n and len(n) >= 4)
        target.post_ids = [r[0] for r in db.execute(
            f"SELECT id FROM posts WHERE author_id IN ({placeholders(target.author_ids)})", target.author_ids)]
    else:
        ident = (post or "").strip()
        where = "id = ?" if ident.isdigit() else "url = ? OR key = ?"
        rows = db.execute(f"SELECT id FROM posts WHERE {where}", [int(ident)] if ident.isdigit() else [ident, ident])
        target = Target("post", [r[0] for r in rows])
        if not target.post_ids:
            raise ErasureError(f"no post {ident!r} in the archive (give its archive id, URL or platform key)")
    for pid, plat, key, url, local_id, text in db.execute(
            f"SELECT id, platform, key, url, local_id, text FROM posts WHERE id IN ({placeholders(target.post_ids)})",
            target.post_ids):
        target.keys.append(("post", plat, key))
        target.needles.update(n for n in (key, url, local_id) if n and len(n) >= 4)
        if text and len(text) >= 20:
            target.needles.add(text)
            target.openings.add(text[:40])
    return target


def count(db: Database, target: Target) -> dict[str, int]:
    """How many rows of each kind the erasure removes (what the confirmation prompt shows)."""
    ids, marks = target.post_ids, placeholders(target.post_ids)
    counts = {"posts": len(ids)}
    for table in ("post_versions", "post_payloads", "post_terms", "testimonies", "testimony_decisions",
                  "engagement_snapshots", "media_files"):
        counts[table] = db.execute(f"SELECT count(*) FROM {table} WHERE post_id IN ({marks})", ids).fetchone()[0]
    counts["authors"] = len(target.author_ids)
    return counts


def erase(db: Database, archive: Path, target: Target, *, reason: str, by: str) -> dict[str, int]:
    """Erase `target` for good; returns the audit's counts."""
    counts = count(db, target)
    key = archive_key(db)
    hashes = sorted({keyed_hash(key, kind, plat, ident) for kind, plat, ident in target.keys})
    pattern = re.compile("|".join(re.escape(n) for n in sorted(target.needles, key=len, reverse=True))) \
        if target.needles else None
    with write_transaction(db):
        authors = [r[0] for r in db.execute(
            f"SELECT DISTINCT author_id FROM posts WHERE id IN ({placeholders(target.post_ids)})", target.post_ids)]
        files = _media_to_delete(db, target.post_ids)
        remove_content(db, target.post_ids, keep_row=False)
        db.execute(f"DELETE FROM posts WHERE id IN ({placeholders(target.post_ids)})", target.post_ids)
        if target.author_ids:
            db.execute(f"DELETE FROM authors WHERE id IN ({placeholders(target.author_ids)})", target.author_ids)
        db.execute("UPDATE authors SET first_post_at = (SELECT min(created_at) FROM posts WHERE author_id = authors.id)"
                   f" WHERE id IN ({placeholders(authors)})", authors)  # an author's first post may be gone
        counts["payloads_rewritten"] = _scrub(db, pattern) if pattern else 0
        # the search index drops an old text's words only when its segments merge: merge them all now
        db.execute("INSERT INTO posts_fts (posts_fts) VALUES ('optimize')")
        cursor = db.execute("INSERT INTO erasures (at, by, reason, scope, counts, hashes) VALUES (?, ?, ?, ?, ?, ?)",
                            [utc_now(), by, _clean(reason, pattern), target.scope, json.dumps(counts),
                             json.dumps(hashes)])
        db.conn.executemany("INSERT OR IGNORE INTO erased_keys (hash, erasure_id, kind) VALUES (?, ?, ?)",
                            [(h, cursor.lastrowid, "erased") for h in hashes])
    root = store_root(archive).parent
    for path in files:
        (root / path).unlink(missing_ok=True)
    counts["media_files_deleted"] = len(files)
    flush(db)
    return counts


def _media_to_delete(db: Database, post_ids: list[int]) -> list[str]:
    """Stored files of these posts that no other kept post holds."""
    marks = placeholders(post_ids)
    return [r[0] for r in db.execute(
        f"SELECT DISTINCT m.path FROM media_files m WHERE m.post_id IN ({marks}) AND m.path IS NOT NULL AND NOT EXISTS"
        f" (SELECT 1 FROM media_files o WHERE o.sha256 = m.sha256 AND o.post_id NOT IN ({marks})"
        " AND o.status = 'stored')", [*post_ids, *post_ids])]


def _clean(text: str | None, pattern: re.Pattern | None) -> str | None:
    return pattern.sub(ERASED, text) if (pattern and text) else text


def _scrub_json(value: Any, pattern: re.Pattern) -> Any:
    """The value with every object that is (or embeds) an erased post or account cut out, and every
    string that quotes one rewritten."""
    if isinstance(value, dict):
        for name in ("uri", "url", "id", "key", "cid", "name", "acct", "did", "handle"):
            if isinstance(value.get(name), str) and pattern.fullmatch(value[name]):
                return {"erased": True}
        return {k: _scrub_json(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v, pattern) for v in value]
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    return value


def _scrub(db: Database, pattern: re.Pattern) -> int:
    """Every other place that quotes the erased posts or names the account; returns payloads rewritten."""
    rewritten = 0
    for table, ident, sha in (("post_payloads", "post_id", "sha256"), ("post_versions", "id", "raw_sha256")):
        for row_id, raw in list(_matching(db, f"SELECT {ident}, raw FROM {table}", pattern)):
            new = storable_json(_scrub_json(json.loads(raw), pattern))
            db.execute(f"UPDATE {table} SET raw = ?, {sha} = ?, digest_origin = 'fetched' WHERE {ident} = ?",
                       [new, digest(new), row_id])
            record_alteration(db, f"{table}/{row_id}", "rewritten by an erasure")
            if table == "post_payloads":  # what the audit counts: current payloads, not earlier versions
                rewritten += 1
    for rid, raw in list(_matching(db, "SELECT id, raw FROM rejected_items", pattern)):
        db.execute("DELETE FROM rejected_items WHERE id = ?", [rid])  # an unreadable item: nothing to keep of it
    for table, column in (("posts", "text"), ("post_versions", "text"), ("testimonies", "display_text"),
                          ("testimony_decisions", "display_text"), ("testimony_decisions", "note"),
                          ("testimonies", "note"), ("fetches", "params"), ("source_runs", "warnings"),
                          ("source_runs", "error"), ("schedule", "last_summary")):
        for rowid, text in list(_matching(db, f"SELECT rowid, {column} FROM {table}", pattern)):
            db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", [pattern.sub(ERASED, text), rowid])
    # terms follow the text outputs show: those of every post whose text was rewritten, extracted again
    retexted = [r[0] for r in db.execute("SELECT id FROM posts WHERE instr(text, ?) > 0", [ERASED])]
    replace_terms(db, [(post_id, text, json.loads(tags or "[]"), url) for post_id, text, tags, url in db.execute(
        "SELECT p.id, coalesce(t.display_text, p.text), p.hashtags, p.url FROM posts p LEFT JOIN testimonies t"
        f" ON t.post_id = p.id WHERE p.id IN ({placeholders(retexted)})", retexted).fetchall()])
    for platform, source, stream, position in list(_matching(
            db, "SELECT platform, source, stream, position FROM cursors", pattern)):
        # a Mastodon cursor is the newest status id: one below it asks for the same posts; a Reddit one is
        # "created_utc:fullname", and the time alone asks for them too (the erased one is then skipped by
        # its hash); Bluesky's holds a time, which names no one
        if position.isdigit():
            moved = str(int(position) - 1)
        elif re.fullmatch(r"[0-9.]+:\w+", position):
            moved = position.split(":", 1)[0] + ":"
        else:
            continue
        db.execute("UPDATE cursors SET position = ? WHERE platform = ? AND source = ? AND stream = ?",
                   [moved, platform, source, stream])
    return rewritten


def _matching(db: Database, sql: str, pattern: re.Pattern):
    """Rows whose last column quotes an erased post or names the account: streamed, only the matches kept."""
    for row in db.execute(sql):
        if isinstance(row[-1], str) and pattern.search(row[-1]):
            yield row


def flush(db: Database) -> None:
    """No old page image left in the WAL: checkpoint everything into the file and truncate it."""
    busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise ErasureError("the erasure is committed, but another reader kept the WAL from being emptied; "
                           "stop the daemon, then run 'campaign-monitor forget --flush'")


def files_quoting(folder: Path, target: Target) -> list[Path]:
    """Files under `folder` (earlier reports, registers) that still quote what was erased: the
    archive cannot reach them, so `forget` names them. Workbooks are read inside their zip."""
    needles = [n.encode() for n in target.needles | target.openings | {html.escape(o) for o in target.openings}]
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
        try:
            if path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as book:
                    blobs = [book.read(name) for name in book.namelist()]
            else:
                blobs = [path.read_bytes()]
        except (OSError, zipfile.BadZipFile):
            continue
        if any(n in blob for blob in blobs for n in needles):
            found.append(path)
    return found
