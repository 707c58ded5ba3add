"""The `campaign-monitor` command line: a click group, one function per command."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from monitor import __version__
from monitor.archive import open_archive
from monitor.archive.lock import ArchiveLock
from monitor.archive.status import archive_status
from monitor.cli.common import (
    EXIT_FAILED_SOURCES,
    EXIT_USAGE,
    config_option,
    existing_archive,
    user_errors,
)
from monitor.core import platforms as registry
from monitor.core.config import (
    DEFAULT_CONFIG,
    ConfigError,
    load_config,
)
from monitor.pipeline.collect import progress_bar, run_collection
from monitor.pipeline.followup import fetch_and_check_media, score_collected
from monitor.pipeline.reading import read_media
from monitor.pipeline.refresh import run_refresh
from monitor.pipeline.scheduler import Daemon, setup_logging
from reports.alerts import alert_job, digest_job
from reports.build import build_report, weekly_report
from reports.email import EmailError
from reports.period import between, last_full_week


@click.group()
@click.version_option(__version__, prog_name="campaign-monitor")
@click.option("-v", "--verbose", is_flag=True, help="Log every retry and request problem.")
def cli(verbose: bool) -> None:
    """Watch a campaign's hashtags and keep every public post in a SQLite archive."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@cli.command()
@config_option
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def init(config_path: Path, force: bool) -> None:
    """Write a config file for #AspireNotToExclude to edit."""
    if config_path.exists() and not force:
        click.echo(f"Error: {config_path} already exists (use --force to overwrite it)", err=True)
        sys.exit(EXIT_USAGE)
    config_path.write_text(DEFAULT_CONFIG, encoding="utf-8")
    click.echo(f"Wrote {config_path}; edit it, then run 'campaign-monitor collect'.")


def _exit_for(outcomes) -> None:
    """Each skipped platform and failed source in one line on stderr; exit 1 if any failed."""
    for o in outcomes:
        if o.skipped:
            click.echo(f"{o.platform}: {o.skipped}", err=True)
        for error in o.errors:
            click.echo(f"Error: {o.platform}: {error}", err=True)
    if not all(o.ok for o in outcomes):
        sys.exit(EXIT_FAILED_SOURCES)


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM stops a collection the way Ctrl-C does."""
    raise KeyboardInterrupt


@cli.command()
@config_option
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="NAME",
    help="Collect only this platform (repeatable): mastodon, reddit, bluesky or another installed one.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@user_errors
def collect(config_path: Path, platforms: tuple[str, ...], quiet: bool) -> None:
    """Fetch every new post with the campaign's hashtags into the archive."""
    config = load_config(config_path)
    selected = list(platforms) or config.platforms
    known = registry.registered()
    for platform in selected:
        if platform not in known:
            raise click.BadParameter(f"{platform!r} is not a platform (installed: {', '.join(known)})",
                                     param_hint="--platform")
        if platform not in config.platforms:
            raise ConfigError(f"{config_path}: --platform {platform}: no [{platform}] sources configured")
    db = open_archive(config.archive)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, _interrupt)
    err = Console(stderr=True)
    try:
        with ArchiveLock(config.archive, "collect"), progress_bar(err) as progress:
            outcomes = run_collection(config, db, platforms=selected, progress=progress, stop=stop)
            score_collected(config, db)  # media follow in the daemon or with 'media fetch'
    except KeyboardInterrupt:
        click.echo("Interrupted: every page stored so far is kept; run collect again to resume.", err=True)
        sys.exit(130)
    if not quiet:
        table = Table(title=f"{config.name}: collected into {config.archive.name}")
        table.add_column("source", overflow="fold")
        for column in ("new posts", "updated posts", "requests", "warnings"):
            table.add_column(column, justify="right")
        table.add_column("result")
        for o in outcomes:
            result = "skipped" if o.skipped else ("ok" if o.ok else "[red]failed[/red]")
            table.add_row(f"{o.platform} {o.source}", str(o.new), str(o.updated), str(o.requests),
                          str(len(o.warnings)), result)
        Console().print(table)
    _exit_for(outcomes)


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@user_errors
def status(config_path: Path, as_json: bool) -> None:
    """Show what the archive holds, per platform and source, and where each cursor is."""
    config = load_config(config_path)
    state = archive_status(existing_archive(config))
    if as_json:
        click.echo(json.dumps(state.__dict__, indent=2, default=str))
        return
    console = Console()
    t = state.totals
    console.print(
        f"[bold]{config.name}[/bold]: {config.archive}\n"
        f"{t['posts']} posts by {t['authors']} authors, {t['post_versions']} earlier versions, "
        f"{t['fetches']} requests on record over {t['runs']} runs\n"
        f"{t['media_files']} media files stored, {t.get('media_read', 0)} read for their text"
        + "".join(f", {t[f'media_{s}']} {s}" for s in ("unreadable", "failed") if t.get(f"media_{s}"))
    )
    if state.last_run:
        r = state.last_run
        console.print(f"Last run #{r['id']}: {r['command']} {r['started_at']} -> {r['status']}")
    sources = Table(title="Sources")
    for column in ("platform", "source", "posts", "newest post", "last run", "result", "new", "requests"):
        sources.add_column(column, justify="right" if column in ("posts", "new", "requests") else "left",
                           overflow="fold")
    notes = []
    for s in state.sources:
        failed = s["last_status"] == "failed"
        sources.add_row(
            s["platform"], s["source"], str(s["posts"]), _minute(s["newest"]), _minute(s["last_run_at"]),
            "[red]failed[/red]" if failed else (s["last_status"] or "-"),
            str(s["last_new"] or 0), str(s["last_requests"] or 0),
        )
        if s["last_error"]:
            notes.append(f"[red]error[/red] {s['source']}: {s['last_error']}")
        notes.extend(f"[yellow]warning[/yellow] {w}" for w in s["last_warnings"])
    console.print(sources)
    if not state.sources:
        console.print("No source collected yet.")
    for note in notes:
        console.print(note, highlight=False)
    cursors = Table(title="Cursors (the next run asks only for what is newer)")
    for column in ("platform", "source", "stream", "position", "updated"):
        cursors.add_column(column)
    for c in state.cursors:
        cursors.add_row(c["platform"], c["source"], c["stream"], c["position"], _minute(c["updated_at"]))
    console.print(cursors if state.cursors else "No cursors yet: the first run reads each timeline from its start.")
    if state.schedule:
        schedule = Table(title="Schedule of 'campaign-monitor run' (UTC)")
        for column in ("job", "next run", "last run", "result", "summary"):
            schedule.add_column(column, overflow="fold", no_wrap=column == "job")
        for job in state.schedule:
            schedule.add_row(job["job"], _minute(job["next_run_at"]), _minute(job["last_run_at"]),
                             job["last_status"] or "-", job["last_summary"] or "-")
        console.print(schedule)


