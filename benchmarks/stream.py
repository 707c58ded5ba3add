"""Stream benchmark: Jetstream's firehose of posts, 1% of them the campaign's, followed live.

    python -m benchmarks.stream [--events 200000] [--rate 1000] [--minutes 10] [--record]

A Jetstream-speaking emitter (built here, in its own process, so it does not share the
measured process's core) sends realistic post commits over a real WebSocket; 1% carry the
campaign's hashtag, a few are deletes and identity events. Measured in the same run:
- throughput: `--events` frames replayed as fast as the socket takes them, read by a bare
  `websockets` client that only parses each frame (baseline), then by the daemon's stream
  path (`run_collection(live=True)`: filter, transform, the archive's writer, the cursor).
  Target: >= 5,000 events a second of the measured process's CPU time (one core).
- latency and memory: `--rate` events a second for `--minutes` minutes; every tagged post's
  time from its event's `time_us` to being readable in the archive (target p95 < 2 s), and
  the process's resident memory and Python's allocated blocks every 10 s (target: flat after the
  first minute: no Python growth, and resident growth within what SQLite's page cache, capped
  at 64 MiB, takes in of the growing archive).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import multiprocessing
import random
import socket
import sqlite3
import statistics
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from benchmarks.results import add_record_option, record
from monitor.archive import open_archive
from monitor.core.config import load_config
from monitor.pipeline.collect import run_collection

TAG = "AspireNotToExclude"
WORDS = ("school lunch weather book train football nurture class teacher garden rain coffee music film "
         "homework exam city walk dog cat friends weekend holiday project meeting bus").split()
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's handshake constant


# ---- the emitter (a child process) ---------------------------------------------------------

def event(rng: random.Random, seq: int, time_us: int, tagged: bool) -> bytes:
    """One Jetstream frame as the real service sends it: a post commit, sometimes a delete or identity."""
    did = "did:plc:" + hashlib.sha256(str(seq % 20_000).encode()).hexdigest()[:24]
    if not tagged and seq % 200 == 7:
        return json.dumps({"did": did, "time_us": time_us, "kind": "identity",
                           "identity": {"did": did, "handle": f"user{seq % 20_000}.bsky.social", "seq": seq,
                                        "time": "2026-12-03T09:00:00.000Z"}}).encode()
    rkey = f"3m{seq:011d}"
    if not tagged and seq % 20 == 3:
        return json.dumps({"did": did, "time_us": time_us, "kind": "commit", "commit": {
            "rev": f"3l{rkey}", "operation": "delete", "collection": "app.bsky.feed.post", "rkey": rkey}}).encode()
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 40)))
    record: dict = {"$type": "app.bsky.feed.post", "text": text, "langs": ["en"],
                    "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time_us / 1e6))}
    if tagged:
        start = len(text.encode()) + 1
        record["text"] = f"{text} #{TAG}"
        record["facets"] = [{"$type": "app.bsky.richtext.facet", "index": {"byteStart": start,
                             "byteEnd": start + len(TAG) + 1},
                             "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": TAG}]}]
    if seq % 3 == 0:
        parent = {"cid": "bafyrei" + "a" * 52, "uri": f"at://{did}/app.bsky.feed.post/3m{seq - 1:011d}"}
        record["reply"] = {"parent": parent, "root": parent}
    if seq % 5 == 0:
        record["embed"] = {"$type": "app.bsky.embed.images", "images": [{"alt": "", "aspectRatio": {
            "height": 1080, "width": 1920}, "image": {"$type": "blob", "ref": {"$link": "bafkrei" + "b" * 52},
                                                       "mimeType": "image/jpeg", "size": 204_800}}]}
    return json.dumps({"did": did, "time_us": time_us, "kind": "commit", "commit": {
        "rev": f"3l{rkey}", "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
        "record": record, "cid": "bafyrei" + hashlib.sha256(rkey.encode()).hexdigest()[:52]}}).encode()


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """A server-to-client WebSocket frame (unmasked, final)."""
    n = len(payload)
    head = struct.pack("!BB", 0x80 | opcode, n) if n < 126 else (
        struct.pack("!BBH", 0x80 | opcode, 126, n) if n < 65536 else struct.pack("!BBQ", 0x80 | opcode, 127, n))
    return head + payload


def _read_frames(sock: socket.socket, lock: threading.Lock, closed: threading.Event) -> None:
    """Answer the client's pings and close; everything else it sends is ignored."""
    stream = sock.makefile("rb")
    try:
        while head := stream.read(2):
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", stream.read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", stream.read(8))[0]
            mask = stream.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(stream.read(length)))
            if opcode in (0x8, 0x9):
                with lock:
                    sock.sendall(frame(payload[:2] if opcode == 0x8 else payload, 0x8 if opcode == 0x8 else 0xA))
            if opcode == 0x8:
                break
    except OSError:
        pass
    closed.set()


