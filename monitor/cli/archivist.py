"""The archivist's commands: `verify` the archive's fixity, `backup` it while it is in use,
`export bag` it as a BagIt package (or `export parquet` for analysts), `forget` what must be erased."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from monitor.archive import erasure, fixity
from monitor.archive.backup import backup as take_backup
from monitor.archive.media import store_root
from monitor.cli.common import EXIT_FAILED_SOURCES, config_option, existing_archive, user_errors
from monitor.core.config import load_config
from reports.bag import write_bag
from reports.cells import terminal
from reports.parquet import write_parquet


def _existing_archive(config_path: Path):
    config = load_config(config_path)
    return config, existing_archive(config)


@click.command()
@config_option
@click.option("--full", is_flag=True, help="PRAGMA integrity_check (every page and index) instead of quick_check.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@user_errors
def verify(config_path: Path, full: bool, as_json: bool) -> None:
    """Prove the archive intact: the SQLite file, every payload and media file against its sha256,
    every post's provenance. Each run is logged in fixity_events; exit code 1 if anything failed."""
    config, db = _existing_archive(config_path)
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal or as_json) as bar:
        tasks: dict[str, int] = {}

        def progress(check: str, done: int, total: int | None) -> None:
            if check not in tasks:
                tasks[check] = bar.add_task(check, total=total)
            bar.update(tasks[check], completed=done, total=total)

        checks = fixity.verify_and_record(db, config.archive, full=full, progress=progress)
    if as_json:
        click.echo(json.dumps({"ok": all(c.ok for c in checks), "checks": [c.as_json() for c in checks]}, indent=2))
    else:
        table = Table("check", "covered", "checked", "result")
        for c in checks:
            table.add_row(c.name, c.objects, f"{c.checked:,}", "ok" if c.ok else f"{len(c.failures)} FAILED")
        Console().print(table)
        for c in checks:
            for obj, problem in c.failures:
                click.echo(f"FAILED {c.name}: {terminal(obj)}: {problem}")
    if not all(c.ok for c in checks):
        sys.exit(EXIT_FAILED_SOURCES)


@click.command()
@config_option
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--media", "media", type=click.Choice(["reference", "copy"]), default="reference", show_default=True,
              help="copy: the stored media files too, into a media/ folder beside OUT; reference: the copy's rows "
                   "point at the archive's own media store.")
@click.option("--force", is_flag=True, help="Replace OUT if it exists.")
@user_errors
def backup(config_path: Path, out: Path, media: str, force: bool) -> None:
    """A consistent copy of the archive in OUT, safe while the daemon collects, checked before it is kept."""
    config, db = _existing_archive(config_path)
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("media", total=None)
        result = take_backup(db, config.archive, out, copy_media=media == "copy", force=force,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
    line = f"Wrote {result.path} ({result.posts:,} posts, {result.size / 1e6:,.1f} MB, integrity ok)"
    if media == "copy":
        line += (f"; media: {result.media_copied} copied, {result.media_present} already there"
                 + (f", {result.media_missing} missing from the archive's store" if result.media_missing else ""))
    else:
        line += f"; media stay in {store_root(config.archive)}"
    click.echo(line)


@click.group()
def export() -> None:
    """The archive in archival formats."""


@export.command("bag")
@config_option
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Posts from this day (inclusive, UTC), YYYY-MM-DD.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Posts before this day (exclusive, UTC).")
@click.option("--include-flagged", is_flag=True,
              help="The preservation bag: every live post, flagged ones too, with raw payloads and authors' identities.")
@user_errors
def export_bag(config_path: Path, out: Path, since, until, include_flagged: bool) -> None:
    """Write a BagIt bag (RFC 8493; sha256 and sha512 manifests) of the archive's posts into OUT."""
    config, db = _existing_archive(config_path)
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("posts", total=None)
        counts = write_bag(db, config, out, since=since and since.strftime("%Y-%m-%d"),
                           until=until and until.strftime("%Y-%m-%d"), include_flagged=include_flagged,
                           progress=lambda done, total: bar.update(task, completed=done, total=total))
    left = sum(counts.left_out.values())
    click.echo(f"Wrote the bag {out}: {counts.posts:,} posts, {counts.versions:,} versions, {counts.fetches:,} "
               f"requests, {counts.media:,} media files; {left:,} posts left out (data/README.txt says why)")


@export.command("parquet")
@config_option
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@user_errors
def export_parquet(config_path: Path, out: Path) -> None:
    """Write the visible posts, their authors (as reports name them), engagement snapshots and testimonies
    as a Parquet dataset in OUT (a new folder), posts and snapshots partitioned by UTC month."""
    config, db = _existing_archive(config_path)
    err = Console(stderr=True)
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("posts", total=None)
        counts = write_parquet(db, config, out, progress=lambda done, total: bar.update(task, completed=done,
                                                                                        total=total))
    click.echo(f"Wrote {out}: {counts.posts:,} posts, {counts.authors:,} authors, {counts.snapshots:,} engagement "
               f"snapshots, {counts.testimonies:,} testimonies in {len(counts.files)} Parquet files")


@click.command()
@config_option
@click.option("--author", help="The account to forget: its handle as the archive shows it (user@instance, u/name, "
                               "name.bsky.social).")
@click.option("--platform", help="The author's platform (with --author).")
@click.option("--post", "post", help="One post to forget: its archive id, URL or platform key.")
@click.option("--reason", help="Why (kept in the audit record, with any name it quotes erased).")
@click.option("--by", help="Who asks for it (default: your user name).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--flush", is_flag=True, help="Only empty the WAL left by an earlier erasure that a reader held open.")
@user_errors
def forget(config_path: Path, author: str | None, platform: str | None, post: str | None, reason: str | None,
           by: str | None, yes: bool, flush: bool) -> None:
    """Erase an author or a post from the archive for good, keeping only a content-free audit record;
    later collections skip what was erased."""
    config, db = _existing_archive(config_path)
    try:
        if flush:
            erasure.flush(db)
            click.echo("The WAL is empty: no old copy of erased content is left in it.")
            return
        if bool(author) == bool(post):
            raise click.UsageError("give --author (with --platform) or --post, one of them")
        if author and not platform:
            raise click.UsageError("--author needs --platform (mastodon, reddit or bluesky)")
        if not reason:
            raise click.UsageError("give --reason: the audit record says why each erasure was made")
        target = erasure.find(db, author=author, platform=platform, post=post)
        counts = erasure.count(db, target)
        what = ", ".join(f"{n} {table.replace('_', ' ')}" for table, n in counts.items() if n)
        if not yes:
            click.confirm(f"Erase for good: {what}? This cannot be undone", abort=True, err=True)
        done = erasure.erase(db, config.archive, target, reason=reason, by=by or getpass.getuser())
    except erasure.ErasureError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(EXIT_FAILED_SOURCES)
    click.echo(f"Erased {done['posts']} posts ({done['post_versions']} versions, {done['media_files_deleted']} media "
               f"files, {done['payloads_rewritten']} other payloads rewritten); the audit record is in 'erasures'.")
    stale = erasure.files_quoting(config.report.out, target)
    if stale:
        click.echo(f"Warning: {len(stale)} files written before this erasure still quote it; delete or regenerate "
                   "them (and any copies sent on):", err=True)
        for path in stale:
            click.echo(f"  {terminal(str(path))}", err=True)
