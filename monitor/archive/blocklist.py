"""Keyed hashes of what was erased, and the check that keeps it from being collected again.

HMAC-SHA256 with the archive's own key (`archive_meta`, made by migration m014): the
audit proves which posts an erasure covered to whoever is given an id to check, yet
lists no id itself.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Iterable

from sqlite_utils import Database


def archive_key(db: Database) -> bytes:
    return bytes.fromhex(db.execute("SELECT value FROM archive_meta WHERE name = 'erasure_key'").fetchone()[0])


def keyed_hash(key: bytes, kind: str, platform: str, ident: str) -> str:
    return hmac.new(key, f"{kind}:{platform}:{ident}".encode(), hashlib.sha256).hexdigest()


def blocked(db: Database, platform: str, post_keys: Iterable[str], author_keys: Iterable[str]) -> set[str]:
    """Which of these posts were erased, or are by an erased author: the collection skips them."""
    post_keys, author_keys = list(post_keys), list(author_keys)
    if not db.execute("SELECT 1 FROM erased_keys LIMIT 1").fetchone():
        return set()  # nearly always: no lookup, no hashing
    key = archive_key(db)
    by_hash = {keyed_hash(key, "post", platform, k): i for i, k in enumerate(post_keys)}
    by_hash.update({keyed_hash(key, "author", platform, a): i for i, a in enumerate(author_keys)})
    hits = set()
    hashes = list(by_hash)
    for start in range(0, len(hashes), 500):
        chunk = hashes[start:start + 500]
        marks = ",".join("?" * len(chunk))
        hits.update(r[0] for r in db.execute(f"SELECT hash FROM erased_keys WHERE hash IN ({marks})", chunk))
    return {post_keys[by_hash[h]] for h in hits}
