"""`campaign-monitor testimonies …`: review, redact and export what people said."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from monitor.archive import open_archive
from monitor.cli.common import config_option, user_errors
from monitor.core.config import load_config
from monitor.testimonies import (
    scoring as review,  # the review actions; this module is their command line
)
from monitor.testimonies.scoring import CONSENT, ORDERS, STATUSES, ReviewError
from reports.cells import terminal
from reports.register import register, write_register

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


def _scoring_progress() -> Progress:
    """A bar on a terminal, nothing otherwise (cron, pipes)."""
    console = Console(stderr=True)
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


def _score(db, config, *, rescore: bool = False) -> int:

    with _scoring_progress() as progress:
        task = progress.add_task("scoring posts", total=None)
        return review.score_posts(db, config, rescore=rescore,
                           progress=lambda done, total: progress.update(task, completed=done, total=total))


@testimonies.command("list")
@config_option
@click.option("--status", type=click.Choice(STATUSES), help="Only this status (default: all three).")
@click.option("--order", type=click.Choice(ORDERS), default="score", show_default=True,
              help="uncertain: closest to the threshold first, the decisions that teach the model most.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@user_errors
def list_(config_path: Path, status: str | None, order: str, as_json: bool) -> None:
    """List testimonies, highest score first (or most uncertain first)."""

    config, db = _db(config_path)
    _score(db, config)
    for row in review.listing(db, status, order, config.testimonies.threshold):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            flag = " [SAFEGUARDING]" if row["flagged"] else ""
            click.echo(f"{row['id']:>6}  {row['status']:<9} {row['score']:.2f}{flag}  {row['platform']:<8} "
                       f"{row['created_at'][:10]}  {terminal(row['text'])[:90]}")


@testimonies.command()
@config_option
@click.argument("post_id", type=int)
@user_errors
def show(config_path: Path, post_id: int) -> None:
    """Everything about one testimony: text, reasons, flags, decisions, media."""

    _, db = _db(config_path)
    try:
        row = review.details(db, post_id)
    except ReviewError as e:
        _fail(e)
    text = row["display_text"] or row["text"] or ""
    why, flags = review.explain(review.scored_text(text, row["media_text"]), row["reasons"], row["flag_reasons"])
    click.echo(f"#{post_id}  {row['status']}  consent {row['consent']}\n{row['url']}\n")
    click.echo(terminal(text, keep_lines=True) + ("\n(redacted by a reviewer)" if row["display_text"] else "") + "\n")
    if row["media_text"]:
        click.echo("What its pictures say (descriptions and recognised text):\n"
                   + terminal(row["media_text"], keep_lines=True) + "\n")
    for reading in row["readings"]:
        click.echo(terminal(f"  read {reading['status']} ({reading['kind']}, {reading['engine']}): "
                            + (f"{reading['lines']} lines" if reading["status"] == "read" else reading["error"] or "")))
    click.echo(f"Model probability: {row['score']:.2f} (model {row['model_version'] or 'not scored yet'})")
    click.echo("Phrases that matched: " + ("; ".join(terminal(w) for w in why) or "none"))
    if row["flagged"]:
        click.echo("SAFEGUARDING: " + "; ".join(terminal(f) for f in flags))
    for d in row["decisions"]:
        click.echo(f"  {d['decided_at'][:16]} {d['decided_by']}: {d['action']}"
                   + (f" ({d['consent']})" if d["consent"] else "") + (f" - {terminal(d['note'])}" if d["note"] else ""))
    for m in row["media_files"]:
        click.echo(terminal(f"  media {m['status']}: {m['source_url']} {m['mime_type'] or ''} {m['size'] or ''} "
                            f"{m['sha256'] or m['last_error'] or ''}"))


def _decision(status: str):
    @config_option
    @click.argument("post_id", type=int)
    @click.option("--note", help="Why, for the record.")
    @by_option
    @user_errors
    def command(config_path: Path, post_id: int, note: str | None, by: str | None, consent: str | None = None) -> None:

        _, db = _db(config_path)
        try:
            row = review.decide(db, post_id, status, by=by, note=note, consent=consent)
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
@click.option("--media-text", help="What its pictures say, as outputs show it instead (default: left out).")
@by_option
@user_errors
def redact(config_path: Path, post_id: int, text: str, media_text: str | None, by: str | None) -> None:
    """Replace what outputs show (a child's name, a school); the original stays only in the raw payload."""

    config, db = _db(config_path)
    try:
        review.redact(db, post_id, text, review.current_model(db, config), config, by=by, media_text=media_text)
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
    config, db = _db(config_path)
    frame = register(db, config, status)
    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE")
    write_register(frame, fmt, out)
    if out:
        click.echo(f"Wrote {len(frame)} testimonies to {out}", err=True)


@testimonies.command()
@config_option
@user_errors
def retrain(config_path: Path) -> None:
    """Train the model again on the corpus and every reviewer decision, then rescore with it."""

    config, db = _db(config_path)
    err = Console(stderr=True)
    with err.status("training", spinner="dots") if err.is_terminal else nullcontext():
        model = review.retrain(db, config)
    cv = model.cv
    click.echo(f"model {model.version}: {model.corpus['size']} labelled posts ({model.corpus['from_reviewers']} from "
               f"reviewers); {cv.get('folds')}-fold cross-validation: precision {cv.get('precision')}, "
               f"recall {cv.get('recall')}, F1 {cv.get('f1')}; saved to {review.model_path(config)}")
    click.echo(f"rescored {_score(db, config)} posts")


@testimonies.command()
@config_option
@user_errors
def rescore(config_path: Path) -> None:
    """Score every live post again with the current model (reviewers' decisions are kept)."""
    config, db = _db(config_path)
    click.echo(f"rescored {_score(db, config, rescore=True)} posts")

