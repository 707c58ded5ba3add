"""Mastodon's streaming API: each instance's hashtag streams, through Mastodon.py.

`stream_hashtag` (server-sent events `update`, `status.update`, `delete`) runs in
Mastodon.py's own thread with its reconnect handling; events come here through a queue and
leave as pages every quarter second. The stream has no cursor and no replay: a page moves
no cursor, and what a dropped connection missed is fetched by the daemon's poll of the tag
timeline, whose `min_id` cursor is untouched by streaming. Duplicates are dropped by URI.

Many instances refuse anonymous streaming. Mastodon.py says so when the instance's
`timelines_access` does, and the stream's first answer (401) says so otherwise: either
way the stream tells the user once, with the token variable to set, and ends; the poll
goes on.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import warnings
from typing import Any, Callable, Iterator

import requests

from collectors.base import transform_each
from collectors.mastodon.client import source_name, token_variable
from collectors.mastodon.transform import NAME, _status_id, transform_status
from monitor import __version__
from monitor.core import http
from monitor.core.clock import utc_now
from monitor.core.records import MALFORMED, OTHER, Fetch, Notice, Page, Reject
from monitor.core.sections import HttpPolicy

STREAM = "streaming"
BATCH_SECONDS = 0.25
READ_TIMEOUT = 90.0  # Mastodon sends a heartbeat every 15 s: a silent minute and a half is a dead connection
PATH = "/api/v1/streaming/hashtag"


def _listener(events: "queue.Queue[tuple[str, str | None]]") -> Any:
    """A StreamListener that puts each event on the queue exactly as it came: the raw JSON is
    the archive's payload. Made here, not at import: see `client.transport_errors`."""
    from mastodon import StreamListener  # deferred: see client.transport_errors()

    class Listener(StreamListener):
        # Mastodon.py parses the payload and casts it (dates become datetimes) before the on_*
        # handlers; the archive keeps what the server sent, so events are taken one step earlier.
        def _dispatch_event(self, name: str, raw_payload: Any, for_stream: Any, payload_present: bool) -> None:
            if name in ("update", "status.update", "delete"):
                events.put((name, raw_payload if isinstance(raw_payload, str) else None))

        def on_abort(self, err: Exception) -> None:
            events.put(("abort", str(err)))

    return Listener()


def _refused_message(instance_url: str, why: str) -> str:
    return (f"{source_name(instance_url)} streaming: {why}; set {token_variable(instance_url)} to stream it "
            "(its hashtag timeline is still polled)")


def stream_pages(
    instance_url: str,
    token: str | None,
    hashtags: tuple[str, ...] | list[str],
    *,
    policy: HttpPolicy,
    stop: threading.Event,
) -> Iterator[Page]:
    """Pages of the campaign's statuses as the instance's streams send them, until `stop`."""
    source = source_name(instance_url)
    recorder = http.Recorder(NAME, source)
    from mastodon import Mastodon  # deferred: see client.transport_errors()
    from mastodon.errors import MastodonWarning  # deferred: see client.transport_errors()

    session = requests.Session()
    recorder.attach_requests(session)
    api = Mastodon(api_base_url=instance_url, access_token=token, request_timeout=policy.timeout, session=session,
                   version_check_mode="none", user_agent=f"campaign-monitor/{__version__}")
    events: queue.Queue[tuple[str, str | None]] = queue.Queue()
    listener = _listener(events)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always", MastodonWarning)
        open_to_us = api.timeline_is_available("hashtag", with_auth=token is not None, fail_hard=False)
    del said
    if not open_to_us:
        yield Page(NAME, source, STREAM, [], recorder.drain(), None,
                   [Notice(OTHER, _refused_message(instance_url, "the instance streams hashtags to signed-in users only"))])
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MastodonWarning)
        handles = [api.stream_hashtag(tag.lstrip("#"), listener, run_async=True, reconnect_async=True,
                                      reconnect_async_wait_sec=max(policy.backoff, 1.0), timeout=READ_TIMEOUT)
                   for tag in hashtags]
    try:
        yield from _pages(source, instance_url, events, recorder, stop)
    finally:
        for handle in handles:
            handle.close()


def _pages(source: str, instance_url: str, events: "queue.Queue[tuple[str, str | None]]",
           recorder: http.Recorder, stop: threading.Event) -> Iterator[Page]:
    describe = f"{source} streaming"
    said_dropped = False
    endpoint = f"{instance_url}{PATH}"
    while not stop.is_set():
        raws: list[Any] = []
        rejects: list[Reject] = []
        gone: dict[str, str] = {}
        notes: list[Notice] = []
        deadline = time.monotonic() + BATCH_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                name, data = events.get(timeout=left)
            except queue.Empty:
                break
            if name == "delete":
                gone[(data or "").strip().strip('"')] = "deleted on its instance (streaming delete event)"
            elif name == "abort":
                if not said_dropped:  # Mastodon.py reconnects by itself; said once per page of drops
                    notes.append(Notice(OTHER, f"{describe}: connection dropped ({data}); Mastodon.py reconnects"))
                    said_dropped = True
            else:
                try:
                    raws.append(json.loads(data or ""))
                except ValueError as e:
                    rejects.append(Reject(data, f"the event's data is not JSON: {e}"))
        fetches = recorder.drain()
        refused = [f for f in fetches if f.endpoint.endswith(PATH) and f.status in (401, 403)]
        if refused:
            notes.append(Notice(OTHER, _refused_message(instance_url, f"the instance answered HTTP {refused[0].status}")))
            yield Page(NAME, source, STREAM, [], fetches, None, notes)
            return
        endpoint = next((f.endpoint for f in reversed(fetches) if f.endpoint.endswith(PATH)), endpoint)
        posts, bad, malformed = transform_each(raws, transform_status, describe, _status_id)
        if raws or rejects:  # the provenance of these posts: the events they came in, on which endpoint
            fetches.append(Fetch(NAME, source, "GET", endpoint, {"events": len(raws) + len(rejects)}, 200, utc_now()))
        notes += malformed + [Notice(MALFORMED, f"{describe}: skipped an event that is not JSON; "
                                     "its data is kept in rejected_items") for _ in rejects]
        if posts:
            said_dropped = False
        yield Page(NAME, source, STREAM, posts, fetches, None, notes, rejects + bad, gone_local=gone)


def live_stream(instance_url: str, token: str | None, hashtags: tuple[str, ...], policy: HttpPolicy,
                stop: threading.Event) -> Callable[[str | None], Iterator[Page]]:
    """The stream function of a live SourceJob (it has no cursor to start from)."""
    return lambda cursor: stream_pages(instance_url, token, hashtags, policy=policy, stop=stop)
