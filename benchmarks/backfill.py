"""Backfill benchmark: a large first collect against an instance that allows N requests a window.

    python -m benchmarks.backfill [--statuses 4000] [--limit 30] [--window 10]

A small Mastodon-speaking server on 127.0.0.1 (built here, not borrowed from `tests`)
serves a hashtag timeline with `Link` paging and Mastodon's rate-limit headers
(`X-RateLimit-Limit`, `-Remaining`, `-Reset` at the end of a fixed window), and answers
429 with `Retry-After` to any request beyond the window's budget. The real `collect`
(Mastodon.py under the shared fault policy) walks it. Printed: the request rate the walk
reached against the rate the limit allows (limit / window), their ratio (target >= 0.95:
the client waits no longer than the window makes it) and the 429s drawn (target 0: a server that announces its budget is never
asked beyond it).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from benchmarks.results import add_record_option, record
from benchmarks.synthetic import mastodon_statuses
from monitor.archive import open_archive
from monitor.core.config import load_config
from monitor.pipeline.collect import run_collection


class Window:
    """A fixed window of `limit` requests every `seconds`, as Mastodon's Rack::Attack counts them."""

    def __init__(self, limit: int, seconds: float):
        self.limit, self.seconds = limit, seconds
        self.lock = threading.Lock()
        self.started = time.time()
        self.used = 0
        self.refused = 0
        self.served = 0

    def take(self) -> tuple[bool, int, float]:
        """(allowed, remaining, reset time) for one request arriving now."""
        with self.lock:
            now = time.time()
            if now >= self.started + self.seconds:
                self.started += self.seconds * math.floor((now - self.started) / self.seconds)
                self.used = 0
            reset = self.started + self.seconds
            if self.used >= self.limit:
                self.refused += 1
                return False, 0, reset
            self.used += 1
            self.served += 1
            return True, self.limit - self.used, reset


def serve(statuses: list[dict], window: Window) -> ThreadingHTTPServer:
    bodies = [(int(s["id"]), json.dumps(s).encode()) for s in statuses]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            allowed, remaining, reset = window.take()
            stamp = datetime.fromtimestamp(reset, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            headers = {"X-RateLimit-Limit": str(window.limit), "X-RateLimit-Remaining": str(remaining),
                       "X-RateLimit-Reset": stamp, "Content-Type": "application/json; charset=utf-8"}
            if not allowed:
                headers["Retry-After"] = str(max(1, math.ceil(reset - time.time())))
                return self.answer(429, b'{"error":"Too many requests"}', headers)
            parts = urlsplit(self.path)
            q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            limit = min(int(q.get("limit", 20)), 40)
            floor = int(q.get("min_id", 0))
            page = [x for x in bodies if x[0] > floor][:limit][::-1]  # the page just above min_id, newest first
            if page:
                base = f"http://{self.headers['host']}{parts.path}"
                headers["Link"] = (f'<{base}?{urlencode({"limit": limit, "max_id": page[-1][0]})}>; rel="next", '
                                   f'<{base}?{urlencode({"limit": limit, "min_id": page[0][0]})}>; rel="prev"')
            self.answer(200, b"[" + b",".join(b for _, b in page) + b"]", headers)

        def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statuses", type=int, default=4000)
    parser.add_argument("--limit", type=int, default=30, help="requests allowed a window")
    parser.add_argument("--window", type=float, default=10.0, help="seconds a window lasts (Mastodon: 300)")
    add_record_option(parser)
    args = parser.parse_args()
    statuses = list(mastodon_statuses(args.statuses))
    window = Window(args.limit, args.window)
    server = serve(statuses, window)
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "campaign.toml"
        config_path.write_text(
            '[campaign]\nname = "Backfill"\nhashtags = ["AspireNotToExclude"]\narchive = "archive.db"\n'
            f'[mastodon]\ninstances = ["http://127.0.0.1:{server.server_address[1]}"]\n'
            '[testimonies]\nmedia = false\n[http]\nmax_wait = 600\n')
        config = load_config(config_path)
        db = open_archive(config.archive)
        window.started, window.used = time.time(), 0  # the first window opens with the walk
        began = time.perf_counter()
        [outcome] = run_collection(config, db, command="benchmark")
        took = time.perf_counter() - began
        stored = db.execute("SELECT count(*) FROM posts").fetchone()[0]
        db.close()
    server.shutdown()
    requests = window.served
    allowed = args.limit / args.window  # requests a second the limit allows over time
    ratio = requests / took / allowed if took else 0.0
    print(f"{stored:,} statuses in {requests} requests ({outcome.requests} recorded) in {took:.1f} s: "
          f"{requests / took:.2f} requests/s, the limit allows {allowed:.2f} ({args.limit} / {args.window:g} s)")
    print(f"ratio achieved/allowed: {ratio:.2f} (target >= 0.95) {'OK' if ratio >= 0.95 else 'BELOW TARGET'}; "
          f"429s drawn: {window.refused} (target 0) {'OK' if window.refused == 0 else 'ABOVE TARGET'}")
    if args.record:
        record("backfill", [{"statuses": f"{stored:,}", "limit": f"{args.limit} requests / {args.window:g} s",
                             "requests": requests, "seconds": f"{took:.1f}",
                             "ratio": f"{ratio:.2f} (target 0.95) {'OK' if ratio >= 0.95 else 'BELOW TARGET'}",
                             "429s": f"{window.refused} (target 0)"}])


if __name__ == "__main__":
    main()
