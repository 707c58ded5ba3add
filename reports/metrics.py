"""The report's numbers, computed with pandas from rows filtered in SQL.

Only the period's rows are read (posts.created_at is indexed), post text only for the
few top posts (links and hashtags come from `post_terms`), so a one-week report never
loads the archive.
Every metric is declared once in `reports.definitions`; this module computes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import pandas as pd
from sqlite_utils import Database

from monitor.archive.fixity import last_verified
from monitor.archive.rollups import SHOWN, engagement_sql, hour_counts, term_counts
from monitor.archive.terms import HASHTAG, LINK
from monitor.core.records import CAP
from reports.definitions import HEADLINES, Aggregates, Metric, definitions_table
from reports.period import Period
from reports.pseudonym import Disclosure



@dataclass
class Headline:
    metric: Metric
    value: float
    previous: float

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def change(self) -> float | None:
        return None if not self.previous else (self.value - self.previous) / self.previous * 100


@dataclass
class Metrics:
    period: Period
    headlines: list[Headline]
    tables: dict[str, pd.DataFrame]  # what the CSV and XLSX exports hold
    daily: pd.DataFrame  # day x platform: posts
    daily_engagement: pd.Series
    new_participants: int
    returning_participants: int
    coverage_notes: list[str] = field(default_factory=list)
    testimony_counts: dict[str, int] = field(default_factory=dict)
    fixity: str = ""  # when the archive was last verified, and how it went

    @property
    def empty(self) -> bool:
        return self.headlines[0].value == 0


class _Names(dict):
    """Author id -> the name a report shows, looked up and computed only for the authors it shows
    (a year has 150,000 participants and shows 30)."""

    def __init__(self, db: Database, shown: Disclosure):
        super().__init__()
        self.db, self.shown = db, shown

    def __missing__(self, author_id: int) -> str:
        platform, handle = self.db.execute("SELECT platform, handle FROM authors WHERE id = ?",
                                           [author_id]).fetchone() or ("", "")
        self[author_id] = name = self.shown.author(platform, handle)
        return name


def live_in_period(alias: str = "posts") -> str:
    """The period's live posts (the `current_posts` view's rule, written on the table so the
    covering index below can be named; parameters: the period's UTC bounds)."""
    return f"{alias}.created_at >= ? AND {alias}.created_at < ? AND {alias}.deleted_at IS NULL"


# The planner prefers the plain created_at index, which makes it read every row; this
# covering index (migration m005) holds every column the totals use.
COVERED = "INDEXED BY idx_posts_report"


def _aggregates(db: Database, period: Period, zone: ZoneInfo) -> Aggregates:
    bounds = list(period.utc_bounds)
    sql, parameters = hour_counts(*period.utc_bounds)  # from the hourly rollups (m020)
    hourly = pd.read_sql_query(sql, db.conn, params=parameters)
    # Hours are whole in UTC, so this is exact for zones whose offsets are whole hours (the UK's)
    hourly["day"] = (pd.to_datetime(hourly["hour"] + ":00:00+00:00", utc=True, format="ISO8601")
                     .dt.tz_convert(zone).dt.date)
    # counted first, joined after: one authors lookup per author, not one per post
    authors = pd.read_sql_query(
        "SELECT c.author_id, a.platform, a.followers_count, a.first_post_at, c.posts,"
        f" c.engagement FROM (SELECT p.author_id, count(*) AS posts, sum({engagement_sql('p')}) AS engagement"
        f" FROM posts p {COVERED} WHERE {live_in_period('p')} GROUP BY p.author_id) c"
        " LEFT JOIN authors a ON a.id = c.author_id",
        db.conn, params=bounds,
    )
    return Aggregates(hourly, authors)


# Everything below that reads what posts *say* goes by `visible_posts` (migration m007), the one
# rule for what outputs may show: no deleted post, no post not yet checked for safeguarding,
# no flagged post a reviewer has not accepted, and a redaction instead of the original. Its
# rule is `posts.review` (m020), in the report index, so what may be shown is counted there.
def in_period(alias: str, scan: bool) -> str:
    """`alias.created_at` within the period's bounds, kept off the date index when `scan`.

    For a period that holds much of the archive, `+` keeps SQLite off that index, so posts
    are read in rowid order, one sequential pass, instead of a random read a post.
    """
    column = f"{'+' if scan else ''}{alias}.created_at"
    return f"{column} >= ? AND {column} < ?"


