"""A fake Bluesky Jetstream on 127.0.0.1: `/subscribe?wantedCollections=...&cursor=T` over a
real WebSocket (the `websockets` server), replaying its stored events from the cursor
(time_us, microseconds) and then sending new ones as they are added.

It misbehaves on demand: `drop_mid_event()` cuts the connection halfway through a frame,
`malformed()` sends frames that are not events, `refuse(status, retry_after)` answers the
next handshakes with an HTTP error, and `pump()` sends the network's background of other
people's posts at a given rate (for the benchmark).
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.sync.server import serve

from tests.fakes.bluesky import tagged

TAG = "AspireNotToExclude"


def did_for(name: str) -> str:
    return "did:plc:" + hashlib.sha256(name.encode()).hexdigest()[:24]


def now_us() -> int:
    return int(time.time() * 1_000_000)


def post_record(text: str, tags: tuple[str, ...] = (TAG,), *, created: datetime | None = None,
                image_cid: str | None = None) -> dict:
    full, facets = tagged(text, tags)
    created = created or datetime.now(timezone.utc)
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": full, "langs": ["en"], "facets": facets,
                              "createdAt": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"}
    if image_cid:
        record["embed"] = {"$type": "app.bsky.embed.images", "images": [
            {"alt": "A poster", "image": {"$type": "blob", "ref": {"$link": image_cid}, "mimeType": "image/jpeg",
                                          "size": 1234}}]}
    return record


class FakeJetstream:
    def __init__(self) -> None:
        self.events: list[str] = []  # frames in time_us order
        self.times: list[int] = []
        self.changed = threading.Condition()
        self.connections: list[dict[str, str]] = []  # the query of each handshake
        self.refusals: list[tuple[int, float | None]] = []
        self._drop = False
        self._last_us = 0
        self._rkeys = 0
        self._stopping = False
        self.server = serve(self._handle, "127.0.0.1", 0, process_request=self._process_request,
                            compression=None, ping_interval=None)
        self.port = self.server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> "FakeJetstream":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stopping = True
        with self.changed:
            self.changed.notify_all()
        self.server.shutdown()

    # what happens on the network
    def _time(self, at_us: int | None) -> int:
        t = max(at_us or now_us(), self._last_us + 1)
        self._last_us = t
        return t

    def add_event(self, event: dict, at_us: int | None = None) -> int:
        with self.changed:
            event["time_us"] = self._time(at_us)
            self.events.append(json.dumps(event))
            self.times.append(event["time_us"])
            self.changed.notify_all()
        return event["time_us"]

    def commit(self, did: str, operation: str, rkey: str, record: dict | None = None, *,
               at_us: int | None = None) -> int:
        commit: dict[str, Any] = {"rev": f"3l{rkey}", "operation": operation, "collection": "app.bsky.feed.post",
                                  "rkey": rkey}
        if record is not None:
            commit["record"] = record
            commit["cid"] = "bafyrei" + hashlib.sha256(json.dumps(record).encode()).hexdigest()[:52]
        return self.add_event({"did": did, "kind": "commit", "commit": commit}, at_us)

    def post(self, text: str, *, author: str = "teacher", tags: tuple[str, ...] = (TAG,), at_us: int | None = None,
             **record: Any) -> tuple[str, str]:
        """A new post; returns (did, rkey)."""
        self._rkeys += 1
        did, rkey = did_for(author), f"3m{self._rkeys:011d}"
        self.commit(did, "create", rkey, post_record(text, tags, **record), at_us=at_us)
        return did, rkey

    def edit(self, did: str, rkey: str, text: str, tags: tuple[str, ...] = (TAG,)) -> None:
        self.commit(did, "update", rkey, post_record(text, tags))

    def delete(self, did: str, rkey: str) -> None:
        self.commit(did, "delete", rkey)

    def identity(self, name: str) -> None:
        self.add_event({"did": did_for(name), "kind": "identity",
                        "identity": {"did": did_for(name), "handle": f"{name}.bsky.social", "seq": 1}})

    def malformed(self) -> None:
        """Frames that are not events: broken JSON, a list, a post with no createdAt, bytes."""
        with self.changed:
            for frame in ('{"did": "did:plc:x", "time_us": ', '[1, 2, 3]', b"\x00\xffnot json"):
                self.events.append(frame)  # type: ignore[arg-type]
                self.times.append(self._time(None))
        bad = post_record("A post with no date", (TAG,))
        del bad["createdAt"]
        self.commit(did_for("broken"), "create", "3mbroken00001", bad)

    def pump(self, rate: float, seconds: float, tagged: float = 0.01, stop: threading.Event | None = None) -> int:
        """Other people's posts at `rate` a second, a fraction `tagged` of them the campaign's."""
        sent, started = 0, time.monotonic()
        every = max(int(round(1 / tagged)), 1) if tagged else 0
        while time.monotonic() - started < seconds and not (stop and stop.is_set()):
            due = int((time.monotonic() - started) * rate)
            while sent < due:
                sent += 1
                tags = (TAG,) if every and sent % every == 0 else ()
                self.post(f"Post {sent} about the day: lunch, weather, a good book.", author=f"user{sent % 5000}",
                          tags=tags)
            time.sleep(0.002)
        return sent

    # misbehaviour
    def refuse(self, status: int, *, retry_after: float | None = None, times: int = 1) -> None:
        self.refusals += [(status, retry_after)] * times

    def drop_mid_event(self) -> None:
        """The next frame sent is cut off halfway and the connection closed without a close frame."""
        self._drop = True

    # the server
    def _process_request(self, connection: Any, request: Any) -> Response | None:
        if urlsplit(request.path).path != "/subscribe":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if self.refusals:
            status, retry_after = self.refusals.pop(0)
            headers = Headers([("Content-Type", "text/plain")])
            if retry_after is not None:
                headers["Retry-After"] = str(int(retry_after))
            return Response(status, HTTPStatus(status).phrase, headers, b"slow down\n")
        return None

    def _handle(self, connection: Any) -> None:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(connection.request.path).query).items()}
        self.connections.append(query)
        cursor = int(query.get("cursor", 0)) or None
        with self.changed:
            start = len(self.times) if cursor is None else next(
                (i for i, t in enumerate(self.times) if t >= cursor), len(self.times))
        index = start
        try:
            while not self._stopping:
                with self.changed:
                    while index >= len(self.events) and not self._stopping:
                        self.changed.wait(0.5)
                    frames = self.events[index:]
                for frame in frames:
                    if self._drop:
                        self._drop = False
                        self._cut(connection, frame)
                        return
                    connection.send(frame)
                    index += 1
        except Exception:  # noqa: BLE001 - the client went away
            return

    @staticmethod
    def _cut(connection: Any, frame: str | bytes) -> None:
        """Half a text frame written straight to the socket, then the socket shut."""
        data = frame.encode() if isinstance(frame, str) else frame
        header = bytes([0x81, 126]) + len(data).to_bytes(2, "big") if len(data) >= 126 else bytes([0x81, len(data)])
        sock = connection.socket
        sock.sendall(header + data[: len(data) // 2])
        sock.shutdown(socket.SHUT_RDWR)
        sock.close()
