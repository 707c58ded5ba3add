"""Bluesky's Jetstream: every new post on the network within a second, as JSON over a WebSocket.

Search indexes posts late and caps its results; Jetstream sends each commit as it happens,
so the daemon follows it (`run --stream`) and keeps its slower search walk to fill gaps.
Jetstream cannot filter by hashtag, so every post crosses the wire and is checked here with
the same rule the search results are checked with (`post_hashtags`: facets, `tags`, text).

The cursor is the `time_us` of the last event a page covers, committed with the page's
posts. Replay at a reconnect's exact boundary is not gapless, so a connection resumes
`REWIND_US` earlier and the archive drops the duplicates by URI. A cursor older than
Jetstream's replay window cannot be replayed: the stream warns (`GAP`) and the daemon runs
the search walk at once. Connecting goes through the one fault policy (429 with
Retry-After, 5xx, refused connections); a connection that drops is reopened at once, and
with growing pauses when it keeps dropping before a single event arrives.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from collectors.base import TRANSFORM_ERRORS
from collectors.bluesky.config import BlueskyConfig
from collectors.bluesky.transform import NAME, POST_COLLECTION, commit_post, post_hashtags, record_uri
from monitor.core import http
from monitor.core.clock import utc_now
from monitor.core.records import GAP, MALFORMED, RETRIED, Fetch, Notice, Page, Post, Reject, SourceError
from monitor.core.sections import HttpPolicy

STREAM = "jetstream"  # the cursor's name in the archive
REWIND_US = 5_000_000  # resume this much before the cursor: duplicates are harmless, gaps are not
REPLAY_US = 24 * 3600 * 1_000_000  # how far back Jetstream replays (its default event TTL)
BATCH_SECONDS = 0.25  # a page at least this often: the stop flag is seen, posts reach the archive in < 1 s
MAX_FRAME = 1 << 20  # a post event is a few KB; a larger frame is refused by the WebSocket client
HINTS = {
    400: "Jetstream rejected the subscription parameters",
    404: "[bluesky] jetstream is not a Jetstream server (no /subscribe)",
}


def transport_errors() -> tuple[type[BaseException], ...]:
    from websockets.exceptions import InvalidHandshake, InvalidURI  # deferred: 0.1 s, paid by streaming runs only

    return (OSError, TimeoutError, InvalidHandshake, InvalidURI)


def subscribe_url(base: str, cursor_us: int | None) -> str:
    url = f"{base}/subscribe?wantedCollections={POST_COLLECTION}"
    return url if cursor_us is None else f"{url}&cursor={cursor_us}"


@dataclass
class _Batch:
    """What arrived since the last page."""

    posts: list[Post] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    gone: dict[str, str] = field(default_factory=dict)
    edits: list[Post] = field(default_factory=list)  # updates without the campaign's hashtags
    warnings: list[Notice] = field(default_factory=list)
    first_us: int | None = None
    last_us: int | None = None
    frames: int = 0
    events: int = 0  # frames that were events (had a time_us)


class _Reader:
    """Turns frames into a batch: campaign posts, deletions, and frames that are not events."""

    def __init__(self, source: str, hashtags: set[str], cdn: str):
        self.source, self.hashtags, self.cdn = source, hashtags, cdn

    def take(self, frame: str | bytes, batch: _Batch) -> int | None:
        """Add one frame to `batch`; return its time_us when it has one."""
        batch.frames += 1
        try:
            event = json.loads(frame)
            time_us = event["time_us"]
            if not isinstance(time_us, int) or isinstance(time_us, bool) or time_us <= 0:
                raise ValueError(f"time_us {time_us!r} is not a positive integer")
        except (ValueError, TypeError, KeyError) as e:
            self._reject(batch, frame if isinstance(frame, str) else frame.hex(), f"not a Jetstream event: {e}", None)
            return None
        commit = event.get("commit")
        if event.get("kind") != "commit" or not isinstance(commit, dict) or commit.get("collection") != POST_COLLECTION:
            return time_us  # identity and account events, other collections
        try:
            if commit["operation"] == "delete":
                batch.gone[record_uri(event["did"], commit["rkey"])] = "deleted on Bluesky (Jetstream delete commit)"
            elif commit["operation"] in ("create", "update") and post_hashtags(commit["record"]) & self.hashtags:
                batch.posts.append(commit_post(event, self.cdn))
            elif commit["operation"] == "update":  # the hashtag edited away: a new version, if the post is ours
                batch.edits.append(commit_post(event, self.cdn))
        except TRANSFORM_ERRORS as e:
            self._reject(batch, event, f"{type(e).__name__}: {e}", _ident(event))
        return time_us

    def _reject(self, batch: _Batch, raw: Any, reason: str, ident: str | None) -> None:
        batch.rejects.append(Reject(raw, reason, ident))
        batch.warnings.append(Notice(MALFORMED, f"{self.source} jetstream: skipped a malformed frame "
                                     f"({ident or 'no id'}: {reason[:120]}); it is kept in rejected_items"))


def _ident(event: Any) -> str | None:
    try:
        return record_uri(event["did"], event["commit"]["rkey"])
    except TRANSFORM_ERRORS:
        return None


def stream_pages(
    cfg: BlueskyConfig,
    hashtags: tuple[str, ...] | list[str],
    cursor: str | None,
    *,
    policy: HttpPolicy,
    stop: threading.Event,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[Page]:
    """Pages of the campaign's posts from Jetstream, forever (until `stop`), each with its cursor."""
    from websockets.exceptions import ConnectionClosed  # deferred: see transport_errors()

    source = urlsplit(cfg.jetstream).netloc
    describe = f"{source} jetstream"
    reader = _Reader(source, {h.lower() for h in hashtags}, cfg.cdn)
    recorder = http.Recorder(NAME, source)
    position = int(cursor) if cursor and cursor.isdigit() else None
    pending: list[Notice] = []
    if position is not None and time.time() * 1e6 - position > REPLAY_US:
        pending.append(Notice(GAP, f"{describe}: the stream was last read more than 24 hours ago, beyond what "
                                   "Jetstream replays; the search walk fills the gap"))
    idle_drops = 0
    while not stop.is_set():
        since = max(position - REWIND_US, 0) if position is not None else None
        url = subscribe_url(cfg.jetstream, since)
        try:
            ws = http.call(lambda: _open(url, recorder, policy), policy=policy, recorder=recorder,
                           describe=describe, transport_errors=transport_errors(), hints=HINTS, on_retry=on_retry)
        except SourceError as e:
            if e.status is not None:
                raise  # refused for good (a 4xx): the stream ends and says why
            pending.append(Notice(RETRIED, f"{e}; trying again in {policy.max_wait:.0f}s"))  # a daemon never gives up
            yield _page(cfg, source, _Batch(warnings=pending), position, recorder, since, utc_now())
            pending = []
            stop.wait(policy.max_wait)
            continue
        connected = utc_now()
        events = 0
        try:
            with ws:
                while not stop.is_set():
                    batch = _Batch(warnings=pending)
                    pending = []
                    position = _fill(ws, reader, batch, position)
                    events += batch.events
                    yield _page(cfg, source, batch, position, recorder, since, connected)
        except (ConnectionClosed, OSError) as e:
            idle_drops = 0 if events else idle_drops + 1
            message = (f"{describe}: connection dropped ({type(e).__name__}); "
                       f"resuming {REWIND_US // 1_000_000}s before the cursor")
            pending.append(Notice(RETRIED, message))
            if on_retry:
                on_retry(message)
            if idle_drops:  # dropped again before a single event: wait longer each time
                stop.wait(min(policy.backoff * 2 ** (idle_drops - 1), policy.max_wait))


