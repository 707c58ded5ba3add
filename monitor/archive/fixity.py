"""Fixity: proof that the archive still holds what was collected, and the log of each proof.

`verify` checks the SQLite file itself, every raw payload against the digest stored when
it was written, every stored media file against its sha256, and that nothing lost its
provenance (a post without a fetch, a version without its post). Each run appends
PREMIS-style events to `fixity_events` (when, which object, which check, what outcome):
one per check with what it covered, one per object that failed, so an archivist can show
when the archive was last proved intact and what was wrong when it was not.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlite_utils import Database

from monitor import __version__
from monitor.archive.db import write_transaction
from monitor.archive.media import store_root
from monitor.archive.posts import digest
from monitor.core.clock import utc_now

BATCH = 2_000
LOGGED_FAILURES = 1_000  # failed objects logged one by one; past this, counted in the check's event

Progress = Callable[[str, int, int | None], None]  # (check, done so far, total or None)


@dataclass
class Check:
    name: str
    event_type: str  # PREMIS event type: "fixity check", "validation"
    objects: str  # what it covered, e.g. "post_payloads"
    checked: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (object, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_json(self) -> dict:
        return {"check": self.name, "objects": self.objects, "checked": self.checked, "ok": self.ok,
                "failures": [{"object": o, "problem": p} for o, p in self.failures]}


def quiet(check: str, done: int, total: int | None) -> None:
    pass


def verify(db: Database, media_root: Path, *, full: bool = False, progress: Progress = quiet) -> list[Check]:
    """Every check, in the order a damaged archive is best diagnosed; writes nothing."""
    checks = [_integrity(db, full), _payloads(db, progress), _versions(db), _rejected(db),
              _media(db, media_root, progress), _provenance(db)]
    return checks + [_search_index(db)] if full else checks


def _integrity(db: Database, full: bool) -> Check:
    check = Check("integrity_check" if full else "quick_check", "validation", "SQLite file")
    check.checked = 1
    try:
        rows = [r[0] for r in db.execute(f"PRAGMA {check.name}").fetchall()]
    except sqlite3.DatabaseError as e:  # damaged past what the check can read
        rows = [str(e)]
    check.failures = [("SQLite file", r) for r in rows if r != "ok"]
    return check


def _search_index(db: Database) -> Check:
    """The full-text index against the posts it was built from (re-tokenises every text: --full only)."""
    check = Check("search index", "validation", "posts_fts")
    check.checked = 1
    try:
        db.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError as e:
        check.failures.append(("posts_fts", f"{e} (rebuild it: INSERT INTO posts_fts (posts_fts) VALUES ('rebuild'))"))
    return check


def _payloads(db: Database, progress: Progress) -> Check:
    check = Check("payload digests", "fixity check", "post_payloads")
    total = db.execute("SELECT count(*) FROM post_payloads").fetchone()[0]
    last = 0
    while rows := db.execute("SELECT post_id, raw, sha256 FROM post_payloads WHERE post_id > ? ORDER BY post_id"
                             " LIMIT ?", [last, BATCH]).fetchall():
        last = rows[-1][0]
        for post_id, raw, sha in rows:
            if digest(raw) != sha:
                check.failures.append((f"post_payloads/{post_id}", "raw payload does not match its sha256"))
        check.checked += len(rows)
        progress(check.name, check.checked, total)
    for (post_id,) in db.execute("SELECT p.id FROM posts p LEFT JOIN post_payloads pp ON pp.post_id = p.id"
                                 " WHERE p.deleted_at IS NULL AND pp.post_id IS NULL"):
        check.failures.append((f"posts/{post_id}", "live post has no raw payload"))
    return check


def _stored_digests(db: Database, name: str, table: str, raw: str, sha: str, problem: str) -> Check:
    """Each row's stored JSON against the sha256 stored beside it."""
    check = Check(name, "fixity check", table)
    for row_id, text, digest_then in db.execute(f"SELECT id, {raw}, {sha} FROM {table}"):
        check.checked += 1
        if digest(text or "") != digest_then:
            check.failures.append((f"{table}/{row_id}", problem))
    return check


