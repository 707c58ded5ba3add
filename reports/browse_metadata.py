"""Datasette's metadata for the archive: descriptions, permissions and canned queries.

Anyone who can reach the pages sees only `browse_posts` and the canned queries, which read
what a report may show; every base table (authors, raw payloads, flagged posts...), the
search index's own tables and arbitrary SQL need the archivist to sign in.
"""

from __future__ import annotations

from monitor.archive.rollups import engagement_sql
from monitor.core.config import Config
from reports.definitions import HEADLINES
from reports.schema_docs import TABLES, describe
from reports.search import RANKED, SNIPPET_TOKENS

ARCHIVE = "archive"  # the database's name in the pages' addresses, whatever the file is called
BROWSE_VIEW = "browse_posts"
ARCHIVIST = {"id": "archivist"}
PASSWORD_ENV = "CAMPAIGN_MONITOR_ARCHIVIST_HASH"
ENGAGEMENT = engagement_sql("v")

# what a report may show of each post: `visible_posts` says which, the shown_* functions
# (reports.browse, the report's Disclosure) how much of each
BROWSE_ROWS = (
    f"SELECT v.id, v.created_at, v.platform, v.source, shown_author(a.platform, a.handle) AS author,"
    " shown_text(v.text) AS text, shown_text(v.media_text) AS picture_text,"
    " shown_text(v.content_warning) AS content_warning, v.language, v.hashtags,"
    f" json_array_length(v.media) AS media, v.likes, v.reposts, v.replies, v.quotes, {ENGAGEMENT} AS engagement,"
    " shown_link(v.url) AS url, v.testimony_status, v.testimony_score"
    " FROM visible_posts v LEFT JOIN authors a ON a.id = v.author_id"
)
BROWSE_SQL = BROWSE_ROWS + " ORDER BY v.created_at DESC"  # newest first: Datasette cannot sort a view
# what Datasette's row count of the view reads instead: SQLite (before 3.41) does not flatten a view
# with ORDER BY into count(*), and would compute every row's shown_* columns just to count them
BROWSE_COUNTED = "browse_posts_counted"

SINCE = "coalesce(nullif(:since, ''), '0000')"  # an empty field: from the start

