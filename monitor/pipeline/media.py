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
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from itertools import zip_longest
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urljoin, urlsplit

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


# Attachments the reader can use, fetched for every post when [reading] all_posts is on
READABLE = ("image", "video", "gifv")


def _pending(db: Database, every_post: bool = False) -> list[tuple[int, str, str]]:
    """(post id, url, kind) of attachments still to fetch: of candidate or accepted testimonies
    and, with `every_post`, the pictures and videos of every live post after them, newest first."""
    testimonies = db.execute(
        "SELECT p.id, p.media FROM current_posts p JOIN testimonies t ON t.post_id = p.id"
        " WHERE t.status IN ('candidate', 'accepted') AND p.media != '[]' ORDER BY p.id DESC"
    ).fetchall()
    rows = [(pid, [m for m in json.loads(media or "[]") if isinstance(m, dict)]) for pid, media in testimonies]
    if every_post:
        others = db.execute(
            "SELECT p.id, p.media FROM current_posts p LEFT JOIN testimonies t ON t.post_id = p.id"
            " WHERE p.media != '[]' AND coalesce(t.status, 'none') NOT IN ('candidate', 'accepted') ORDER BY p.id DESC")
        rows += [(pid, readable) for pid, media in others
                 if (readable := [m for m in json.loads(media or "[]")
                                  if isinstance(m, dict) and m.get("type") in READABLE])]
    done = {(pid, url) for pid, url in db.execute(
        "SELECT post_id, source_url FROM media_files WHERE status IN ('stored', 'too_large', 'refused')"
        " OR attempts >= ?", [MAX_ATTEMPTS])}
    now = datetime.now(timezone.utc)
    resting: dict[str, int] = {}  # host -> its attachments that failed lately
    for pid, url, attempts, fetched_at in db.execute(
            "SELECT post_id, source_url, attempts, fetched_at FROM media_files WHERE status = 'failed'"):
        wait = RETRY_AFTER[min(attempts, len(RETRY_AFTER) - 1)]
        if fetched_at and datetime.fromisoformat(fetched_at) + timedelta(seconds=wait) > now:
            done.add((pid, url))  # failed lately: its turn comes on a later run
            resting[urlsplit(url).netloc] = resting.get(urlsplit(url).netloc, 0) + 1
    # a host that failed HOST_GIVE_UP downloads lately rests with them: its other attachments wait too
    done.update((pid, m["url"]) for pid, media in rows for m in media
                if isinstance(m.get("url"), str) and resting.get(urlsplit(m["url"]).netloc, 0) >= HOST_GIVE_UP)
    # an attachment may come with no URL (Mastodon: remote media not fetched yet): skipped, never a crash
    return [(pid, m["url"], m.get("type") or "file") for pid, media in rows for m in media
            if isinstance(m.get("url"), str) and m["url"].startswith(("http://", "https://"))
            and (pid, m["url"]) not in done]


def _download(session: requests.Session, url: str, root: Path, cap: int, timeout: float, ends: float,
              guard: Guard):
    """One try, within what is left of the download's deadline (`ends`, on the monotonic clock)."""
    left = ends - time.monotonic()
    if left <= 0:
        return TooSlow("no answer within the deadline ([testimonies] media_deadline)")
    try:
        return _save(session, url, root, cap, min(timeout, left), ends, guard)
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


def _chunks(response: requests.Response, ends: float) -> Iterator[bytes]:
    """The body as it arrives, checking the deadline between reads.

    `requests`' timeout bounds each read, not the whole body, so a server sending one byte
    a second never times out; `read1` returns whatever one read brought, so the check runs
    at least once a read.
    """
    while True:
        if time.monotonic() > ends:
            raise TooSlow("not complete within the deadline ([testimonies] media_deadline)")
        chunk = response.raw.read1(64 * 1024, decode_content=True)
        if not chunk:
            return
        yield chunk


def _save(session: requests.Session, url: str, root: Path, cap: int, timeout: float,
          ends: float, guard: Guard) -> tuple[str, str, int, Path]:
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
            for chunk in _chunks(response, ends):
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