def _terms(db: Database, period: Period, per_kind: int = 60) -> dict[str, list[tuple[str, int]]]:
    """The most frequent links and hashtags of the period's visible posts: whole days from the
    day rollups, the edges from `post_terms` (both kept when each post was written or reviewed)."""
    counted, parameters = term_counts(*period.utc_bounds, (LINK, HASHTAG))
    rows = db.execute(
        "SELECT kind, value, n FROM (SELECT kind, value, n, row_number() OVER (PARTITION BY kind ORDER BY n DESC,"
        f" value) AS rank FROM ({counted})) WHERE rank <= ? ORDER BY kind, n DESC, value",
        [*parameters, per_kind],
    ).fetchall()
    found: dict[str, list[tuple[str, int]]] = {LINK: [], HASHTAG: []}
    for kind, value, n in rows:
        found[kind].append((value, n))
    return found


def _co_hashtags(terms: dict[str, list[tuple[str, int]]], campaign: set[str]) -> pd.DataFrame:
    kept = [(f"#{tag}", n) for tag, n in terms[HASHTAG] if tag not in campaign][:20]
    return pd.DataFrame(kept, columns=["hashtag", "posts"])


def _links(terms: dict[str, list[tuple[str, int]]], shown: Disclosure) -> pd.DataFrame:
    """Links the posts share (not their own addresses), as far as `shown` lets a link be shown."""
    kept = [(link, n) for link, n in terms[LINK] if shown.shared_link(link)][:15]
    return pd.DataFrame(kept, columns=["link", "posts"])


def _top_posts(db: Database, period: Period, zone: ZoneInfo, names: dict, shown: Disclosure) -> pd.DataFrame:
    # the ten chosen in the report index (it holds the counts and the rule), then read
    rows = db.execute(
        f"SELECT platform, author_id, created_at, {engagement_sql('v')} AS engagement, text, url"
        f" FROM visible_posts v WHERE v.id IN (SELECT p.id FROM posts p {COVERED} WHERE {live_in_period('p')}"
        f" AND {SHOWN} ORDER BY {engagement_sql('p')} DESC, p.created_at LIMIT 10)"
        " ORDER BY engagement DESC, created_at",
        list(period.utc_bounds),
    ).fetchall()
    return pd.DataFrame(
        [{"platform": p, "author": names[a],
          "posted": pd.Timestamp(c).tz_convert(zone).strftime("%Y-%m-%d %H:%M"),
          "engagement": e, "text": shown.text(t), "url": shown.link(u)} for p, a, c, e, t, u in rows],
        columns=["platform", "author", "posted", "engagement", "text", "url"],
    )


def _coverage(db: Database, period: Period) -> tuple[pd.DataFrame, list[str]]:
    start, end = period.utc_bounds
    rows = db.execute(
        "SELECT s.platform, s.source, s.status, s.error, s.warnings, r.started_at FROM source_runs s"
        " JOIN runs r ON r.id = s.run_id WHERE r.started_at >= ? AND r.started_at < ?"
        " AND r.command NOT LIKE '%refresh%' ORDER BY r.started_at", [start, end],
    ).fetchall()
    notes, table = [], {}
    for platform, source, status, error, warnings, started in rows:
        entry = table.setdefault((platform, source), {"platform": platform, "source": source, "runs": 0,
                                                       "failed runs": 0, "cap warnings": 0})
        entry["runs"] += 1
        if status == "failed":
            entry["failed runs"] += 1
            notes.append(f"{started[:16].replace('T', ' ')} UTC: {platform} {source} failed: {error}")
        elif status == "skipped":
            notes.append(f"{started[:16].replace('T', ' ')} UTC: {platform} not collected: {error}")
        for notice in json.loads(warnings or "[]"):
            if notice["kind"] == CAP:
                entry["cap warnings"] += 1
                notes.append(f"{started[:16].replace('T', ' ')} UTC: {notice['message']}")
    if not rows:
        notes.append("No collection ran in this period: every number here may be incomplete.")
    frame = pd.DataFrame(list(table.values()), columns=["platform", "source", "runs", "failed runs", "cap warnings"])
    return frame, notes


