"""A fake Reddit speaking the OAuth API that praw uses: application-only tokens, subreddit
search listings (`Listing` of `t3`, newest first, `after` paging, the ~1,000-item cap),
comment threads (`t1` with nested replies) and Reddit's `x-ratelimit-*` headers.

Submissions are built on one recorded by praw's own test suite (data/, BSD-2-Clause).
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import threading
from pathlib import Path

from tests.fakes.server import FakeServer, Request, Response, json_response

SUBMISSION = json.loads((Path(__file__).parent / "data" / "reddit_submission.json").read_text())
CREATED = 1_793_000_000  # 2026-10-26


def submission(n: int, *, subreddit: str = "Teachers", title: str | None = None, selftext: str = "",
               author: str = "nurture_teacher", created: float | None = None, score: int = 12) -> dict:
    d = copy.deepcopy(SUBMISSION)
    sid = f"1k{n:05d}"
    d.update(
        id=sid, name=f"t3_{sid}", subreddit=subreddit, subreddit_name_prefixed=f"r/{subreddit}",
        subreddit_id="t5_2qh0y", title=title or f"How our nurture group kept a pupil in school #AspireNotToExclude ({n})",
        selftext=selftext, selftext_html=None, is_self=True, author=author, author_fullname=f"t2_{author[:6]}",
        created=float(created or CREATED + n * 60), created_utc=float(created or CREATED + n * 60),
        permalink=f"/r/{subreddit}/comments/{sid}/story_{n}/", url=f"https://www.reddit.com/r/{subreddit}/comments/{sid}/story_{n}/",
        score=score, ups=score, upvote_ratio=0.93, num_comments=2, num_crossposts=0,
        subreddit_subscribers=412_000, edited=False, removed_by_category=None, domain=f"self.{subreddit}",
    )
    return d


def comment(cid: str, link: dict, body: str, *, author: str = "parent_of_two", replies: list | None = None,
            created: float | None = None) -> dict:
    return {
        "kind": "t1",
        "data": {
            "id": cid, "name": f"t1_{cid}", "link_id": link["name"], "parent_id": link["name"],
            "subreddit": link["subreddit"], "subreddit_id": link["subreddit_id"], "author": author,
            "author_fullname": f"t2_{author[:6]}", "body": body, "body_html": f"<div class=\"md\"><p>{body}</p></div>",
            "created": created or link["created_utc"] + 30, "created_utc": created or link["created_utc"] + 30,
            "permalink": f"{link['permalink']}{cid}/", "score": 4, "ups": 4, "downs": 0, "edited": False,
            "distinguished": None, "stickied": False, "is_submitter": False, "score_hidden": False,
            "controversiality": 0, "depth": 0, "collapsed": False, "gilded": 0, "all_awardings": [],
            "replies": {"kind": "Listing", "data": {"after": None, "dist": None, "modhash": None,
                                                     "children": replies or [], "before": None}} if replies else "",
        },
    }


class FakeReddit(FakeServer):
    """Both reddit_url (token endpoint) and oauth_url (API) on one server."""

    def __init__(self, client_id: str = "app-id", client_secret: str = "app-secret", cap: int = 1000):
        super().__init__()
        self.client_id, self.client_secret, self.cap = client_id, client_secret, cap
        self.posts: list[dict] = []  # submissions, any order
        self.threads: dict[str, list[dict]] = {}  # submission id -> top-level t1 comments
        self.tokens: set[str] = set()
        self._counter = itertools.count(1)
        self.used = 0
        self._lock = threading.Lock()

    def add(self, post: dict, comments: list[dict] | None = None) -> dict:
        self.posts.append(post)
        self.threads[post["id"]] = comments or []
        return post

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def extra_headers(self, request: Request) -> dict[str, str]:
        if request.path == "/api/v1/access_token":
            return {}
        with self._lock:
            self.used += 1
            used = self.used
        return {"x-ratelimit-used": str(used), "x-ratelimit-remaining": f"{max(0, 1000 - used)}.0",
                "x-ratelimit-reset": "300"}

    def route(self, request: Request) -> Response:
        if request.path == "/api/v1/access_token":
            return self.access_token(request)
        if request.headers.get("authorization", "").removeprefix("bearer ") not in self.tokens:
            return json_response(401, {"message": "Unauthorized", "error": 401},
                                 {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'})
        if request.path.rstrip("/") == "/api/info":
            return self.info(request.query.get("id", "").split(","))
        parts = request.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "r" and parts[2] == "search":
            return self.search(parts[1], request.query)
        if len(parts) >= 2 and parts[0] == "comments":
            return self.comment_thread(parts[1])
        return json_response(404, {"message": "Not Found", "error": 404})

    def access_token(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return json_response(401, {"message": "Unauthorized", "error": 401})
        if request.query.get("grant_type") != "client_credentials":
            return json_response(400, {"error": "unsupported_grant_type"})
        token = f"fake-token-{next(self._counter)}"
        self.tokens.add(token)
        return json_response(200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"})

    def search(self, subreddit: str, q: dict) -> Response:
        query = q.get("q", "").lower().lstrip("#")
        matches = [
            p for p in self.posts
            if (subreddit.lower() == "all" or p["subreddit"].lower() == subreddit.lower())
            and query in (p["title"] + " " + p["selftext"]).lower()
        ]
        matches.sort(key=lambda p: p["created_utc"], reverse=True)
        matches = matches[: self.cap]
        start = 0
        if q.get("after"):
            names = [p["name"] for p in matches]
            start = names.index(q["after"]) + 1 if q["after"] in names else len(matches)
        limit = min(int(q.get("limit", 25)), 100)
        page = matches[start : start + limit]
        after = page[-1]["name"] if page and start + limit < len(matches) else None
        return json_response(200, {"kind": "Listing", "data": {
            "after": after, "dist": len(page), "modhash": None, "geo_filter": "",
            "children": [{"kind": "t3", "data": p} for p in page], "before": None}})

    def comment_thread(self, sid: str) -> Response:
        post = next((p for p in self.posts if p["id"] == sid), None)
        if post is None:
            return json_response(404, {"message": "Not Found", "error": 404})
        listing = lambda children: {"kind": "Listing", "data": {  # noqa: E731
            "after": None, "dist": None, "modhash": None, "geo_filter": "", "children": children, "before": None}}
        return json_response(200, [listing([{"kind": "t3", "data": post}]), listing(self.threads[sid])])

    def info(self, names: list[str]) -> Response:
        things = {p["name"]: {"kind": "t3", "data": p} for p in self.posts}
        for comments in self.threads.values():
            stack = list(comments)
            while stack:
                c = stack.pop()
                things[c["data"]["name"]] = c
                replies = c["data"].get("replies")
                if isinstance(replies, dict):
                    stack += replies["data"]["children"]
        children = [things[n] for n in names if n in things]
        return json_response(200, {"kind": "Listing", "data": {
            "after": None, "dist": len(children), "modhash": None, "geo_filter": "", "children": children, "before": None}})

    def remove(self, name: str, how: str = "[removed]") -> None:
        """Reddit keeps a removed or deleted submission listed, emptied."""
        for p in self.posts:
            if p["name"] == name:
                p.update(selftext=how, author="[deleted]" if how == "[deleted]" else p["author"],
                         removed_by_category="moderator" if how == "[removed]" else "deleted")