def _minute(timestamp: str | None) -> str:
    """'2026-11-23T08:16:27.123456+00:00' -> '2026-11-23 08:16' (UTC), for narrow tables."""
    return timestamp[:16].replace("T", " ") if timestamp else "-"


@cli.command()
@config_option
@user_errors
def refresh(config_path: Path) -> None:
    """Re-read recent posts: engagement snapshots, edits as versions, deletions as tombstones."""
    config = load_config(config_path)
    db = open_archive(config.archive)
    outcomes = run_refresh(config, db)
    for o in outcomes:
        click.echo(f"{o.platform} {o.source}: {o.updated} updated, {o.requests} requests, "
                   f"{len(o.warnings)} deleted or warned" + ("" if o.ok else " [failed]"))
    _exit_for(outcomes)


@cli.group()
def media() -> None:
    """Pictures and videos: downloaded after collection into the archive's media store, and read."""


def _media_job(config_path: Path, name: str, quiet: bool, work) -> None:
    """A media command: the archive locked, progress on a terminal, what it did in one line."""
    config = load_config(config_path)
    db = existing_archive(config)
    err = Console(stderr=True)
    with ArchiveLock(config.archive, name), Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("media", total=None)
        counts = work(config, db, lambda done, total, what="media": bar.update(
            task, description=what, completed=done, total=total))
    if not quiet:
        click.echo(", ".join(f"{n} {what.replace('_', ' ')}" for what, n in counts.items()))


@media.command("fetch")
@config_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@user_errors
def media_fetch(config_path: Path, quiet: bool) -> None:
    """Download the pending attachments of testimony candidates, then look for faces in them."""
    _media_job(config_path, "media fetch", quiet, fetch_and_check_media)


@media.command("read")
@config_option
@click.option("--limit", type=click.IntRange(min=1), help="Files to read at most ([reading] per_run).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@user_errors
def media_read(config_path: Path, limit: int | None, quiet: bool) -> None:
    """Read the text in pictures and videos (posters, burnt-in captions), downloading them first;
    their posts are scored and checked for safeguarding again."""
    _media_job(config_path, "media read", quiet, lambda config, db, update: read_media(
        db, config, limit=limit, progress=lambda what, done, total: update(done, total, what)))


@cli.command()
@config_option
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (inclusive), YYYY-MM-DD.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Day after the last (exclusive), YYYY-MM-DD.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for the reports ([report] out).")
@click.option("--email", is_flag=True, help="Also mail the report ([report] email_to, SMTP settings).")
@user_errors
def report(config_path: Path, since, until, out: Path | None, email: bool) -> None:
    """Write the report for the last full week (Mon-Sun), or for --since/--until."""
    config = load_config(config_path)
    zone = ZoneInfo(config.schedule.timezone)
    if (since is None) != (until is None):
        raise click.UsageError("give both --since and --until, or neither (the last full week)")
    try:
        period = between(since.date(), until.date(), zone) if since else last_full_week(datetime.now(timezone.utc), zone)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    db = existing_archive(config)
    try:
        built = build_report(config, db, period, out, email=email)
    except EmailError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(EXIT_FAILED_SOURCES)
    click.echo(f"Wrote {built.folder}/report.html ({period.title})" + (" and mailed it" if email else ""))


@cli.command()
@config_option
@click.option("--stream", is_flag=True, help="Also follow Bluesky's Jetstream and Mastodon's streams "
              "([schedule] stream = true).")
@user_errors
def run(config_path: Path, stream: bool) -> None:
    """Run unattended: collect each platform on its schedule until SIGTERM or Ctrl-C."""
    config = load_config(config_path)
    setup_logging(config)  # a log file that cannot be opened fails here, before any archive is made
    open_archive(config.archive).close()  # create or upgrade it, or fail here, before the daemon starts
    sys.exit(Daemon(config, report=weekly_report, stream=stream, alerts=(alert_job, digest_job)).run())  # a busy archive is an ArchiveError: one line, exit 2


from monitor.cli.alerts import alerts  # noqa: E402 - registered on the group below
from monitor.cli.archivist import backup, export, forget, verify  # noqa: E402
from monitor.cli.browse import browse, search  # noqa: E402
from monitor.cli.testimonies import testimonies  # noqa: E402

for _command in (testimonies, verify, backup, export, forget, search, browse, alerts):
    cli.add_command(_command)


def main() -> None:
    cli()
