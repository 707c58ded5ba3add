"""Posts into rows: the one place that inserts, versions, snapshots and tombstones posts.

Everything here runs inside a transaction opened by `monitor.archive` (`save_page`,
`save_refresh`), so what a page or a refresh brought is stored whole or not at all.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass, replace
from typing import Iterator

import orjson
from sqlite_utils import Database

from monitor.archive import media_text, rollups
from monitor.archive.blocklist import blocked
from monitor.archive.terms import add_terms, replace_terms
from monitor.core.clock import utc_now
from monitor.core.records import Post

COUNTS = ("likes", "reposts", "replies", "quotes")
SURROGATES = re.compile("[\ud800-\udfff]")
TEXT_FIELDS = ("key", "url", "created_at", "text", "local_id", "edited_at", "content_warning", "language", "revision")
AUTHOR_FIELDS = ("key", "handle", "display_name", "url")
# What the posts' unique index is ordered by before the key itself (m021): the key's last path
# segment, which on every platform collected is the post's own id in time order (a Mastodon
# snowflake, a Bluesky TID, a Reddit base36 id). Ordered by the whole key, a status URI or an
# at:// URI, the index is ordered by author, and a commit rewrote a 4 KiB leaf of it for every
# author it held: at a million posts that index was two fifths of what the writer wrote.
# Ordered by id, new posts land at its right edge, a few leaves a commit.
KEY_ORDER = "substr(key, length(rtrim(key, replace(key, '/', ''))) + 1)"


def key_order(key: str) -> str:
    """`KEY_ORDER` of `key`, computed here: what the index is searched by (tests check they agree)."""
    return key[key.rfind("/") + 1 :]


def _has_surrogate(value: object) -> bool:
    return isinstance(value, str) and not value.isascii() and SURROGATES.search(value) is not None


def storable_json(value: object) -> str:
    """A payload as JSON text SQLite can hold: readable UTF-8, or escaped where it holds a
    lone surrogate (which no UTF-8 can), so the stored JSON is still exactly what was received.

    orjson writes it in a fifth of `json.dumps`' time, and serialising payloads was the
    writer's largest single cost. What orjson refuses (a lone surrogate, an integer beyond
    64 bits, a key that is not text) goes the standard library's way, so nothing is lost;
    compact separators are the only difference in the text, and the digest is of the text.
    (A NaN, which a lenient parser accepts but JSON has not, is written as null.)
    """
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(value, ensure_ascii=False)
        return text if _utf8(text) else json.dumps(value)


def _utf8(text: str) -> bool:
    """Whether `text` has no lone surrogate: encoding is one pass in C, faster than any search for them."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def digest(stored: str) -> str:
    """The sha256 of a payload as stored (its JSON text, UTF-8): what `verify` checks it against."""
    return hashlib.sha256(stored.encode()).hexdigest()


def storable(post: Post) -> Post:
    """The post with lone surrogates in its text fields replaced (U+FFFD); its raw payload keeps them."""
    a = post.author
    texts = (post.key, post.url, post.created_at, post.text, post.local_id, post.edited_at, post.content_warning,
             post.language, post.revision, a.key, a.handle, a.display_name, a.url, *post.hashtags)  # TEXT_FIELDS...
    try:
        if _utf8("".join(filter(None, texts))):  # nearly every post: one check, not fifteen
            return post
    except TypeError:  # a field that is not text: look at each
        pass
    changed = {f: SURROGATES.sub("\ufffd", getattr(post, f)) for f in TEXT_FIELDS if _has_surrogate(getattr(post, f))}
    author = {f: SURROGATES.sub("\ufffd", getattr(post.author, f)) for f in AUTHOR_FIELDS
              if _has_surrogate(getattr(post.author, f))}
    if author:
        changed["author"] = replace(post.author, **author)
    if any(_has_surrogate(t) for t in post.hashtags):
        changed["hashtags"] = [SURROGATES.sub("\ufffd", t) for t in post.hashtags]
    return replace(post, **changed) if changed else post


@dataclass
class SaveResult:
    new: int = 0
    updated: int = 0
    deleted: int = 0


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


