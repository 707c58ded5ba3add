"""Checkpoints off the writer's path: a thread copies the WAL into the archive while it writes.

SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages,
so the writer waited while pages were copied into the database file, and the copy costs
more as the archive grows (the ingest benchmark's COMMITs went from a quarter to over half
of its time over 200,000 posts). Here each archive connection turns that off and a thread
of its own checkpoints instead, on its own connection: PASSIVE, which never waits for the
writer and never makes it wait; then, once the WAL holds more than RESTART_BYTES, RESTART,
which waits for the writer's current transaction and makes the next one start the WAL
again from its beginning. A writer that never pauses (a backfill commits every few
milliseconds) leaves RESTART no moment to get in: then the writer is asked to do it itself
after its next commit (`after_commit`). A restart copies whatever the thread has not, so the
thread first catches up (PASSIVE again, with no pause, until one copies almost nothing):
handed over after a single PASSIVE, a restart cost the writer 170 ms at a million posts, the
frames written while the thread slept and copied; after the catch-up, 40 ms. Neither side's
RESTART waits: a long reader (a backup's `VACUUM INTO`, a year's report) would otherwise hold
the writer for its whole busy timeout; the WAL is restarted once the reader is gone.
A checkpoint is safe to cut at any moment (SQLite's own guarantee), so a SIGKILL or a
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
START_BYTES = 1000 * 4096  # as much as SQLite's automatic checkpoint lets a WAL of its default pages hold
RESTART_BYTES = 64 * 1024 * 1024  # of frames in the WAL: then it starts again from its beginning
CAUGHT_UP_BYTES = 4 * 1024 * 1024  # a PASSIVE that copies no more leaves a restart little to copy
CATCH_UP_ROUNDS = 8  # a writer faster than the copy is not chased for ever
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
        """Restart the WAL here when the thread could not, without waiting for readers (see the
        module's docstring); if one holds it, the thread asks again later."""
        due = getattr(self, "_restart_due", None)
        if due is not None and due.is_set():
            due.clear()
            timeout = self.execute("PRAGMA busy_timeout").fetchone()[0]
            self.execute("PRAGMA busy_timeout = 0")
            try:
                self.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            finally:
                self.execute(f"PRAGMA busy_timeout = {timeout}")

    def close(self) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            self._thread.join()  # an interrupted checkpoint is safe; a finished one is quicker to close after
        super().close()


def _checkpoints(path: str, stop: threading.Event, restart_due: threading.Event) -> None:
    wal = path + "-wal"
    conn: sqlite3.Connection | None = None
    page = 0  # what a frame holds, once asked: a failed first ask is asked again, not left unset
    try:
        while not stop.wait(EVERY):
            try:
                if conn is None:
                    if not os.path.exists(wal) or os.stat(wal).st_size < START_BYTES:
                        continue  # until the WAL first fills, the thread holds no connection
                    conn = sqlite3.connect(path, timeout=0, check_same_thread=False)  # RESTART never waits
                    conn.execute(f"PRAGMA journal_size_limit = {PAGE_LIMIT}")
                page = page or conn.execute("PRAGMA page_size").fetchone()[0]
                _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if frames * page >= RESTART_BYTES and not stop.is_set():
                    _catch_up(conn, copied, CAUGHT_UP_BYTES // page, stop)
                    busy = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
                    (restart_due.set if busy else restart_due.clear)()
            except sqlite3.OperationalError as e:  # locked: the writer never paused; it restarts the WAL
                restart_due.set()
                log.debug("archive checkpoint: %s; the writer restarts the WAL", e)
            except (sqlite3.Error, OSError) as e:  # a full disk, a file gone: the writer's commits say so
                log.debug("archive checkpoint: %s; trying again", e)
    finally:
        if conn is not None:
            conn.close()


def _catch_up(conn: sqlite3.Connection, copied: int, caught_up: int, stop: threading.Event) -> None:
    """PASSIVE again, with no pause, until one copies at most `caught_up` frames: what a restart
    then copies is what the writer committed during that last, short one."""
    for _ in range(CATCH_UP_ROUNDS):
        if stop.is_set():
            return
        _, _, now = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if now - copied <= caught_up:  # also when the writer restarted the WAL meanwhile (now < copied)
            return
        copied = now
