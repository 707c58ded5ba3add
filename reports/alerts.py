"""Spike alerts and the reviewers' digest: what the daemon tells people between weekly reports.

A spike is an hour with many more posts than usual *for that hour*: campaigns have daily
rhythms (school runs, evenings), so the last 60 minutes are compared with the same 60
minutes on each of the 7 days before. The baseline is their median plus their median
absolute deviation, robust to one earlier spike, and never below `floor`, so that a quiet
campaign going from 0 to 3 posts is not news. An alert goes out when the hour reaches
`factor` times the baseline, once per spike: the spike stays open until the rate falls
below half that threshold, and a new alert needs a new spike.

What alerts show obeys the report's rule: posts only from `visible_posts` (checked, not
flagged, not deleted or erased), authors through the same `Disclosure` (pseudonyms when
show_authors = false), text cleaned of control characters. The digest names safeguarding
flags by post id and reason only, never by their text: the reviewer opens them with
`campaign-monitor testimonies show`.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlite_utils import Database

from monitor.archive import open_archive
from monitor.archive.alerts import end_spike, last_digest_end, open_spike, record_alert
from monitor.core.clock import to_utc_iso
from monitor.core.config import Config
from reports.notify import Alert, clean, deliver, webhook_url
from reports.pseudonym import Disclosure, disclosure

HOUR = timedelta(hours=1)
DAYS = 7
TOP = 3
QUOTE = 200  # characters of a post an alert quotes


@dataclass
class Rate:
    platform: str
    start: datetime
    end: datetime
    posts: int
    earlier: list[int]  # the same hour on each of the DAYS days before
    baseline: float
    threshold: float

    @property
    def spiking(self) -> bool:
        return self.posts >= self.threshold


def _count(db: Database, platform: str, start: datetime, end: datetime) -> int:
    return db.execute("SELECT count(*) FROM current_posts WHERE platform = ? AND created_at >= ? AND created_at < ?",
                      [platform, to_utc_iso(start), to_utc_iso(end)]).fetchone()[0]


def hourly_rate(db: Database, config: Config, platform: str, now: datetime) -> Rate:
    start = now - HOUR
    earlier = [_count(db, platform, start - timedelta(days=d), now - timedelta(days=d)) for d in range(1, DAYS + 1)]
    median = statistics.median(earlier)
    mad = statistics.median(abs(x - median) for x in earlier)
    baseline = max(median + mad, float(config.alerts.floor))
    return Rate(platform, start, now, _count(db, platform, start, now), earlier, baseline,
                config.alerts.factor * baseline)


def top_posts(db: Database, shown: Disclosure, platform: str, start: datetime, end: datetime,
              limit: int = TOP) -> list[dict[str, str]]:
    """The most engaged posts of the window that outputs may show, as an alert quotes them."""
    rows = db.execute(
        "SELECT platform, author, text, url, coalesce(likes, 0) + coalesce(reposts, 0) + coalesce(replies, 0)"
        " + coalesce(quotes, 0) AS engagement FROM visible_posts WHERE platform = ? AND created_at >= ?"
        " AND created_at < ? ORDER BY engagement DESC, created_at DESC LIMIT ?",
        [platform, to_utc_iso(start), to_utc_iso(end), limit]).fetchall()
    quoted = []
    for platform_, author, text, url, engagement in rows:
        words = clean(" ".join(shown.text(text).split()))
        quoted.append({"author": clean(shown.author(platform_, author or "")),
                       "text": words if len(words) <= QUOTE else words[: QUOTE - 1] + "…",
                       "link": shown.link(url), "engagement": str(engagement)})
    return quoted


def spike_alert(config: Config, rate: Rate, top: list[dict[str, str]], *, test: bool = False) -> Alert:
    title = (f"{'[test] ' if test else ''}{config.name}: spike on {rate.platform}, {rate.posts} posts in the last "
             f"hour (usually {rate.baseline:g})")
    lines = [f"{rate.posts} posts on {rate.platform} between {rate.start:%H:%M} and {rate.end:%H:%M} UTC; "
             f"the same hour over the last {DAYS} days: {', '.join(map(str, rate.earlier))} "
             f"(alert at {rate.threshold:g}).", ""]
    if top:
        lines.append("Posts driving it:")
        lines += [f"- {p['author']}: {p['text']}" + (f" {p['link']}" if p["link"] else "") for p in top]
    else:
        lines.append("No post of this hour can be shown yet (they are checked for safeguarding first).")
    if test:
        lines += ["", "This is a test alert sent by 'campaign-monitor alerts test'."]
    return Alert("test" if test else "spike", title, lines, to=config.alerts.email_to or config.report.email_to,
                 fields={"platform": rate.platform, "posts": rate.posts, "baseline": rate.baseline,
                         "threshold": rate.threshold, "window_start": to_utc_iso(rate.start),
                         "window_end": to_utc_iso(rate.end), "top_posts": top})


def check_spikes(config: Config, db: Database, now: datetime | None = None) -> list[str]:
    """Alert each platform's new spike once, close the ones that are over; one line per event."""
    now = now or datetime.now(timezone.utc)
    shown = disclosure(config)
    said = []
    for platform in config.platforms:
        rate = hourly_rate(db, config, platform, now)
        current = open_spike(db, platform)
        if current is not None:
            if rate.posts < rate.threshold / 2:
                end_spike(db, current["id"])
                said.append(f"{platform}: spike over ({rate.posts} posts in the last hour)")
            continue
        if rate.spiking:
            alert = spike_alert(config, rate, top_posts(db, shown, platform, rate.start, rate.end))
            delivered, error = deliver(config, alert)
            alert_id = record_alert(db, "spike", platform=platform, window_start=to_utc_iso(rate.start),
                                    window_end=to_utc_iso(rate.end), posts=rate.posts, baseline=rate.baseline,
                                    delivered=delivered, error=error)
            if not delivered:  # not open: the next check tries again (a mail server back up)
                end_spike(db, alert_id)
            said.append(f"{platform}: spike alert, {rate.posts} posts against {rate.baseline:g} usual; "
                        + (f"sent by {', '.join(delivered)}" if delivered else "not sent")
                        + (f" ({error})" if error else ""))
    return said


