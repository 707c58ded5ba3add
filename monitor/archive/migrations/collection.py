"""Migrations m001-m011: the schema as collection, refresh, reports and review built it."""

from __future__ import annotations

import json

from sqlite_utils import Database

from monitor.archive.migrations.registry import migration


@migration
def m001_initial(db: Database) -> None:
    db["runs"].create(
        {
            "id": int,
            "command": str,
            "started_at": str,
            "finished_at": str,
            "status": str,  # running, ok, partial (some sources failed), failed
            "software_version": str,
            "pid": int,
        },
        pk="id",
    )
    db["source_runs"].create(
        {
            "id": int,
            "run_id": int,
            "platform": str,
            "source": str,
            "status": str,  # ok, failed
            "new_posts": int,
            "updated_posts": int,
            "requests": int,
            "warnings": str,  # JSON list (m010: of notices, {kind, message, count})
            "error": str,
            "finished_at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["fetches"].create(
        {
            "id": int,
            "run_id": int,
            "platform": str,
            "source": str,
            "method": str,
            "endpoint": str,
            "params": str,  # JSON object of the query parameters (secrets redacted)
            "http_status": int,
            "error": str,
            "retrieved_at": str,
            "software_version": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["authors"].create(
        {
            "id": int,
            "platform": str,
            "key": str,
            "handle": str,
            "display_name": str,
            "url": str,
            "followers_count": int,
            "following_count": int,
            "posts_count": int,
            "first_seen_at": str,
            "last_seen_at": str,
        },
        pk="id",
        not_null={"platform", "key", "handle"},
    )
    db["authors"].create_index(["platform", "key"], unique=True)
    db["posts"].create(
        {
            "id": int,
            "platform": str,
            "key": str,
            "source": str,
            "local_id": str,
            "url": str,
            "author_id": int,
            "author": str,
            "created_at": str,
            "edited_at": str,
            "text": str,
            "content_warning": str,
            "language": str,
            "hashtags": str,  # JSON list, lower case, without '#'
            "media": str,  # JSON list of {type, url, description}
            "likes": int,
            "reposts": int,
            "replies": int,
            "quotes": int,
            "raw": str,  # the API object exactly as received
            "version": int,
            "first_fetch_id": int,
            "raw_fetch_id": int,
            "first_seen_at": str,
            "last_seen_at": str,
        },
        pk="id",
        not_null={"platform", "key", "created_at", "raw"},
        foreign_keys=[
            ("author_id", "authors", "id"),
            ("first_fetch_id", "fetches", "id"),
            ("raw_fetch_id", "fetches", "id"),
        ],
    )
    db["posts"].create_index(["platform", "key"], unique=True)
    db["posts"].create_index(["created_at"])
    db["posts"].create_index(["author_id"])
    db["post_versions"].create(
        {
            "id": int,
            "post_id": int,
            "version": int,
            "text": str,
            "content_warning": str,
            "edited_at": str,
            "likes": int,
            "reposts": int,
            "replies": int,
            "quotes": int,
            "raw": str,
            "raw_fetch_id": int,
            "superseded_at": str,
            "superseded_by_fetch_id": int,
        },
        pk="id",
        foreign_keys=[
            ("post_id", "posts", "id"),
            ("raw_fetch_id", "fetches", "id"),
            ("superseded_by_fetch_id", "fetches", "id"),
        ],
    )
    db["post_versions"].create_index(["post_id", "version"], unique=True)
    db["cursors"].create(
        {
            "platform": str,
            "source": str,
            "hashtag": str,
            "position": str,
            "updated_at": str,
            "run_id": int,
        },
        pk=("platform", "source", "hashtag"),
    )


@migration
def m002_platform_metrics(db: Database) -> None:
    """Reach that only one platform has (Reddit's upvote ratio and subreddit size)."""
    db["posts"].add_column("metrics", str)
    db["post_versions"].add_column("metrics", str)


@migration
def m003_schedule(db: Database) -> None:
    """What `campaign-monitor run` last did and will do next, for `status` to show."""
    db["schedule"].create(
        {
            "job": str,  # collect:mastodon, collect:reddit, collect:bluesky, report
            "next_run_at": str,
            "last_run_at": str,
            "last_status": str,  # ok, partial, failed, interrupted, skipped
            "last_summary": str,
            "pid": int,
            "updated_at": str,
        },
        pk="job",
    )


@migration
def m004_refresh_and_tombstones(db: Database) -> None:
    """Engagement over time, and posts deleted on their platform kept as content-free tombstones."""
    db["engagement_snapshots"].create(
        {
            "id": int,
            "post_id": int,
            "observed_at": str,
            "likes": int,
            "reposts": int,
            "replies": int,
            "quotes": int,
            "metrics": str,
            "fetch_id": int,
        },
        pk="id",
        foreign_keys=[("post_id", "posts", "id"), ("fetch_id", "fetches", "id")],
    )
    db["engagement_snapshots"].create_index(["post_id", "observed_at"])
    db["posts"].add_column("deleted_at", str)
    db["posts"].add_column("deletion_reason", str)


@migration
def m005_report_indexes(db: Database) -> None:
    """What reports read, as indexes, so a report over a year does not read every post's text.

    The first answers "when did this participant first post" with one lookup an author;
    the second covers every column the period totals use, for live posts only.
    """
    db["posts"].create_index(["author_id", "created_at"], index_name="idx_posts_author_created")
    db.execute(
        "CREATE INDEX idx_posts_report ON posts (created_at, platform, source, author_id, likes, reposts,"
        " replies, quotes) WHERE deleted_at IS NULL"
    )


@migration
def m006_testimonies(db: Database) -> None:
    """Testimonies: a score and reasons for every post, reviewers' decisions with their history,
    safeguarding flags and redactions, and the media files kept for them."""
    db["testimonies"].create(
        {
            "post_id": int,
            "score": float,
            "reasons": str,  # JSON list: which phrases matched
            "status": str,  # none, candidate, accepted, rejected
            "flagged": int,  # 1: may identify a child; kept out of outputs until accepted
            "flag_reasons": str,  # JSON list
            "consent": str,  # unknown, asked, granted, refused
            "note": str,
            "display_text": str,  # a reviewer's redaction; the original stays only in posts.raw
            "scored_at": str,
            "decided_at": str,
            "decided_by": str,
        },
        pk="post_id",
        foreign_keys=[("post_id", "posts", "id")],
    )
    db["testimonies"].create_index(["status"])
    db["testimony_decisions"].create(
        {"id": int, "post_id": int, "action": str, "status": str, "consent": str, "note": str,
         "display_text": str, "decided_by": str, "decided_at": str},
        pk="id",
        foreign_keys=[("post_id", "posts", "id")],
    )
    db["media_files"].create(
        {"id": int, "post_id": int, "source_url": str, "kind": str, "status": str,  # stored, failed, too_large
         "sha256": str, "mime_type": str, "size": int, "path": str, "attempts": int,
         "last_error": str, "fetched_at": str},
        pk="id",
        foreign_keys=[("post_id", "posts", "id")],
    )
    db["media_files"].create_index(["post_id", "source_url"], unique=True)


@migration
def m007_learned_scores_and_visibility(db: Database) -> None:
    """The learned scorer, and one rule for what outputs may show.

    Scores now carry the model version that produced them (null: redo them). Reasons and
    flag reasons used to quote the words that matched, so a redacted child's name
    survived in them: they become kinds and positions, and the quotes are dropped here.
    Only the latest redaction's text is kept in the decision history, for the same reason.
    `visible_posts` is the single definition of what a report, export or register may
    show: live posts, checked for safeguarding, not flagged unless a reviewer accepted them.
    """
    db["testimonies"].add_column("model_version", str)
    db["media_files"].add_column("faces", int)  # faces found in an image; null: not looked at yet
    for post_id, flag_reasons in db.execute("SELECT post_id, flag_reasons FROM testimonies").fetchall():
        labels = [{"label": str(r).split(":")[0]} for r in json.loads(flag_reasons or "[]")]
        db.execute("UPDATE testimonies SET reasons = '[]', flag_reasons = ? WHERE post_id = ?",
                   [json.dumps(labels), post_id])
    db.execute(
        "UPDATE testimony_decisions SET display_text = NULL WHERE action = 'redact' AND id NOT IN"
        " (SELECT max(id) FROM testimony_decisions WHERE action = 'redact' GROUP BY post_id)"
    )
    db.execute(
        "CREATE VIEW visible_posts AS SELECT p.id, p.platform, p.source, p.url, p.author_id, p.author,"
        " p.created_at, p.edited_at, coalesce(t.display_text, p.text) AS text, p.content_warning, p.language,"
        " p.hashtags, p.media, p.likes, p.reposts, p.replies, p.quotes, p.metrics, t.status AS testimony_status,"
        " t.score AS testimony_score, t.consent, t.note, t.reasons FROM posts p JOIN testimonies t ON t.post_id = p.id"
        " WHERE p.deleted_at IS NULL AND (t.flagged = 0 OR t.status = 'accepted')"
    )


@migration
def m008_revisions(db: Database) -> None:
    """Bluesky has no edited_at: an edit shows only as a new record CID, made later.

    `revision` and `revised_at` hold a platform's own name and time for the version of
    a post's content (Bluesky: CID and indexedAt), so edits there become versions too.
    """
    db["posts"].add_column("revision", str)
    db["posts"].add_column("revised_at", str)


@migration
def m009_rejected_items(db: Database) -> None:
    """Items of a page that could not be read as posts, kept as received: nothing is lost,
    and one malformed status no longer blocks its source. Each is kept once (by digest)."""
    db["rejected_items"].create(
        {"id": int, "platform": str, "source": str, "stream": str, "item_id": str, "reason": str, "raw": str,
         "raw_sha256": str, "fetch_id": int, "first_seen_at": str},
        pk="id",
        foreign_keys=[("fetch_id", "fetches", "id")],
    )
    db["rejected_items"].create_index(["platform", "raw_sha256"], unique=True)


@migration
def m010_streams_and_notices(db: Database) -> None:
    """Two names that misled. `cursors.hashtag` held any stream's name (a hashtag, a Reddit or
    Bluesky query): it becomes `cursors.stream`. `source_runs.warnings` held prose that the
    report searched for the word "cap": it becomes a JSON list of notices, each with its
    `kind` (monitor.core.records). `current_posts` names the rule for a live post once.
    Old warnings get their kind guessed here from their
    wording, the one place that ever reads it, and are marked `"guessed": true`.
    """
    db.execute("ALTER TABLE cursors RENAME COLUMN hashtag TO stream")
    # the live posts: what every reader that is not an output reads (outputs read visible_posts)
    db.execute("CREATE VIEW current_posts AS SELECT * FROM posts WHERE deleted_at IS NULL")
    rows = db.execute("SELECT rowid, warnings FROM source_runs WHERE warnings IS NOT NULL AND warnings != '[]'")
    for rowid, text in rows.fetchall():
        old = json.loads(text)
        if all(isinstance(w, dict) for w in old):
            continue
        notices = [w if isinstance(w, dict) else
                   {"kind": _guess_kind(w), "message": w, "count": 1, "guessed": True} for w in old]
        db.execute("UPDATE source_runs SET warnings = ? WHERE rowid = ?", [json.dumps(notices), rowid])


def _guess_kind(message: str) -> str:
    for words, kind in (("cap", "cap"), ("malformed", "malformed"), ("max_requests", "request_limit"),
                        ("stopped walking", "stalled"), ("ignores some of the query", "ignored_terms"),
                        ("deleted (", "deleted")):
        if words in message:
            return kind
    return "other"


@migration
def m011_fewer_post_indexes(db: Database) -> None:
    """Every index on posts is paid on every insert. `created_at` alone is the first column
    of `idx_posts_report` and `author_id` alone the first of `idx_posts_author_created`:
    each query they served is served as well by the longer one, so they go."""
    db.execute("DROP INDEX IF EXISTS idx_posts_created_at")
    db.execute("DROP INDEX IF EXISTS idx_posts_author_id")