def _fill(ws: Any, reader: _Reader, batch: _Batch, position: int | None) -> int | None:
    """Frames into `batch` for BATCH_SECONDS; the cursor after them."""
    deadline = time.monotonic() + BATCH_SECONDS
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = ws.recv(timeout=left)
        except TimeoutError:
            break
        time_us = reader.take(frame, batch)
        if time_us is not None:
            batch.events += 1
            batch.first_us = batch.first_us or time_us
            batch.last_us = time_us
            position = time_us if position is None else max(position, time_us)
    return position


def _page(cfg: BlueskyConfig, source: str, batch: _Batch, position: int | None, recorder: http.Recorder,
          since: int | None, connected: str) -> Page:
    fetches = recorder.drain()
    if batch.posts or batch.edits or batch.rejects:  # their provenance: the frames they came in, on which connection
        fetches.append(Fetch(NAME, source, "GET", f"{cfg.jetstream}/subscribe",
                             {"wantedCollections": POST_COLLECTION, "cursor": since, "connected_at": connected,
                              "first_time_us": batch.first_us, "last_time_us": batch.last_us, "frames": batch.frames},
                             101, utc_now()))
    return Page(NAME, source, STREAM, batch.posts, fetches, str(position) if position is not None else None,
                warnings=batch.warnings, rejects=batch.rejects, gone=batch.gone, edits=batch.edits)


def _open(url: str, recorder: http.Recorder, policy: HttpPolicy) -> Any:
    """One WebSocket connection; its handshake recorded, so the policy can read a 429's Retry-After."""
    from websockets.exceptions import InvalidStatus  # deferred: see transport_errors()
    from websockets.sync.client import connect

    try:
        # proxy=None: the configured server itself, never one named by the environment
        ws = connect(url, proxy=None, open_timeout=policy.timeout, max_size=MAX_FRAME, compression=None,
                     user_agent_header="campaign-monitor (Jetstream)")
    except InvalidStatus as e:
        recorder.record("GET", url, e.response.status_code, dict(e.response.headers))
        raise
    recorder.record("GET", url, 101, {})
    return ws
