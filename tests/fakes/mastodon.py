"""A fake Mastodon instance speaking the real API, for Mastodon.py to talk to.

Statuses are built like a real instance serves them (see data/, recorded by Mastodon.py's
own test suite): HTML content with hashtag links, mentions, custom emoji, media and
content warnings. `Fediverse` makes posts that several fake instances share, each with
its own local ids, as federation does.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.fakes.files import png
from tests.fakes.server import FakeServer, Request, Response, json_response

DATA = Path(__file__).parent / "data"
INSTANCE = json.loads((DATA / "mastodon_instance.json").read_text())
STATUS = json.loads((DATA / "mastodon_status_example.json").read_text())
EPOCH = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=3)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def account(domain: str, username: str, *, followers: int = 120, display_name: str = "") -> dict:
    acc = copy.deepcopy(STATUS["account"])
    acc.update(
        id=str(abs(hash((domain, username))) % 10**17),
        username=username,
        acct=username,
        display_name=display_name or username.replace("_", " ").title(),
        url=f"https://{domain}/@{username}",
        uri=f"https://{domain}/users/{username}",
        followers_count=followers,
        following_count=87,
        statuses_count=412,
        note="<p>Teacher. Nurture group lead.</p>",
        fields=[],
    )
    return acc


def hashtag_html(domain: str, tag: str) -> str:
    return (
        f'<a href="https://{domain}/tags/{tag.lower()}" class="mention hashtag" rel="tag">'
        f"#<span>{tag}</span></a>"
    )


def status(
    domain: str,
    n: int,
    *,
    username: str = "ms_okafor",
    text: str = "Our nurture group kept Sam in school this term.",
    tags: tuple[str, ...] = ("AspireNotToExclude",),
    created: datetime | None = None,
    followers: int = 120,
    spoiler: str = "",
    media: bool | list[tuple[bytes, str, str, str | None]] = False,
    mention: str | None = None,
    emoji: bool = False,
    likes: int = 3,
) -> dict:
    """A status as its origin instance `domain` serves it (local id set by the instance).

    `media`: True for one small picture, or the attachments as (bytes, MIME type, Mastodon
    type, description), each served by the instance the status is added to.
    """
    created = created or EPOCH + timedelta(minutes=n)
    s = copy.deepcopy(STATUS)
    acc = account(domain, username, followers=followers)
    body = text
    if emoji:
        body += " :nurture_heart:"
    if mention:
        user, host = mention.split("@")
        body = (
            f'<span class="h-card"><a href="https://{host}/@{user}" class="u-url mention">@<span>{user}</span></a></span> '
            + body
        )
    body += " " + " ".join(hashtag_html(domain, t) for t in tags)
    link = (
        '<a href="https://www.nurtureuk.org/what-we-do/nurture-groups/" rel="nofollow noopener" target="_blank">'
        '<span class="invisible">https://www.</span><span class="ellipsis">nurtureuk.org/what-we-do/nurt</span>'
        '<span class="invisible">ure-groups/</span></a>'
    )
    s.update(
        id=None,
        created_at=iso(created),
        uri=f"https://{domain}/users/{username}/statuses/{n}",
        url=f"https://{domain}/@{username}/{n}",
        content=f"<p>{body}</p><p>More: {link}</p>",
        spoiler_text=spoiler,
        sensitive=bool(spoiler),
        account=acc,
        tags=[{"name": t.lower(), "url": f"https://{domain}/tags/{t.lower()}"} for t in tags],
        mentions=(
            [{"id": "9", "username": mention.split("@")[0], "acct": mention,
              "url": f"https://{mention.split('@')[1]}/@{mention.split('@')[0]}"}]
            if mention else []
        ),
        emojis=(
            [{"shortcode": "nurture_heart", "url": f"https://{domain}/emoji/heart.png",
              "static_url": f"https://{domain}/emoji/heart.png", "visible_in_picker": True}]
            if emoji else []
        ),
        media_attachments=(
            [{"id": str(n), "type": "image", "url": f"https://files.{domain}/media_attachments/{n}/original.png",
              "preview_url": f"https://files.{domain}/media_attachments/{n}/small.png", "remote_url": None,
              "description": "A pupil's drawing of the nurture room's calm corner",
              "blurhash": "UeKUpFxuo~R%0nW;WCnhF6RjaJt757oJodS$",
              "meta": {"original": {"width": 8, "height": 8, "size": "8x8", "aspect": 1.0}}}]
            if media is True else [
                {"id": f"{n}{i}", "type": kind, "url": f"https://files.{domain}/media_attachments/{n}{i}/original",
                 "preview_url": None, "remote_url": None, "description": description, "blurhash": None, "meta": {},
                 "_body": (body, mime)} for i, (body, mime, kind, description) in enumerate(media or [])]
        ),
        card=None,
        replies_count=1,
        reblogs_count=2,
        favourites_count=likes,
        quotes_count=0,
        edited_at=None,
    )
    return s


class FakeMastodon(FakeServer):
    """One instance: `add(status)` federates a status to it under a new local id."""

    _ids = itertools.count(1)

    def __init__(self, domain: str = "fake.social", *, require_auth: str | None = None):
        super().__init__()
        self.domain = domain
        self.require_auth = require_auth  # the access token this instance insists on
        self.timeline: list[tuple[int, dict, bytes]] = []  # (local id, status, its JSON)
        self.remaining = 300
        self.stuck_prev = False  # misbehave: a `prev` link that does not move, so the same page comes again

    def add(self, origin_status: dict) -> dict:
        """Receive a status (from any origin) and give it this instance's next local id."""
        s = copy.deepcopy(origin_status)
        created = datetime.fromisoformat(s["created_at"].replace("Z", "+00:00"))
        local_id = (int(created.timestamp() * 1000) << 16) + next(self._ids) % 65536
        s["id"] = str(local_id)
        for m in s.get("media_attachments") or []:  # media is served here, never from the internet
            if m.get("url") is None:
                continue  # remote media this instance has not fetched: Mastodon sends a null url
            path = "/system/" + m["url"].split("/", 3)[3]
            self.files[path] = m.pop("_body", None) or (png(), "image/png")
            m["url"] = m["preview_url"] = self.url + path
        origin = s["uri"].split("/")[2]
        if origin != self.domain and "@" not in s["account"]["acct"]:
            s["account"]["acct"] = f"{s['account']['username']}@{origin}"
        with self.lock:
            self.timeline.append((local_id, s, json.dumps(s).encode()))
            self.timeline.sort(key=lambda item: item[0])
        return s

    def add_raw(self, body: bytes, *, tags: tuple[str, ...] = ("AspireNotToExclude",)) -> int:
        """Serve `body` as one status of the tag timeline, whatever it holds (a malformed status)."""
        local_id = (int(time.time() * 1000) << 16) + next(self._ids) % 65536
        with self.lock:
            self.timeline.append((local_id, {"tags": [{"name": t.lower()} for t in tags]}, body))
            self.timeline.sort(key=lambda item: item[0])
        return local_id

    def edit(self, uri: str, new_text: str, *, at: datetime | None = None) -> None:
        self.change(uri, content=f"<p>{new_text}</p>", edited_at=iso(at or datetime.now(timezone.utc)))

    def change(self, uri: str, **fields: Any) -> None:
        """Change a status in place (new counts, an edit), as the instance would serve it next."""
        with self.lock:
            for i, (local_id, s, _) in enumerate(self.timeline):
                if s["uri"] == uri:
                    s.update(fields)
                    self.timeline[i] = (local_id, s, json.dumps(s).encode())

    def delete(self, uri: str) -> None:
        with self.lock:
            self.timeline = [item for item in self.timeline if item[1]["uri"] != uri]

    def extra_headers(self, request: Request) -> dict[str, str]:
        with self.lock:
            self.remaining = max(0, self.remaining - 1)
            remaining = self.remaining
        reset = datetime.now(timezone.utc) + timedelta(minutes=5)
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(remaining or 1),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "Cache-Control": "private, no-store",
            "Vary": "Accept, Origin",
        }

    def route(self, request: Request) -> Response:
        if request.path in ("/api/v2/instance", "/api/v2/instance/"):
            return json_response(200, self.instance_info())
        if request.path == "/api/v1/statuses":
            wanted = set(request.multi.get("id[]", []))
            with self.lock:
                found = [body for local_id, _, body in self.timeline if str(local_id) in wanted]
            return Response(200, b"[" + b",".join(found) + b"]")
        if request.path.startswith("/api/v1/statuses/"):
            wanted = request.path.rsplit("/", 1)[1]
            with self.lock:
                found = [body for local_id, _, body in self.timeline if str(local_id) == wanted]
            return Response(200, found[0]) if found else json_response(404, {"error": "Record not found"})
        if request.path.startswith("/api/v1/timelines/tag/"):
            if self.require_auth and request.headers.get("authorization") != f"Bearer {self.require_auth}":
                return json_response(401, {"error": "This API requires an authenticated user"})
            return self.tag_timeline(request)
        return json_response(404, {"error": "Not Found"})

    def instance_info(self) -> dict:
        info = copy.deepcopy(INSTANCE)
        info["domain"] = self.domain
        if self.require_auth:
            info["configuration"]["timelines_access"]["hashtag_feeds"] = {
                "local": "authenticated", "remote": "authenticated"}
        return info

    def tag_timeline(self, request: Request) -> Response:
        """Mastodon's paginate_by_id: newest first; `min_id` takes the page just above it."""
        tag = request.path.rsplit("/", 1)[1].lower()
        q = request.query
        try:
            limit = min(int(q.get("limit", 20)), 40)
        except ValueError:
            return json_response(422, {"error": "Validation failed"})
        with self.lock:
            items = [(i, body) for i, s, body in self.timeline
                     if any(t["name"].lower() == tag for t in s["tags"])]
        if q.get("min_id"):
            floor = int(q["min_id"])
            page = [x for x in items if x[0] > floor][:limit][::-1]
        else:
            ceiling = int(q["max_id"]) if q.get("max_id") else None
            since = int(q["since_id"]) if q.get("since_id") else None
            page = [x for x in reversed(items)
                    if (ceiling is None or x[0] < ceiling) and (since is None or x[0] > since)][:limit]
        headers = {}
        if page:
            base = f"http://{request.headers.get('host')}{request.path}"
            extra = {"limit": q["limit"]} if "limit" in q else {}
            headers["Link"] = (
                f'<{base}?{urlencode({**extra, "max_id": page[-1][0]})}>; rel="next", '
                f'<{base}?{urlencode({**extra, "min_id": q.get("min_id", 0) if self.stuck_prev else page[0][0]})}>;'
                ' rel="prev"'
            )
        body = b"[" + b",".join(body for _, body in page) + b"]"
        return Response(200, body, headers)