def _serve_one(conn: socket.socket, mode: str, events: int, rate: float, seconds: float) -> None:
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(4096)
    lines = request.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
    accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + GUID).encode()).digest()).decode()
    conn.sendall(f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode())
    assert "wantedCollections" in parse_qs(urlsplit(lines[0].split()[1]).query)
    lock, closed = threading.Lock(), threading.Event()
    threading.Thread(target=_read_frames, args=(conn, lock, closed), daemon=True).start()
    rng = random.Random(7)
    try:
        if mode == "replay":  # an hour ago onwards, as a reconnect with an old cursor replays it
            start_us = int(time.time() * 1e6) - 3600 * 1_000_000
            for first in range(0, events, 2000):
                chunk = b"".join(frame(event(rng, seq, start_us + seq * 1000, seq % 100 == 99 or seq == events - 1))
                                 for seq in range(first, min(first + 2000, events)))
                with lock:
                    conn.sendall(chunk)
        else:  # live: `rate` a second, each stamped with the time it is sent
            sent, began = 0, time.monotonic()
            while not closed.is_set() and (elapsed := time.monotonic() - began) < seconds:
                due, chunk = int(elapsed * rate), []
                while sent < due:
                    chunk.append(frame(event(rng, sent, int(time.time() * 1e6), sent % 100 == 99)))
                    sent += 1
                with lock:
                    conn.sendall(b"".join(chunk))
                time.sleep(0.005)
        closed.wait()
    except OSError:
        pass
    finally:
        conn.close()


def emitter(port: multiprocessing.Queue, mode: str, events: int, rate: float, seconds: float) -> None:
    """The child process: a Jetstream on 127.0.0.1 serving each connection in a thread."""
    server = socket.create_server(("127.0.0.1", 0))
    port.put(server.getsockname()[1])
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_serve_one, args=(conn, mode, events, rate, seconds), daemon=True).start()


def start_emitter(mode: str, events: int = 0, rate: float = 0, seconds: float = 0):
    context = multiprocessing.get_context("spawn")
    port = context.Queue()
    child = context.Process(target=emitter, args=(port, mode, events, rate, seconds), daemon=True)
    child.start()
    return child, f"ws://127.0.0.1:{port.get(timeout=30)}"


# ---- the measured side -------------------------------------------------------------------

def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bare_read(url: str, events: int) -> tuple[float, float]:
    """Baseline: the WebSocket client alone, parsing each frame; (wall, cpu) seconds."""
    from websockets.sync.client import connect

    wall, cpu = time.perf_counter(), time.process_time()
    with connect(f"{url}/subscribe?wantedCollections=app.bsky.feed.post", proxy=None, compression=None,
                 max_size=1 << 20) as ws:
        for _ in range(events):
            json.loads(ws.recv())
    return time.perf_counter() - wall, time.process_time() - cpu


def config_for(folder: Path, url: str):
    path = folder / "campaign.toml"
    path.write_text(f'[campaign]\nname = "Stream benchmark"\nhashtags = ["{TAG}"]\narchive = "archive.db"\n\n'
                    f'[bluesky]\nservice = "http://127.0.0.1:9"\njetstream = "{url}"\ncdn = "http://127.0.0.1:9"\n\n'
                    "[http]\ntimeout = 5\nmax_attempts = 3\nbackoff = 0.1\nmax_wait = 5\n", encoding="utf-8")
    return load_config(path)


class Following:
    """The daemon's stream path in a thread, as `run --stream` runs it."""

    def __init__(self, config):
        self.config, self.stop = config, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        db = open_archive(self.config.archive)
        try:
            run_collection(self.config, db, platforms=["bluesky"], stop=self.stop, live=True, command="benchmark")
        finally:
            db.close()

    def __enter__(self) -> "Following":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(30)


def reader(config) -> sqlite3.Connection:
    while not Path(config.archive).exists():
        time.sleep(0.05)
    conn = sqlite3.connect(f"file:{config.archive}?mode=ro", uri=True, timeout=10)
    while True:
        try:
            conn.execute("SELECT 1 FROM posts LIMIT 1").fetchall()
            return conn
        except sqlite3.OperationalError:  # the writer has not made the tables yet
            time.sleep(0.05)


