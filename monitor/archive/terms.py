"""What a post points at: its links, hashtags and mentions, kept in `post_terms`.

Extracted once, when the post (or its edit, or its redaction) is written, so a report
counts a year's links and hashtags from an index instead of re-reading every post's
text. The rows follow the text outputs show: a redaction that cuts a link cuts its row,
and a deleted post keeps none.
"""

from __future__ import annotations

import re
from typing import Iterable

from sqlite_utils import Database

from monitor.archive import rollups

URL_RE = re.compile(r"https?://[^\s<>\"')\]]+")
# @user, @user@instance.social, @name.bsky.social; not the @ inside an e-mail address or a URL
MENTION_RE = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_](?:[\w.-]*\w)?(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)")
TRAILING = ".,;:!?"
LINK, HASHTAG, MENTION = "link", "hashtag", "mention"


def extract(text: str | None, hashtags: Iterable[str], own_url: str | None) -> set[tuple[str, str]]:
    """(kind, value) pairs of a post: each distinct link (not the post's own address), hashtag and mention."""
    found = {(HASHTAG, tag.lower()) for tag in hashtags if tag}
    if not text:
        return found
    if "http" in text:
        for match in URL_RE.finditer(text):
            link = match.group(0).rstrip(TRAILING)
            if own_url and link.startswith(own_url):
                continue
            found.add((LINK, link))
    if "@" in text:
        found.update((MENTION, m.lower()) for m in MENTION_RE.findall(text))
    return found


def replace_terms(db: Database, rows: Iterable[tuple[int, str | None, Iterable[str], str | None]]) -> None:
    """Make `post_terms` hold exactly the terms of each (post id, text, hashtags, own url); inside a transaction."""
    rows = list(rows)
    if not rows:
        return
    db.conn.executemany("DELETE FROM post_terms WHERE post_id = ?", [(r[0],) for r in rows])
    add_terms(db, rows)
    rollups.count_terms(db, [r[0] for r in rows])


def add_terms(db: Database, rows: Iterable[tuple[int, str | None, Iterable[str], str | None]]) -> None:
    """Terms of posts that have none yet: just inserted, so not yet reviewed nor counted by the
    rollups (`replace_terms` counts the terms it gives a post already shown)."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO post_terms (post_id, kind, value) VALUES (?, ?, ?)",
        [(post_id, kind, value) for post_id, text, tags, url in rows for kind, value in extract(text, tags, url)],
    )
