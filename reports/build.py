"""One report, from archive to folder (and mail): what the CLI and the daemon's job call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from monitor.archive import open_archive
from monitor.core.config import Config
from reports.email import build_message, send
from reports.export import write_report
from reports.metrics import Metrics, compute
from reports.period import Period, last_full_week
from reports.pseudonym import disclosure
from reports.register import register
from reports.render import render_html, render_markdown


@dataclass
class Report:
    metrics: Metrics
    folder: Path
    files: dict[str, Path]


# SQLite page cache while reporting: it reads indexes and rollups now (m020), and 16 MiB was 11 MB
# more and no faster, measured alternately
REPORT_CACHE_KIB = 4096


def build_report(config: Config, db: Database, period: Period, out: Path | None = None,
                 email: bool = False) -> Report:
    # A report reads each page about once, so the writer's 64 MiB cache only adds to its memory
    # (50 MB of a week's 215 MB peak on a million posts, no faster); the OS caches the file anyway.
    cache = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = -{REPORT_CACHE_KIB}")
    try:
        accepted = register(db, config, "accepted", *period.utc_bounds)
        metrics = compute(db, period, zone=ZoneInfo(config.schedule.timezone), hashtags=config.hashtags,
                          shown=disclosure(config),
                          testimonies=accepted[["date", "platform", "author", "text", "picture_text", "link",
                                                        "consent"]])
    finally:
        db.execute(f"PRAGMA cache_size = {cache}")
    html_text = render_html(metrics, config.name)
    markdown = render_markdown(metrics, config.name)
    folder = (out or config.report.out) / period.label
    files = write_report(metrics, folder, html_text, markdown)
    if email:
        subject = f"{config.name}: weekly report, {period.title}"
        send(config.report, build_message(config.report, subject, markdown, html_text, files["xlsx"]))
    return Report(metrics, folder, files)


def weekly_report(config: Config) -> str:
    """The daemon's report job: the last full week, mailed when [report] email_to is set."""
    zone = ZoneInfo(config.schedule.timezone)
    period = last_full_week(datetime.now(timezone.utc), zone)
    db = open_archive(config.archive)
    try:
        built = build_report(config, db, period, email=bool(config.report.email_to))
    finally:
        db.close()
    mailed = f", mailed to {len(config.report.email_to)}" if config.report.email_to else ""
    return f"{built.folder}{mailed}"