def fixity_line(db: Database) -> str:
    last = last_verified(db)
    if last is None:
        return "The archive has never been verified (run 'campaign-monitor verify')."
    at, checked, failed = last
    when = f"{at[:16].replace('T', ' ')} UTC"
    if failed:
        return f"Archive last verified {when}: {failed} PROBLEMS found in {checked:,} objects (run 'campaign-monitor verify')."
    return f"Archive last verified {when}: every check passed ({checked:,} objects)."


def _column_dict(frame: pd.DataFrame, column: str) -> dict:
    """author_id -> `column`, through lists: iterating a pyarrow-backed column costs a Python call a value."""
    return dict(zip(frame["author_id"].tolist(), frame[column].tolist()))


def compute(db: Database, period: Period, *, zone: ZoneInfo, hashtags: tuple[str, ...],
            shown: Disclosure, testimonies: pd.DataFrame | None = None) -> Metrics:
    """Everything the report shows, authors and links as `shown` allows."""
    agg = _aggregates(db, period, zone)
    before = _aggregates(db, period.previous(), zone)
    first_seen = _column_dict(agg.authors, "first_post_at")
    start, _ = period.utc_bounds
    new_ids = {a for a, first in first_seen.items() if isinstance(first, str) and first >= start}
    names = _Names(db, shown)

    prev_first = _column_dict(before.authors, "first_post_at")
    agg.new_participants = len(new_ids)
    prev_start = period.previous().utc_bounds[0]  # once, not once an author
    before.new_participants = sum(1 for first in prev_first.values() if isinstance(first, str) and first >= prev_start)
    headlines = [Headline(m, m.value(agg), m.value(before)) for m in HEADLINES]

    hourly = agg.hourly
    daily = (hourly.groupby(["day", "platform"])["posts"].sum().unstack(fill_value=0)
             .reindex(period.days(), fill_value=0) if len(hourly) else pd.DataFrame(index=period.days()))
    daily.index.name = "day"
    daily_engagement = hourly.groupby("day")["engagement"].sum().reindex(period.days(), fill_value=0)

    by_source = hourly.groupby(["platform", "source"])["posts"].sum().rename("posts")
    prev_source = before.hourly.groupby(["platform", "source"])["posts"].sum().rename("previous period")
    sources = pd.concat([by_source, prev_source], axis=1).fillna(0).astype("int64").reset_index()
    sources["change %"] = [f"{(p - q) / q * 100:+.0f}%" if q else "new" for p, q in zip(sources["posts"], sources["previous period"])]

    participants = (agg.authors.sort_values(["posts", "engagement"], ascending=False).head(20)
                    [["author_id", "posts", "engagement", "platform"]].reset_index(drop=True))
    participants["new this period"] = ["yes" if a in new_ids else "no" for a in participants["author_id"]]
    participants.insert(0, "participant", [names[a] for a in participants.pop("author_id")])

    coverage, notes = _coverage(db, period)
    notes += shown.notes
    # every live post of the period by its review state: how many are not yet checked (counted,
    # never quoted), and how many of the visible ones are candidates and accepted
    states = hourly.groupby("review")["posts"].sum().to_dict() if len(hourly) else {}
    unchecked = states.get("unchecked", 0)
    if unchecked:
        notes.append(f"{unchecked} posts of this period are not yet checked for safeguarding: they are counted, but "
                     "none is quoted and their links and hashtags are left out (run 'campaign-monitor testimonies "
                     "rescore').")
    terms = _terms(db, period)
    tables = {
        "daily_volume": daily.reset_index(),
        "sources": sources,
        "top_posts": _top_posts(db, period, zone, names, shown),
        "top_participants": participants,
        "co_hashtags": _co_hashtags(terms, {t.lower() for t in hashtags}),
        "links": _links(terms, shown),
        "coverage": coverage,
        "headlines": pd.DataFrame([{"metric": h.name, "value": h.value, "unit": h.metric.unit,
                                    "previous period": h.previous,
                                    "change %": None if h.change is None else round(h.change, 1)} for h in headlines]),
        "definitions": definitions_table(),
    }
    tables["testimonies"] = testimonies if testimonies is not None else pd.DataFrame(
        columns=["date", "platform", "author", "text", "link", "consent"])
    return Metrics(period, headlines, tables, daily, daily_engagement, len(new_ids),
                   len(first_seen) - len(new_ids), notes,
                   {"candidates": states.get("candidate", 0), "accepted": states.get("accepted", 0)},
                   fixity_line(db))

