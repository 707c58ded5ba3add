"""The records every collector hands to the archive, whatever the platform.

A collector's job ends at these dataclasses: it fetches with the platform's own client
library and transforms API objects into `Post`, `Author` and `Fetch`, grouped into a
`Page`. The archive (`monitor.archive`) is the only code that turns them into rows.
They sit in the core so that the archive below the collectors can name them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


# What a notice is about. Code that acts on notices reads `kind`, never the message.
CAP = "cap"  # a listing or search stopped at the platform's cap: older matching posts may be missing
MALFORMED = "malformed"  # an item that could not be made a post (kept in rejected_items)
STALLED = "stalled"  # the server did not move forward (a repeated page or cursor); walking stopped
IGNORED_TERMS = "ignored_terms"  # the server returned results outside what was asked; they were left out
REQUEST_LIMIT = "request_limit"  # [http] max_requests was reached; the next run goes on
RETRIED = "retried"  # a fault the policy retried (429, 5xx, timeout ...)
DELETED = "deleted"  # a refresh found a post gone from its platform
GAP = "gap"  # a stream could not replay everything since its cursor; the search walk fills it
OTHER = "other"


@dataclass(frozen=True)
class Notice:
    """Something a run should tell its user: typed, so the report counts caps by kind, not by wording."""

    kind: str
    message: str  # one line for people, naming the source
    count: int = 1  # how many times it happened in the run

    def __str__(self) -> str:
        return self.message if self.count == 1 else f"{self.message} x{self.count}"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "count": self.count}


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


@dataclass
class Page:
    """What one successful page request brought, with the cursor that it justifies.

    `cursor` is the position the source may resume from once these posts are stored;
    the archive writes both in one transaction.
    """

    platform: str
    source: str
    stream: str  # the walk within the source: a hashtag, or a query (its cursor's name)
    posts: list[Post]
    fetches: list[Fetch]
    cursor: str | None
    warnings: list[Notice] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    # Deletions a stream announced, tombstoned with the page: by post key (Bluesky's at:// URI),
    # or by the id on this page's source (Mastodon's delete event names only that); -> reason
    gone: dict[str, str] = field(default_factory=dict)
    gone_local: dict[str, str] = field(default_factory=dict)
    # Edits a stream saw of posts that no longer carry a campaign hashtag: stored as a new
    # version of a post the archive already holds, and ignored for any other post
    edits: list[Post] = field(default_factory=list)


@dataclass
class RefreshBatch:
    """A re-read of posts already archived: their current state, or that they are gone."""

    platform: str
    source: str
    observed: list[Post]
    gone: dict[str, str]  # post key -> why it counts as deleted (HTTP 404, "[removed]", ...)
    fetches: list[Fetch]