# Downloads at once in all, and against one host: a slow or dead media server holds two
# workers at most, and each download has its own total deadline ([testimonies] media_deadline).
MAX_DOWNLOADS = 8
PER_HOST = 2
# A host whose downloads failed this many times in a row in a run is not asked again in that run:
# its other attachments wait for a later run, so a dead media host costs a few deadlines, not one each.
HOST_GIVE_UP = 3


@dataclass
class _Outcome:
    status: str = "failed"
    error: str | None = None
    sha256: str | None = None
    mime_type: str | None = None
    size: int | None = None
    path: str | None = None


def _fetch_one(url: str, config: Config, root: Path, guard: Guard, sessions: threading.local) -> _Outcome:
    if not hasattr(sessions, "session"):  # a requests.Session is not shared between threads
        sessions.session = requests.Session()
        sessions.session.headers["User-Agent"] = f"campaign-monitor/{__version__}"
    recorder = http.Recorder("media", urlsplit(url).netloc)
    recorder.attach_requests(sessions.session)
    # one deadline for the whole download, every try, wait and byte included: a server that takes
    # the request and never answers costs media_deadline, not a read timeout per try
    ends = time.monotonic() + config.testimonies.media_deadline
    try:
        got = http.call(
            lambda: _download(sessions.session, url, root, config.testimonies.media_max_bytes, config.http.timeout,
                              ends, guard),
            policy=replace(config.http, max_attempts=min(config.http.max_attempts, TRIES_PER_RUN)),
            recorder=recorder, describe=f"media {url}",
            transport_errors=(requests.RequestException, OSError), on_retry=log.info)
    except SourceError as e:
        return _Outcome(error=str(e))
    finally:
        recorder.detach_requests(sessions.session)
    if isinstance(got, NotStored):
        return _Outcome(got.status, str(got))
    sha, mime, size, stored = got
    return _Outcome("stored", None, sha, mime, size, str(stored.relative_to(root.parent)))


def _round_robin(pending: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """One host's attachment, then the next host's: a worker waiting for a busy host's turn holds a
    place in the pool, so a queue sorted by host would leave the other hosts idle behind it."""
    by_host: dict[str, list[tuple[int, str, str]]] = {}
    for item in pending:
        by_host.setdefault(urlsplit(item[1]).netloc, []).append(item)
    return [item for group in zip_longest(*by_host.values()) for item in group if item is not None]


def fetch_media(db: Database, config: Config, progress: Callable[[int, int], None] | None = None, *,
                every_post: bool = False, limit: int | None = None) -> dict[str, int]:
    """Download what is pending (`_pending`), several at once, at most `limit` files;
    return counts by outcome. Never raises for a download.

    Downloads run in worker threads; each outcome is written here, in the calling thread,
    which alone holds the archive's connection.
    """
    counts = {"stored": 0, "failed": 0, "too_large": 0, "refused": 0, "skipped": 0}
    if not config.testimonies.media:
        return counts
    root = store_root(config.archive)
    guard = Guard(source_origins(config))
    pending = _round_robin(_pending(db, every_post)[:limit])
    hosts = {urlsplit(url).netloc: threading.Semaphore(PER_HOST) for _, url, _ in pending}
    failures = {host: 0 for host in hosts}  # consecutive failed downloads, by host
    sessions = threading.local()

    def one(url: str) -> _Outcome | None:
        host = urlsplit(url).netloc
        with hosts[host]:
            if failures[host] >= HOST_GIVE_UP:
                return None  # not tried: its host is not answering in this run
            got = _fetch_one(url, config, root, guard, sessions)
            failures[host] = failures[host] + 1 if got.status == "failed" else 0
            return got

    with ThreadPoolExecutor(MAX_DOWNLOADS, thread_name_prefix="media") as pool:
        futures = {pool.submit(one, url): (post_id, url, kind) for post_id, url, kind in pending}
        for done, future in enumerate(as_completed(futures), 1):
            post_id, url, kind = futures[future]
            got = future.result()
            if progress:
                progress(done, len(futures))
            if got is None:
                counts["skipped"] += 1
                continue
            if got.status == "refused":
                log.warning("media of post %s: %s", post_id, got.error)
            counts[got.status] += 1
            media.record_download(db, post_id, url, kind, got.status, sha256=got.sha256, mime_type=got.mime_type,
                                  size=got.size, path=got.path, error=got.error)
    return counts
