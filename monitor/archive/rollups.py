"""What reports count without visiting posts: each post's review state, and the rollups.

A year's report on a million posts spent most of its time visiting every post: in
`testimonies` to learn whether it may be shown, in `post_terms` to count its links and
hashtags, and by hour to count volumes (3 s, 5 s and 1.5 s). Three things kept by the
archive itself make those reads of an index or of a small table instead:
- `posts.review` (in the report index `idx_posts_report`) mirrors the post's testimony
  row: `unchecked` while there is none, `held` while it is flagged and not accepted, else
  its status. Triggers on `testimonies` keep it, so nothing that writes a testimony can
  forget to; `visible_posts` reads its rule from it (`SHOWN`), so there is still one rule.
- `term_days` counts, per UTC day of creation, the visible posts holding each term.
  A trigger on posts' visibility, one on `post_terms` deletions and `count_terms` (the
  terms `replace_terms` writes) keep it, so a redaction, an edit, a tombstone, an erasure
  or a reviewer's decision moves the counts in the transaction that made it.
  A count that falls to nothing is deleted, so an erased term leaves no trace here.
  A period reads the whole days inside it from here and only its ragged edges (local
  midnights are not UTC ones) from the posts.
- `post_hours` counts the live posts and their engagement per UTC hour, platform, source
  and review state. The writer adds its new posts a page at a time (`count_new`: one row
  an hour, not a trigger a post, which cost the writer 10%); triggers on posts follow every
  later change (grown counts, a review, a deletion, an erasure). The report's volumes and
  its testimony counts come from here.

All three are filled from scratch by the migration that made them (m020), and a test checks
them against a recount after every kind of change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

UNCHECKED, HELD = "unchecked", "held"
# The rule of `visible_posts` on a posts row (alias p): live, and checked and not held back
SHOWN = f"p.deleted_at IS NULL AND p.review NOT IN ('{UNCHECKED}', '{HELD}')"


def review_of(t: str) -> str:
    """The review state a testimony row (alias `t`) gives its post: the old view's rule,
    `flagged = 0 OR status = 'accepted'`, NULLs included (a NULL flag is held)."""
    return f"CASE WHEN {t}.flagged = 0 OR {t}.status = 'accepted' THEN coalesce({t}.status, 'none') ELSE '{HELD}' END"


def engagement_sql(alias: str = "posts") -> str:
    """A post's engagement in SQL, as every report, page and rollup counts it."""
    return " + ".join(f"coalesce({alias}.{count}, 0)" for count in ("likes", "reposts", "replies", "quotes"))


def _shown(alias: str) -> str:
    return SHOWN.replace("p.", f"{alias}.")


def _upsert(select: str) -> str:
    return (f"INSERT INTO term_days (day, kind, value, posts) {select}"
            " ON CONFLICT (day, kind, value) DO UPDATE SET posts = posts + excluded.posts")


HOUR_CONFLICT = (" ON CONFLICT (hour, platform, source, review) DO UPDATE SET posts = posts + excluded.posts,"
                 " engagement = engagement + excluded.engagement")


def _hour(row: str, sign: str) -> str:
    """An upsert of `row`'s (new or old) share of `post_hours`, added (sign "") or taken away ("-")."""
    return ("INSERT INTO post_hours (hour, platform, source, review, posts, engagement)"
            f" SELECT substr({row}.created_at, 1, 13), {row}.platform, coalesce({row}.source, ''), {row}.review,"
            f" {sign}1, {sign}({engagement_sql(row)}) WHERE {row}.deleted_at IS NULL{HOUR_CONFLICT}")


def _empty_hour(row: str) -> str:
    return (f"DELETE FROM post_hours WHERE hour = substr({row}.created_at, 1, 13) AND platform = {row}.platform"
            f" AND source = coalesce({row}.source, '') AND review = {row}.review AND posts <= 0")


