"""What every command shares: the --config option and the one-line error handling."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable

import click

from monitor.archive import ArchiveError
from monitor.config import DEFAULT_CONFIG_NAME, ConfigError

EXIT_FAILED_SOURCES = 1
EXIT_USAGE = 2


def config_option(fn: Callable) -> Callable:
    return click.option(
        "--config",
        "-c",
        "config_path",
        default=DEFAULT_CONFIG_NAME,
        show_default=True,
        envvar="CAMPAIGN_MONITOR_CONFIG",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The campaign's config file.",
    )(fn)


def user_errors(fn: Callable) -> Callable:
    """Config and archive problems end in one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, ArchiveError) as e:
            click.echo(f"Error: {e}", err=True)
            sys.exit(EXIT_USAGE)

    return wrapper


