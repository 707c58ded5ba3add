"""The archivist's package: a BagIt bag (RFC 8493) of the archive, or of a window of it.

Written with the Library of Congress's `bagit` (sha256 and sha512 manifests, Payload-Oxum),
streamed a batch of posts at a time so a bag of a million posts never sits in memory.

Two kinds of bag, because a bag is an output like any other:
- by default it obeys the outputs' one rule (`visible_posts` and the report's disclosure):
  no flagged post a reviewer has not accepted, no post not yet checked, redactions in
  place of the original, authors as pseudonyms when `show_authors = false`. A raw payload
  holds the author's account and the original text, so it goes into such a bag only when
  neither is hidden; otherwise its sha256 stands in for it (provable against the archive).
- `--include-flagged` makes the preservation bag an archivist keeps under access control:
  every live post, its raw payloads, authors as they are. Its README says so first.
Posts deleted on their platform or erased are in neither: their content no longer exists.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import bagit
from sqlite_utils import Database

from monitor import __version__
from monitor.archive import ArchiveError
from monitor.archive.media import store_root
from monitor.core.config import Config
from reports.bag_readme import readme_text
from reports.pseudonym import Disclosure, disclosure
from reports.register import register, write_register

BATCH = 2_000


@dataclass
class BagCounts:
    posts: int = 0
    versions: int = 0
    fetches: int = 0
    media: int = 0
    payloads_withheld: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # why -> how many posts


def _window(since: str | None, until: str | None) -> tuple[str, list[str]]:
    where, params = [], []
    if since:
        where.append("p.created_at >= ?")
        params.append(since)
    if until:
        where.append("p.created_at < ?")
        params.append(until)
    return (" AND ".join(where) or "1"), params


def _source(full: bool) -> str:
    joins = "LEFT JOIN testimonies t ON t.post_id = p.id LEFT JOIN post_payloads pp ON pp.post_id = p.id"
    # visible_posts: the outputs' one rule; the preservation bag takes every live post instead
    return (f"posts p {joins} WHERE p.deleted_at IS NULL" if full else
            f"visible_posts v JOIN posts p ON p.id = v.id {joins} WHERE 1")


def _count(db: Database, full: bool, since: str | None, until: str | None) -> int:
    window, params = _window(since, until)
    return db.execute(f"SELECT count(*) FROM {_source(full)} AND {window}", params).fetchone()[0]


def _selected(db: Database, full: bool, since: str | None, until: str | None) -> Iterator[list[dict]]:
    """The bag's posts in id order, a batch at a time; `full`: every live post, else the visible ones."""
    window, params = _window(since, until)
    source = _source(full)
    last = 0
    query = (
        "SELECT p.id, p.platform, p.source, p.key, p.url, p.author, p.created_at, p.edited_at,"
        " coalesce(t.display_text, p.text) AS text, p.media_text, p.content_warning, p.language, p.hashtags, p.likes,"
        " p.reposts, p.replies, p.quotes, p.metrics, p.version, p.first_fetch_id, p.first_seen_at,"
        " t.status AS testimony_status, t.flagged, t.consent, t.display_text IS NOT NULL AS redacted,"
        " pp.sha256 AS payload_sha256, pp.fetch_id AS payload_fetch_id, pp.digest_origin"
        f" FROM {source}"
        f" AND {window} AND p.id > ? ORDER BY p.id LIMIT ?"
    )
    while batch := [dict(r) for r in db.query(query, [*params, last, BATCH])]:
        last = batch[-1]["id"]
        yield batch


