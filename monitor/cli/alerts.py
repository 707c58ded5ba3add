"""`campaign-monitor alerts`: try the alert channels, or run the daemon's spike check now."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from monitor.archive import open_archive
from monitor.cli.common import config_option, existing_archive, user_errors
from monitor.core.config import load_config
from reports.alerts import check_spikes, send_tests


@click.group()
def alerts() -> None:
    """Spike alerts and the review digest ([alerts]; webhook URL from ALERTS_WEBHOOK_URL)."""


@alerts.command("test")
@config_option
@user_errors
def alerts_test(config_path: Path) -> None:
    """Send one test spike alert (e-mail and webhook) and one test review digest."""
    config = load_config(config_path)
    with tempfile.TemporaryDirectory() as empty:
        # before the first collect there is nothing to quote: the test goes out with no posts
        db = existing_archive(config) if config.archive.exists() else open_archive(Path(empty) / "empty.db")
        try:
            said = send_tests(config, db)
        finally:
            db.close()
    if not config.alerts.enabled:
        said.append(f"note: {config_path} has no [alerts] section: 'run' sends no alerts until it does")
    for line in said:
        click.echo(line)
    if not any("sent by" in line for line in said):  # nothing reached anyone: the setup needs fixing
        sys.exit(1)


@alerts.command("check")
@config_option
@user_errors
def alerts_check(config_path: Path) -> None:
    """Look for a spike now, as the daemon does every [alerts] check_every, and alert it."""
    config = load_config(config_path)
    db = existing_archive(config)
    try:
        said = check_spikes(config, db)
    finally:
        db.close()
    click.echo("\n".join(said) or "no new spike")
