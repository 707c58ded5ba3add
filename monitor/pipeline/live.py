"""The platforms' streams, followed for as long as the daemon runs (`run --stream`).

A stream is collected by the same code as a poll (`run_collection(live=True)`): the
same records, the same writer, the same dedup, its cursor committed with its posts. Each
platform is followed in its own thread, so one whose stream is refused or broken does not
hold up the others; when all of a platform's streams end they are started again after a
pause, while the daemon's slower poll goes on filling whatever they missed.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Callable

from monitor.archive import open_archive
from monitor.core import platforms as registry
from monitor.core.config import Config
from monitor.core.records import Notice
from monitor.pipeline.collect import run_collection

log = logging.getLogger("campaign_monitor.stream")
RESTART_AFTER = 60.0  # seconds before a platform's ended streams are opened again


def streaming_platforms(config: Config) -> list[str]:
    """The configured platforms that have a stream."""
    return [p for p in config.platforms if hasattr(registry.get(p), "live_sources")]


def follow(
    config: Config,
    platform: str,
    stop: threading.Event,
    on_notice: Callable[[str, Notice], None] | None = None,
    restart_after: float = RESTART_AFTER,
) -> None:
    """Follow one platform's streams until `stop`, restarting them when they end."""
    while not stop.is_set():
        try:
            db = open_archive(config.archive)
            try:
                outcomes = run_collection(config, db, platforms=[platform], stop=stop,
                                          command=f"run stream:{platform}", live=True, on_notice=on_notice)
            finally:
                db.close()
        except sqlite3.DatabaseError as e:  # a full disk: say so, try again later
            log.error("stream %s: the archive failed: %s", platform, e)
            outcomes = []
        for o in outcomes:
            for error in o.errors:
                log.error("stream %s %s: %s", platform, o.source, error)
        if outcomes and all(o.skipped for o in outcomes):
            log.info("stream %s: %s", platform, outcomes[0].skipped)
            return
        if stop.wait(restart_after):
            return


def start(config: Config, stop: threading.Event,
          on_notice: Callable[[str, Notice], None] | None = None) -> list[threading.Thread]:
    """A thread following each streaming platform; they end when `stop` is set."""
    threads = [threading.Thread(target=follow, args=(config, p, stop, on_notice), name=f"stream:{p}", daemon=True)
               for p in streaming_platforms(config)]
    for thread in threads:
        thread.start()
        log.info("stream %s: following", thread.name.split(":", 1)[1])
    return threads
