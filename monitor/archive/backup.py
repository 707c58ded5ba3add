"""A consistent copy of the archive, taken while the daemon writes, and proved before it is kept.

`VACUUM INTO` reads the archive in one read transaction: in WAL mode the writer goes on
meanwhile, and the copy holds exactly what was committed when the copy began, never half
a page of posts. The copy is written beside its destination under a temporary name,
checked (`integrity_check`, and every post the archive held when the copy began), and only
then renamed into place, so a failed or interrupted backup never leaves a file that looks
like a good one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlite_utils import Database

from monitor.archive.db import ArchiveError
from monitor.archive.fixity import file_sha256
from monitor.archive.media import store_root


@dataclass
class BackupResult:
    path: Path
    posts: int
    size: int
    media_copied: int = 0
    media_present: int = 0
    media_missing: int = 0  # rows whose file the archive's store does not have (verify says more)


def backup(db: Database, archive: Path, out: Path, *, copy_media: bool, force: bool = False,
           progress: Callable[[int, int], None] = lambda done, total: None) -> BackupResult:
    if out.resolve() == archive.resolve():
        raise ArchiveError(f"{out}: is the archive itself; name another file for the backup")
    if not out.parent.is_dir():
        raise ArchiveError(f"{out}: folder {out.parent} does not exist")
    if out.exists() and not force:
        raise ArchiveError(f"{out}: already exists; name a new file, or add --force to replace it")
    partial = out.with_name(f".{out.name}.partial")
    partial.unlink(missing_ok=True)
    committed = db.execute("SELECT count(*) FROM posts").fetchone()[0]  # what the copy must at least hold
    try:
        db.execute("VACUUM INTO ?", [str(partial)])
        posts = _check(partial, committed)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    result = BackupResult(out, posts, out.stat().st_size)
    if copy_media:
        result.media_copied, result.media_present, result.media_missing = _copy_media(db, archive, out, progress)
    return result


def _check(path: Path, committed: int) -> int:
    conn = sqlite3.connect(path)
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    finally:
        conn.close()
    if problems != ["ok"]:
        raise ArchiveError(f"{path}: the copy failed its integrity check ({problems[0]}); nothing was kept")
    if posts < committed:
        raise ArchiveError(f"{path}: the copy holds {posts} posts, the archive held {committed}; nothing was kept")
    return posts


def _copy_media(db: Database, archive: Path, out: Path, progress: Callable[[int, int], None]) -> tuple[int, int, int]:
    """Stored files into the backup's own media store (beside it, as beside an archive), each
    checked against its sha256 after copying; files already there with the right digest stay."""
    source, target = store_root(archive).parent, store_root(out).parent
    rows = db.execute("SELECT DISTINCT sha256, path FROM media_files WHERE status = 'stored' AND path IS NOT NULL"
                      " ORDER BY path").fetchall()
    copied = present = missing = 0
    for done, (sha, path) in enumerate(rows, 1):
        src, dst = source / path, target / path
        if dst.is_file() and file_sha256(dst) == sha:
            present += 1
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            if file_sha256(dst) != sha:
                raise ArchiveError(f"{src}: does not match its sha256 (run 'campaign-monitor verify'); "
                                   "the database copy was kept, the media copy is incomplete")
            copied += 1
        else:
            missing += 1
        progress(done, len(rows))
    return copied, present, missing
