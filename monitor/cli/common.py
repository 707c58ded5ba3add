"""What every command shares: the --config option and the one-line error handling."""

from __future__ import annotations

import errno
import functools
import sqlite3
import sys
from pathlib import Path
from typing import Any, Callable

import click

from monitor.archive import ArchiveError, open_archive
from monitor.archive.db import DISK_HINT, is_disk_error
from monitor.core.config import DEFAULT_CONFIG_NAME, ConfigError, load_config

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


def existing_archive(config):
    """The archive of a command that reads one: an ArchiveError, not a new empty file, when there is none."""
    if not config.archive.exists():
        raise ArchiveError(f"{config.archive}: no archive yet (run 'campaign-monitor collect')")
    return open_archive(config.archive)


def _archive_name(kwargs: dict[str, Any]) -> str:
    """The archive the command was working on, for a message about it."""
    try:
        return str(load_config(kwargs["config_path"]).archive)
    except (KeyError, ConfigError):
        return "the archive"


def user_errors(fn: Callable) -> Callable:
    """Config, archive, disk and file problems end in one line on stderr and exit code 2.

    What the user can fix (a damaged or full disk, a folder that cannot be written) is
    named with its file and what to do, never shown as a traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (ConfigError, ArchiveError) as e:
            message = str(e)
        except sqlite3.DatabaseError as e:
            name = _archive_name(kwargs)
            hint = (DISK_HINT if is_disk_error(e) else
                    "check it with 'sqlite3 FILE \"PRAGMA integrity_check\"' and restore it from a backup")
            message = f"{name}: {e}; {hint}"
        except OSError as e:
            where = e.filename or _archive_name(kwargs)
            message = f"{where}: {e.strerror or e}" + (" (no space left: free some, then run it again)"
                                                        if e.errno in (errno.ENOSPC, errno.EFBIG) else "")
        click.echo(f"Error: {message}", err=True)
        sys.exit(EXIT_USAGE)

    return wrapper


