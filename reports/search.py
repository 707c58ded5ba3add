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
RANKED = 2_000  # a query ranks at most this many matches, the last collected (see search)
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


@dataclass
class Found:
    hits: list[Hit]
    capped: bool  # the query matched more than RANKED posts: the hits are the best of the last RANKED collected


def _id_bounds(db: Database, since: date | None, until: date | None) -> tuple[int, int] | None:
    """The id range that holds every live post of the window (ids follow collection, not posting,
    so it is a superset the join then trims); None when the window holds no post."""
    lo, hi = 0, 2**63 - 1
    if since:  # both read the (created_at, ...) index of live posts, not the table
        lo = db.execute("SELECT min(id) FROM posts WHERE created_at >= ? AND deleted_at IS NULL",
                        [since.isoformat()]).fetchone()[0]
    if until:
        hi = db.execute("SELECT max(id) FROM posts WHERE created_at < ? AND deleted_at IS NULL",
                        [until.isoformat()]).fetchone()[0]
    return None if lo is None or hi is None else (lo, hi)


def search(db: Database, query: str, shown: Disclosure, *, platform: str | None = None,
           since: date | None = None, until: date | None = None, limit: int = 20) -> Found:
    """The best `limit` visible posts matching `query` (FTS5 syntax), best first.

    The index ranks first (FTS5 computes bm25 for the matches in C, the filters checked on
    each match's row), and only the best are joined to `visible_posts`, more of them until
    `limit` hits are found or the matches run out. Ranking costs a few
    microseconds a match, so a word in most posts ("nurture", in this campaign) would cost
    seconds over a million: a query ranks at most the RANKED matches of its window collected
    last (the index's own order, rowid; collected last is posted last, but for a first
    backfill, which collects newest first), and `capped` says so. Every query then takes
    tens of milliseconds.
    """
    if not query.strip():
        raise SearchError("search query is empty: " + SYNTAX)
    filters, params = [], []
    if platform:
        filters.append("p.platform = ?")
        params.append(platform)
    if since:
        filters.append("p.created_at >= ?")
        params.append(since.isoformat())
    if until:
        filters.append("p.created_at < ?")
        params.append(until.isoformat())
    # the filters apply while ranking, so the window holds only posts that pass them: ids
    # follow collection, not posting, so a date window is scattered over the id range
    where = (" JOIN posts p ON p.id = posts_fts.rowid WHERE" + "".join(f" {f} AND" for f in filters)) if filters else " WHERE"
    try:
        return _ranked(db, query, where, params, _id_bounds(db, since, until), limit, shown)
    except sqlite3.OperationalError as e:
        if "fts5" in str(e) or "no such column" in str(e) or "unterminated" in str(e):
            raise SearchError(f"search query {query!r} cannot be read ({e}): {SYNTAX}") from None
        raise


def _ranked(db: Database, query: str, where: str, params: list, bounds: tuple[int, int] | None, limit: int,
            shown: Disclosure) -> Found:
    if bounds is None:
        db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ? LIMIT 0", [query])  # a bad query still says so
        return Found([], False)
    lo, hi = bounds
    # One pass of the index: the window's last RANKED matches in its own (rowid) order, each
    # with its bm25, ranked here. Asking the index twice (where the window starts, then the
    # best of it) evaluated a phrase or a prefix* twice, and each pass is most of the cost.
    matches = db.execute(
        f"SELECT posts_fts.rowid, bm25(posts_fts) FROM posts_fts{where} posts_fts MATCH ?"
        " AND posts_fts.rowid BETWEEN ? AND ? ORDER BY posts_fts.rowid DESC LIMIT ?",
        [*params, query, lo, hi, RANKED + 1]).fetchall()
    capped = len(matches) > RANKED
    ranked = sorted(matches[:RANKED], key=lambda m: m[1])  # stable: equal scores, newest first
    rows: list[tuple] = []
    window = max(limit * 4, 50)
    for start in range(0, len(ranked), window):  # the best that reports may show, a window at a time
        chunk = ranked[start : start + window]
        shown_rows = {row[0]: row for row in db.execute(
            "SELECT v.id, v.platform, v.created_at, a.platform, a.handle, v.url FROM visible_posts v"
            f" LEFT JOIN authors a ON a.id = v.author_id WHERE v.id IN ({','.join('?' * len(chunk))})",
            [post_id for post_id, _ in chunk])}
        rows += [(*shown_rows[post_id], score) for post_id, score in chunk if post_id in shown_rows]
        if len(rows) >= limit:
            break
    rows = rows[:limit]
    cuts = _snippets(db, query, [row[0] for row in rows])
    return Found([_hit((*row[:6], cuts.get(row[0]), row[6]), shown) for row in rows], capped)


def _snippets(db: Database, query: str, ids: list[int]) -> dict[int, str]:
    """The marked snippet of each hit: one pass over the hits' rowid range, `+rowid IN` filtering
    (the unary plus keeps FTS5 from looking each rowid up alone, which re-expands a prefix* each time)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return dict(db.execute(
        f"SELECT rowid, snippet(posts_fts, -1, '{START}', '{END}', '…', {SNIPPET_TOKENS}) FROM posts_fts"
        f" WHERE posts_fts MATCH ? AND rowid BETWEEN ? AND ? AND +rowid IN ({marks})",
        [query, min(ids), max(ids), *ids]).fetchall())


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
