"""One collection run: every source of every platform, concurrently, into the archive.

Each source (a Mastodon instance, later a subreddit or a Bluesky search) runs in its own
thread and walks its streams (one per hashtag) page by page. Pages go to the archive's
single writer as they arrive, so what one source fetched is kept even when another
source, or a later page of the same one, fails.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from monitor.archive import (
    Writer,
    finish_run,
    get_cursor,
    record_source_result,
    start_run,
)
from monitor.core import platforms as registry
from monitor.core.config import Config
from monitor.core.platforms import Skip, SourceJob
from monitor.core.records import REQUEST_LIMIT, RETRIED, Notice, Page, SourceError

log = logging.getLogger("campaign_monitor.collect")
# Pages written in one transaction during a backfill, and the longest a fetched page waits
# for its commit: an idle or slow stream still commits each page within a second.
PAGES_PER_COMMIT = 10
SECONDS_PER_COMMIT = 1.0
# A live stream commits a page with posts at once; pages that only move its cursor wait this long.
LIVE_CURSOR_SECONDS = 5.0
T = TypeVar("T")

@dataclass
class SourceOutcome:
    platform: str
    source: str
    new: int = 0
    updated: int = 0
    requests: int = 0
    warnings: list[Notice] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the platform was not collected at all

    @property
    def ok(self) -> bool:
        return not self.errors


def run_status(outcomes: list[SourceOutcome], stopped: bool) -> str:
    """What a whole run came to, the same way for collections, refreshes and daemon jobs."""
    if stopped:
        return "interrupted"
    if outcomes and all(o.skipped for o in outcomes):
        return "skipped"
    failed = sum(1 for o in outcomes if not o.ok)
    return "ok" if not failed else "partial" if failed < len(outcomes) else "failed"


def run_collection(
    config: Config,
    db,
    *,
    platforms: list[str] | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    command: str = "collect",
    live: bool = False,
    on_notice: Callable[[str, Notice], None] | None = None,
) -> list[SourceOutcome]:
    """Collect every selected platform's sources once; return what happened to each.

    `live`: follow the platforms' streams instead (`live_sources`), until `stop`: the same
    records, writer and dedup as polling, so a post seen both ways is one row.
    `on_notice(platform, notice)` hears each page's notices as they come.
    """
    stop = stop or threading.Event()
    run_id = start_run(db, command)
    writer = Writer(db, run_id)
    outcomes: dict[str, SourceOutcome] = {}

    def on_retry(source: str, message: str) -> None:
        log.warning(message)
        outcomes[source].warnings.append(Notice(RETRIED, message))

    jobs: list[SourceJob] = []
    for platform in platforms or config.platforms:
        try:
            if not live:
                jobs += registry.get(platform).sources(config, on_retry)
            elif hasattr(registry.get(platform), "live_sources"):
                jobs += registry.get(platform).live_sources(config, on_retry, stop)
            else:
                raise Skip("no stream: collected by polling only")
        except Skip as skip:
            outcomes[platform] = SourceOutcome(platform, "-", skipped=str(skip))
    for job in jobs:
        outcomes[job.source] = SourceOutcome(job.platform, job.source)

    broken: list[sqlite3.DatabaseError] = []  # the archive itself failed (a full disk, a damaged file)

    def work(job: SourceJob) -> None:
        try:
            _collect_source(job, writer, outcomes[job.source], progress, stop,
                            None if live else config.http.max_requests, on_notice)
        except sqlite3.DatabaseError as e:  # no source can be stored: stop them all, say it once
            broken.append(e)
            stop.set()
        except Exception as e:  # a bug must not take the other sources down with it
            log.exception("%s %s: internal error", job.platform, job.source)
            outcomes[job.source].errors.append(f"{job.source}: internal error: {e!r}")

    # Daemon threads: on Ctrl-C or SIGTERM the main thread records the run and leaves;
    # a page being written then is committed or rolled back whole, never half.
    threads = [threading.Thread(target=work, args=(job,), daemon=True) for job in jobs]
    status = "failed"
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
        status = "failed" if broken else run_status(list(outcomes.values()), stop.is_set())
    except BaseException:
        stop.set()
        status = "interrupted"
        raise
    finally:
        with writer.lock:  # waits for a page in flight to commit
            for o in outcomes.values():
                record_source_result(
                    db, run_id, o.platform, o.source,
                    status="skipped" if o.skipped else ("ok" if o.ok else "failed"), new=o.new, updated=o.updated,
                    requests=o.requests, warnings=collapse(o.warnings),
                    error="; ".join(o.errors) or o.skipped,
                )
            finish_run(db, run_id, status)
    if broken:
        raise broken[0]  # every page stored before it is kept; the command says what happened in one line
    return list(outcomes.values())


def collapse(warnings: list[Notice]) -> list[Notice]:
    """The same notice repeated (a retried fault) is kept once, with its count."""
    counts: dict[tuple[str, str], int] = {}
    for w in warnings:
        counts[(w.kind, w.message)] = counts.get((w.kind, w.message), 0) + w.count
    return [Notice(kind, message, n) for (kind, message), n in counts.items()]


def _collect_source(
    job: SourceJob,
    writer: Writer,
    outcome: SourceOutcome,
    progress: Progress | None,
    stop: threading.Event,
    max_requests: int | None,
    on_notice: Callable[[str, Notice], None] | None = None,
) -> None:
    """Walk a job's streams, committing pages with their cursors; `max_requests` None: a live stream."""
    for name, fetch in job.streams:
        if stop.is_set():
            return
        task = progress.add_task(f"{job.platform} {job.source} {name}", posts=0, pages=0) if progress else None
        with writer.lock:
            cursor = get_cursor(writer.db, job.platform, job.source, name)
        posts = pages = 0
        held: list[Page] = []  # fetched, not yet committed: written together, with the last one's cursor
        held_since = 0.0

        def commit() -> None:
            batch = held[:]
            held.clear()  # a batch that fails to commit is not tried twice: its cursor did not move either
            for saved in writer.save_pages(batch):
                outcome.new += saved.new
                outcome.updated += saved.updated
            held.clear()

        try:
            for page in fetch(cursor):
                if not held:
                    held_since = time.monotonic()
                held.append(page)
                outcome.requests += len(page.fetches)
                outcome.warnings.extend(page.warnings)
                for warning in page.warnings:
                    log.warning(warning)
                    if on_notice:
                        on_notice(job.platform, warning)
                posts, pages = posts + len(page.posts), pages + 1
                if progress is not None and task is not None:
                    progress.update(task, posts=posts, pages=pages)
                age = time.monotonic() - held_since
                if max_requests is None:  # live: posts now, a cursor alone every few seconds
                    stored = page.posts or page.edits or page.rejects or page.gone or page.gone_local
                    if stored or age >= LIVE_CURSOR_SECONDS:
                        commit()
                elif len(held) >= PAGES_PER_COMMIT or age >= SECONDS_PER_COMMIT:
                    commit()
                if stop.is_set():
                    return
                if max_requests is not None and outcome.requests >= max_requests:
                    notice = Notice(REQUEST_LIMIT, f"{job.source}: stopped after {outcome.requests} requests "
                                    "([http] max_requests); the next run goes on from the last stored page")
                    log.warning(notice)
                    outcome.warnings.append(notice)
                    return
        except SourceError as e:
            if e.fetches:
                writer.save_fetches(e.fetches)
            outcome.requests += len(e.fetches)
            outcome.errors.append(str(e))
            log.info("%s: source failed: %s", job.platform, e)
        finally:
            if held:  # what arrived before a stop, an error or the end is stored; `finally` runs on each
                commit()
            if progress is not None and task is not None:
                progress.update(task, visible=False)


def progress_bar(console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[posts]} posts, {task.fields[pages]} pages"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
