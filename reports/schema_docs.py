"""What every table and column of the archive holds, in words: Datasette's metadata reads it.

A column is described once: by its table where its meaning is the table's own, otherwise
by its name (`COMMON`), since `platform` or `fetch_id` mean the same everywhere. Units are
part of each description. `tests/test_browse.py` fails when a migration adds a column
nobody described, so the browsing pages can't drift from the schema.
"""

from __future__ import annotations

UTC = "(UTC, ISO 8601)"
COUNT = "(a count, as last seen)"

COMMON = {
    "id": "Row id in this archive",
    "platform": "Platform: mastodon, reddit or bluesky",
    "source": "Where it was collected: a Mastodon instance, a subreddit or a Bluesky service",
    "post_id": "The post (posts.id)",
    "run_id": "The collection run (runs.id)",
    "fetch_id": "The HTTP request that brought it (fetches.id)",
    "raw_fetch_id": "The HTTP request that brought the stored payload (fetches.id)",
    "first_fetch_id": "The HTTP request that first brought it (fetches.id)",
    "superseded_by_fetch_id": "The HTTP request that brought the newer version (fetches.id)",
    "status": "State, as named in the table's description",
    "error": "What went wrong, one line",
    "text": "The text as outputs show it: a reviewer's redaction replaces the original",
    "content_warning": "The author's content warning or spoiler text",
    "edited_at": f"When the author last edited it {UTC}",
    "likes": f"Likes, favourites or upvotes {COUNT}",
    "reposts": f"Reposts or boosts {COUNT}",
    "replies": f"Replies or comments {COUNT}",
    "quotes": f"Quote posts {COUNT}",
    "metrics": "Counts only one platform reports (JSON object)",
    "raw": "The payload exactly as the platform sent it (JSON)",
    "raw_sha256": "sha256 of the stored payload, checked by `verify`",
    "sha256": "sha256 of the stored bytes, checked by `verify`",
    "digest_origin": "'fetched': digest made when received; 'migrated': made later from what the archive held",
    "first_seen_at": f"When campaign-monitor first saw it {UTC}",
    "last_seen_at": f"When campaign-monitor last saw it {UTC}",
    "created_at": f"When it was posted {UTC}",
    "updated_at": f"When this row last changed {UTC}",
    "at": f"When it happened {UTC}",
    "note": "A reviewer's note",
    "consent": "Consent to quote: unknown, requested, granted or refused",
    "display_text": "The redacted text a reviewer approved for display",
    "decided_by": "Who decided",
    "decided_at": f"When it was decided {UTC}",
    "software_version": "campaign-monitor's version",
    "url": "Its address on the platform",
    "author": "The author's handle as the platform gave it",
    "author_id": "The author (authors.id)",
    "key": "The platform's own identifier (a URI, fullname or AT URI)",
    "handle": "The account's handle",
    "hashtags": "Hashtags, lower case (JSON array)",
    "media": "Attached pictures and videos (JSON array)",
    "language": "Language the platform declared (ISO 639)",
    "engagement": "likes + reposts + replies + quotes (a count)",
    "testimony_status": "Testimony review: none, candidate, accepted or rejected",
    "testimony_score": "Testimony score, 0 to 1 (higher: more likely a story of how nurture helped)",
    "reasons": "Why it was scored so (JSON array)",
    "version": "Version number: 1 for the first state stored, one more for each edit or count change",
    "kind": "Kind, as named in the table's description",
}

TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "alerts": ("Each spike alert and review digest the daemon sent; a spike is announced once, while open.", {
        "kind": "spike or digest", "started_at": f"When it was first alerted {UTC}",
        "ended_at": f"When the spike was over (null: still open) {UTC}",
        "window_start": f"Start of the period it counted {UTC}", "window_end": f"End of that period {UTC}",
        "posts": "Posts in the period (a count)", "baseline": "Posts an hour expected then (median + MAD of 7 days)",
        "delivered": "Where it went: email, webhook (JSON array)", "sent_at": f"When it was sent {UTC}"}),
    "runs": ("Each command that collected, refreshed or reported: when, with which version, how it ended.", {
        "command": "The command line that ran", "started_at": f"Start {UTC}", "finished_at": f"End {UTC}",
        "status": "running, ok, partial or failed", "pid": "Its process id"}),
    "source_runs": ("Each source within a run: new and updated posts, requests, warnings, errors.", {
        "status": "ok, failed or skipped", "new_posts": "Posts stored for the first time (a count)",
        "updated_posts": "Posts that got a new version (a count)", "requests": "HTTP requests made (a count)",
        "warnings": "Notices such as a cap reached or a malformed item (JSON array)",
        "finished_at": f"End {UTC}"}),
    "fetches": ("Every HTTP request behind the archive's contents: provenance for each payload.", {
        "method": "HTTP method", "endpoint": "The address requested", "params": "Its query parameters (JSON)",
        "http_status": "The HTTP status answered", "retrieved_at": f"When the answer came {UTC}"}),
    "authors": ("Accounts that posted, as last seen. Archivist only: outputs show pseudonyms unless show_authors.", {
        "display_name": "The account's display name", "url": "The account's profile address",
        "followers_count": f"Followers {COUNT}", "following_count": f"Accounts followed {COUNT}",
        "posts_count": f"Posts the account made {COUNT}",
        "first_post_at": f"When its earliest archived post was made {UTC}"}),
    "posts": ("Every post collected, one row each, its latest state; a deleted post keeps a content-free row.", {
        "local_id": "The post's id on the instance that served it", "deleted_at": f"When it was found deleted {UTC}",
        "deletion_reason": "How the deletion was found", "revision": "The platform's name for this version (Bluesky CID)",
        "revised_at": f"When the platform made this version {UTC}",
        "media_text": "What its pictures say: their descriptions (alt text), then the text read in them; a reviewer's "
                      "redaction replaces it",
        "review": "Its safeguarding state, kept from its testimony row: unchecked, held (flagged, not accepted), or "
                  "the testimony status; the rule of visible_posts"}),
    "post_versions": ("Earlier states of posts that were edited or whose counts grew: nothing is overwritten.", {
        "superseded_at": f"When a newer version replaced it {UTC}"}),
    "post_payloads": ("The raw payload of each live post, as received, with its digest. Archivist only.", {}),
    "post_terms": ("Links, hashtags and mentions of each post, extracted once when written.", {
        "kind": "link, hashtag or mention", "value": "The link, hashtag (lower case) or mention"}),
    "post_hours": ("How many live posts, and how much engagement, each UTC hour had per platform, source and "
                   "review state: what reports count volumes from, kept current by triggers.", {
        "hour": "UTC hour of the posts' creation (YYYY-MM-DDTHH)", "review": "The posts' review state (see posts)",
        "posts": "Live posts", "engagement": "Their likes + reposts + replies + quotes, as last seen"}),
    "term_days": ("How many visible posts created on each UTC day hold each term: what reports count links and "
                  "hashtags from, kept current by triggers.", {
        "day": "UTC date of the posts' creation (YYYY-MM-DD)", "kind": "link, hashtag or mention",
        "value": "The term", "posts": "Visible posts of that day holding it"}),
    "cursors": ("Where each source's next collection resumes; it moves only with the posts it covers.", {
        "stream": "Which listing of the source", "position": "The platform's cursor, id or time"}),
    "schedule": ("The daemon's jobs: when each last ran and runs next.", {
        "job": "Job name", "next_run_at": f"Next run {UTC}", "last_run_at": f"Last run {UTC}",
        "last_status": "How the last run ended", "last_summary": "What the last run did", "pid": "Daemon process id"}),
    "engagement_snapshots": ("Counts as observed at each collection: engagement over time.", {
        "observed_at": f"When the counts were read {UTC}"}),
    "testimonies": ("Each post's testimony score and safeguarding check, and the reviewer's decision.", {
        "score": "Testimony score, 0 to 1", "status": "none, candidate, accepted or rejected",
        "flagged": "1: may identify a child; kept out of every output until a reviewer accepts it",
        "flag_reasons": "What the safeguarding check found (JSON array of labels)",
        "scored_at": f"When it was scored {UTC}", "model_version": "The scoring model's version",
        "media_text_redacted": "1: a reviewer replaced what its pictures say; reading never writes it again"}),
    "testimony_decisions": ("Every reviewer decision, in order: the audit trail of the register.", {
        "action": "accept, reject, redact or consent", "status": "The status it set"}),
    "media_files": ("Pictures and videos of posts, downloaded under the media rules, stored by content hash.", {
        "source_url": "Where it was downloaded from", "kind": "image, video or other",
        "status": "pending, stored, failed, skipped or deleted", "mime_type": "Its MIME type",
        "size": "Size (bytes)", "path": "Where it is stored, under the media folder",
        "attempts": "Download attempts (a count)", "last_error": "Why the last attempt failed",
        "fetched_at": f"When it was stored {UTC}", "faces": "Faces found in the picture (a count; empty: not looked at)"}),
    "media_text": ("What each stored picture or video says, read once by file (OCR of posters, burnt-in captions).", {
        "kind": "image or video", "status": "read, unreadable (not a file the reader decodes) or failed (tried again)",
        "engine": "What read it: OCR engine, models and versions", "text": "The recognised lines, one a line",
        "lines": "Each line with its confidence (0-1), box (four corners, pixels) and, in a video, start and end "
                 "(seconds) (JSON)",
        "frames": "Video frames read (a count)", "seconds": "How much of the video was read (seconds)",
        "truncated": "1: only the start of a long video was read ([reading] max_seconds, max_frames)",
        "attempts": "Readings tried with this engine (a count)", "read_at": f"When it was read {UTC}"}),
    "rejected_items": ("Items of a page that could not be read as posts, kept as received so nothing is lost.", {
        "stream": "Which listing of the source", "item_id": "The item's id, where it had one",
        "reason": "Why it could not be read"}),
    "fixity_events": ("Each verification and what it found (PREMIS-style events).", {
        "event_type": "PREMIS event type", "check_name": "Which check", "object": "What was checked",
        "outcome": "pass or fail", "detail": "What it covered or what was wrong (JSON)",
        "agent": "What ran it"}),
    "archive_meta": ("This archive's own settings and keys. Archivist only.", {
        "name": "Setting", "value": "Its value"}),
    "erasures": ("Each erasure on request: when, by whom, why, how much; never what was erased.", {
        "by": "Who asked for it", "reason": "Why", "scope": "author or post",
        "counts": "Rows removed, by table (JSON)", "hashes": "Keyed hashes of what was erased (JSON array)"}),
    "erased_keys": ("Keyed hashes of erased posts and authors: a later collection skips them.", {
        "hash": "HMAC of the erased identifier, with this archive's key", "erasure_id": "The erasure (erasures.id)",
        "kind": "What the hash names"}),
    "_sqlite_migrations": ("The schema migrations applied to this archive (sqlite-utils).", {
        "migration_set": "Migration set", "name": "Migration", "applied_at": f"When it was applied {UTC}"}),
    "visible_posts": ("The one rule for what outputs may show: live, checked, not flagged unless accepted.", {}),
    "current_posts": ("Posts not deleted on their platform, shown or not.", {}),
    "browse_posts": ("What a report may show of each post, newest first: the public page of this archive. The "
                     "search box finds posts by their words, newest first (stems; AND, OR, NOT and \"phrases\" "
                     "work); the \"Search posts\" query ranks them, best first.", {
        "author": "The author as reports show it: a pseudonym unless the config's show_authors is true",
        "url": "Its address, when the config's link_posts allows it", "media": "Attached pictures and videos (a count)",
        "text": "The text as reports quote it",
        "picture_text": "What its pictures say (descriptions, text read in them) as reports quote it"}),
    "posts_fts": ("The full-text index of posts' text, content warnings and what their pictures say (SQLite FTS5, "
                  "stems, no diacritics): "
                  "its rows are the posts'; the \"Search posts\" query shows only what reports may.", {}),
    "posts_fts_data": ("The search index's segments (FTS5's own table).", {"block": "A block of the index"}),
    "posts_fts_idx": ("Where each term's pages are in the index's segments (FTS5's own table).", {
        "segid": "Segment", "term": "The first term on the page (a prefix, encoded)", "pgno": "Page number"}),
    "posts_fts_docsize": ("Each post's length in tokens, for ranking (FTS5's own table).", {
        "sz": "Token counts by column (FTS5's varint encoding)"}),
    "posts_fts_config": ("The search index's settings (FTS5's own table).", {"k": "Setting", "v": "Value"}),
}


def describe(table: str, column: str) -> str | None:
    own = TABLES.get(table, ("", {}))[1]
    return own.get(column) or COMMON.get(column)
