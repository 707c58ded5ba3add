"""Bluesky: `app.bsky.feed.searchPosts` for each hashtag and query, through atproto.

Search needs a login, is capped (~10,000 results a query) and its cursor does not reach
arbitrarily far back, so each stream is collected in `since`/`until` windows, oldest
first, each paged to its end. A window's last page carries the cursor (the window's
end), so the cursor only moves over windows that are completely stored; the next run
starts an hour before it, because search indexes posts late, and duplicates are dropped
by URI. Follower counts, which search results lack, come from `getProfiles`, 25 a call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

from collectors.base import env_pair, transform_each
from collectors.bluesky.config import BlueskyConfig
from collectors.bluesky.transform import NAME, _did, transform_post
from monitor.core import http
from monitor.core.clock import to_utc_iso
from monitor.core.records import (
    CAP,
    IGNORED_TERMS,
    STALLED,
    Notice,
    Page,
    Post,
    RefreshBatch,
    SourceError,
)
from monitor.core.sections import HttpPolicy

HANDLE_ENV, PASSWORD_ENV = "BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"


SEARCH_CAP = 10_000  # results one search returns at most


PAGE = 100


PROFILES_BATCH = 25


OVERLAP = timedelta(hours=1)


FIRST_RUN_REACH = timedelta(days=30)


def credentials(environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    return env_pair(HANDLE_ENV, PASSWORD_ENV, environ)


def missing_credentials_message() -> str:
    return f"skipped: set {HANDLE_ENV} and {PASSWORD_ENV} (an app password) to collect Bluesky; search needs a login"


def transport_errors() -> tuple[type[BaseException], ...]:
    """atproto's network errors (and httpx's beneath them), for the shared fault policy."""
    import httpx  # deferred with atproto: importing atproto costs over a second, paid only by Bluesky runs
    from atproto_client import exceptions

    return (exceptions.NetworkError, exceptions.InvokeTimeoutError, httpx.TransportError, OSError)


def login_hints(source: str) -> dict[int, str]:
    refused = f"Bluesky refused the login; check {HANDLE_ENV} and {PASSWORD_ENV} (use an app password)"
    not_here = (f"{source} does not create sessions: [bluesky] service must be a PDS or an entryway such as "
                "https://bsky.social, not an AppView")
    return {400: refused, 401: refused, 404: not_here, 405: not_here, 501: not_here}


HINTS = {
    401: f"Bluesky refused the login; check {HANDLE_ENV} and {PASSWORD_ENV} (use an app password)",
    403: "Bluesky refused access to search for this account",
    400: "Bluesky rejected the search parameters",
}


@dataclass
class Connection:
    """One logged-in atproto client per service, shared by its streams."""

    source: str
    client: Any
    recorder: http.Recorder
    creds: tuple[str, str]
    policy: HttpPolicy
    followers: dict[str, int | None] = field(default_factory=dict)  # DID -> count, this run
    logged_in: bool = False

    def login(self, on_retry: Callable[[str], None] | None) -> None:
        """A session, as its own step, so that a failed login is named as one (not as the search it preceded).

        No profile is fetched: atproto's login() would ask getProfile for the account
        itself, a request the collector has no use for.
        """
        http.call(lambda: self.client.login(*self.creds, fetch_bsky_profile=False), policy=self.policy,
                  recorder=self.recorder, describe=f"{self.source}: login (com.atproto.server.createSession)",
                  transport_errors=transport_errors(), hints=login_hints(self.source), on_retry=on_retry)
        self.logged_in = True

    def call(self, fn: Callable[[], Any], describe: str, on_retry: Callable[[str], None] | None) -> Any:
        """`fn` under the shared policy, logging in first and again if the server expired the session."""
        # deferred: see transport_errors()
        from atproto_client.exceptions import UnauthorizedError

        if not self.logged_in:
            self.login(on_retry)

        def attempt() -> Any:
            try:
                return fn()
            except UnauthorizedError as e:
                if getattr(e.response.content, "error", None) != "ExpiredToken":
                    raise
                self.client.login(*self.creds, fetch_bsky_profile=False)  # refresh token too old: a new session
                return fn()

        return http.call(attempt, policy=self.policy, recorder=self.recorder, describe=describe,
                         transport_errors=transport_errors(), hints=HINTS, on_retry=on_retry)


def connect(cfg: BlueskyConfig, creds: tuple[str, str], policy: HttpPolicy) -> Connection:
    from atproto import Client  # deferred: see transport_errors()
    from atproto_client.request import Request

    source = urlsplit(cfg.service).netloc
    recorder = http.Recorder(NAME, source)

    def on_response(response: Any) -> None:
        recorder.record(response.request.method, str(response.request.url), response.status_code,
                        dict(response.headers), response)

    request = Request(timeout=policy.timeout, event_hooks={"response": [on_response]})
    return Connection(source, Client(base_url=cfg.service, request=request), recorder, creds, policy)


def windows(start: datetime, end: datetime, hours: int) -> Iterator[tuple[datetime, datetime]]:
    step = timedelta(hours=hours)
    while start < end:
        yield start, min(start + step, end)
        start += step


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def search_pages(
    cfg: BlueskyConfig,
    conn: Connection,
    stream: str,
    cursor: str | None,
    *,
    tag: str | None,
    now: datetime | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[Page]:
    """Yield every window's pages from the cursor (or `since`) to now, oldest window first."""
    now = now or datetime.now(timezone.utc)
    if cursor:
        start = datetime.fromisoformat(cursor) - OVERLAP
    elif cfg.since:
        start = datetime.fromisoformat(cfg.since).replace(tzinfo=timezone.utc)
    else:
        start = now - FIRST_RUN_REACH
    describe = f"{conn.source} search {'#' + tag if tag else repr(stream)}"
    try:
        walk: dict[str, bool] = {}
        for since, until in windows(start, now, cfg.window_hours):
            yield from _window(conn, stream, tag, since, until, describe, on_retry, walk)
            if walk.get("stuck"):
                return  # a later window's end would move the cursor past the one left unfinished
    except SourceError as e:
        e.fetches = conn.recorder.drain()
        raise


