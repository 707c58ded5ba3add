"""Mastodon: its API's JSON into the archive's records; pure functions, testable on captured payloads."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from collectors.html_text import html_to_text
from monitor.core.clock import to_utc_iso
from monitor.core.records import Author, Post

NAME = "mastodon"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def transform_account(account: dict[str, Any]) -> Author:
    acct = account["acct"]
    if "@" not in acct:
        acct = f"{acct}@{urlsplit(account['url']).hostname}"
    return Author(
        platform=NAME,
        key=account.get("uri") or account["url"],
        handle=acct.lower(),
        display_name=account.get("display_name") or None,
        url=account.get("url"),
        followers_count=_int(account.get("followers_count")),
        following_count=_int(account.get("following_count")),
        posts_count=_int(account.get("statuses_count")),
    )


def transform_status(raw: dict[str, Any]) -> Post:
    """One status, exactly as the API sent it, into the archive's record."""
    media = [
        {
            "type": m.get("type"),
            "url": m.get("remote_url") or m.get("url"),
            "description": m.get("description"),
        }
        for m in raw.get("media_attachments") or []
    ]
    return Post(
        platform=NAME,
        key=raw["uri"],
        url=raw.get("url") or raw["uri"],
        local_id=str(raw["id"]),
        author=transform_account(raw["account"]),
        created_at=to_utc_iso(raw["created_at"]),
        edited_at=to_utc_iso(raw["edited_at"]) if raw.get("edited_at") else None,
        text=html_to_text(raw.get("content")),
        content_warning=raw.get("spoiler_text") or None,
        language=raw.get("language"),
        hashtags=sorted({t["name"].lower() for t in raw.get("tags") or []}),
        media=media,
        likes=_int(raw.get("favourites_count")),
        reposts=_int(raw.get("reblogs_count")),
        replies=_int(raw.get("replies_count")),
        quotes=_int(raw.get("quotes_count")),
        raw=raw,
    )


def _id_order(local_id: str) -> tuple[int, str]:
    return (len(local_id), local_id)


def _status_id(raw: Any) -> Any:
    return raw.get("id") if isinstance(raw, dict) else None


def _valid_id(value: str | None) -> bool:
    return isinstance(value, str) and value.isdigit()