AUTHOR_UPSERT = (
    "INSERT INTO authors (platform, key, handle, display_name, url, followers_count,"
    " following_count, posts_count, first_seen_at, last_seen_at, first_post_at)"
    " VALUES {rows} ON CONFLICT (platform, key) DO UPDATE SET"
    # a stream that names an author by identity alone (Jetstream: a DID) keeps the handle known
    " handle = iif(excluded.handle = excluded.key, handle, excluded.handle),"
    " display_name = iif(excluded.handle = excluded.key, display_name, excluded.display_name),"
    " url = iif(excluded.handle = excluded.key, url, excluded.url),"
    " followers_count = coalesce(excluded.followers_count, followers_count),"
    " following_count = coalesce(excluded.following_count, following_count),"
    " posts_count = coalesce(excluded.posts_count, posts_count),"
    " last_seen_at = excluded.last_seen_at,"
    " first_post_at = min(coalesce(first_post_at, excluded.first_post_at), excluded.first_post_at)"
    " RETURNING key, id"
)


def _author_ids(db: Database, posts: list[Post], now: str) -> dict[str, int]:
    """Each author of `posts` upserted, and their row ids: one statement that returns them
    (a second query for the ids was about 3% of the writer's time, py-spy at 200,000 posts)."""
    authors = {p.author.key: p.author for p in posts}
    first: dict[str, str] = {}
    for p in posts:
        if p.author.key not in first or p.created_at < first[p.author.key]:
            first[p.author.key] = p.created_at
    ids: dict[str, int] = {}
    for chunk in _chunks(list(authors.values())):
        rows = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
        ids.update(db.conn.execute(AUTHOR_UPSERT.format(rows=rows), [
            value for a in chunk for value in (a.platform, a.key, a.handle, a.display_name, a.url, a.followers_count,
                                               a.following_count, a.posts_count, now, now, first[a.key])
        ]).fetchall())
    return ids


def _is_newer(post: Post, old: sqlite3.Row) -> tuple[bool, bool]:
    """(edited, counts grew): the only changes that make a new version.

    The same post read through different instances carries each instance's partial
    counts and its own rendering of the HTML, so only a later `edited_at` (or, where the
    platform has none, a later revision: Bluesky's CID) counts as an edit and counts only
    ever grow; otherwise polling two instances would make a new version on every run.
    """
    edited = bool(post.edited_at) and (old["edited_at"] is None or post.edited_at > old["edited_at"])
    # a new revision counts only when it is later: an older copy served again must not flip back
    edited = edited or bool(post.revision and old["revision"] and post.revision != old["revision"]
                            and (post.revised_at or "") > (old["revised_at"] or ""))
    grew = any(
        getattr(post, name) is not None and (old[name] is None or getattr(post, name) > old[name])
        for name in COUNTS
    )
    return edited, grew


def store_posts(db: Database, fetched: list[tuple[list[Post], int | None]], source: str) -> SaveResult:
    """Insert new posts, version changed ones; must run inside `write_transaction`.

    `fetched`: lists of posts, each with the fetch that brought it (its provenance), from one
    platform and source. Several pages go in at once so that each statement and lookup runs
    once for them all (measured: about 3% at 200,000 posts; the cost is mostly per row); the
    caller (`save_pages`) gives no key twice across them, so no page's copy of a post is
    folded into another's. Within a list the last copy wins.
    """
    result = SaveResult()
    latest: dict[str, Post] = {}
    fetch_of: dict[str, int | None] = {}
    for posts, fetch_id in fetched:
        for p in posts:
            latest[p.key], fetch_of[p.key] = p, fetch_id
    if not latest:
        return result
    now = utc_now()
    unique = [storable(p) for p in latest.values()]
    erased = blocked(db, unique[0].platform, [p.key for p in unique], [p.author.key for p in unique])
    unique = [p for p in unique if p.key not in erased]  # forgotten on request: never collected again
    if not unique:
        return result
    author_ids = _author_ids(db, unique, now)
    platform = unique[0].platform
    existing: dict[str, sqlite3.Row] = {}
    db.conn.row_factory = sqlite3.Row
    try:
        for row in _by_key(db, "id, key, url, text, content_warning, edited_at, likes, reposts, replies, quotes,"
                           " metrics, raw_fetch_id, version, deleted_at, revision, revised_at",
                           platform, [p.key for p in unique]):
            existing[row["key"]] = row
    finally:
        db.conn.row_factory = None

    fresh = [p for p in unique if p.key not in existing]
    if fresh:
        _insert_new(db, fresh, author_ids, fetch_of, source, now)
    result.new = len(fresh)

    seen_again = []
    for post in unique:
        old = existing.get(post.key)
        if old is None or old["deleted_at"]:
            continue  # new, or deleted on its platform: a tombstone is never filled again
        edited, grew = _is_newer(post, old)
        if not (edited or grew):
            seen_again.append((now, old["id"]))
            continue
        _new_version(db, post, old, edited, fetch_of[post.key], now)
        result.updated += 1
    db.conn.executemany("UPDATE posts SET last_seen_at = ? WHERE id = ?", seen_again)
    return result