def throughput(folder: Path, events: int) -> dict:
    tagged = len([s for s in range(events) if s % 100 == 99 or s == events - 1])
    child, url = start_emitter("replay", events)
    try:
        base_wall, base_cpu = bare_read(url, events)
        config = config_for(folder, url)
        wall, cpu = time.perf_counter(), time.process_time()
        with Following(config):
            conn = reader(config)
            while conn.execute("SELECT count(*) FROM posts").fetchone()[0] < tagged:
                time.sleep(0.01)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            conn.close()
    finally:
        child.kill()
    return {"events": events, "tagged": tagged, "base_rate": events / base_cpu, "base_wall": base_wall,
            "rate": events / cpu, "wall_rate": events / wall, "wall": wall}


def soak(folder: Path, rate: float, minutes: float) -> dict:
    seconds = minutes * 60
    child, url = start_emitter("pump", rate=rate, seconds=seconds)
    config = config_for(folder, url)
    latencies, memory, last_id = [], [], 0
    try:
        with Following(config):
            conn = reader(config)
            began = next_sample = time.monotonic()
            while (elapsed := time.monotonic() - began) < seconds:
                for post_id, raw in conn.execute(
                        "SELECT p.id, r.raw FROM posts p JOIN post_payloads r ON r.post_id = p.id WHERE p.id > ?"
                        " ORDER BY p.id", [last_id]):
                    latencies.append(time.time() - json.loads(raw)["time_us"] / 1e6)
                    last_id = post_id
                if time.monotonic() >= next_sample:
                    size = sum(f.stat().st_size for f in folder.glob("archive.db*")) / 1e6
                    memory.append((elapsed, rss_mb(), sys.getallocatedblocks(), size))
                    next_sample += 10
                time.sleep(0.05)
            conn.close()
    finally:
        child.kill()
    latencies.sort()
    settled = [m for m in memory if m[0] >= 60] or memory[-1:]
    (_, rss_start, blocks_start, size_start), (_, rss_end, blocks_end, size_end) = settled[0], settled[-1]
    return {"posts": len(latencies), "p50": statistics.median(latencies),
            "p95": latencies[int(0.95 * (len(latencies) - 1))], "max": latencies[-1],
            "rss_start": rss_start, "rss_end": rss_end, "rss_max": max(m[1] for m in settled),
            "blocks": blocks_end / blocks_start - 1, "archive_growth": size_end - size_start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="frames replayed for the throughput run")
    parser.add_argument("--rate", type=float, default=1000, help="events a second for the latency run")
    parser.add_argument("--minutes", type=float, default=10, help="length of the latency and memory run")
    add_record_option(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "t").mkdir()
        (Path(tmp) / "s").mkdir()
        t = throughput(Path(tmp) / "t", args.events)
        s = soak(Path(tmp) / "s", args.rate, args.minutes)
    growth = s["rss_end"] - s["rss_start"]
    flat = s["blocks"] < 0.02 and growth <= s["archive_growth"] + 5  # SQLite's page cache holds archive pages
    rows = [
        {"what": f"{t['events']:,} events, {t['tagged']:,} tagged, replayed",
         "measured": f"{t['rate']:,.0f} events/s of CPU ({t['wall_rate']:,.0f}/s wall, {t['wall']:.1f} s)",
         "baseline": f"bare client {t['base_rate']:,.0f} events/s of CPU",
         "result": f"ratio {t['rate'] / t['base_rate']:.2f}; target >= 5,000/s "
                   f"{'OK' if t['rate'] >= 5000 else 'BELOW TARGET'}"},
        {"what": f"{args.rate:,.0f} events/s for {args.minutes:g} min, {s['posts']:,} tagged posts",
         "measured": f"event to archive p50 {s['p50']:.2f} s, p95 {s['p95']:.2f} s, max {s['max']:.2f} s",
         "baseline": "target p95 < 2 s",
         "result": "OK" if s["p95"] < 2 else "ABOVE TARGET"},
        {"what": "memory after the first minute",
         "measured": f"resident {s['rss_start']:.0f} MB -> {s['rss_end']:.0f} MB (max {s['rss_max']:.0f} MB); "
                     f"Python's allocated blocks {s['blocks']:+.1%}",
         "baseline": f"the archive grew {s['archive_growth']:.1f} MB (SQLite's page cache, at most 64 MiB, holds it)",
         "result": f"growth {growth:+.1f} MB {'OK, flat' if flat else 'GROWING'}"},
    ]
    for row in rows:
        print(f"{row['what']}: {row['measured']}; {row['baseline']}: {row['result']}")
    if args.record:
        record("stream", rows, events=args.events, rate=args.rate, minutes=args.minutes)


if __name__ == "__main__":
    main()
