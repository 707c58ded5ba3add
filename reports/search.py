"""Full-text search over what outputs may show: ranked hits with the words that matched.

The index (`posts_fts`, migration m017) holds every post's words; a hit is shown only if
its post is in `visible_posts` (checked, not flagged unless accepted, not deleted), and
its text and author go through the report's `Disclosure`, so a search shows exactly what a
report could quote, and no more.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import date

from sqlite_utils import Database

from reports.cells import terminal
from reports.pseudonym import Disclosure

START, END = "\x02", "\x03"  # snippet markers: control characters no shown text keeps
SNIPPET_TOKENS = 24
SYNTAX = ('write words, "quoted phrases", prefix*, AND, OR, NOT, NEAR(a b) and parentheses; '
          'quote a word that is also an operator ("not")')


class SearchError(ValueError):
    """A query the index cannot read: the message names it and says what would be right."""


@dataclass
class Hit:
    post_id: int
    platform: str
    posted: str  # UTC, ISO 8601
    author: str  # as the report shows it: a pseudonym unless show_authors
    url: str  # empty unless the report would show post links
    snippet: str  # one line of the shown text around the match
    highlights: list[tuple[int, int]] = field(default_factory=list)  # spans of `snippet` that matched
    rank: float = 0.0  # bm25: lower is better

    def as_json(self) -> dict:
        return asdict(self)


def search(db: Database, query: str, shown: Disclosure, *, platform: str | None = None,
           since: date | None = None, until: date | None = None, limit: int = 20) -> list[Hit]:
    """The best `limit` visible posts matching `query` (FTS5 syntax), best first.

    The index ranks first, alone (FTS5 computes bm25 for the matches in C and keeps the
    best), and only those candidates are joined to `visible_posts` and the filters; the
    window widens until `limit` hits are found or the matches run out. A query matching a
    hundred thousand posts thus costs one ranking pass, not a hundred thousand joins.
    """
    if not query.strip():
        raise SearchError("search query is empty: " + SYNTAX)
    filters, params = [], []
    if platform:
        filters.append("v.platform = ?")
        params.append(platform)
    if since:
        filters.append("v.created_at >= ?")
        params.append(since.isoformat())
    if until:
        filters.append("v.created_at < ?")
        params.append(until.isoformat())
    where = "".join(f" AND {f}" for f in filters)
    window = max(limit * 4, 50)
    while True:
        try:
            rows = db.execute(
                "SELECT v.id, v.platform, v.created_at, a.platform, a.handle, v.url, m.snippet, m.rank FROM"
                f" (SELECT rowid, snippet(posts_fts, -1, '{START}', '{END}', '…', {SNIPPET_TOKENS}) AS snippet,"
                "  rank FROM posts_fts WHERE posts_fts MATCH ? ORDER BY rank LIMIT ?) m"
                f" JOIN visible_posts v ON v.id = m.rowid LEFT JOIN authors a ON a.id = v.author_id WHERE 1{where}"
                " ORDER BY m.rank LIMIT ?",
                [query, window, *params, limit],
            ).fetchall()
            matched = db.execute("SELECT count(*) FROM (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?"
                                 " LIMIT ?)", [query, window]).fetchone()[0] if len(rows) < limit else 0
        except sqlite3.OperationalError as e:
            if "fts5" in str(e) or "no such column" in str(e) or "unterminated" in str(e):
                raise SearchError(f"search query {query!r} cannot be read ({e}): {SYNTAX}") from None
            raise
        if len(rows) >= limit or matched < window:
            return [_hit(row, shown) for row in rows]
        window *= 4


def disclose_snippet(marked: str | None, shown: Disclosure) -> tuple[str, list[tuple[int, int]]]:
    """A snippet FTS5 marked with START/END, as `shown` lets it be quoted, and the spans that matched.

    Disclosure runs on the unmarked text (a marker inside "@name" would hide the mention from
    it), then the matched words are found again in what is left: a pseudonymised mention is
    "@…" and highlights nothing."""
    words = {w.lower() for w in re.findall(f"{START}(.*?){END}", marked or "", re.S) if w.strip()}
    text = terminal(shown.text((marked or "").replace(START, "").replace(END, "")))
    if not words:
        return text, []
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.I)
    return text, [m.span() for m in pattern.finditer(text)]


def mark(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with START/END around each span again."""
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], START, text[start:end], END]
        last = end
    return "".join(out) + text[last:]


def _hit(row: tuple, shown: Disclosure) -> Hit:
    post_id, platform, posted, author_platform, handle, url, marked, rank = row
    text, spans = disclose_snippet(marked, shown)
    author = shown.author(author_platform, handle) if handle else ""
    return Hit(post_id, platform, posted, author, shown.link(url), text, spans, round(rank, 3))