def _insert_new(db: Database, fresh: list[Post], author_ids: dict[str, int], fetch_of: dict[str, int | None],
                source: str, now: str) -> None:
    """Posts the archive does not hold yet: their rows, payloads, terms, hourly counts and search entries."""
    alt = [media_text.described(p.media) if p.media else None for p in fresh]  # what pictures say, so far
    # The ids SQLite would give them (max + 1, no AUTOINCREMENT), given here: the write lock is
    # held, and the payload, terms and search rows need them without a query to find them again.
    first = db.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM posts").fetchone()[0]
    ids = {p.key: first + i for i, p in enumerate(fresh)}
    db.conn.executemany(
        "INSERT INTO posts (id, platform, key, source, local_id, url, author_id, author, created_at,"
        " edited_at, text, content_warning, language, hashtags, media, likes, reposts, replies,"
        " quotes, metrics, version, first_fetch_id, raw_fetch_id, first_seen_at, last_seen_at, revision,"
        " revised_at, media_text)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
        [
            (ids[p.key], p.platform, p.key, source, p.local_id, p.url, author_ids[p.author.key],
             p.author.handle, p.created_at, p.edited_at, p.text, p.content_warning, p.language,
             storable_json(p.hashtags), storable_json(p.media), p.likes, p.reposts, p.replies,
             p.quotes, storable_json(p.metrics) if p.metrics else None,
             fetch_of[p.key], fetch_of[p.key], now, now, p.revision, p.revised_at, described)
            for p, described in zip(fresh, alt)
        ],
    )
    raws = [storable_json(p.raw) for p in fresh]
    db.conn.executemany(
        "INSERT INTO post_payloads (post_id, raw, sha256, fetch_id, digest_origin) VALUES (?, ?, ?, ?, 'fetched')",
        [(ids[p.key], raw, digest(raw), fetch_of[p.key]) for p, raw in zip(fresh, raws)],
    )
    add_terms(db, [(ids[p.key], p.text, p.hashtags, p.url) for p in fresh])
    rollups.count_new(db, [(p.created_at, p.platform, source, sum(getattr(p, c) or 0 for c in COUNTS))
                           for p in fresh])
    db.conn.executemany("INSERT INTO posts_fts (rowid, text, content_warning, media_text) VALUES (?, ?, ?, ?)",
                        [(ids[p.key], p.text, p.content_warning, described)
                         for p, described in zip(fresh, alt)])  # m017: not a trigger


def _new_version(
    db: Database, post: Post, old: sqlite3.Row, edited: bool, fetch_id: int | None, now: str
) -> None:
    """Keep the stored state as a version, then make the post's row the newer one."""
    old_raw = db.execute("SELECT raw, sha256, digest_origin FROM post_payloads WHERE post_id = ?",
                         [old["id"]]).fetchone() or ("{}", digest("{}"), "fetched")
    db.execute(
        "INSERT INTO post_versions (post_id, version, text, content_warning, edited_at, likes,"
        " reposts, replies, quotes, metrics, raw, raw_sha256, digest_origin, raw_fetch_id, superseded_at,"
        " superseded_by_fetch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [old["id"], old["version"], old["text"], old["content_warning"], old["edited_at"],
         old["likes"], old["reposts"], old["replies"], old["quotes"], old["metrics"],
         *old_raw, old["raw_fetch_id"], now, fetch_id],
    )
    counts = {
        name: max(v for v in (getattr(post, name), old[name]) if v is not None)
        if (getattr(post, name) is not None or old[name] is not None) else None
        for name in COUNTS
    }
    redacted = db.execute("SELECT display_text FROM testimonies WHERE post_id = ? AND display_text IS NOT NULL",
                          [old["id"]]).fetchone()
    content = (
        {"text": redacted[0] if redacted else post.text, "content_warning": post.content_warning,
         "edited_at": post.edited_at or post.revised_at, "hashtags": storable_json(post.hashtags),
         "media": storable_json(post.media), "revision": post.revision, "revised_at": post.revised_at}
        if edited else {}
    )
    values = {
        **content,
        **counts,
        "metrics": storable_json(post.metrics) if post.metrics else old["metrics"],
        "raw_fetch_id": fetch_id,
        "version": old["version"] + 1,
        "last_seen_at": now,
    }
    assignments = ", ".join(f"{name} = ?" for name in values)
    db.execute(f"UPDATE posts SET {assignments} WHERE id = ?", [*values.values(), old["id"]])
    raw = storable_json(post.raw)
    db.execute("INSERT OR REPLACE INTO post_payloads (post_id, raw, sha256, fetch_id, digest_origin)"
               " VALUES (?, ?, ?, ?, 'fetched')", [old["id"], raw, digest(raw), fetch_id])
    if edited:
        replace_terms(db, [(old["id"], content["text"], post.hashtags, old["url"])])
        media_text.refresh(db, [old["id"]])  # its attachments or their descriptions may have changed


