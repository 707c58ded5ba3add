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

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import requests

from collectors.base import TRANSFORM_ERRORS, env_pair, transform_each

from monitor.core.records import Author, Page, Post, RefreshBatch, SourceError
from monitor import __version__
from monitor.core import http
from monitor.core.clock import to_utc_iso
from monitor.core.config import HttpPolicy, RedditConfig

PLATFORM = "reddit"
ID_ENV, SECRET_ENV = "REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"
LISTING_CAP = 1000  # Reddit stops every listing at about this many items
PAGE = 100
HASHTAG_RE = re.compile(r"#(\w+)")


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


def _utc(seconds: float) -> str:
    return to_utc_iso(datetime.fromtimestamp(seconds, tz=timezone.utc))


def _author(data: dict[str, Any]) -> Author:
    name = data.get("author") or "[deleted]"
    return Author(
        platform=PLATFORM,
        key=data.get("author_fullname") or f"u/{name}",
        handle=f"u/{name}",
        url=None if name == "[deleted]" else f"https://www.reddit.com/user/{name}",
    )


def _hashtags(text: str) -> list[str]:
    return sorted({t.lower() for t in HASHTAG_RE.findall(text)})


def _thing(data: dict[str, Any], reddit_url: str, text: str, raw: dict[str, Any], **fields: Any) -> Post:
    """What submissions (t3) and comments (t1) share: identity, author, times, score."""
    return Post(
        platform=PLATFORM,
        key=data["name"],
        url=reddit_url + data["permalink"],
        local_id=data["name"],
        author=_author(data),
        created_at=_utc(data["created_utc"]),
        edited_at=_utc(data["edited"]) if data.get("edited") else None,
        text=text,
        hashtags=_hashtags(text),
        likes=data.get("score"),
        raw=raw,
        **fields,
    )


def transform_submission(data: dict[str, Any], reddit_url: str) -> Post:
    text = data.get("title", "")
    if data.get("selftext"):
        text += "\n\n" + data["selftext"]
    media = []
    if not data.get("is_self") and data.get("url"):
        media.append({"type": data.get("post_hint") or "link", "url": data["url"], "description": None})
    return _thing(
        data, reddit_url, text, data,
        media=media,
        reposts=data.get("num_crossposts"),
        replies=data.get("num_comments"),
        metrics={
            "subreddit": data.get("subreddit"),
            "upvote_ratio": data.get("upvote_ratio"),
            "subreddit_subscribers": data.get("subreddit_subscribers"),
        },
    )


def transform_comment(data: dict[str, Any], reddit_url: str) -> Post:
    """A comment; its replies are comments of their own, so they are left out of its raw."""
    replies = data.get("replies")
    return _thing(
        data, reddit_url, data.get("body", ""), {k: v for k, v in data.items() if k != "replies"},
        replies=len(replies["data"]["children"]) if isinstance(replies, dict) else 0,
        metrics={"subreddit": data.get("subreddit"), "parent": data.get("link_id")},
    )


def _comments(tree: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for child in tree:
        if child.get("kind") != "t1":
            continue  # "more" stubs are not expanded
        yield child["data"]
        replies = child["data"].get("replies")
        if isinstance(replies, dict):
            yield from _comments(replies["data"]["children"])


def _position(data: dict[str, Any]) -> str:
    """A cursor that orders by time first: '<created_utc>:<fullname>'."""
    return f"{float(data['created_utc']):.3f}:{data['name']}"


def _positioned(post: Post) -> Post:
    _position(post.raw)  # a submission without a usable time or name cannot be walked past: a reject
    return post


def _fullname(data: Any) -> Any:
    return data.get("name") if isinstance(data, dict) else None


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
    import praw  # imported here: only runs that collect Reddit pay for it

    source = f"r/{subreddit}"
    recorder = http.Recorder(PLATFORM, source)
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
    import prawcore

    describe = f"{conn.source} search {query!r}"
    recorder = conn.recorder

    def call(path: str, params: dict[str, Any]) -> Any:
        return http.call(
            lambda: conn.reddit.request(method="GET", path=path, params=params),
            policy=policy,
            recorder=recorder,
            describe=describe,
            transport_errors=(prawcore.exceptions.RequestException, requests.RequestException, OSError),
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
                    warnings.append(f"{describe}: the comments of {submission.key} are not a listing ({e!r}); skipped")
                    tree = []
                comments, bad, notes = transform_each(tree, lambda c: transform_comment(c, cfg.reddit_url),
                                                      describe, _fullname)
                posts += [c for c in comments if tags & set(c.hashtags)]
                rejects += bad
                warnings += notes
        done = reached_cursor or not after or not children
        if after in afters and not done:
            # the listing sent a page marker it sent before: following it would page forever
            warnings.append(f"{describe}: Reddit repeated the page marker {after!r}; stopped walking")
            yield Page(PLATFORM, source, query, posts, recorder.drain(), None, warnings, rejects)
            return
        afters.add(after)
        if done and not reached_cursor and seen >= LISTING_CAP:
            warnings.append(
                f"{describe}: Reddit's listing cap (~{LISTING_CAP} results) was reached; "
                "older matching posts may be missing"
            )
        yield Page(PLATFORM, source, query, posts, recorder.drain(),
                   (newest or cursor) if done else None, warnings, rejects)
        if done:
            return


INFO_BATCH = 100
GONE_TEXT = {"[deleted]", "[removed]"}


def _gone_reason(data: dict[str, Any]) -> str | None:
    """Reddit keeps deleted and removed things listed, emptied: recognise them."""
    text = data.get("body") if "body" in data else data.get("selftext")
    if data.get("removed_by_category"):
        return f"removed on Reddit ({data['removed_by_category']})"
    if text in GONE_TEXT:
        return f"{text.strip('[]')} on Reddit"
    return None


def refresh(
    cfg: RedditConfig,
    conn: Connection,
    keys: list[str],
    *,
    policy: HttpPolicy,
    on_retry: Callable[[str], None] | None = None,
) -> Iterator[RefreshBatch]:
    """Re-read archived submissions and comments by fullname, 100 a call (`/api/info`)."""
    import prawcore

    describe = "reddit refresh"
    for start in range(0, len(keys), INFO_BATCH):
        chunk = keys[start : start + INFO_BATCH]
        try:
            listing = http.call(
                lambda: conn.reddit.request(method="GET", path="/api/info", params={"id": ",".join(chunk)}),
                policy=policy, recorder=conn.recorder, describe=describe, on_retry=on_retry,
                transport_errors=(prawcore.exceptions.RequestException, requests.RequestException, OSError),
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
        yield RefreshBatch(PLATFORM, conn.source, observed, gone, conn.recorder.drain())
