"""`campaign-monitor search` and `browse`: look around the archive as a report would show it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from monitor.cli.common import EXIT_USAGE, config_option, existing_archive, user_errors
from monitor.core.config import load_config
from reports.browse import PASSWORD_ENV, app, sign_in_configured
from reports.pseudonym import disclosure
from reports.search import RANKED, Hit, SearchError, search as find


@click.command()
@click.argument("query")
@config_option
@click.option("--platform", help="Only this platform's posts (mastodon, reddit, bluesky).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Posts from this day (UTC), YYYY-MM-DD.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Posts before this day (UTC), YYYY-MM-DD.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object a hit (the default when piped).")
@user_errors
def search(query: str, config_path: Path, platform: str | None, since, until, limit: int, as_json: bool) -> None:
    """Find posts by their words, best first: QUERY is SQLite FTS5 syntax, e.g.
    'nurture AND (attendance OR exclusion)'; words match their stems ("excluding" finds "excluded")."""
    config = load_config(config_path)
    db = existing_archive(config)
    try:
        found = find(db, query, disclosure(config), platform=platform, since=since and since.date(),
                     until=until and until.date(), limit=limit)
    except SearchError as e:
        click.echo(f"Error: {e}", err=True)
        sys.exit(EXIT_USAGE)
    hits, console, err = found.hits, Console(), Console(stderr=True)
    if found.capped and err.is_terminal:
        err.print(f"The query matches more than {RANKED:,} posts: these are the best of the {RANKED:,} "
                  "collected last. Add words, or --until, to reach the others.", highlight=False, style="dim")
    if as_json or not console.is_terminal:
        for hit in hits:
            click.echo(json.dumps(hit.as_json(), ensure_ascii=False))
        return
    if not hits:
        console.print("No visible post matches.", highlight=False)
    for hit in hits:
        console.print(_line(hit), highlight=False)


def _line(hit: Hit) -> Text:
    """One hit for a terminal: a rich Text, never markup, so a post's brackets stay text."""
    head = Text(f"{hit.posted[:16].replace('T', ' ')}  {hit.platform}  {hit.author}", style="bold")
    if hit.url:
        head.append(f"  {hit.url}", style="dim")
    body = Text(hit.snippet)
    for start, end in hit.highlights:
        body.stylize("bold yellow", start, end)
    return Text("\n").join([head, Text("  ").append_text(body), Text("")])


@click.command()
@config_option
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True)
@user_errors
def browse(config_path: Path, port: int) -> None:
    """Browse and search the archive in Datasette at http://127.0.0.1:PORT/, read-only.

    Anyone who reaches the pages sees what a report may show; base tables, raw payloads and
    flagged posts need the archivist to sign in (/-/login, user "archivist", the password
    whose hash is in CAMPAIGN_MONITOR_ARCHIVIST_HASH: make one with 'datasette hash-password')."""
    import uvicorn  # deferred: only browse serves pages

    config = load_config(config_path)
    existing_archive(config).close()  # created by collect, upgraded here: the pages read a current schema
    err = Console(stderr=True)
    if not sign_in_configured():
        err.print(f"Note: {PASSWORD_ENV} is not set, so nobody can sign in as the archivist: only the public pages "
                  "are served.", highlight=False)
    err.print(f"Serving {config.archive} at http://127.0.0.1:{port}/ (Ctrl-C stops)", highlight=False)
    uvicorn.run(app(config).app(), host="127.0.0.1", port=port, log_level="warning")