def _window(conn: Connection, stream: str, tag: str | None, since: datetime, until: datetime,
            describe: str, on_retry: Callable[[str], None] | None, walk: dict[str, bool]) -> Iterator[Page]:
    page_cursor, seen, cursors = None, 0, set()
    while True:
        params: dict[str, Any] = {"q": f"#{tag}" if tag else stream, "sort": "latest", "limit": PAGE,
                                  "since": _iso(since), "until": _iso(until)}
        if tag:
            params["tag"] = [tag]
        if page_cursor:
            params["cursor"] = page_cursor
        conn.call(lambda: conn.client.app.bsky.feed.search_posts(params=params), describe, on_retry)
        body = conn.recorder.last.response.json()
        views = body.get("posts", []) if isinstance(body, dict) else None
        if not isinstance(views, list):
            raise SourceError(f"{describe}: expected a list of posts, got {type(views).__name__}")
        page_cursor = body.get("cursor")
        seen += len(views)
        _fetch_followers(conn, {_did(v) for v in views} - {None}, describe, on_retry)
        posts, rejects, warnings = transform_each(
            views, lambda v: transform_post(v, conn.followers.get(v["author"]["did"])), describe,
            lambda v: v.get("uri") if isinstance(v, dict) else None)
        done = not page_cursor or not views
        if page_cursor in cursors and not done:
            # the server sent a page cursor it sent before: following it would page forever
            warnings.append(Notice(STALLED, f"{describe}: the search repeated its page cursor {page_cursor!r}; "
                                   "stopped walking (the cursor stays before this window, which is asked again next run)"))
            walk["stuck"] = True
            yield Page(NAME, conn.source, stream, posts, conn.recorder.drain(), None, warnings, rejects)
            return
        cursors.add(page_cursor)
        kept = [p for p in posts if _belongs(p, tag, since, until)]
        if len(kept) < len(posts) and not walk.get("warned"):
            walk["warned"] = True  # once a walk: such a server does it on every page
            what = f"carried no #{tag} or fell" if tag else "fell"
            warnings.append(Notice(IGNORED_TERMS, f"{describe}: the search server ignores some of the query's terms: "
                                   f"{len(posts) - len(kept)} results {what} outside the window asked for, and were left out"))
        posts = kept
        if done and seen >= SEARCH_CAP:
            warnings.append(Notice(CAP, f"{describe}: the window {_iso(since)} to {_iso(until)} reached Bluesky's "
                                   f"search cap (~{SEARCH_CAP} results); posts in it may be missing "
                                   "(narrow [bluesky] window_hours)"))
        yield Page(NAME, conn.source, stream, posts, conn.recorder.drain(),
                   to_utc_iso(until) if done else None, warnings, rejects)
        if done:
            return


def _belongs(post: Post, tag: str | None, since: datetime, until: datetime) -> bool:
    """What the query asked for, checked here: some servers ignore `tag`, `since` and `until`."""
    # Bluesky's since/until compare sortAt: the earlier of createdAt and indexedAt
    sort_at = min(datetime.fromisoformat(t) for t in (post.created_at, post.revised_at) if t)
    return (tag is None or tag.lower() in post.hashtags) and since <= sort_at < until


def _fetch_followers(conn: Connection, dids: set[str], describe: str,
                     on_retry: Callable[[str], None] | None) -> None:
    wanted = sorted(d for d in dids if d not in conn.followers)
    for start in range(0, len(wanted), PROFILES_BATCH):
        batch = wanted[start : start + PROFILES_BATCH]
        conn.call(lambda: conn.client.app.bsky.actor.get_profiles(params={"actors": batch}), describe, on_retry)
        for profile in conn.recorder.last.response.json().get("profiles", []):
            conn.followers[profile["did"]] = profile.get("followersCount")
        for did in batch:
            conn.followers.setdefault(did, None)


POSTS_BATCH = 25


def refresh(
    conn: Connection,
    uris: list[str],
    *,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[RefreshBatch]:
    """Re-read archived posts, 25 a call (`app.bsky.feed.getPosts`); one not served is deleted."""
    describe = f"{conn.source} refresh"
    try:
        for start in range(0, len(uris), POSTS_BATCH):
            chunk = uris[start : start + POSTS_BATCH]
            conn.call(lambda: conn.client.app.bsky.feed.get_posts(params={"uris": chunk}), describe, on_retry)
            views = {v["uri"]: v for v in conn.recorder.last.response.json().get("posts", [])}
            _fetch_followers(conn, {v["author"]["did"] for v in views.values()}, describe, on_retry)
            observed = [transform_post(v, conn.followers.get(v["author"]["did"])) for v in views.values()]
            gone = {uri: "no longer served by Bluesky" for uri in chunk if uri not in views}
            yield RefreshBatch(NAME, conn.source, observed, gone, conn.recorder.drain())
    except SourceError as e:
        e.fetches = conn.recorder.drain()
        raise
