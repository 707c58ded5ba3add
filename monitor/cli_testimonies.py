"""`campaign-monitor testimonies …`: review, redact and export what people said."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from monitor.archive import open_archive
from monitor.cli_common import config_option, user_errors
from monitor.config import load_config
from monitor.testimonies import CONSENT, STATUSES, ReviewError

by_option = click.option("--by", help="Who decides (default: your user name).")


def _db(config_path: Path):
    config = load_config(config_path)
    db = open_archive(config.archive)
    return config, db


def _fail(e: Exception) -> None:
    click.echo(f"Error: {e}", err=True)
    sys.exit(2)


@click.group()
def testimonies() -> None:
    """Find, review and preserve testimonies: how nurture helped."""


@testimonies.command("list")
@config_option
@click.option("--status", type=click.Choice(STATUSES), help="Only this status (default: all three).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@user_errors
def list_(config_path: Path, status: str | None, as_json: bool) -> None:
    """List testimonies, highest score first."""
    from monitor.testimonies import listing, score_posts

    config, db = _db(config_path)
    score_posts(db, config)
    for row in listing(db, status):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            flag = " [SAFEGUARDING]" if row["flagged"] else ""
            text = " ".join((row["text"] or "").split())
            click.echo(f"{row['id']:>6}  {row['status']:<9} {row['score']:4.1f}{flag}  {row['platform']:<8} "
                       f"{row['created_at'][:10]}  {text[:90]}")


@testimonies.command()
@config_option
@click.argument("post_id", type=int)
@user_errors
def show(config_path: Path, post_id: int) -> None:
    """Everything about one testimony: text, reasons, flags, decisions, media."""
    from monitor.testimonies import details

    _, db = _db(config_path)
    try:
        row = details(db, post_id)
    except ReviewError as e:
        _fail(e)
    text = row["display_text"] or row["text"]
    click.echo(f"#{post_id}  {row['status']}  score {row['score']:.1f}  consent {row['consent']}\n{row['url']}\n")
    click.echo(text + ("\n(redacted by a reviewer)" if row["display_text"] else "") + "\n")
    click.echo("Why: " + "; ".join(json.loads(row["reasons"] or "[]")))
    if row["flagged"]:
        click.echo("SAFEGUARDING: " + "; ".join(json.loads(row["flag_reasons"] or "[]")))
    for d in row["decisions"]:
        click.echo(f"  {d['decided_at'][:16]} {d['decided_by']}: {d['action']}"
                   + (f" ({d['consent']})" if d["consent"] else "") + (f" - {d['note']}" if d["note"] else ""))
    for m in row["media_files"]:
        click.echo(f"  media {m['status']}: {m['source_url']} {m['mime_type'] or ''} {m['size'] or ''} {m['sha256'] or m['last_error'] or ''}")


def _decision(status: str):
    @config_option
    @click.argument("post_id", type=int)
    @click.option("--note", help="Why, for the record.")
    @by_option
    @user_errors
    def command(config_path: Path, post_id: int, note: str | None, by: str | None, consent: str | None = None) -> None:
        from monitor.testimonies import decide

        _, db = _db(config_path)
        try:
            row = decide(db, post_id, status, by=by, note=note, consent=consent)
        except ReviewError as e:
            _fail(e)
        click.echo(f"#{post_id} {row['status']} by {row['decided_by']} (consent {row['consent']})")

    return command


accept = testimonies.command("accept", help="Accept a testimony (it may then appear in reports and exports).")(
    click.option("--consent", type=click.Choice(CONSENT), help="The author's consent to reuse.")(_decision("accepted")))
testimonies.command("reject", help="Reject a testimony.")(_decision("rejected"))


@testimonies.command()
@config_option
@click.argument("post_id", type=int)
@click.option("--text", required=True, help="The text every output shows instead.")
@by_option
@user_errors
def redact(config_path: Path, post_id: int, text: str, by: str | None) -> None:
    """Replace what outputs show (a child's name, a school); the original stays only in the raw payload."""
    from monitor.testimonies import redact as do_redact

    _, db = _db(config_path)
    try:
        do_redact(db, post_id, text, by=by)
    except ReviewError as e:
        _fail(e)
    click.echo(f"#{post_id} redacted")


@testimonies.command()
@config_option
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "jsonl"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout for csv/jsonl).")
@click.option("--status", type=click.Choice(STATUSES), default="accepted", show_default=True)
@user_errors
def export(config_path: Path, fmt: str, out: Path | None, status: str) -> None:
    """The testimony register: text, link, platform, date, author pseudonym, status, consent, notes, media checksums."""
    from reports.register import register, write_register

    config, db = _db(config_path)
    frame = register(db, config, status)
    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE")
    write_register(frame, fmt, out)
    if out:
        click.echo(f"Wrote {len(frame)} testimonies to {out}", err=True)
