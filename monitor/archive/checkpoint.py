"""Checkpoints off the writer's path: a thread copies the WAL into the archive while it writes.

SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages,
so the writer waited while pages were copied into the database file, and the copy costs
more as the archive grows (the ingest benchmark's COMMITs went from a quarter to over half
of its time over 200,000 posts). Here each archive connection turns that off and a thread
of its own checkpoints instead, on its own connection: PASSIVE, which never waits for the
writer and never makes it wait; then, once the WAL holds more than RESTART_PAGES, RESTART,
which waits for the writer's current transaction and makes the next one start the WAL
again from its beginning. A writer that never pauses (a backfill commits every few
milliseconds) leaves RESTART no moment to get in: then the writer is asked to do it itself
after its next commit (`after_commit`), which costs it little, since most of the WAL is
copied by then. A checkpoint is safe to cut at any moment (SQLite's own guarantee), so a SIGKILL or a
daemon thread stopped at exit loses nothing.

The connection's `close()` stops the thread first, so the closing connection is the
last one and SQLite folds the WAL into the file as it always did.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref

log = logging.getLogger("campaign_monitor.archive")

EVERY = 0.25  # seconds between looks at the WAL's size (one stat call)
START_BYTES = 1000 * 4096  # as much as SQLite's automatic checkpoint lets the WAL hold
RESTART_PAGES = 16384  # 64 MiB of 4 KiB pages: then the WAL starts again from its beginning
RESTART_WAIT = 0.1  # seconds RESTART may wait for the writer before asking it to restart the WAL itself
PAGE_LIMIT = 64 * 1024 * 1024  # journal_size_limit: a restarted WAL file is cut back to this


class ArchiveConnection(sqlite3.Connection):
    """A connection whose WAL is checkpointed by its own thread (see the module's docstring)."""

    def start_checkpoints(self, path: str) -> None:
        self.execute("PRAGMA wal_autocheckpoint = 0")
        self.execute(f"PRAGMA journal_size_limit = {PAGE_LIMIT}")
        self._stop = threading.Event()
        self._restart_due = threading.Event()  # set by the thread when it could not restart the WAL
        self._thread = threading.Thread(target=_checkpoints, args=(path, self._stop, self._restart_due),
                                        name="archive-checkpoints", daemon=True)
        weakref.finalize(self, self._stop.set)  # a connection dropped unclosed stops its thread too
        self._thread.start()

    def after_commit(self) -> None:
        """Restart the WAL here when the thread could not (see the module's docstring)."""
        due = getattr(self, "_restart_due", None)
        if due is not None and due.is_set():
            due.clear()
            self.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()

    def close(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            self._thread.join()  # an interrupted checkpoint is safe; a finished one is quicker to close after
        super().close()


def _checkpoints(path: str, stop: threading.Event, restart_due: threading.Event) -> None:
    wal = path + "-wal"
    conn: sqlite3.Connection | None = None
    try:
        while not stop.wait(EVERY):
            try:
                if conn is None:
                    if not os.path.exists(wal) or os.stat(wal).st_size < START_BYTES:
                        continue  # until the WAL first fills, the thread holds no connection
                    conn = sqlite3.connect(path, timeout=RESTART_WAIT, check_same_thread=False)
                    conn.execute(f"PRAGMA journal_size_limit = {PAGE_LIMIT}")
                _, pages, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if pages >= RESTART_PAGES and not stop.is_set():
                    busy = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
                    if busy:
                        restart_due.set()
            except sqlite3.OperationalError as e:  # locked: the writer never paused; it restarts the WAL
                restart_due.set()
                log.debug("archive checkpoint: %s; the writer restarts the WAL", e)
            except (sqlite3.Error, OSError) as e:  # a full disk, a file gone: the writer's commits say so
                log.debug("archive checkpoint: %s; trying again", e)
    finally:
        if conn is not None:
            conn.close()