def triggers() -> list[str]:
    """The statements that keep `posts.review`, `term_days` and `post_hours` current (m020)."""
    of_post = "(SELECT {col} FROM posts p WHERE p.id = {row}.post_id)"
    shown = "(SELECT " + SHOWN + " FROM posts p WHERE p.id = {row}.post_id)"
    day = "substr(" + of_post.format(col="p.created_at", row="{row}") + ", 1, 10)"
    visibility = _upsert(f"SELECT substr(new.created_at, 1, 10), kind, value, iif({_shown('new')}, 1, -1)"
                         " FROM post_terms WHERE post_id = new.id")
    return [
        "CREATE TRIGGER review_insert AFTER INSERT ON testimonies BEGIN"
        f" UPDATE posts SET review = {review_of('new')} WHERE id = new.post_id; END",
        "CREATE TRIGGER review_update AFTER UPDATE OF status, flagged ON testimonies BEGIN"
        f" UPDATE posts SET review = {review_of('new')} WHERE id = new.post_id AND review IS NOT {review_of('new')}; END",
        "CREATE TRIGGER review_delete AFTER DELETE ON testimonies BEGIN"
        f" UPDATE posts SET review = '{UNCHECKED}' WHERE id = old.post_id; END",
        f"CREATE TRIGGER term_days_remove AFTER DELETE ON post_terms WHEN {shown.format(row='old')} BEGIN"
        f" {_upsert('SELECT ' + day.format(row='old') + ', old.kind, old.value, -1 WHERE true')};"
        f" DELETE FROM term_days WHERE day = {day.format(row='old')} AND kind = old.kind AND value = old.value"
        " AND posts <= 0; END",
        # a post shown or hidden (reviewed, held, deleted): its terms enter or leave the counts
        f"CREATE TRIGGER term_days_visibility AFTER UPDATE OF review, deleted_at ON posts"
        f" WHEN ({_shown('old')}) IS NOT ({_shown('new')}) BEGIN"
        f" {visibility}; DELETE FROM term_days WHERE day = substr(new.created_at, 1, 10) AND posts <= 0; END",
        "CREATE TRIGGER post_hours_update AFTER UPDATE OF created_at, platform, source, likes, reposts, replies,"
        f" quotes, review, deleted_at ON posts BEGIN {_hour('old', '-')}; {_hour('new', '')}; {_empty_hour('old')};"
        " END",
        f"CREATE TRIGGER post_hours_delete AFTER DELETE ON posts BEGIN {_hour('old', '-')}; {_empty_hour('old')}; END",
    ]


def count_terms(db: Database, post_ids: list[int]) -> None:
    """The terms just written for these posts (an edit's or a redaction's), counted where the
    post is shown. Called by `replace_terms`, the one way terms reach a post already written:
    a new post's terms wait for its review (the visibility trigger), so the writer's insert
    pays for no trigger (one on post_terms cost it 5%)."""
    marks = ",".join("?" * len(post_ids))
    db.execute(_upsert("SELECT substr(p.created_at, 1, 10), t.kind, t.value, 1 FROM post_terms t"
                       f" JOIN posts p ON p.id = t.post_id WHERE t.post_id IN ({marks}) AND {SHOWN}"), post_ids)


def count_new(db: Database, posts: list[tuple[str, str, str | None, int]]) -> None:
    """Posts just inserted, as (created_at, platform, source, engagement), into `post_hours`:
    each is live and unchecked (the column's default) until its testimony row is written."""
    hours: dict[tuple[str, str, str], list[int]] = {}
    for created_at, platform, source, engagement in posts:
        counts = hours.setdefault((created_at[:13], platform, source or ""), [0, 0])
        counts[0] += 1
        counts[1] += engagement
    db.conn.executemany(
        f"INSERT INTO post_hours (hour, platform, source, review, posts, engagement) VALUES (?, ?, ?, ?, ?, ?)"
        f"{HOUR_CONFLICT}",
        [(*key, UNCHECKED, n, e) for key, (n, e) in hours.items()])