def _left_out(db: Database, full: bool, since: str | None, until: str | None) -> dict[str, int]:
    window, params = _window(since, until)
    counts = {"deleted on their platform or erased": db.execute(
        f"SELECT count(*) FROM posts p WHERE p.deleted_at IS NOT NULL AND {window}", params).fetchone()[0]}
    if not full:
        row = db.execute(
            "SELECT sum(t.post_id IS NULL), sum(t.flagged = 1 AND t.status != 'accepted') FROM posts p"
            f" LEFT JOIN testimonies t ON t.post_id = p.id WHERE p.deleted_at IS NULL AND {window}", params).fetchone()
        counts["not yet checked for safeguarding"] = row[0] or 0
        counts["flagged for safeguarding and not accepted by a reviewer"] = row[1] or 0
    return counts


def _post_record(row: dict, shown: Disclosure, media: list[str], payload_in_bag: bool) -> dict:
    identity = {"key": row["key"], "url": row["url"]} if not shown.pseudonymised else (
        {"url": row["url"]} if shown.links else {})
    return {
        "id": row["id"], "platform": row["platform"], "source": row["source"], **identity,
        "author": shown.author(row["platform"], row["author"]), "created_at": row["created_at"],
        "edited_at": row["edited_at"], "text": shown.text(row["text"]), "redacted": bool(row["redacted"]),
        "media_text": shown.text(row["media_text"]) if row["media_text"] else None,
        "content_warning": row["content_warning"], "language": row["language"],
        "hashtags": json.loads(row["hashtags"] or "[]"),
        "likes": row["likes"], "reposts": row["reposts"], "replies": row["replies"], "quotes": row["quotes"],
        "metrics": json.loads(row["metrics"]) if row["metrics"] else {},
        "version": row["version"], "testimony_status": row["testimony_status"], "flagged": bool(row["flagged"]),
        "consent": row["consent"], "media_sha256": media, "first_fetch_id": row["first_fetch_id"],
        "first_seen_at": row["first_seen_at"], "payload_fetch_id": row["payload_fetch_id"],
        "payload_sha256": row["payload_sha256"], "payload_digest_origin": row["digest_origin"],
        "payload": "in fetches.jsonl" if payload_in_bag else "withheld (it names the author or holds redacted text)",
    }