def digest(config: Config, db: Database, since: datetime, until: datetime) -> tuple[Alert, int]:
    """New testimony candidates (quoted as reports quote) and new flags (ids and reasons only)."""
    shown = disclosure(config)
    window = [to_utc_iso(since), to_utc_iso(until)]
    candidates = db.execute(
        "SELECT v.id, v.platform, v.author, v.text, v.url, v.testimony_score FROM visible_posts v"
        " JOIN testimonies t ON t.post_id = v.id WHERE v.testimony_status = 'candidate'"
        " AND t.scored_at >= ? AND t.scored_at < ? ORDER BY v.testimony_score DESC", window).fetchall()
    flags = db.execute(
        "SELECT t.post_id, p.platform, t.flag_reasons FROM testimonies t JOIN current_posts p ON p.id = t.post_id"
        " WHERE t.flagged = 1 AND t.status != 'accepted' AND t.scored_at >= ? AND t.scored_at < ?"
        " ORDER BY t.post_id", window).fetchall()
    lines = [f"Since {since:%Y-%m-%d %H:%M} UTC: {len(candidates)} new testimony candidates, "
             f"{len(flags)} new safeguarding flags.", ""]
    if candidates:
        lines.append("Candidates (campaign-monitor testimonies show ID):")
        for post_id, platform, author, text, url, score in candidates[:50]:
            words = clean(" ".join(shown.text(text).split()))[:QUOTE]
            lines.append(f"- #{post_id} {platform} {clean(shown.author(platform, author or ''))} "
                         f"(score {score:.2f}): {words}" + (f" {shown.link(url)}" if shown.link(url) else ""))
        if len(candidates) > 50:
            lines.append(f"- and {len(candidates) - 50} more: campaign-monitor testimonies list")
        lines.append("")
    if flags:
        lines.append("Flagged for safeguarding, not shown anywhere until reviewed (their text is not quoted here):")
        for post_id, platform, reasons in flags:
            kinds = sorted({r.get("label", "?") for r in json.loads(reasons or "[]") if isinstance(r, dict)})
            lines.append(f"- #{post_id} {platform}: {', '.join(kinds) or 'flagged'}")
    title = f"{config.name}: review digest, {len(candidates)} candidates, {len(flags)} flags"
    return Alert("digest", title, lines, to=config.alerts.reviewers,
                 fields={"candidates": len(candidates), "flags": len(flags)}), len(candidates) + len(flags)


def send_digest(config: Config, db: Database, now: datetime | None = None) -> str:
    """The daily digest to the reviewers, from where the last one ended; nothing new, nothing sent."""
    now = now or datetime.now(timezone.utc)
    last = last_digest_end(db)
    since = datetime.fromisoformat(last) if last else now - timedelta(days=1)
    alert, items = digest(config, db, since, now)
    if not items:
        record_alert(db, "digest", window_start=to_utc_iso(since), window_end=to_utc_iso(now), posts=0,
                     delivered=[], error=None)
        return "nothing new to review"
    delivered, error = deliver(config, alert, webhook=False)  # reviewers' business, not the comms channel's
    record_alert(db, "digest", window_start=to_utc_iso(since), window_end=to_utc_iso(now), posts=items,
                 delivered=delivered, error=error)
    return f"{items} items, " + (f"sent by {', '.join(delivered)}" if delivered else f"not sent ({error})")


def alert_job(config: Config) -> str:
    """The daemon's alert check."""
    db = open_archive(config.archive)
    try:
        return "; ".join(check_spikes(config, db)) or "no new spike"
    finally:
        db.close()


def digest_job(config: Config) -> str:
    db = open_archive(config.archive)
    try:
        return send_digest(config, db)
    finally:
        db.close()


def send_tests(config: Config, db: Database) -> list[str]:
    """One spike alert (as it would look for the last hour) and one digest, marked as tests."""
    now = datetime.now(timezone.utc)
    said = []
    platform = config.platforms[0] if config.platforms else "mastodon"
    rate = hourly_rate(db, config, platform, now)
    spike = spike_alert(config, rate, top_posts(db, disclosure(config), platform, rate.start, rate.end), test=True)
    delivered, error = deliver(config, spike)
    said.append(f"spike alert: {'sent by ' + ', '.join(delivered) if delivered else 'not sent'}"
                + (f" ({error})" if error else ""))
    alert, _ = digest(config, db, now - timedelta(days=1), now)
    alert.title = "[test] " + alert.title
    if alert.to:
        delivered, error = deliver(config, alert, webhook=False)
        said.append(f"review digest: {'sent by ' + ', '.join(delivered) if delivered else 'not sent'}"
                    + (f" ({error})" if error else ""))
    else:
        said.append("review digest: not sent (set [alerts] reviewers)")
    if not webhook_url():
        said.append("webhook: none (set ALERTS_WEBHOOK_URL)")
    return said
