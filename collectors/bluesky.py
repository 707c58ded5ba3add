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

from collectors.base import Author, Page, Post, RefreshBatch, SourceError, env_pair
from monitor import http
from monitor.clock import to_utc_iso
from monitor.config import BlueskyConfig, HttpPolicy

PLATFORM = "bluesky"
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


def _transport_errors() -> tuple[type[BaseException], ...]:
    import httpx
    from atproto_client import exceptions

    return (exceptions.NetworkError, exceptions.InvokeTimeoutError, httpx.TransportError, OSError)


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

    def call(self, fn: Callable[[], Any], describe: str, on_retry: Callable[[str], None] | None) -> Any:
        """`fn` under the shared policy, logging in first and again if the server expired the session."""
        from atproto_client.exceptions import UnauthorizedError

        def attempt() -> Any:
            if not self.logged_in:
                self.client.login(*self.creds)
                self.logged_in = True
            try:
                return fn()
            except UnauthorizedError as e:
                if getattr(e.response.content, "error", None) != "ExpiredToken":
                    raise
                self.client.login(*self.creds)  # refresh token too old: a new session
                return fn()

        return http.call(attempt, policy=self.policy, recorder=self.recorder, describe=describe,
                         transport_errors=_transport_errors(), hints=HINTS, on_retry=on_retry)


def connect(cfg: BlueskyConfig, creds: tuple[str, str], policy: HttpPolicy) -> Connection:
    from urllib.parse import urlsplit

    from atproto import Client
    from atproto_client.request import Request

    source = urlsplit(cfg.service).netloc
    recorder = http.Recorder(PLATFORM, source)

    def on_response(response: Any) -> None:
        recorder.record(response.request.method, str(response.request.url), response.status_code,
                        dict(response.headers), response)

    request = Request(timeout=policy.timeout, event_hooks={"response": [on_response]})
    return Connection(source, Client(base_url=cfg.service, request=request), recorder, creds, policy)


def post_url(view: dict[str, Any]) -> str:
    return f"https://bsky.app/profile/{view['author']['handle']}/post/{view['uri'].rsplit('/', 1)[1]}"


def _media(embed: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not embed:
        return []
    kind = embed.get("$type", "")
    if kind.startswith("app.bsky.embed.images"):
        return [{"type": "image", "url": i.get("fullsize"), "description": i.get("alt")} for i in embed.get("images", [])]
    if kind.startswith("app.bsky.embed.video"):
        return [{"type": "video", "url": embed.get("playlist"), "description": embed.get("alt")}]
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        return _media(embed.get("media"))
    return []


def transform_post(view: dict[str, Any], followers: int | None = None) -> Post:
    record = view["record"]
    tags = {
        feature["tag"].lower()
        for facet in record.get("facets") or []
        for feature in facet.get("features", [])
        if feature.get("$type") == "app.bsky.richtext.facet#tag"
    } | {t.lower() for t in record.get("tags") or []}
    author = view["author"]
    return Post(
        platform=PLATFORM,
        key=view["uri"],
        url=post_url(view),
        local_id=view.get("cid"),
        author=Author(
            platform=PLATFORM, key=author["did"], handle=author["handle"].lower(),
            display_name=author.get("displayName") or None,
            url=f"https://bsky.app/profile/{author['handle']}", followers_count=followers,
        ),
        created_at=to_utc_iso(record["createdAt"]),
        text=record.get("text", ""),
        language=(record.get("langs") or [None])[0],
        hashtags=sorted(tags),
        media=_media(view.get("embed")),
        likes=view.get("likeCount"),
        reposts=view.get("repostCount"),
        replies=view.get("replyCount"),
        quotes=view.get("quoteCount"),
        raw=view,
    )


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
        for since, until in windows(start, now, cfg.window_hours):
            yield from _window(conn, stream, tag, since, until, describe, on_retry)
    except SourceError as e:
        e.fetches = conn.recorder.drain()
        raise


def _window(conn: Connection, stream: str, tag: str | None, since: datetime, until: datetime,
            describe: str, on_retry: Callable[[str], None] | None) -> Iterator[Page]:
    page_cursor, seen = None, 0
    while True:
        params: dict[str, Any] = {"q": f"#{tag}" if tag else stream, "sort": "latest", "limit": PAGE,
                                  "since": _iso(since), "until": _iso(until)}
        if tag:
            params["tag"] = [tag]
        if page_cursor:
            params["cursor"] = page_cursor
        conn.call(lambda: conn.client.app.bsky.feed.search_posts(params=params), describe, on_retry)
        body = conn.recorder.last.response.json()
        views = body.get("posts", [])
        page_cursor = body.get("cursor")
        seen += len(views)
        _fetch_followers(conn, {v["author"]["did"] for v in views}, describe, on_retry)
        try:
            posts = [transform_post(v, conn.followers.get(v["author"]["did"])) for v in views]
        except (KeyError, TypeError, ValueError) as e:
            raise SourceError(f"{describe}: a post lacks a usable field ({e!r})") from None
        done = not page_cursor or not views
        warnings = []
        if done and seen >= SEARCH_CAP:
            warnings.append(f"{describe}: the window {_iso(since)} to {_iso(until)} reached Bluesky's "
                            f"search cap (~{SEARCH_CAP} results); posts in it may be missing "
                            "(narrow [bluesky] window_hours)")
        yield Page(PLATFORM, conn.source, stream, posts, conn.recorder.drain(),
                   to_utc_iso(until) if done else None, warnings)
        if done:
            return


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
            yield RefreshBatch(PLATFORM, conn.source, observed, gone, conn.recorder.drain())
    except SourceError as e:
        e.fetches = conn.recorder.drain()
        raise
