"""Reddit: searches of subreddits for the hashtags and queries, through praw.

Read-only application OAuth (client credentials). praw's `Reddit.request` is used for
the listings so that each post's JSON is kept exactly as Reddit sent it (`raw_json=1`),
while praw still does the token, the rate-limit pacing and the token refresh.

Search results come newest first, so the cursor (the newest post of the last complete
walk) can only move when a walk reaches it or the listing's end: pages on the way are
stored with no cursor, and an interrupted walk starts again from the newest, storing
nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import prawcore
import requests

from collectors.base import TRANSFORM_ERRORS, env_pair, transform_each
from collectors.reddit.config import RedditConfig
from collectors.reddit.transform import (
    NAME,
    _comments,
    _fullname,
    _gone_reason,
    _position,
    _positioned,
    transform_comment,
    transform_submission,
)
from monitor import __version__
from monitor.core import http
from monitor.core.records import (
    CAP,
    MALFORMED,
    STALLED,
    Notice,
    Page,
    RefreshBatch,
    SourceError,
)
from monitor.core.sections import HttpPolicy

ID_ENV, SECRET_ENV = "REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"


LISTING_CAP = 1000  # Reddit stops every listing at about this many items


PAGE = 100

TRANSPORT_ERRORS = (prawcore.exceptions.RequestException, requests.RequestException, OSError)

def credentials(environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    return env_pair(ID_ENV, SECRET_ENV, environ)


def missing_credentials_message() -> str:
    return f"skipped: set {ID_ENV} and {SECRET_ENV} (a Reddit app's id and secret) to collect Reddit"


def queries(hashtags: tuple[str, ...], extra: tuple[str, ...]) -> list[str]:
    """Each hashtag with and without '#', then the extra queries."""
    out: list[str] = []
    for tag in hashtags:
        out += [tag, f"#{tag}"]
    return out + [q for q in extra if q not in out]


def user_agent(contact: str) -> str:
    return f"python:campaign-monitor:v{__version__} (by {contact or 'unknown contact'})"


def _newer(data: dict[str, Any], cursor: str | None) -> bool:
    if cursor is None:
        return True
    created, name = cursor.split(":", 1)
    return (float(data["created_utc"]), data["name"]) > (float(created), name) and data["name"] != name


@dataclass
class Connection:
    """One authenticated praw client per source, shared by its searches (one token)."""

    source: str
    reddit: Any
    recorder: http.Recorder


def connect(cfg: RedditConfig, subreddit: str, creds: tuple[str, str], policy: HttpPolicy) -> Connection:
    import praw  # deferred: only runs that collect Reddit pay for it (0.2 s)

    source = f"r/{subreddit}"
    recorder = http.Recorder(NAME, source)
    session = requests.Session()
    recorder.attach_requests(session)
    reddit = praw.Reddit(
        client_id=creds[0],
        client_secret=creds[1],
        user_agent=user_agent(cfg.user_agent_contact),
        oauth_url=cfg.oauth_url,
        reddit_url=cfg.reddit_url,
        check_for_updates=False,
        requestor_kwargs={"session": session, "timeout": policy.timeout},
    )
    return Connection(source, reddit, recorder)


def search_pages(
    cfg: RedditConfig,
    conn: Connection,
    subreddit: str,
    query: str,
    cursor: str | None,
    *,
    hashtags: tuple[str, ...],
    policy: HttpPolicy,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[Page]:
    """Yield the pages of a newest-first search down to `cursor`; the last carries the new cursor."""
    describe = f"{conn.source} search {query!r}"
    recorder = conn.recorder

    def call(path: str, params: dict[str, Any]) -> Any:
        return http.call(
            lambda: conn.reddit.request(method="GET", path=path, params=params),
            policy=policy,
            recorder=recorder,
            describe=describe,
            transport_errors=TRANSPORT_ERRORS,
            hints={
                401: f"Reddit refused the app's credentials; check {ID_ENV} and {SECRET_ENV}",
                403: f"{conn.source} is private, quarantined or banned",
                404: f"{conn.source} does not exist",
            },
            on_retry=on_retry,
        )

    try:
        yield from _walk(cfg, subreddit, query, cursor, hashtags, call, recorder, describe)
    except SourceError as e:
        e.fetches = recorder.drain()
        raise
    except prawcore.exceptions.OAuthException as e:
        raise SourceError(f"{describe}: Reddit refused the app's credentials ({e}); "
                          f"check {ID_ENV} and {SECRET_ENV}", recorder.drain()) from None


def _walk(cfg, subreddit, query, cursor, hashtags, call, recorder, describe) -> Iterator[Page]:
    source = f"r/{subreddit}"
    tags = {t.lower() for t in hashtags}
    after, newest, seen, afters = None, None, 0, set()
    while True:
        listing = call(f"/r/{subreddit}/search", {
            "q": query, "sort": "new", "restrict_sr": "on", "t": "all", "limit": PAGE,
            "include_over_18": "on", **({"after": after} if after else {}),
        })
        try:
            children = [c["data"] for c in listing["data"]["children"] if c["kind"] == "t3"]
            after = listing["data"].get("after")
        except (KeyError, TypeError) as e:
            raise SourceError(f"{describe}: not a Reddit listing ({e!r})") from None
        seen += len(children)
        parsed, rejects, warnings = transform_each(
            children, lambda d: _positioned(transform_submission(d, cfg.reddit_url)), describe, _fullname)
        fresh = [p for p in parsed if _newer(p.raw, cursor)]
        reached_cursor = len(fresh) < len(parsed)
        if newest is None and parsed:
            newest = _position(parsed[0].raw)
        posts = list(fresh)
        if cfg.comments:
            for submission in fresh:
                thread = call(f"/comments/{submission.raw['id']}/", {"limit": 500, "sort": "new"})
                try:
                    tree = list(_comments(thread[1]["data"]["children"]))
                except TRANSFORM_ERRORS as e:
                    warnings.append(Notice(MALFORMED, f"{describe}: the comments of {submission.key} are not a listing "
                                                      f"({e!r}); skipped"))
                    tree = []
                comments, bad, notes = transform_each(tree, lambda c: transform_comment(c, cfg.reddit_url),
                                                      describe, _fullname)
                posts += [c for c in comments if tags & set(c.hashtags)]
                rejects += bad
                warnings += notes
        done = reached_cursor or not after or not children
        if after in afters and not done:
            # the listing sent a page marker it sent before: following it would page forever
            warnings.append(Notice(STALLED, f"{describe}: Reddit repeated the page marker {after!r}; stopped walking"))
            yield Page(NAME, source, query, posts, recorder.drain(), None, warnings, rejects)
            return
        afters.add(after)
        if done and not reached_cursor and seen >= LISTING_CAP:
            warnings.append(Notice(
                CAP, f"{describe}: Reddit's listing cap (~{LISTING_CAP} results) was reached; "
                "older matching posts may be missing"))
        yield Page(NAME, source, query, posts, recorder.drain(),
                   (newest or cursor) if done else None, warnings, rejects)
        if done:
            return


INFO_BATCH = 100


def refresh(
    cfg: RedditConfig,
    conn: Connection,
    keys: list[str],
    *,
    policy: HttpPolicy,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[RefreshBatch]:
    """Re-read archived submissions and comments by fullname, 100 a call (`/api/info`)."""
    describe = "reddit refresh"
    for start in range(0, len(keys), INFO_BATCH):
        chunk = keys[start : start + INFO_BATCH]
        try:
            listing = http.call(
                lambda: conn.reddit.request(method="GET", path="/api/info", params={"id": ",".join(chunk)}),
                policy=policy, recorder=conn.recorder, describe=describe, on_retry=on_retry,
                transport_errors=TRANSPORT_ERRORS,
            )
        except SourceError as e:
            e.fetches = conn.recorder.drain()
            raise
        observed, gone = [], {}
        served = {c["data"]["name"]: c for c in listing["data"]["children"]}
        for key in chunk:
            child = served.get(key)
            if child is None:
                gone[key] = "no longer served by Reddit"
            elif reason := _gone_reason(child["data"]):
                gone[key] = reason
            elif child["kind"] == "t3":
                observed.append(transform_submission(child["data"], cfg.reddit_url))
            else:
                observed.append(transform_comment(child["data"], cfg.reddit_url))
        yield RefreshBatch(NAME, conn.source, observed, gone, conn.recorder.drain())
