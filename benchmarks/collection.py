"""Collection benchmark: several slow instances with media, and media URLs that never answer.

    python -m benchmarks.collection [--instances 4] [--statuses 400] [--latency 0.2] [--record]

Small Mastodon-speaking servers on 127.0.0.1 (built here, not borrowed from `tests`), each
answering every request after `--latency` seconds, serve a hashtag timeline whose
testimonies carry an image on the same server. Timed, each on a new archive:
- `collect` from one instance, then from all of them: the ratio says whether instances are
  collected side by side (target: four cost about one, ratio <= 1.5);
- `media fetch` of every testimony's image from all instances (downloads run at once,
  bounded per host and in total);
- `media fetch` when every image URL accepts the request and never answers: the run is
  bounded by the per-download deadline, and the next run does not try them again at once
  (targets: first run about one deadline, second under a second).
"""

from __future__ import annotations

import argparse
import json
import struct
import tempfile
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from benchmarks.results import add_record_option, record
from benchmarks.synthetic import mastodon_statuses
from monitor.archive import open_archive
from monitor.core.config import load_config
from monitor.pipeline.collect import run_collection
from monitor.pipeline.followup import fetch_and_check_media, score_collected

DEADLINE = 3.0  # [testimonies] media_deadline for the benchmark: seconds one download may take


def png(seed: int) -> bytes:
    """A small valid PNG, different for each seed (so each file is stored once, by content)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes([(seed * 7 + x) % 256, seed % 256, 90]) * 8 for x in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class Instance:
    """One slow instance: its timeline, its media, and media that never answer when `dead`."""

    def __init__(self, statuses: int, latency: float, domain: str, dead_media: bool):
        self.latency, self.dead_media = latency, dead_media
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.bodies = []
        for s in mastodon_statuses(statuses, domain=domain):
            for m in s["media_attachments"]:
                m["url"] = m["preview_url"] = f"{self.url}/system/media/{s['id']}.png"
            self.bodies.append((int(s["id"]), json.dumps(s).encode()))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        instance = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                time.sleep(instance.latency)
                parts = urlsplit(self.path)
                if parts.path.startswith("/system/media/"):
                    if instance.dead_media:
                        time.sleep(3600)  # accepted, never answered
                    return self.answer(200, png(int(parts.path.rsplit("/", 1)[1].split(".")[0]) % 9973), "image/png")
                if not parts.path.startswith("/api/v1/timelines/tag/"):
                    return self.answer(404, b'{"error":"Record not found"}', "application/json")
                q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                limit, floor = min(int(q.get("limit", 20)), 40), int(q.get("min_id", 0))
                page = [x for x in instance.bodies if x[0] > floor][:limit][::-1]
                link = ""
                if page:
                    base = f"{instance.url}{parts.path}"
                    link = (f'<{base}?{urlencode({"limit": limit, "max_id": page[-1][0]})}>; rel="next", '
                            f'<{base}?{urlencode({"limit": limit, "min_id": page[0][0]})}>; rel="prev"')
                self.answer(200, b"[" + b",".join(b for _, b in page) + b"]", "application/json", link)

            def answer(self, status: int, body: bytes, kind: str, link: str = "") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                if link:
                    self.send_header("Link", link)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def archive_for(folder: Path, instances: list[Instance]) -> tuple:
    folder.mkdir()
    path = folder / "campaign.toml"
    urls = ", ".join(f'"{i.url}"' for i in instances)
    path.write_text('[campaign]\nname = "Bench"\nhashtags = ["AspireNotToExclude"]\narchive = "archive.db"\n'
                    f'[mastodon]\ninstances = [{urls}]\n[testimonies]\nmedia_deadline = {DEADLINE}\n')
    config = load_config(path)
    return config, open_archive(config.archive)


def timed(fn) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=4)
    parser.add_argument("--statuses", type=int, default=400, help="statuses on each instance")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds each request waits")
    add_record_option(parser)
    args = parser.parse_args()
    live = [Instance(args.statuses, args.latency, f"bench{i}.example", False) for i in range(args.instances)]
    dead = [Instance(args.statuses, args.latency, f"dead{i}.example", True) for i in range(args.instances)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config, db = archive_for(Path(tmp) / "one", live[:1])
        one = timed(lambda: run_collection(config, db, command="benchmark"))
        config, db = archive_for(Path(tmp) / "all", live)
        every = timed(lambda: run_collection(config, db, command="benchmark"))
        ratio = every / one
        rows.append({"what": f"collect, {args.instances} instances against 1", "time": f"{every:.1f} s against {one:.1f} s",
                     "result": f"ratio {ratio:.2f} (target <= 1.5) {'OK' if ratio <= 1.5 else 'ABOVE TARGET'}"})
        score_collected(config, db)
        media = {}
        fetched = timed(lambda: media.update(fetch_and_check_media(config, db)))
        rows.append({"what": f"media fetch, {args.instances} instances", "time": f"{fetched:.1f} s",
                     "result": f"{media.get('stored', 0)} files stored"})
        config, db = archive_for(Path(tmp) / "dead", dead)
        run_collection(config, db, command="benchmark")
        score_collected(config, db)
        first = timed(lambda: fetch_and_check_media(config, db))
        again = timed(lambda: fetch_and_check_media(config, db))
        waiting = db.execute("SELECT count(*) FROM media_files WHERE status != 'stored'").fetchone()[0]
        ok = first <= 4 * DEADLINE and again < 1.0
        rows.append({"what": f"media fetch, every URL silent (deadline {DEADLINE:g} s)",
                     "time": f"{first:.1f} s, then {again:.2f} s", "result":
                     f"{waiting} downloads waiting to be retried later {'OK' if ok else 'ABOVE TARGET'}"})
    for row in rows:
        print(f"{row['what']}: {row['time']}: {row['result']}")
    if args.record:
        record("collection", rows, latency=args.latency, statuses=args.statuses)


if __name__ == "__main__":
    main()
