"""The records every collector hands to the archive, whatever the platform.

A collector's job ends at these dataclasses: it fetches with the platform's own client
library and transforms API objects into `Post`, `Author` and `Fetch`, grouped into a
`Page`. `monitor.archive.save_page` is the only code that turns them into rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable


def env_pair(first: str, second: str, environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    """Two credentials from the environment (never from config or archive), or None if either is unset."""
    environ = os.environ if environ is None else environ
    a, b = environ.get(first), environ.get(second)
    return (a, b) if a and b else None


class SourceError(Exception):
    """A source (an instance, a subreddit, a search) could not be collected.

    Its message is shown to the user as is, so it names the source and what to do.
    `fetches` holds the requests made since the last stored page, failed ones included,
    so that the archive's provenance shows what was tried.
    """

    def __init__(self, message: str, fetches: "list[Fetch] | None" = None, status: int | None = None):
        super().__init__(message)
        self.fetches = fetches or []
        self.status = status  # the HTTP status that ended it, when one did


@dataclass
class Author:
    platform: str
    key: str  # stable identity on the platform (Mastodon: the account's ActivityPub URI)
    handle: str  # user@domain on Mastodon
    display_name: str | None = None
    url: str | None = None
    followers_count: int | None = None
    following_count: int | None = None
    posts_count: int | None = None


@dataclass
class Post:
    platform: str
    key: str  # identity within the platform (Mastodon: the status URI, the same everywhere)
    url: str | None
    author: Author
    created_at: str  # ISO 8601, UTC, e.g. 2026-08-01T13:52:44.180000+00:00
    text: str  # plain text, HTML removed
    raw: dict[str, Any]  # the API object exactly as received
    local_id: str | None = None  # the id on the source it was read from
    edited_at: str | None = None
    content_warning: str | None = None
    language: str | None = None
    hashtags: list[str] = field(default_factory=list)  # lower case, without '#'
    media: list[dict[str, Any]] = field(default_factory=list)
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)  # platform-specific reach
    # Where a platform names each version of a post's content (Bluesky: the record's CID)
    # and has no edited_at: a different revision, made later, is an edit.
    revision: str | None = None
    revised_at: str | None = None  # when that revision was made or indexed (Bluesky: indexedAt)


@dataclass
class Fetch:
    """One HTTP exchange, kept as provenance (never with credentials or bodies)."""

    platform: str
    source: str
    method: str
    endpoint: str  # path, without the query
    params: dict[str, Any]
    status: int | None  # None when no response arrived (timeout, refused connection)
    retrieved_at: str
    error: str | None = None


@dataclass
class Reject:
    """An item of a page that could not be made a Post: kept raw, never lost, never blocking the page."""

    raw: Any  # the item exactly as received
    reason: str  # what was wrong with it
    ident: str | None = None  # its id on the platform, if it had a usable one


TRANSFORM_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def transform_each(items: list[Any], transform: Callable[[Any], "Post"], describe: str,
                   ident: Callable[[Any], Any]) -> tuple[list["Post"], list[Reject], list[str]]:
    """Each item through `transform`; a malformed one becomes a Reject and a warning naming it.

    One bad status (no `uri`, `tags` as a number, `account` missing) must not fail the
    page it came in, or the source would stop at that page on every run.
    """
    posts, rejects = [], []
    for item in items:
        try:
            posts.append(transform(item))
        except TRANSFORM_ERRORS as e:
            try:
                name = ident(item)
            except TRANSFORM_ERRORS:
                name = None
            rejects.append(Reject(item, f"{type(e).__name__}: {e}", str(name) if name is not None else None))
    warnings = [f"{describe}: skipped a malformed item ({r.ident or 'no id'}: {r.reason}); "
                "its payload is kept in rejected_items" for r in rejects]
    return posts, rejects, warnings


@dataclass
class Page:
    """What one successful page request brought, with the cursor that it justifies.

    `cursor` is the position the source may resume from once these posts are stored;
    the archive writes both in one transaction.
    """

    platform: str
    source: str
    hashtag: str
    posts: list[Post]
    fetches: list[Fetch]
    cursor: str | None
    warnings: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


@dataclass
class RefreshBatch:
    """A re-read of posts already archived: their current state, or that they are gone."""

    platform: str
    source: str
    observed: list[Post]
    gone: dict[str, str]  # post key -> why it counts as deleted (HTTP 404, "[removed]", ...)
    fetches: list[Fetch]
