"""What every fake platform server shares: a threaded HTTP server on 127.0.0.1, a log of
the requests it received, and faults injected on demand."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    """A misbehaviour served instead of the real answer for requests under `path`.

    kinds: 429 (with Retry-After: `retry_after` seconds, or an HTTP date when
    `http_date`), 500/502/503, 401, 403, 404, timeout (answers after `delay` seconds),
    truncated (Content-Length larger than the body), malformed (invalid JSON with 200),
    html (an HTML error page with 200), reset (connection closed with no answer),
    trickle (headers at once, then the body one byte every `delay` seconds, bounded by
    `trickle_seconds` so the fake stops by itself), redirect (302 to `location`).
    """

    kind: str
    path: str = "/"
    times: int = 1
    retry_after: float = 1
    http_date: bool = False
    delay: float = 5.0
    trickle_seconds: float = 20.0
    location: str = ""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]  # last value of each query parameter or form field (JSON body too)
    headers: dict[str, str]
    multi: dict[str, list[str]] = field(default_factory=dict)  # every value of repeated parameters
    body: bytes = b""  # as sent


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), headers or {})


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients killed or timed out on purpose drop their connections


class FakeServer:
    """Subclasses implement `route(request) -> Response`; faults are served before it."""

    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: list[Request] = []
        self.errors: list[str] = []
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (content, MIME type), served as is
        self.delay = 0.0  # seconds every answer takes, for tests that must act mid-collection
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0  # requests waiting for their answer at once, now and at most
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs add 40 ms to every response

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "FakeServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def fail(self, kind: str, *, path: str = "/", times: int = 1, **options: Any) -> None:
        with self.lock:
            self.faults.append(Fault(str(kind), path, times, **options))

    def requests_to(self, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    def route(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_headers(self, request: Request) -> dict[str, str]:
        return {}

    def stream(self, handler: BaseHTTPRequestHandler, request: Request) -> bool:
        """Answer a long-lived request (server-sent events) itself; True when it did."""
        return False

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        multi = parse_qs(parts.query, keep_blank_values=True)
        query = {k: v[-1] for k, v in multi.items()}
        content_type = handler.headers.get("Content-Type") or ""
        if body and "form" in content_type:
            query.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
        elif body and "json" in content_type:
            try:
                query.update({k: v for k, v in json.loads(body).items() if isinstance(v, str)})
            except (ValueError, AttributeError):
                pass
        request = Request(method, parts.path, query, {k.lower(): v for k, v in handler.headers.items()}, multi, body)
        with self.lock:
            self.requests.append(request)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
        finally:  # counted until its answer starts: once the answer is written, the client may send its next
            with self.lock:  # request before this thread gets here, and would be counted twice
                self.in_flight -= 1
        self._answer(handler, request, parts)

    def _answer(self, handler: BaseHTTPRequestHandler, request: Request, parts: Any) -> None:
        fault = self._take_fault(parts.path)
        if fault is not None and self._serve_fault(handler, request, fault):
            return
        if self.stream(handler, request):
            return
        try:
            if request.path in self.files:
                content, mime = self.files[request.path]
                response = Response(200, content, content_type=mime)
            else:
                response = self.route(request)
        except Exception as e:  # a bug in a fake must show as such, not as a dropped connection
            response = Response(500, f"fake server error: {e!r}".encode(), content_type="text/plain")
            self.errors.append(repr(e))
        self._send(handler, response, request)

    def _send(self, handler: BaseHTTPRequestHandler, response: Response, request: Request,
              declared_length: int | None = None) -> None:
        handler.send_response(response.status)  # also sends Date and Server, once
        handler.send_header("Content-Type", response.content_type)
        handler.send_header("Content-Length", str(declared_length or len(response.body)))
        for name, value in {**self.extra_headers(request), **response.headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(response.body)
        handler.wfile.flush()
        if declared_length:
            handler.close_connection = True

    def _serve_fault(self, handler: BaseHTTPRequestHandler, request: Request, fault: Fault) -> bool:
        kind = fault.kind
        if kind == "timeout":
            time.sleep(fault.delay)
            return False
        if kind == "reset":
            handler.close_connection = True
            handler.connection.close()
            return True
        if kind == "trickle":
            body = b"x" * 100_000
            handler.send_response(200)
            handler.send_header("Content-Type", "image/png")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            ends = time.monotonic() + fault.trickle_seconds
            try:
                for byte in body:
                    if time.monotonic() > ends:
                        break
                    handler.wfile.write(bytes([byte]))
                    handler.wfile.flush()
                    time.sleep(fault.delay)
            except OSError:
                pass  # the client gave up: what the test wants
            handler.close_connection = True
            return True
        if kind == "429":
            retry_after = (
                formatdate(time.time() + fault.retry_after, usegmt=True)
                if fault.http_date else str(int(fault.retry_after))
            )
            response = json_response(429, {"error": "Too many requests"}, {"Retry-After": retry_after})
        elif kind in ("500", "502", "503"):
            response = Response(int(kind), b"<html><body><h1>We're sorry, but something went wrong.</h1></body></html>",
                                content_type="text/html; charset=utf-8")
        elif kind == "redirect":
            response = Response(302, b"", {"Location": fault.location})
        elif kind == "401":
            response = json_response(401, {"error": "This API requires an authenticated user"})
        elif kind == "403":
            response = json_response(403, {"error": "This action is not allowed"})
        elif kind == "404":
            response = json_response(404, {"error": "Record not found"})
        elif kind == "malformed":
            response = Response(200, b'[{"id": "1", "created_at": ')
        elif kind == "html":
            response = Response(200, b"<!DOCTYPE html><html><body>Maintenance</body></html>",
                                content_type="text/html; charset=utf-8")
        elif kind == "truncated":
            real = self.route(request)
            cut = Response(real.status, real.body[: max(1, len(real.body) // 2)], real.headers)
            self._send(handler, cut, request, declared_length=len(real.body))
            return True
        else:
            raise ValueError(f"unknown fault kind {kind!r}")
        self._send(handler, response, request)
        return True