def write_bag(db: Database, config: Config, out: Path, *, since: str | None = None, until: str | None = None,
              include_flagged: bool = False, progress: Callable[[int, int | None], None] = lambda d, t: None
              ) -> BagCounts:
    """Write the bag into `out` (a new or empty folder), then hash it into a valid BagIt bag."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ArchiveError(f"{out}: already exists and is not an empty folder; name a new folder for the bag")
    if not out.parent.is_dir():
        raise ArchiveError(f"{out}: folder {out.parent} does not exist")
    out.mkdir(exist_ok=True)
    try:
        counts = _write_payload(db, config, out, since, until, include_flagged, progress)
        bagit.make_bag(str(out), _bag_info(config, since, until, include_flagged), checksums=["sha256", "sha512"])
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # never a folder that looks like a finished bag
        raise
    return counts


def _write_payload(db: Database, config: Config, out: Path, since, until, full: bool, progress) -> BagCounts:
    shown = Disclosure(None, True) if full else disclosure(config)
    counts = BagCounts(left_out=_left_out(db, full, since, until))
    total = _count(db, full, since, until)
    store = store_root(config.archive)
    fetch_ids: set[int] = set()
    payload_posts: set[int] = set()
    with (out / "posts.jsonl").open("w", encoding="utf-8") as posts, \
            (out / "versions.jsonl").open("w", encoding="utf-8") as versions:
        for batch in _selected(db, full, since, until):
            ids = [r["id"] for r in batch]
            marks = ",".join("?" * len(ids))
            media: dict[int, list[str]] = {}
            for post_id, sha, path in db.execute(
                    f"SELECT post_id, sha256, path FROM media_files WHERE status = 'stored' AND path IS NOT NULL"
                    f" AND post_id IN ({marks})", ids):
                media.setdefault(post_id, []).append(sha)
                target = out / "media" / Path(path).relative_to("media")
                if not target.exists() and (store.parent / path).is_file():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(store.parent / path, target)
                    counts.media += 1
            for row in batch:
                in_bag = full or not (shown.pseudonymised or row["redacted"])
                counts.payloads_withheld += 0 if in_bag or row["payload_sha256"] is None else 1
                if in_bag and row["payload_fetch_id"] is not None:
                    payload_posts.add(row["id"])
                fetch_ids.update(i for i in (row["first_fetch_id"], row["payload_fetch_id"]) if i is not None)
                posts.write(json.dumps(_post_record(row, shown, media.get(row["id"], []), in_bag),
                                       ensure_ascii=False) + "\n")
            for v in db.query(f"SELECT * FROM post_versions WHERE post_id IN ({marks}) ORDER BY post_id, version",
                              ids):
                record = {k: v[k] for k in ("post_id", "version", "edited_at", "likes", "reposts", "replies",
                                            "quotes", "superseded_at", "raw_fetch_id", "superseded_by_fetch_id")}
                record["text"] = shown.text(v["text"])
                record["raw"] = json.loads(v["raw"]) if v["post_id"] in payload_posts else "withheld"
                versions.write(json.dumps(record, ensure_ascii=False) + "\n")
                counts.versions += 1
            counts.posts += len(batch)
            progress(counts.posts, total)
    counts.fetches = _write_fetches(db, out, sorted(fetch_ids), payload_posts)
    write_register(register(db, config), "csv", out / "testimonies.csv")  # formula-safe cells
    (out / "README.txt").write_text(readme_text(config, counts, since, until, full), encoding="utf-8")
    return counts


def _write_fetches(db: Database, out: Path, fetch_ids: list[int], payload_posts: set[int]) -> int:
    """Each request that brought a post of the bag, with the payloads of those posts it returned."""
    with (out / "fetches.jsonl").open("w", encoding="utf-8") as handle:
        for start in range(0, len(fetch_ids), BATCH):
            chunk = fetch_ids[start:start + BATCH]
            marks = ",".join("?" * len(chunk))
            items: dict[int, list[dict]] = {}
            for post_id, fetch_id, raw, sha, origin in db.execute(
                    f"SELECT post_id, fetch_id, raw, sha256, digest_origin FROM post_payloads WHERE fetch_id IN ({marks})"
                    " ORDER BY post_id", chunk):
                if post_id in payload_posts:
                    items.setdefault(fetch_id, []).append({"post_id": post_id, "sha256": sha, "digest_origin": origin,
                                                           "raw": json.loads(raw)})
            for f in db.query(f"SELECT * FROM fetches WHERE id IN ({marks}) ORDER BY id", chunk):
                record = {"id": f["id"], "platform": f["platform"], "source": f["source"], "method": f["method"],
                          "url": f["endpoint"], "parameters": json.loads(f["params"] or "{}"),
                          "retrieved_at": f["retrieved_at"], "http_status": f["http_status"], "error": f["error"],
                          "software_version": f["software_version"], "items": items.get(f["id"], [])}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(fetch_ids)


def _bag_info(config: Config, since: str | None, until: str | None, full: bool) -> dict[str, str]:
    platforms = ", ".join(config.platforms) or "none configured"
    window = f"{since or 'the first post'} to {until or 'the last'}"
    info = {
        "Source-Organization": config.organization or "not given ([campaign] organization)",
        "External-Description": (f"campaign-monitor archive of the campaign {config.name!r}: posts with the hashtags "
                                 f"{', '.join('#' + t for t in config.hashtags)} on {platforms}, {window}"
                                 + ("; PRESERVATION BAG: holds flagged posts, raw payloads and authors' identities"
                                    if full else "")),
        "Bagging-Date": datetime.now(timezone.utc).date().isoformat(),
        "Bag-Software-Agent": f"campaign-monitor {__version__} with bagit-python",
    }
    if config.contact:
        info["Contact-Email" if "@" in config.contact else "Contact-Name"] = config.contact
    return info
