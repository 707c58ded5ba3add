"""A fake Bluesky PDS/AppView speaking the XRPC that atproto's Client uses: sessions with
decodable JWTs (createSession, refreshSession), getProfile(s), and searchPosts with
`q`, `tag`, `since`, `until`, `sort=latest`, cursor paging and a result cap, with
Bluesky's `ratelimit-*` headers."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.fakes.files import png
from tests.fakes.server import FakeServer, Request, Response, json_response

NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def jwt(payload: dict) -> str:
    """A token atproto can decode (it does not check the signature)."""
    return f"{_b64({'typ': 'at+jwt', 'alg': 'ES256K'})}.{_b64(payload)}.c2lnbmF0dXJl"


def tagged(text: str, tags: tuple[str, ...]) -> tuple[str, list[dict]]:
    """`text` with " #tag" added for each tag, and the tag facets that mark them (byte offsets, as Bluesky counts)."""
    facets = []
    for tag in tags:
        start = len(text.encode()) + 1
        text += f" #{tag}"
        facets.append({"$type": "app.bsky.richtext.facet",
                       "index": {"byteStart": start, "byteEnd": start + len(tag.encode()) + 1},
                       "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}]})
    return text, facets


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def post_view(n: int, *, text: str | None = None, tags: tuple[str, ...] = ("AspireNotToExclude",),
              created: datetime | None = None, handle: str | None = None, image: bool = False) -> dict:
    handle = handle or f"teacher{n % 7}.bsky.social"
    did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
    created = created or NOW - timedelta(hours=n)
    body = text or f"Nurture group story {n}: our calm space kept a pupil in school."
    full, facets = tagged(body, tags)
    rkey = f"3m{n:011d}"
    view: dict[str, Any] = {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": f"bafyreig{n:052d}",
        "author": {"did": did, "handle": handle, "displayName": handle.split(".")[0].title(),
                   "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkrei@jpeg",
                   "associated": {"chat": {"allowIncoming": "following"}}, "labels": [],
                   "createdAt": "2023-05-01T10:00:00.000Z"},
        "record": {"$type": "app.bsky.feed.post", "createdAt": iso(created), "langs": ["en"],
                   "text": full, "facets": facets},
        "bookmarkCount": 0, "replyCount": 1, "repostCount": 2, "likeCount": 5 + n % 4, "quoteCount": 0,
        "indexedAt": iso(created + timedelta(seconds=2)), "labels": [],
    }
    if image:
        view["record"]["embed"] = {"$type": "app.bsky.embed.images", "images": [
            {"alt": "Poster: nurture works", "image": {"$type": "blob", "ref": {"$link": "bafkreia"},
                                                       "mimeType": "image/jpeg", "size": 48213}}]}
        view["embed"] = {"$type": "app.bsky.embed.images#view", "images": [
            {"thumb": f"https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/bafkreia@jpeg",
             "fullsize": f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/bafkreia@jpeg",
             "alt": "Poster: nurture works", "aspectRatio": {"height": 1350, "width": 1080}}]}
    return view


class FakeBluesky(FakeServer):
    def __init__(self, handle: str = "campaign.bsky.social", password: str = "app-pass-word", *,
                 cap: int = 10_000, access_ttl: int = 7200, appview: bool = False, reference_search: bool = False):
        super().__init__()
        self.handle, self.password, self.cap, self.access_ttl = handle, password, cap, access_ttl
        self.appview = appview  # an AppView serves app.bsky.* but creates no sessions
        # the reference AppView's searchPosts: ignores tag, since, until and sort; matches q case-sensitively
        self.reference_search = reference_search
        self.repeat_cursor = False  # misbehave: every page names the same next cursor
        self.did = "did:plc:campaignmonitortestacct0"
        self.posts: list[dict] = []
        self.valid_access: set[str] = set()
        self.valid_refresh: set[str] = set()
        self._n = itertools.count(1)
        self.followers: dict[str, int] = {}

    def add(self, view: dict) -> dict:
        for image in (view.get("embed") or {}).get("images", []):  # served here, never from the internet
            path = "/img/" + image["fullsize"].rsplit("/", 2)[1] + ".jpeg"
            self.files[path] = (png(), "image/png")
            image["fullsize"] = image["thumb"] = self.url + path
        self.posts.append(view)
        self.followers.setdefault(view["author"]["did"], 300 + len(self.followers))
        return view

    def expire_sessions(self) -> None:
        """Server-side expiry: every access token is now refused with ExpiredToken."""
        self.valid_access.clear()

    def extra_headers(self, request: Request) -> dict[str, str]:
        return {"ratelimit-limit": "3000", "ratelimit-remaining": "2990",
                "ratelimit-reset": str(int(time.time()) + 300), "ratelimit-policy": "3000;w=300"}

    def _tokens(self) -> dict:
        n, now = next(self._n), int(time.time())
        access = jwt({"scope": "com.atproto.access", "sub": self.did, "iat": now, "exp": now + self.access_ttl, "n": n})
        refresh = jwt({"scope": "com.atproto.refresh", "sub": self.did, "iat": now, "exp": now + 90 * 86400,
                       "jti": f"r{n}"})
        self.valid_access.add(access)
        self.valid_refresh.add(refresh)
        return {"accessJwt": access, "refreshJwt": refresh, "handle": self.handle, "did": self.did,
                "email": "comms@example.org", "emailConfirmed": True, "active": True}

    def route(self, request: Request) -> Response:
        nsid = request.path.removeprefix("/xrpc/")
        if nsid.startswith("com.atproto.server.") and self.appview:
            return json_response(404, {"error": "XRPCNotSupported", "message": "XRPCNotSupported"})
        if nsid == "com.atproto.server.createSession":
            body = request.query
            if (body.get("identifier"), body.get("password")) != (self.handle, self.password):
                return json_response(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
            return json_response(200, self._tokens())
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if nsid == "com.atproto.server.refreshSession":
            if bearer not in self.valid_refresh:
                return json_response(400, {"error": "ExpiredToken", "message": "Token has been revoked"})
            self.valid_refresh.discard(bearer)
            return json_response(200, self._tokens())
        if bearer not in self.valid_access:
            return json_response(401, {"error": "ExpiredToken", "message": "Token has expired"})
        if nsid == "app.bsky.actor.getProfile":
            return json_response(200, self.profile(request.query.get("actor", self.did)))
        if nsid == "app.bsky.actor.getProfiles":
            actors = request.multi.get("actors", [])
            if len(actors) > 25:
                return json_response(400, {"error": "InvalidRequest", "message": "actors must not have more than 25 elements"})
            return json_response(200, {"profiles": [self.profile(a) for a in actors]})
        if nsid == "app.bsky.feed.getPosts":
            wanted = request.multi.get("uris", [])
            if len(wanted) > 25:
                return json_response(400, {"error": "InvalidRequest", "message": "uris must not have more than 25 elements"})
            return json_response(200, {"posts": [p for p in self.posts if p["uri"] in wanted]})
        if nsid == "app.bsky.feed.searchPosts":
            return self.search(request)
        return json_response(501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"})

    def profile(self, actor: str) -> dict:
        view = next((p["author"] for p in self.posts if actor in (p["author"]["did"], p["author"]["handle"])), None)
        base = view or {"did": self.did, "handle": self.handle, "displayName": "Campaign"}
        return {**base, "followersCount": self.followers.get(base["did"], 10), "followsCount": 80, "postsCount": 120,
                "description": "Teacher", "indexedAt": "2024-01-01T00:00:00.000Z"}

    def search(self, request: Request) -> Response:
        q, multi = request.query, request.multi
        if not q.get("q"):
            return json_response(400, {"error": "InvalidRequest", "message": 'Params must have the property "q"'})
        if self.reference_search:
            found = [p for p in self.posts if q["q"] in p["record"]["text"]]
            return json_response(200, {"posts": found[: min(int(q.get("limit", 25)), 100)]})
        tags = {t.lower() for t in multi.get("tag", [])}
        words = [] if tags else q["q"].lower().split()

        def matches(view: dict) -> bool:
            record = view["record"]
            post_tags = {f["tag"].lower() for facet in record.get("facets", []) for f in facet["features"]}
            if tags and not tags <= post_tags:
                return False
            if words and not all(w in record["text"].lower() for w in words):
                return False
            created = record["createdAt"]
            return (not q.get("since") or created >= q["since"]) and (not q.get("until") or created < q["until"])

        found = sorted((p for p in self.posts if matches(p)), key=lambda p: p["record"]["createdAt"], reverse=True)
        found = found[: self.cap]
        start = int(q.get("cursor") or 0)
        limit = min(int(q.get("limit", 25)), 100)
        page = found[start : start + limit]
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(found)}
        if start + limit < len(found):
            body["cursor"] = "25" if self.repeat_cursor else str(start + limit)
        return json_response(200, body)

    def edit(self, uri: str, text: str, *, later: timedelta = timedelta(minutes=5)) -> dict:
        """A new version of the record: Bluesky shows an edit only as a new CID, indexed later."""
        view = next(p for p in self.posts if p["uri"] == uri)
        old = json.loads(json.dumps(view))
        view["record"]["text"] = text
        view["cid"] = "bafyreie" + hashlib.sha256((view["cid"] + text).encode()).hexdigest()[:52]
        indexed = datetime.fromisoformat(view["indexedAt"].replace("Z", "+00:00")) + later
        view["indexedAt"] = iso(indexed)
        return old

    def serve_instead(self, uri: str, view: dict) -> None:
        """Serve another copy of a post (an older one, as a lagging cache would)."""
        self.posts = [view if p["uri"] == uri else p for p in self.posts]

    def delete(self, uri: str) -> None:
        self.posts = [p for p in self.posts if p["uri"] != uri]
