"""Reddit: its API's JSON into the archive's records; pure functions, testable on captured payloads."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from typing import Any, Iterator

from monitor.core.clock import to_utc_iso
from monitor.core.records import Author, Post

NAME = "reddit"


HASHTAG_RE = re.compile(r"#(\w+)")


def _utc(seconds: float) -> str:
    return to_utc_iso(datetime.fromtimestamp(seconds, tz=timezone.utc))


def _author(data: dict[str, Any]) -> Author:
    name = data.get("author") or "[deleted]"
    return Author(
        platform=NAME,
        key=data.get("author_fullname") or f"u/{name}",
        handle=f"u/{name}",
        url=None if name == "[deleted]" else f"https://www.reddit.com/user/{name}",
    )


def _hashtags(text: str) -> list[str]:
    return sorted({t.lower() for t in HASHTAG_RE.findall(text)})


def _thing(data: dict[str, Any], reddit_url: str, text: str, raw: dict[str, Any], **fields: Any) -> Post:
    """What submissions (t3) and comments (t1) share: identity, author, times, score."""
    return Post(
        platform=NAME,
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


def _gallery(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A gallery's pictures, in its order, each with the caption its poster wrote (Reddit's alt text).

    The picture's URL is in `media_metadata[id].s.u`, HTML-escaped as Reddit sends it.
    """
    metadata = data.get("media_metadata") or {}
    out = []
    for item in (data.get("gallery_data") or {}).get("items") or []:
        meta = metadata.get(item.get("media_id")) if isinstance(item, dict) else None
        source = (meta or {}).get("s") or {}
        url = source.get("u") or source.get("gif")
        if isinstance(url, str) and (meta or {}).get("status", "valid") == "valid":
            out.append({"type": "image", "url": html.unescape(url), "description": item.get("caption")})
    return out


def transform_submission(data: dict[str, Any], reddit_url: str) -> Post:
    text = data.get("title", "")
    if data.get("selftext"):
        text += "\n\n" + data["selftext"]
    media = _gallery(data) if data.get("is_gallery") else []
    if not media and not data.get("is_self") and data.get("url"):
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


GONE_TEXT = {"[deleted]", "[removed]"}


def _gone_reason(data: dict[str, Any]) -> str | None:
    """Reddit keeps deleted and removed things listed, emptied: recognise them."""
    text = data.get("body") if "body" in data else data.get("selftext")
    if data.get("removed_by_category"):
        return f"removed on Reddit ({data['removed_by_category']})"
    if text in GONE_TEXT:
        return f"{text.strip('[]')} on Reddit"
    return None
