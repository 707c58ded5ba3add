"""Downloading the attachments of testimonies into the archive's media store (`monitor.archive.media`).

Downloads run after collection and never block it: a failure is recorded and retried on
later runs (up to `MAX_ATTEMPTS`), a file over the size cap is recorded and skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator
from urllib.parse import urljoin

import requests
from sqlite_utils import Database

from monitor import __version__
from monitor.archive import media
from monitor.archive.media import store_root
from monitor.core import http
from monitor.core.config import Config
from monitor.core.netguard import Guard, Refused, source_origins
from monitor.core.records import SourceError

log = logging.getLogger("campaign_monitor.media")
MAX_ATTEMPTS = 5
# A URL that failed waits longer before each new try, across runs (seconds, by tries so
# far), and gets two tries within a run: a dead host costs seconds a run, not half a minute.
RETRY_AFTER = (0, 300, 1800, 7200, 43200)
TRIES_PER_RUN = 2


class NotStored(Exception):
    """A download that ended without a file. Returned, not raised, through the fault policy:
    none of these is a fault to retry now; `status` is what `media_files` records."""

    status = "failed"


class TooLarge(NotStored):
    status = "too_large"


class TooSlow(NotStored):
    """The total deadline passed: a server trickling bytes must not hold collection (tried on a later run)."""


class Declined(NotStored):
    """The guard refused the URL or a redirect: never asked again."""

    status = "refused"


def _pending(db: Database) -> list[tuple[int, str, str]]:
    """(post id, url, kind) of attachments of candidate or accepted testimonies still to fetch."""
    rows = db.execute(
        "SELECT p.id, p.media FROM current_posts p JOIN testimonies t ON t.post_id = p.id"
        " WHERE t.status IN ('candidate', 'accepted') AND p.media != '[]'"
    ).fetchall()
    done = {(pid, url) for pid, url in db.execute(
        "SELECT post_id, source_url FROM media_files WHERE status IN ('stored', 'too_large', 'refused')"
        " OR attempts >= ?", [MAX_ATTEMPTS])}
    now = datetime.now(timezone.utc)
    for pid, url, attempts, fetched_at in db.execute(
            "SELECT post_id, source_url, attempts, fetched_at FROM media_files WHERE status = 'failed'"):
        wait = RETRY_AFTER[min(attempts, len(RETRY_AFTER) - 1)]
        if fetched_at and datetime.fromisoformat(fetched_at) + timedelta(seconds=wait) > now:
            done.add((pid, url))  # failed lately: its turn comes on a later run
    # an attachment may come with no URL (Mastodon: remote media not fetched yet): skipped, never a crash
    return [(pid, m["url"], m.get("type") or "file") for pid, media in rows for m in json.loads(media or "[]")
            if isinstance(m, dict) and isinstance(m.get("url"), str)
            and m["url"].startswith(("http://", "https://")) and (pid, m["url"]) not in done]


def _download(session: requests.Session, url: str, root: Path, cap: int, timeout: float, deadline: float,
              guard: Guard):
    try:
        return _save(session, url, root, cap, timeout, deadline, guard)
    except NotStored as e:
        return e
    except Refused as e:
        return Declined(str(e))


MAX_REDIRECTS = 5


def _open(session: requests.Session, url: str, guard: Guard, timeout: float) -> requests.Response:
    """GET `url`, following redirects by hand so that the guard sees every hop before it is asked."""
    for _ in range(MAX_REDIRECTS + 1):
        guard.check_url(url)
        response = session.get(url, stream=True, timeout=timeout, allow_redirects=False)
        if not response.is_redirect:
            try:
                guard.check_peer(url, _peer(response))
            except Refused:
                response.close()
                raise
            return response
        location = response.headers.get("location", "")
        response.close()
        url = urljoin(url, location)
    raise Refused(f"refused: more than {MAX_REDIRECTS} redirects")


def _peer(response: requests.Response) -> str | None:
    """The address the response came from, where urllib3 still holds the connection."""
    try:
        return response.raw._connection.sock.getpeername()[0]  # noqa: SLF001 - no public way to ask
    except (AttributeError, OSError, IndexError, TypeError):
        return None


def _chunks(response: requests.Response, deadline: float) -> Iterator[bytes]:
    """The body as it arrives, checking the deadline between reads.

    `requests`' timeout bounds each read, not the whole body, so a server sending one byte
    a second never times out; `read1` returns whatever one read brought, so the check runs
    at least once a read.
    """
    ends = time.monotonic() + deadline
    while True:
        if time.monotonic() > ends:
            raise TooSlow(f"not complete after {deadline:.0f} s ([testimonies] media_deadline)")
        chunk = response.raw.read1(64 * 1024, decode_content=True)
        if not chunk:
            return
        yield chunk


def _save(session: requests.Session, url: str, root: Path, cap: int, timeout: float,
          deadline: float, guard: Guard) -> tuple[str, str, int, Path]:
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, tmp = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as out, _open(session, url, guard, timeout) as response:
            response.raise_for_status()
            declared = int(response.headers.get("content-length") or 0)
            if declared > cap:
                raise TooLarge(f"{declared} bytes, over the {cap}-byte cap")
            for chunk in _chunks(response, deadline):
                size += len(chunk)
                if size > cap:
                    raise TooLarge(f"over the {cap}-byte cap")
                digest.update(chunk)
                out.write(chunk)
            mime = (response.headers.get("content-type") or "application/octet-stream").split(";")[0]
        sha = digest.hexdigest()
        final = root / "sha256" / sha[:2] / sha[2:4] / sha
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        return sha, mime, size, final
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch_media(db: Database, config: Config) -> dict[str, int]:
    """Download what is pending; return counts by outcome. Never raises for a download."""
    counts = {"stored": 0, "failed": 0, "too_large": 0, "refused": 0}
    if not config.testimonies.media:
        return counts
    root = store_root(config.archive)
    session = requests.Session()
    session.headers["User-Agent"] = f"campaign-monitor/{__version__}"
    recorder = http.Recorder("media", "downloads")
    recorder.attach_requests(session)
    guard = Guard(source_origins(config))
    for post_id, url, kind in _pending(db):
        status, error, sha, mime, size, path = "failed", None, None, None, None, None
        try:
            got = http.call(
                lambda: _download(session, url, root, config.testimonies.media_max_bytes, config.http.timeout,
                                  config.testimonies.media_deadline, guard),
                policy=replace(config.http, max_attempts=min(config.http.max_attempts, TRIES_PER_RUN)),
                recorder=recorder, describe=f"media {url}",
                transport_errors=(requests.RequestException, OSError), on_retry=log.info)
            if isinstance(got, NotStored):
                status, error = got.status, str(got)
                if isinstance(got, Declined):
                    log.warning("media of post %s: %s", post_id, got)
            else:
                sha, mime, size, stored = got
                status, path = "stored", str(stored.relative_to(root.parent))
        except SourceError as e:
            error = str(e)
        counts[status] += 1
        recorder.drain()
        media.record_download(db, post_id, url, kind, status, sha256=sha, mime_type=mime, size=size, path=path,
                              error=error)
    return counts
