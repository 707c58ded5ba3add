"""Mastodon's streaming API on the fake instance: `GET /api/v1/streaming/hashtag?tag=T`, server-sent
events (`update`, `status.update`, `delete`) sent chunked, with `:thump` heartbeats, as
Mastodon's streaming server does. No replay: a client sees what happens while it is connected.

Misbehaviour on demand: `drop_mid_event()` cuts the next event halfway and closes the
connection; `malformed()` sends an update whose data is not JSON; `require_stream_auth`
answers 401 to a request without a token, as instances that closed anonymous streaming do.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import Request

HEARTBEAT = 1.0  # seconds between `:thump` lines (Mastodon sends one every 15 s)


class StreamingMastodon(FakeMastodon):
    def __init__(self, domain: str = "fake.social", *, require_stream_auth: str | None = None, **kwargs: Any):
        super().__init__(domain, **kwargs)
        self.require_stream_auth = require_stream_auth
        self.sent: list[tuple[str, str, str]] = []  # (tag, event, data), in order
        self.changed = threading.Condition()
        self.streaming = 0  # connections open now
        self._drop = False

    # what happens on the instance, announced on its stream
    def announce(self, status: dict) -> dict:
        served = self.add(status)
        self._push([t["name"] for t in served["tags"]], "update", json.dumps(served))
        return served

    def announce_edit(self, uri: str, text: str) -> None:
        self.edit(uri, text)
        with self.lock:
            served = next(s for _, s, _ in self.timeline if s["uri"] == uri)
        self._push([t["name"] for t in served["tags"]], "status.update", json.dumps(served))

    def announce_delete(self, uri: str) -> None:
        with self.lock:
            local_id, served = next((i, s) for i, s, _ in self.timeline if s["uri"] == uri)
        self.delete(uri)
        self._push([t["name"] for t in served["tags"]], "delete", str(local_id))

    def malformed(self, tag: str = "aspirenottoexclude") -> None:
        self._push([tag], "update", '{"id": "1", "content": ')

    def drop_mid_event(self) -> None:
        self._drop = True

    def _push(self, tags: list[str], event: str, data: str) -> None:
        with self.changed:
            for tag in tags:
                self.sent.append((tag.lower(), event, data))
            self.changed.notify_all()

    def instance_info(self) -> dict:
        info = super().instance_info()
        info["configuration"]["urls"]["streaming"] = self.url.replace("http://", "ws://")
        return info

    # the server
    def stream(self, handler: Any, request: Request) -> bool:
        if request.path == "/api/v1/streaming/health":
            return False
        if request.path != "/api/v1/streaming/hashtag":
            return False
        if self.require_stream_auth and request.headers.get("authorization") != f"Bearer {self.require_stream_auth}":
            body = b'{"error":"Missing access token"}'
            handler.send_response(401)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return True
        tag = request.query.get("tag", "").lower()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.send_header("Cache-Control", "private, no-store")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        handler.close_connection = True
        with self.changed:
            index = len(self.sent)
            self.streaming += 1
            self.changed.notify_all()
        try:
            self._chunk(handler, b":)\n")
            while self.thread.is_alive():
                with self.changed:
                    if index >= len(self.sent):
                        self.changed.wait(HEARTBEAT)
                    events = self.sent[index:]
                    index += len(events)
                if not events:
                    self._chunk(handler, b":thump\n")
                for event_tag, name, data in events:
                    if event_tag != tag:
                        continue
                    body = f"event: {name}\ndata: {data}\n\n".encode()
                    if self._drop:
                        self._drop = False
                        self._chunk(handler, body[: len(body) // 2], cut=True)
                        return True
                    self._chunk(handler, body)
        except OSError:
            pass  # the client went away
        finally:
            with self.changed:
                self.streaming -= 1
        return True

    @staticmethod
    def _chunk(handler: Any, data: bytes, cut: bool = False) -> None:
        """One chunk of the chunked body; `cut`: the chunk promises more than it holds, then the socket closes."""
        size = len(data) * 2 if cut else len(data)
        handler.wfile.write(f"{size:x}\r\n".encode() + data + (b"" if cut else b"\r\n"))
        handler.wfile.flush()
        if cut:
            handler.connection.shutdown(2)
