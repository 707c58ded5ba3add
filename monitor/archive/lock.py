"""One collecting process per archive: an exclusive lock on a file beside it, naming its holder.

`campaign-monitor run` holds it for its lifetime and `collect` for its run, so a second
one stops at once with a message naming the first, instead of waiting on SQLite's busy
timeout or fetching the same pages twice. `flock` is released by the kernel when the
process dies, even by SIGKILL, so a crash never leaves a stale lock behind; the pid
written inside is only for the message.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO

from monitor.archive import ArchiveError


class ArchiveBusy(ArchiveError):
    """Another process holds the archive's lock: a usage error (exit 2), named in one line."""


class ArchiveLock:
    def __init__(self, archive: Path, command: str = "run"):
        self.path = archive.with_name(archive.name + ".lock")
        self.command = command
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise ArchiveBusy(
                f"{self.path.with_suffix('')}: busy: in use by {holder}; wait for it to finish or stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"campaign-monitor {self.command} (pid {os.getpid()} on {socket.gethostname()})\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> "ArchiveLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