def placeholders(ids: list) -> str:
    return ",".join("?" * len(ids)) or "NULL"


def by_key_sql(columns: str, count: int) -> str:
    """SQL for `columns` of the posts with `count` keys (parameters: the platform, each key's
    `key_order`, each key), through the unique index: the order is searched, the key itself
    checked (`+key`: not a second search of the index for every pair of the two lists)."""
    marks = ",".join("?" * count)
    return f"SELECT {columns} FROM posts WHERE platform = ? AND {KEY_ORDER} IN ({marks}) AND +key IN ({marks})"


def _by_key(db: Database, columns: str, platform: str, keys: list[str]) -> Iterator:
    for chunk in _chunks(keys):
        yield from db.conn.execute(by_key_sql(columns, len(chunk)), [platform, *map(key_order, chunk), *chunk])


def post_ids(db: Database, platform: str, keys: list[str]) -> dict[str, int]:
    """Posts' row ids by their platform key."""
    return dict(_by_key(db, "key, id", platform, keys))


def snapshot(db: Database, posts: list[Post], fetch_id: int | None) -> None:
    """Counts as observed now, one row a post: engagement over time, not only its last value."""
    if not posts:
        return
    now = utc_now()
    ids = post_ids(db, posts[0].platform, [p.key for p in posts])
    db.conn.executemany(
        "INSERT INTO engagement_snapshots (post_id, observed_at, likes, reposts, replies, quotes, metrics,"
        " fetch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(ids[p.key], now, p.likes, p.reposts, p.replies, p.quotes,
          storable_json(p.metrics) if p.metrics else None, fetch_id) for p in posts if p.key in ids],
    )


def remove_content(db: Database, post_ids: list[int], *, keep_row: bool) -> None:
    """Everything derived from these posts, gone; inside a transaction. `keep_row`: a platform's
    tombstone keeps the content-free row (so counts stay honest), an erasure does not."""
    marks = placeholders(post_ids)
    for table in ("post_versions", "post_payloads", "post_terms", "testimony_decisions"):
        db.execute(f"DELETE FROM {table} WHERE post_id IN ({marks})", post_ids)
    if keep_row:
        db.execute("UPDATE testimonies SET display_text = NULL, reasons = '[]', status = 'rejected',"
                   f" note = 'deleted on its platform' WHERE post_id IN ({marks})", post_ids)
        db.execute(f"UPDATE media_files SET status = 'deleted' WHERE post_id IN ({marks})", post_ids)
    else:
        for table in ("testimonies", "engagement_snapshots", "media_files"):  # the files: the caller's
            db.execute(f"DELETE FROM {table} WHERE post_id IN ({marks})", post_ids)
    media_text.forget_unheld(db)


def tombstone(db: Database, platform: str, gone: dict[str, str]) -> int:
    """Remove a deleted post's content, everywhere it is kept, leaving who-when-where.

    Platforms' terms require deleted posts to be deleted from archives too: the same path
    as an erasure (`remove_content`) takes text, payload, terms, versions and media; the
    row stays, content-free, as the proof that a deletion happened, so counts stay honest
    and the post is never collected again.
    """
    ids = post_ids(db, platform, list(gone))
    remove_content(db, list(ids.values()), keep_row=True)
    now = utc_now()
    db.conn.executemany(
        "UPDATE posts SET text = NULL, content_warning = NULL, hashtags = '[]', media = '[]',"
        " media_text = NULL, metrics = NULL, deleted_at = ?, deletion_reason = ? WHERE id = ? AND deleted_at IS NULL",
        [(now, gone[key], post_id) for key, post_id in ids.items()],
    )
    return len(ids)


def replace_text(db: Database, post_id: int, text: str) -> None:
    """A redaction: the text every output shows, in the post and in each of its versions
    (the raw payloads alone keep the original). Runs inside the reviewer's transaction."""
    db.execute("UPDATE posts SET text = ? WHERE id = ?", [text, post_id])
    db.execute("UPDATE post_versions SET text = ? WHERE post_id = ?", [text, post_id])
    hashtags, url = db.execute("SELECT hashtags, url FROM posts WHERE id = ?", [post_id]).fetchone()
    replace_terms(db, [(post_id, text, json.loads(hashtags or "[]"), url)])