def rebuild(db: Database) -> None:
    """Every post's review state, every hour's counts and every day's term counts, recomputed
    from the tables; before the triggers exist (they would count the changes again)."""
    db.execute(f"UPDATE posts SET review = '{UNCHECKED}' WHERE review IS NOT '{UNCHECKED}'")
    db.execute(f"UPDATE posts SET review = r.review FROM (SELECT t.post_id, {review_of('t')} AS review"
               " FROM testimonies t) r WHERE posts.id = r.post_id")
    db.execute("DELETE FROM post_hours")
    db.execute("INSERT INTO post_hours (hour, platform, source, review, posts, engagement) SELECT"
               " substr(created_at, 1, 13), platform, coalesce(source, ''), review, count(*),"
               f" sum({engagement_sql()}) FROM posts WHERE deleted_at IS NULL GROUP BY 1, 2, 3, 4")
    db.execute("DELETE FROM term_days")
    db.execute("INSERT INTO term_days (day, kind, value, posts) SELECT substr(p.created_at, 1, 10), t.kind, t.value,"
               f" count(*) FROM posts p JOIN post_terms t ON t.post_id = p.id WHERE {SHOWN} GROUP BY 1, 2, 3")


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")  # as posts' created_at is written (monitor.core.clock)


def _whole(start: str, end: str, hours: bool = False) -> tuple[datetime, datetime] | None:
    """The UTC days (or hours) [first, last) lying wholly within [start, end) (ISO instants in UTC), if any."""
    begin, finish = datetime.fromisoformat(start), datetime.fromisoformat(end)
    cut = {"minute": 0, "second": 0, "microsecond": 0, **({} if hours else {"hour": 0})}
    first, last = begin.replace(**cut), finish.replace(**cut)
    if first < begin:
        first += timedelta(hours=1) if hours else timedelta(days=1)
    return (first, last) if first < last else None


def hour_counts(start: str, end: str) -> tuple[str, list]:
    """SQL and its parameters for (hour, platform, source, review, posts, engagement) of the live
    posts created in [start, end): whole UTC hours from `post_hours`, a ragged edge (a zone
    whose offset is not whole hours) from the report index."""
    raw = (f"SELECT substr(created_at, 1, 13) AS hour, platform, source, review, count(*) AS posts,"
           f" sum({engagement_sql()}) AS engagement FROM posts INDEXED BY idx_posts_report"
           " WHERE created_at >= ? AND created_at < ? AND deleted_at IS NULL GROUP BY 1, 2, 3, 4")
    hours = _whole(start, end, hours=True)
    if hours is None:
        return raw, [start, end]
    first, last = (_instant(h)[:13] for h in hours)
    rolled = ("SELECT hour, platform, nullif(source, '') AS source, review, posts, engagement FROM post_hours"
              " WHERE hour >= ? AND hour < ?")
    return (f"{rolled} UNION ALL SELECT * FROM ({raw}) UNION ALL SELECT * FROM ({raw})",
            [first, last, start, _instant(hours[0]), _instant(hours[1]), end])


def term_counts(start: str, end: str, kinds: tuple[str, ...]) -> tuple[str, list]:
    """SQL and its parameters for (kind, value, n): how many of the period's visible posts hold
    each term of `kinds`. Whole days from `term_days`, the hours either side of them from
    the posts, through the report index."""
    marks = ", ".join("?" * len(kinds))
    raw = ("SELECT t.kind, t.value, 1 AS n FROM posts p INDEXED BY idx_posts_report"
           " JOIN post_terms t ON t.post_id = p.id"
           f" WHERE p.created_at >= ? AND p.created_at < ? AND {SHOWN} AND +t.kind IN ({marks})")
    days = _whole(start, end)
    if days is None:
        return f"SELECT kind, value, sum(n) AS n FROM ({raw}) GROUP BY kind, value", [start, end, *kinds]
    first, last = days
    rolled = f"SELECT kind, value, posts AS n FROM term_days WHERE day >= ? AND day < ? AND kind IN ({marks})"
    sql = (f"SELECT kind, value, sum(n) AS n FROM ({rolled} UNION ALL {raw} UNION ALL {raw})"
           " GROUP BY kind, value HAVING sum(n) > 0")
    return sql, [first.date().isoformat(), last.date().isoformat(), *kinds,
                 start, _instant(first), *kinds, _instant(last), end, *kinds]