def _versions(db: Database) -> Check:
    return _stored_digests(db, "version digests", "post_versions", "raw", "raw_sha256",
                           "earlier version's payload does not match its sha256")


def _rejected(db: Database) -> Check:
    return _stored_digests(db, "rejected item digests", "rejected_items", "raw", "raw_sha256",
                           "raw item does not match its sha256")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _media(db: Database, media_root: Path, progress: Progress) -> Check:
    check = Check("media digests", "fixity check", "media files")
    rows = db.execute("SELECT DISTINCT sha256, path FROM media_files WHERE status = 'stored' AND path IS NOT NULL"
                      " ORDER BY path").fetchall()
    for sha, path in rows:
        target = media_root.parent / path
        check.checked += 1
        if not target.is_file():
            check.failures.append((path, "file is missing"))
        elif file_sha256(target) != sha:
            check.failures.append((path, "file does not match its sha256"))
        progress(check.name, check.checked, len(rows))
    return check


def _provenance(db: Database) -> Check:
    check = Check("provenance", "validation", "posts and post_versions")
    check.checked = db.execute("SELECT count(*) FROM posts").fetchone()[0]
    for (post_id,) in db.execute("SELECT p.id FROM posts p LEFT JOIN fetches f ON f.id = p.first_fetch_id"
                                 " WHERE f.id IS NULL"):
        check.failures.append((f"posts/{post_id}", "post has no fetch recorded as its source"))
    for (version_id, post_id) in db.execute("SELECT v.id, v.post_id FROM post_versions v LEFT JOIN posts p"
                                            " ON p.id = v.post_id WHERE p.id IS NULL"):
        check.failures.append((f"post_versions/{version_id}", f"version of post {post_id}, which is not archived"))
    return check


def verify_and_record(db: Database, archive: Path, *, full: bool = False, progress: Progress = quiet) -> list[Check]:
    """Check and log: what `campaign-monitor verify` and the daemon's weekly job both do."""
    checks = verify(db, store_root(archive), full=full, progress=progress)
    record(db, checks, full=full)
    return checks


def record(db: Database, checks: list[Check], *, full: bool) -> str:
    """Append the run's events; returns its time, the events' shared `at`."""
    at = utc_now()
    rows = []
    for c in checks:
        detail = {"checked": c.checked, "failed": len(c.failures), "full": full}
        rows.append((at, c.event_type, c.name, c.objects, "pass" if c.ok else "fail", json.dumps(detail)))
        rows += [(at, c.event_type, c.name, obj, "fail", json.dumps({"problem": problem}))
                 for obj, problem in c.failures[:LOGGED_FAILURES]]
    with write_transaction(db):
        db.conn.executemany("INSERT INTO fixity_events (at, event_type, check_name, object, outcome, detail, agent)"
                            f" VALUES (?, ?, ?, ?, ?, ?, 'campaign-monitor {__version__}')", rows)
    return at


def record_alteration(db: Database, obj: str, reason: str) -> None:
    """A payload rewritten on purpose (an erasure): its new digest is the one to check from now on.
    Runs inside the caller's transaction; the event says why, never what was removed."""
    db.execute("INSERT INTO fixity_events (at, event_type, check_name, object, outcome, detail, agent)"
               f" VALUES (?, 'modification', 'erasure', ?, 'altered', ?, 'campaign-monitor {__version__}')",
               [utc_now(), obj, json.dumps({"reason": reason})])


def last_verified(db: Database) -> tuple[str, int, int] | None:
    """(when, objects checked, problems found) of the latest verify run, or None if it never ran."""
    row = db.execute("SELECT max(at) FROM fixity_events WHERE event_type IN ('fixity check', 'validation')"
                     " AND check_name IN ('quick_check', 'integrity_check')").fetchone()
    if not row or not row[0]:
        return None
    at = row[0]
    checked, failed = db.execute(
        "SELECT coalesce(sum(json_extract(detail, '$.checked')), 0), coalesce(sum(json_extract(detail, '$.failed')), 0)"
        " FROM fixity_events WHERE at = ? AND json_extract(detail, '$.checked') IS NOT NULL", [at]).fetchone()
    return at, int(checked), int(failed)
