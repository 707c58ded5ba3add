"""The report's numbers, computed with pandas from rows filtered in SQL.

Only the period's rows are read (posts.created_at is indexed), and post text only for
the few top posts and for link counting, so a one-week report never loads the archive.
Every definition shown in the report's footnotes is in `DEFINITIONS`, next to the code.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlite_utils import Database

from reports.period import Period
from reports.pseudonym import pseudonym

DEFINITIONS = {
    "Posts": "distinct posts created in the period that carry a campaign hashtag or match a "
             "configured search, counted once whatever instance or search found them; deleted posts are left out.",
    "Participants": "distinct authors of those posts.",
    "New participants": "participants whose first archived post falls in this period; the others are returning.",
    "Potential reach": "the sum, over distinct participants, of their follower count as last seen by "
                       "the archive (each author counted once per period; Reddit does not expose followers).",
    "Engagement": "likes + reposts + replies (+ quotes where the platform has them), as last seen.",
    "Engagement per post": "engagement divided by posts.",
    "Change": "compared with the previous period of the same length.",
    "Co-hashtags": "hashtags that appear in the same posts as the campaign's own.",
    "Links": "web addresses in post text, other than links to the posts themselves.",
    "Coverage": "collection runs that started in the period, per source; a failed run or a reached "
                "API cap means posts may be missing from every number above.",
}
URL_RE = re.compile(r"https?://[^\s<>\"')\]]+")
ENGAGEMENT = ["likes", "reposts", "replies", "quotes"]


@dataclass
class Headline:
    name: str
    value: float
    previous: float

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

    @property
    def empty(self) -> bool:
        return self.headlines[0].value == 0


def _posts(db: Database, period: Period, zone: ZoneInfo) -> pd.DataFrame:
    start, end = period.utc_bounds
    df = pd.read_sql_query(
        "SELECT p.id, p.platform, p.source, p.created_at, p.author_id, p.author, p.likes, p.reposts,"
        " p.replies, p.quotes, a.followers_count FROM posts p LEFT JOIN authors a ON a.id = p.author_id"
        " WHERE p.created_at >= ? AND p.created_at < ? AND p.deleted_at IS NULL",
        db.conn, params=[start, end],
    )
    local = pd.to_datetime(df["created_at"], utc=True, format="ISO8601").dt.tz_convert(zone)
    df["day"] = local.dt.date
    df["posted"] = local.dt.strftime("%Y-%m-%d %H:%M")
    df["engagement"] = df[ENGAGEMENT].fillna(0).sum(axis=1).astype("int64")
    return df


def _totals(df: pd.DataFrame) -> dict[str, float]:
    authors = df.drop_duplicates("author_id")
    return {
        "Posts": len(df),
        "Participants": df["author_id"].nunique(),
        "Potential reach": float(authors["followers_count"].fillna(0).sum()),
        "Engagement": float(df["engagement"].sum()),
        "Engagement per post": float(df["engagement"].mean()) if len(df) else 0.0,
    }


def _first_seen(db: Database, period: Period) -> dict[int, str]:
    start, end = period.utc_bounds
    rows = db.execute(
        "SELECT author_id, min(created_at) FROM posts WHERE author_id IN"
        " (SELECT DISTINCT author_id FROM posts WHERE created_at >= ? AND created_at < ?) GROUP BY author_id",
        [start, end],
    ).fetchall()
    return dict(rows)


def _co_hashtags(db: Database, period: Period, campaign: set[str]) -> pd.DataFrame:
    start, end = period.utc_bounds
    rows = db.execute(
        "SELECT j.value, count(*) FROM posts p, json_each(p.hashtags) j WHERE p.created_at >= ?"
        " AND p.created_at < ? AND p.deleted_at IS NULL GROUP BY j.value ORDER BY count(*) DESC LIMIT 60",
        [start, end],
    ).fetchall()
    kept = [(f"#{tag}", n) for tag, n in rows if tag not in campaign][:20]
    return pd.DataFrame(kept, columns=["hashtag", "posts"])


def _links(db: Database, period: Period) -> pd.DataFrame:
    start, end = period.utc_bounds
    counts: Counter[str] = Counter()
    for text, url in db.execute(
        "SELECT text, url FROM posts WHERE created_at >= ? AND created_at < ? AND deleted_at IS NULL",
        [start, end],
    ):
        own = url or ""
        counts.update({u.rstrip(".,;:!?") for u in URL_RE.findall(text or "") if not own.startswith(u)})
    return pd.DataFrame(counts.most_common(15), columns=["link", "posts"])


def _top_posts(db: Database, df: pd.DataFrame, names: dict[int, str]) -> pd.DataFrame:
    top = df.nlargest(10, "engagement")
    if top.empty:
        return pd.DataFrame(columns=["platform", "author", "posted", "engagement", "text", "url"])
    marks = ",".join("?" * len(top))
    text = dict((i, (t, u)) for i, t, u in db.execute(
        f"SELECT id, text, url FROM posts WHERE id IN ({marks})", [int(i) for i in top["id"]]))
    return pd.DataFrame({
        "platform": top["platform"], "author": [names[a] for a in top["author_id"]],
        "posted": top["posted"], "engagement": top["engagement"],
        "text": [text[i][0] or "" for i in top["id"]], "url": [text[i][1] or "" for i in top["id"]],
    })


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
        for warning in json.loads(warnings or "[]"):
            if "cap" in warning:
                entry["cap warnings"] += 1
                notes.append(f"{started[:16].replace('T', ' ')} UTC: {warning}")
    if not rows:
        notes.append("No collection ran in this period: every number here may be incomplete.")
    frame = pd.DataFrame(list(table.values()), columns=["platform", "source", "runs", "failed runs", "cap warnings"])
    return frame, notes


def compute(db: Database, period: Period, *, zone: ZoneInfo, hashtags: tuple[str, ...],
            key: bytes | None) -> Metrics:
    """Everything the report shows; `key` None means handles are shown as they are."""
    df = _posts(db, period, zone)
    before = _posts(db, period.previous(), zone)
    first_seen = _first_seen(db, period)
    start, _ = period.utc_bounds
    new_ids = {a for a, first in first_seen.items() if first >= start}
    handles = df.drop_duplicates("author_id").set_index("author_id")[["platform", "author"]]
    names = {a: (h.author if key is None else pseudonym(key, h.platform, h.author)) for a, h in handles.iterrows()}

    now, prev = _totals(df), _totals(before)
    prev_first = _first_seen(db, period.previous()) if len(before) else {}
    prev_new = sum(1 for first in prev_first.values() if first >= period.previous().utc_bounds[0])
    headlines = [Headline(name, now[name], prev[name]) for name in ("Posts", "Participants")]
    headlines.append(Headline("New participants", len(new_ids), prev_new))
    headlines += [Headline(name, now[name], prev[name]) for name in ("Potential reach", "Engagement", "Engagement per post")]

    daily = (df.groupby(["day", "platform"]).size().unstack(fill_value=0)
             .reindex(period.days(), fill_value=0) if len(df) else pd.DataFrame(index=period.days()))
    daily.index.name = "day"
    daily_engagement = df.groupby("day")["engagement"].sum().reindex(period.days(), fill_value=0)

    by_source = df.groupby(["platform", "source"]).size().rename("posts")
    prev_source = before.groupby(["platform", "source"]).size().rename("previous period")
    sources = pd.concat([by_source, prev_source], axis=1).fillna(0).astype("int64").reset_index()
    sources["change %"] = [f"{(p - q) / q * 100:+.0f}%" if q else "new" for p, q in zip(sources["posts"], sources["previous period"])]

    participants = (df.groupby("author_id").agg(posts=("id", "size"), engagement=("engagement", "sum"),
                                                  platform=("platform", "first"))
                    .sort_values(["posts", "engagement"], ascending=False).head(20).reset_index())
    participants["new this period"] = ["yes" if a in new_ids else "no" for a in participants["author_id"]]
    participants.insert(0, "participant", [names[a] for a in participants.pop("author_id")])

    coverage, notes = _coverage(db, period)
    tables = {
        "daily_volume": daily.reset_index(),
        "sources": sources,
        "top_posts": _top_posts(db, df, names),
        "top_participants": participants,
        "co_hashtags": _co_hashtags(db, period, {t.lower() for t in hashtags}),
        "links": _links(db, period),
        "coverage": coverage,
        "headlines": pd.DataFrame([{"metric": h.name, "value": h.value, "previous period": h.previous,
                                    "change %": None if h.change is None else round(h.change, 1)} for h in headlines]),
    }
    return Metrics(period, headlines, tables, daily, daily_engagement, len(new_ids),
                   len(first_seen) - len(new_ids), notes)


def as_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dict(orient="records")
