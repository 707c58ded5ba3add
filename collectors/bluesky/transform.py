"""Bluesky: its API's JSON into the archive's records; pure functions, testable on captured payloads."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from collectors.base import TRANSFORM_ERRORS
from monitor.core.clock import to_utc_iso
from monitor.core.records import Author, Post

NAME = "bluesky"


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


# a hashtag typed in the text, as Bluesky's apps read one: '#' at the start or after a space,
# running to the next space, without the punctuation that ends it ("#Nurture-ish" is not "#Nurture")
TEXT_HASHTAG = re.compile(r"(?:^|(?<=\s))[#\uff03](\S+)")


TRAILING_PUNCTUATION = "".join(chr(c) for c in range(0x21, 0x80) if not chr(c).isalnum() and chr(c) != "_")


def post_hashtags(record: dict[str, Any]) -> set[str]:
    """Every hashtag a post carries, lower case: tag facets, the record's `tags`, and the text.

    Clients differ: some write facets, some only `tags`, some neither (a hashtag typed in
    an app that makes no facets is text alone). Search servers differ too, so the
    collector checks every post it is given against this, never trusting the query.
    """
    facets = {
        feature["tag"].lower()
        for facet in record.get("facets") or []
        for feature in facet.get("features", [])
        if feature.get("$type") == "app.bsky.richtext.facet#tag" and isinstance(feature.get("tag"), str)
    }
    listed = {t.lower() for t in record.get("tags") or [] if isinstance(t, str)}
    typed = {t.rstrip(TRAILING_PUNCTUATION).lower() for t in TEXT_HASHTAG.findall(record.get("text") or "")} - {""}
    return facets | listed | typed


def transform_post(view: dict[str, Any], followers: int | None = None) -> Post:
    record = view["record"]
    tags = post_hashtags(record)
    author = view["author"]
    return Post(
        platform=NAME,
        key=view["uri"],
        url=post_url(view),
        local_id=view.get("cid"),
        author=Author(
            platform=NAME, key=author["did"], handle=author["handle"].lower(),
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
        revision=view.get("cid"),
        revised_at=to_utc_iso(view["indexedAt"]) if view.get("indexedAt") else None,
    )


def _did(view: Any) -> str | None:
    try:
        return view["author"]["did"]
    except TRANSFORM_ERRORS:
        return None


POST_COLLECTION = "app.bsky.feed.post"


def record_uri(did: str, rkey: str) -> str:
    return f"at://{did}/{POST_COLLECTION}/{rkey}"


def _record_media(record: dict[str, Any], did: str, cdn: str) -> list[dict[str, Any]]:
    """A record's embedded images and video, as the CDN serves them (a record names blobs, not URLs)."""
    embed = record.get("embed") or {}
    if embed.get("$type", "").startswith("app.bsky.embed.recordWithMedia"):
        embed = embed.get("media") or {}
    kind = embed.get("$type", "")

    def link(blob: dict[str, Any]) -> str | None:
        ref = (blob or {}).get("ref") or {}
        return ref.get("$link") if isinstance(ref, dict) else None

    if kind.startswith("app.bsky.embed.images"):
        return [{"type": "image", "url": f"{cdn}/img/feed_fullsize/plain/{did}/{link(i.get('image'))}@jpeg",
                 "description": i.get("alt")} for i in embed.get("images", []) if link(i.get("image"))]
    if kind.startswith("app.bsky.embed.video") and link(embed.get("video")):
        return [{"type": "video", "url": f"https://video.bsky.app/watch/{did}/{link(embed.get('video'))}/playlist.m3u8",
                 "description": embed.get("alt")}]
    return []


def commit_post(event: dict[str, Any], cdn: str) -> Post:
    """A Jetstream commit (create or update of a post) as a record: the whole event is its payload.

    The event names the author by DID alone; the handle is the DID until a search or a
    re-read names it (the archive keeps a handle it already knows). It carries no counts.
    """
    did, commit = event["did"], event["commit"]
    record = commit["record"]
    if not isinstance(record.get("text", ""), str):
        raise TypeError("the record's text is not a string")
    rkey = commit["rkey"]
    seen = to_utc_iso(datetime.fromtimestamp(int(event["time_us"]) / 1e6, timezone.utc))
    return Post(
        platform=NAME,
        key=record_uri(did, rkey),
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        local_id=commit.get("cid"),
        author=Author(platform=NAME, key=did, handle=did, url=f"https://bsky.app/profile/{did}"),
        created_at=to_utc_iso(record["createdAt"]),
        text=record.get("text", ""),
        language=(record.get("langs") or [None])[0],
        hashtags=sorted(post_hashtags(record)),
        media=_record_media(record, did, cdn),
        raw=event,
        revision=commit.get("cid"),
        revised_at=seen,
    )
