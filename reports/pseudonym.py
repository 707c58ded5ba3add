"""What outputs may reveal of who wrote a post: one policy, read by every report and export.

With `show_authors = false` an author appears as a stable pseudonym: a keyed hash, with
the key kept outside the archive, so "top participants" can be followed week to week, yet
someone holding only the archive and the reports cannot reverse it. A pseudonym is
worthless if the post's link carries the handle (Mastodon `/@alice/123`, Bluesky
`/profile/alice.bsky.social/post/…`, Reddit `/r/u_alice/…`), or if the quoted text or a
shared link names an account, so a pseudonymised output leaves out post links unless the
config asks for them (`link_posts = true`, and then the output says what a link reveals),
writes mentions as "@…", and counts no shared link that points at an account.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from monitor.core.config import Config

# an account named in text: @alice, @alice@mastodon.social, @alice.bsky.social
MENTION = re.compile(r"(?<![\w@/])@[\w](?:[\w.-]*\w)?(?:@[\w-]+(?:\.[\w-]+)+)?")
# links to an account or to one of its posts, on the platforms collected
ACCOUNT_LINK = re.compile(r"^https?://[^/]+/(?:@[^/]+|users/[^/]+|profile/[^/]+|u/[^/]+|user/[^/]+|r/u_[^/]+)",
                          re.IGNORECASE)
URL = re.compile(r"https?://\S+")
LINK_NOTE = ("Links to posts are shown ([report] link_posts = true): a link names the account that wrote the post, "
             "whatever pseudonym the report gives it.")


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


@dataclass(frozen=True)
class Disclosure:
    key: bytes | None  # None: authors are shown as they are
    links: bool  # post links are shown

    @property
    def pseudonymised(self) -> bool:
        return self.key is not None

    def author(self, platform: str, handle: str) -> str:
        return handle if self.key is None else pseudonym(self.key, platform, handle)

    def link(self, url: str | None) -> str:
        return (url or "") if self.links else ""

    def text(self, text: str | None) -> str:
        """Quoted text; pseudonymised, it names no account: mentions become '@…', links to accounts go."""
        if self.key is None:
            return text or ""
        text = URL.sub(lambda m: "[a link to an account]" if ACCOUNT_LINK.match(m.group(0)) else m.group(0), text or "")
        return MENTION.sub("@…", text)

    def shared_link(self, url: str) -> bool:
        """Whether a link people shared may be counted: not one naming an account, when pseudonymised."""
        return self.key is None or not ACCOUNT_LINK.match(url)

    @property
    def notes(self) -> list[str]:
        return [LINK_NOTE] if self.pseudonymised and self.links else []


def disclosure(config: Config) -> Disclosure:
    show = config.report.show_authors
    return Disclosure(None if show else load_key(config.report.key_file), show or config.report.link_posts)
