"""Synthetic campaign data for the benchmarks, built here and never borrowed from `tests`.

A Mastodon status as the API serves it (every field a 4.x instance sends, with HTML
content, hashtags, mentions, media, emoji and a link card on some), and a year of posts
from several platforms and many authors for the report benchmark. Deterministic: the
same arguments give the same data.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from monitor.core.records import Author, Fetch, Page, Post

EPOCH = datetime(2026, 11, 2, 8, tzinfo=timezone.utc)
YEAR_START = datetime(2025, 11, 24, tzinfo=timezone.utc)  # a Monday
TAGS = ["aspirenottoexclude", "send", "nurturegroups", "edutwitter", "inclusion", "mentalhealth", "senco"]
SOURCES = [("mastodon", "mastodon.social"), ("mastodon", "mastodonapp.uk"), ("reddit", "r/Teachers"),
           ("bluesky", "bsky.social")]
STORIES = [
    "Our nurture group kept Sam in school this term.",
    "Three suspensions last year, none this year since he joined the nurture room.",
    "As a SENCo I have seen the Boxall profile change how staff talk about behaviour.",
    "Join our webinar on nurture principles next Thursday!",
    "My daughter used to hide under the table; now she reads to the class.",
]


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _account(domain: str, username: str, followers: int) -> dict[str, Any]:
    return {
        "id": str(100_000 + sum(map(ord, username))), "username": username, "acct": username,
        "display_name": username.replace("_", " ").title(), "locked": False, "bot": False, "discoverable": True,
        "group": False, "created_at": "2022-11-08T00:00:00.000Z", "note": "<p>Teacher. Nurture group lead.</p>",
        "url": f"https://{domain}/@{username}", "uri": f"https://{domain}/users/{username}",
        "avatar": f"https://{domain}/avatars/{username}.png", "avatar_static": f"https://{domain}/avatars/{username}.png",
        "header": f"https://{domain}/headers/original/missing.png",
        "header_static": f"https://{domain}/headers/original/missing.png",
        "followers_count": followers, "following_count": 87, "statuses_count": 412,
        "last_status_at": "2026-11-01", "emojis": [], "fields": [],
    }


def mastodon_status(domain: str, n: int, *, username: str, created: datetime, tags: tuple[str, ...] = ("AspireNotToExclude",),
                    media: bool = False, spoiler: str = "", mention: str | None = None, emoji: bool = False) -> dict[str, Any]:
    """One status as its instance's API sends it."""
    body = STORIES[n % len(STORIES)]
    if emoji:
        body += " :nurture_heart:"
    mentions = []
    if mention:
        user, host = mention.split("@")
        body = f'<span class="h-card"><a href="https://{host}/@{user}" class="u-url mention">@<span>{user}</span></a></span> {body}'
        mentions = [{"id": "42", "username": user, "acct": mention, "url": f"https://{host}/@{user}"}]
    body += " " + " ".join(f'<a href="https://{domain}/tags/{t.lower()}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
                           for t in tags)
    body += (' <a href="https://www.nurtureuk.org/what-we-do/nurture-groups/" rel="nofollow noopener" target="_blank">'
             '<span class="invisible">https://www.</span><span class="ellipsis">nurtureuk.org/what-we-do/</span></a>')
    return {
        "id": str(117_000_000_000_000_000 + n), "created_at": iso(created), "in_reply_to_id": None,
        "in_reply_to_account_id": None, "sensitive": bool(spoiler), "spoiler_text": spoiler, "visibility": "public",
        "language": "en", "uri": f"https://{domain}/users/{username}/statuses/{n}", "url": f"https://{domain}/@{username}/{n}",
        "replies_count": n % 5, "reblogs_count": n % 9, "favourites_count": n % 23, "quotes_count": 0,
        "edited_at": None, "favourited": False, "reblogged": False, "muted": False, "bookmarked": False,
        "content": f"<p>{body}</p>", "filtered": [], "reblog": None,
        "application": {"name": "Web", "website": None},
        "account": _account(domain, username, 40 + n % 900),
        "media_attachments": [{
            "id": str(9000 + n), "type": "image", "url": f"https://{domain}/media/{n}.jpg",
            "preview_url": f"https://{domain}/media/{n}_small.jpg", "remote_url": None,
            "description": "Pupils in the nurture room", "blurhash": "UFF~?.", "meta": {"original": {"width": 1200, "height": 800}},
        }] if media else [],
        "mentions": mentions,
        "tags": [{"name": t.lower(), "url": f"https://{domain}/tags/{t.lower()}"} for t in tags],
        "emojis": [{"shortcode": "nurture_heart", "url": f"https://{domain}/emoji/1.png",
                    "static_url": f"https://{domain}/emoji/1.png", "visible_in_picker": True}] if emoji else [],
        "card": None, "poll": None,
    }


def mastodon_statuses(count: int, *, authors: int = 5000, domain: str = "bench.example") -> Iterator[dict[str, Any]]:
    """`count` statuses, oldest first, seven seconds apart, by `authors` accounts."""
    for n in range(count):
        yield mastodon_status(domain, n, username=f"teacher_{n % authors}", created=EPOCH + timedelta(seconds=n * 7),
                              media=n % 7 == 0, emoji=n % 4 == 0, spoiler="CW" if n % 11 == 0 else "",
                              mention="nurtureuk@mastodonapp.uk" if n % 13 == 0 else None)


def year_of_pages(posts: int, authors: int, page: int = 2000, seed: int = 7) -> Iterator[Page]:
    """A year of posts from four sources and many authors, as pages for the archive's writer.

    Each carries a status-sized raw payload (~3 KB, as every platform's API object is), so
    the archive's rows and pages are as large as a real archive's."""
    rng = random.Random(seed)
    people = [Author(SOURCES[i % 4][0], f"author-{i}", f"user{i}@example", followers_count=rng.randint(0, 5000))
              for i in range(authors)]
    batch: list[Post] = []
    for n in range(posts):
        platform, source = SOURCES[(n // page) % 4]  # a page comes from one source
        created = (YEAR_START + timedelta(seconds=rng.randrange(365 * 86400))).isoformat(timespec="microseconds")
        tags = ["aspirenottoexclude"] + rng.sample(TAGS[1:], rng.randint(0, 2))
        author = people[rng.randrange(authors)]
        author = Author(platform, author.key + platform, author.handle, followers_count=author.followers_count)
        batch.append(Post(platform, f"post-{n}", f"https://example.org/p/{n}", author, created,
                          f"{STORIES[n % len(STORIES)]} https://example.org/story/{n % 500}",
                          mastodon_status("example.org", n, username=author.handle.split("@")[0],
                                          created=EPOCH, media=n % 7 == 0), local_id=str(n),
                          hashtags=tags, likes=rng.randint(0, 50), reposts=rng.randint(0, 10),
                          replies=rng.randint(0, 8), quotes=0))
        if len(batch) == page or n == posts - 1:
            fetch = Fetch(platform, source, "GET", "/synthetic", {"n": n}, 200, created)
            yield Page(platform, source, "aspirenottoexclude", batch, [fetch], None)
            batch = []
