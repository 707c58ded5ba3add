"""Stable pseudonyms for authors: a keyed hash, with the key kept outside the archive.

The same handle always gets the same pseudonym (so "top participants" can be followed
week to week), yet someone holding only the archive and the reports cannot reverse it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_key(path: Path) -> bytes:
    """Read the key, creating it (readable by its owner only) the first time."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text().strip())


def pseudonym(key: bytes, platform: str, handle: str) -> str:
    digest = hmac.new(key, f"{platform}:{handle}".encode(), hashlib.sha256).hexdigest()
    return f"participant-{digest[:10]}"
