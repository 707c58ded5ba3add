"""Mastodon: hashtag timelines of any number of instances, through Mastodon.py.

A hashtag timeline only shows what its instance has seen, so several instances are
polled and posts are identified by their ActivityPub `uri`, the same on every instance.
Each (instance, hashtag) is walked oldest first from the cursor with `min_id`, following
the `Link` header's `prev` page: every page then moves the cursor forward by itself, so a
run stopped at any moment resumes where the archive ends, and a run with nothing new
costs one timeline request.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator
from urllib.parse import urlsplit

import requests

from collectors.base import transform_each
from collectors.mastodon.transform import (
    NAME,
    _id_order,
    _status_id,
    _valid_id,
    transform_status,
)
from monitor import __version__
from monitor.core import http
from monitor.core.records import STALLED, Notice, Page, RefreshBatch, SourceError
from monitor.core.sections import HttpPolicy

if TYPE_CHECKING:  # annotations only: Mastodon.py is imported by the functions that talk to an instance
    from mastodon import Mastodon

log = logging.getLogger("campaign_monitor.mastodon")


TOKEN_ENV = "MASTODON_ACCESS_TOKEN"


def transport_errors() -> tuple[type[BaseException], ...]:
    """The network errors the shared fault policy retries as transport faults."""
    # deferred: Mastodon.py is 10 MB, and reading a config (every report) loads this module
    from mastodon import MastodonNetworkError
    return (MastodonNetworkError, requests.RequestException, OSError)


def source_name(instance_url: str) -> str:
    """How an instance is named in the archive and in messages: its host (and port)."""
    return urlsplit(instance_url).netloc


def token_variable(instance_url: str) -> str:
    """The environment variable holding this instance's token, distinct for distinct instances.

    Host names hold letters, digits, dots and hyphens, and a hyphen never touches a dot,
    so '.' becomes '_' and '-' becomes '__'; a port follows after '___', which no host
    can produce: mastodon.social -> MASTODON_SOCIAL, my-instance.org:8443 ->
    MY__INSTANCE_ORG___8443. An IPv6 literal is written out in full, its groups by '_'.
    """
    parts = urlsplit(instance_url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = "ipv6." + ipaddress.IPv6Address(host).exploded.replace(":", ".")
    name = re.sub(r"[^a-z0-9_]", "_", host.replace("-", "__").replace(".", "_")).upper()
    return f"{TOKEN_ENV}_{name}" + (f"___{parts.port}" if parts.port else "")


def token_for(instance_url: str, environ: dict[str, str] | None = None) -> str | None:
    """The instance's own token if set, else the shared one; None means public access."""
    environ = os.environ if environ is None else environ
    return environ.get(token_variable(instance_url)) or environ.get(TOKEN_ENV) or None


def _hints(instance_url: str) -> dict[int, str]:
    return {
        401: (
            f"{source_name(instance_url)} requires a login for hashtag timelines; set "
            f"{token_variable(instance_url)} (or {TOKEN_ENV}) to an access token of that instance"
        ),
        403: "the instance refused access to its hashtag timeline",
        404: "no Mastodon API at this address (check [mastodon] instances)",
    }


@dataclass
class Connection:
    """One Mastodon.py client per instance, shared by its hashtags."""

    instance_url: str
    source: str
    client: Mastodon
    recorder: http.Recorder


def connect(instance_url: str, token: str | None, policy: HttpPolicy) -> Connection:
    source = source_name(instance_url)
    recorder = http.Recorder(NAME, source)
    from mastodon import Mastodon  # deferred: see transport_errors()

    session = requests.Session()
    recorder.attach_requests(session)
    client = Mastodon(
        api_base_url=instance_url,
        access_token=token,
        ratelimit_method="throw",
        request_timeout=policy.timeout,
        session=session,
        version_check_mode="none",
        user_agent=f"campaign-monitor/{__version__}",
    )
    _skip_feed_check(client)
    return Connection(instance_url, source, client, recorder)


# What Mastodon.py reads of an instance before a tag timeline: whether hashtag feeds are open.
ASSUME_OPEN_FEEDS = {"configuration": {"timelines_access": {"hashtag_feeds": {"local": "public", "remote": "public"}}}}


def _skip_feed_check(client: Mastodon) -> None:
    """Spare the `GET /api/v2/instance/` Mastodon.py sends before every first timeline page.

    It asks only to warn when hashtag feeds need a login, and the collector learns that
    from the timeline's own 401 (with the variable to set), so the answer is never used:
    an idle collect then costs one request per instance and hashtag. Mastodon.py keeps the
    answer in a private cache, seeded here; should a release rename it, the request simply
    comes back (a test counts the requests of an idle collect).
    """
    setattr(client, "_Mastodon__instance_v2_cache", ASSUME_OPEN_FEEDS)