QUERIES = {
    "search": {
        "title": "Search posts",
        "description": ("Posts whose words match, best first, with the matching words marked. Words match their "
                        "stems; AND, OR, NOT, \"phrases\", prefix* and parentheses work. A word in most posts "
                        f"ranks the {RANKED:,} collected last that have it."),
        # as reports.search: the index ranks the RANKED matches collected last, alone (bm25 in C), and only
        # its best 500 are joined and shown
        "sql": ("SELECT v.id, v.created_at, v.platform, shown_author(a.platform, a.handle) AS author,"
                f" shown_snippet(m.snippet) AS snippet, {ENGAGEMENT} AS engagement, shown_link(v.url) AS url FROM"
                f" (SELECT rowid, snippet(posts_fts, -1, char(2), char(3), '…', {SNIPPET_TOKENS}) AS snippet, rank"
                " FROM posts_fts WHERE posts_fts MATCH :q AND rowid >= coalesce((SELECT rowid FROM posts_fts"
                f" WHERE posts_fts MATCH :q ORDER BY rowid DESC LIMIT 1 OFFSET {RANKED - 1}), 0)"
                " ORDER BY rank LIMIT 500) m"
                " JOIN visible_posts v ON v.id = m.rowid LEFT JOIN authors a ON a.id = v.author_id"
                " ORDER BY m.rank LIMIT 50"),
    },
    "posts_by_day": {
        "title": "Posts by day and platform",
        "description": "Visible posts per day (UTC) and platform, with their engagement, newest day first.",
        # visible_posts, not the view: counting needs none of the shown_* columns
        "sql": ("SELECT substr(v.created_at, 1, 10) AS day, v.platform, count(*) AS posts,"
                f" sum({ENGAGEMENT}) AS engagement FROM visible_posts v WHERE v.created_at >= {SINCE}"
                " GROUP BY day, v.platform ORDER BY day DESC, v.platform"),
    },
    "top_posts": {
        "title": "Top posts by engagement",
        "description": "The 50 visible posts with most engagement (likes + reposts + replies + quotes) since a day.",
        # the 50 chosen first, then shown: the shown_* functions run 50 times, not once a post
        "sql": ("SELECT v.id, v.created_at, v.platform, shown_author(a.platform, a.handle) AS author,"
                " shown_text(v.text) AS text, t.engagement, v.likes, v.reposts, v.replies, v.quotes,"
                f" shown_link(v.url) AS url FROM (SELECT v.id, {ENGAGEMENT} AS engagement FROM visible_posts v"
                f" WHERE v.created_at >= {SINCE} ORDER BY engagement DESC, v.created_at LIMIT 50) t"
                " JOIN visible_posts v ON v.id = t.id LEFT JOIN authors a ON a.id = v.author_id"
                " ORDER BY t.engagement DESC, v.created_at"),
    },
    "top_authors": {
        "title": "Top participants",
        "description": "The 50 participants with most visible posts since a day, as reports name them.",
        "sql": ("SELECT shown_author(a.platform, a.handle) AS participant, a.platform, c.posts, c.engagement FROM"
                f" (SELECT v.author_id, count(*) AS posts, sum({ENGAGEMENT}) AS engagement FROM visible_posts v"
                f" WHERE v.created_at >= {SINCE} GROUP BY v.author_id ORDER BY posts DESC, engagement DESC LIMIT 50) c"
                " JOIN authors a ON a.id = c.author_id ORDER BY c.posts DESC, c.engagement DESC"),
    },
    "testimony_candidates": {
        "title": "Testimony candidates",
        "description": "Posts the model thinks tell how nurture helped, awaiting review, best score first.",
        "sql": (f"SELECT id, testimony_score, created_at, platform, author, text, url FROM {BROWSE_VIEW}"
                " WHERE testimony_status = 'candidate' ORDER BY testimony_score DESC LIMIT 200"),
    },
    "accepted_testimonies": {
        "title": "Accepted testimonies",
        "description": "Testimonies a reviewer accepted, with the consent recorded for each.",
        "sql": ("SELECT v.id, v.created_at, v.platform, shown_author(a.platform, a.handle) AS author,"
                " shown_text(v.text) AS text, v.consent, shown_link(v.url) AS url FROM visible_posts v"
                " LEFT JOIN authors a ON a.id = v.author_id WHERE v.testimony_status = 'accepted'"
                " ORDER BY v.created_at DESC"),
    },
    "coverage_last_week": {
        "title": "Coverage of the last 7 days",
        "description": "Each source's runs, failures and new posts over the last 7 days: what the numbers may miss.",
        "sql": ("SELECT s.platform, s.source, count(*) AS runs, sum(s.status = 'failed') AS failed_runs,"
                " sum(s.new_posts) AS new_posts, max(r.started_at) AS last_run FROM source_runs s"
                " JOIN runs r ON r.id = s.run_id WHERE r.started_at >= strftime('%Y-%m-%dT%H:%M:%S', 'now', '-7 days')"
                " GROUP BY s.platform, s.source ORDER BY s.platform, s.source"),
    },
    "failed_runs_last_week": {
        "title": "Failed runs of the last 7 days",
        "description": "Every source that failed or was skipped in the last 7 days, and why.",
        "sql": ("SELECT r.started_at, s.platform, s.source, s.status, s.error FROM source_runs s"
                " JOIN runs r ON r.id = s.run_id WHERE s.status != 'ok'"
                " AND r.started_at >= strftime('%Y-%m-%dT%H:%M:%S', 'now', '-7 days') ORDER BY r.started_at DESC"),
    },
    "flagged_for_review": {
        "title": "Flagged posts awaiting review (archivist)",
        "description": "Posts that may identify a child, kept out of every output until a reviewer accepts them.",
        "sql": ("SELECT p.id, p.created_at, p.platform, p.author, p.text, t.flag_reasons, t.status FROM posts p"
                " JOIN testimonies t ON t.post_id = p.id WHERE t.flagged = 1 AND t.status != 'accepted'"
                " AND p.deleted_at IS NULL ORDER BY p.created_at DESC"),
        "allow": ARCHIVIST,
    },
}


def metadata(config: Config, tables: list[str], views: list[str], columns: dict[str, list[str]]) -> dict:
    """The metadata for this archive's schema: every table and column described, each base table
    and view behind the archivist's sign-in but `browse_posts`."""
    hashtags = ", ".join(f"#{t}" for t in config.hashtags)
    definitions = "; ".join(f"{m.name} ({m.unit}): {m.definition}" for m in HEADLINES)
    described = {}
    for name in [*tables, *views, BROWSE_VIEW]:
        entry = {"description": TABLES.get(name, ("", {}))[0],
                 "columns": {c: describe(name, c) or describe("posts", c) or "" for c in columns.get(name, [])}}
        if name == BROWSE_VIEW:  # the search box: matches newest first (a view has one order); "search" ranks
            entry.update({"fts_table": "posts_fts", "fts_pk": "id", "searchmode": "raw"})
        else:
            entry["allow"] = ARCHIVIST
        described[name] = entry
    return {
        "title": f"{config.name}: the archive",
        "description": (f"Public posts with {hashtags}, as the campaign's reports show them. Metrics: {definitions}. "
                        "Base tables, raw payloads and flagged posts are for the archivist (sign in)."),
        "databases": {ARCHIVE: {"allow_sql": ARCHIVIST, "tables": described, "queries": QUERIES}},
        "plugins": {"datasette-auth-passwords": {"archivist_password_hash": {"$env": PASSWORD_ENV}}},
    }