def seed(instance: FakeMastodon, count: int, *, domain: str | None = None, tag: str = "AspireNotToExclude",
         start: int = 0) -> list[dict]:
    """Add `count` varied statuses; returns them as served."""
    domain = domain or instance.domain
    out = []
    for n in range(start, start + count):
        out.append(instance.add(status(
            domain, n,
            username=["ms_okafor", "mr_hughes", "parent_of_two", "senco_leeds", "year6_pupil"][n % 5],
            tags=(tag,) if n % 3 else (tag, "NurtureGroups"),
            spoiler="Exclusion, mental health" if n % 11 == 0 else "",
            media=n % 7 == 0,
            mention="nurtureuk@mastodonapp.uk" if n % 13 == 0 else None,
            emoji=n % 4 == 0,
            followers=100 + n,
        )))
    return out



def lean_status(domain: str, n: int, tag: str = "AspireNotToExclude") -> dict:
    """A status with only the fields every Mastodon version sends: cheap to parse, for
    tests that need thousands of them."""
    created = EPOCH + timedelta(seconds=n)
    return {
        "id": None,
        "created_at": iso(created),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://{domain}/users/u{n % 50}/statuses/{n}",
        "url": f"https://{domain}/@u{n % 50}/{n}",
        "replies_count": 0,
        "reblogs_count": n % 3,
        "favourites_count": n % 5,
        "edited_at": None,
        "content": f"<p>Story {n}: nurture kept us in school {hashtag_html(domain, tag)}</p>",
        "account": {"id": str(n % 50), "username": f"u{n % 50}", "acct": f"u{n % 50}",
                    "display_name": "", "url": f"https://{domain}/@u{n % 50}",
                    "uri": f"https://{domain}/users/u{n % 50}", "followers_count": n % 50,
                    "following_count": 1, "statuses_count": 10},
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": tag.lower(), "url": f"https://{domain}/tags/{tag.lower()}"}],
        "emojis": [],
    }