def fetch_pages(
    conn: Connection,
    hashtag: str,
    cursor: str | None,
    *,
    policy: HttpPolicy,
    limit: int = 40,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[Page]:
    """Yield the pages of `#hashtag` on one instance newer than `cursor`, oldest first.

    Each page carries the cursor that becomes true once it is stored; the last page is
    empty and marks the end (it is still yielded, so its request is on record).
    """
    from mastodon.errors import MastodonWarning  # deferred: see transport_errors()

    describe = f"{conn.source} #{hashtag}"
    recorder = conn.recorder

    def call(fn: Callable[[], Any]) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MastodonWarning)
            return http.call(
                fn,
                policy=policy,
                recorder=recorder,
                describe=describe,
                transport_errors=transport_errors(),
                hints=_hints(conn.instance_url),
                on_retry=on_retry,
            )

    try:
        yield from _walk(conn.client, call, describe, conn.source, hashtag, cursor, limit, recorder)
    except SourceError as e:
        e.fetches = recorder.drain()
        raise


def _walk(
    client: Mastodon,
    call: Callable[[Callable[[], Any]], Any],
    describe: str,
    source: str,
    hashtag: str,
    cursor: str | None,
    limit: int,
    recorder: http.Recorder,
) -> Iterator[Page]:
    position = cursor or "0"
    page = call(lambda: client.timeline_hashtag(hashtag, min_id=position, limit=limit))
    while True:
        raw = recorder.last.response.json() if page else []
        if not isinstance(raw, list):
            raise SourceError(f"{describe}: expected a list of statuses, got {type(raw).__name__}")
        posts, rejects, notes = transform_each(raw, transform_status, describe, _status_id)
        ids = [p.local_id for p in posts] + [r.ident for r in rejects if _valid_id(r.ident)]
        newest = max(ids, key=_id_order) if ids else None
        if raw and (newest is None or _id_order(newest) <= _id_order(position)):
            # the server sent this page again (or a `prev` link that does not move): stop, or page forever
            notes.append(Notice(STALLED, f"{describe}: the instance served no status newer than {position} on a page "
                                f"of {len(raw)}; stopped walking (it will be asked again next run)"))
            yield Page(NAME, source, hashtag, posts, recorder.drain(), None, notes, rejects)
            return
        if newest is not None:
            position = newest
        yield Page(NAME, source, hashtag, posts, recorder.drain(), position if raw else None, notes, rejects)
        if not raw:
            return
        previous = page
        page = call(lambda: client.fetch_previous(previous))
        if page is None:
            return


BATCH = 20  # ids per GET /api/v1/statuses (Mastodon 4.3+)


def refresh(
    conn: Connection,
    items: list[tuple[str, str]],
    *,
    policy: HttpPolicy,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[RefreshBatch]:
    """Re-read statuses first seen on this instance, given as (uri, local id), 20 at a time.

    A status missing from a batch is asked for alone: only a 404 or 410 for it counts as
    deleted. Instances older than 4.3 lack the batch endpoint; they are asked one by one.
    """
    describe = f"{conn.source} refresh"

    def call(fn: Callable[[], Any]) -> Any:
        return http.call(fn, policy=policy, recorder=conn.recorder, describe=describe,
                         transport_errors=transport_errors(), hints=_hints(conn.instance_url), on_retry=on_retry)

    batched = True
    for start in range(0, len(items), BATCH):
        chunk = items[start : start + BATCH]
        found: dict[str, dict[str, Any]] = {}
        if batched:
            try:
                call(lambda: conn.client.statuses([local for _, local in chunk]))
                found = {s["id"]: s for s in conn.recorder.last.response.json()}
            except SourceError as e:
                if e.status != 404:
                    e.fetches = conn.recorder.drain()
                    raise
                batched = False
        gone: dict[str, str] = {}
        for key, local in chunk:
            if local in found:
                continue
            try:
                call(lambda: conn.client.status(local))
                found[local] = conn.recorder.last.response.json()
            except SourceError as e:
                if e.status not in (404, 410):
                    e.fetches = conn.recorder.drain()
                    raise
                gone[key] = f"HTTP {e.status} from {conn.source} on refresh"
        observed, _, notes = transform_each(list(found.values()), transform_status, describe, _status_id)
        for note in notes:
            log.warning(note)  # a re-read that cannot be parsed changes nothing stored
        yield RefreshBatch(NAME, conn.source, observed, gone, conn.recorder.drain())
