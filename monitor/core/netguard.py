"""Which addresses the media downloader may fetch: a guard against server-side request forgery.

A media URL comes from a post, so from anyone. Fetched blindly it can make this machine
read its cloud metadata service (169.254.169.254), a router, or a database port on
loopback, and store the answer in the archive. So a URL is fetched only when its origin
is one the config names as a source (an instance, Reddit, a Bluesky service: those are
trusted, loopback ones included, which is how the tests' fakes work), or when every
address its host resolves to is public. Every redirect hop is checked the same way, and
the address actually connected to is checked again before the body is read, so a host
that resolves differently the second time (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Callable, Iterable
from urllib.parse import urlsplit

from monitor.core import platforms as registry
from monitor.core.config import Config

Resolver = Callable[[str, int], Iterable[str]]


class Refused(Exception):
    """The URL may not be fetched; the message says why."""


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def source_origins(config: Config) -> set[tuple[str, str, int]]:
    """The origins of every source the config names."""
    return {origin(u) for name, platform in registry.registered().items() if name in config.sections
            for u in platform.base_urls(config.sections[name])}


def is_public(address: str) -> bool:
    """A globally routable unicast address: not private, loopback, link-local, shared, reserved or multicast."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    return ip.is_global and not ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


class Guard:
    def __init__(self, trusted: set[tuple[str, str, int]], resolve: Resolver = _resolve):
        self.trusted = trusted
        self.resolve = resolve

    def check_url(self, url: str) -> None:
        """Raise Refused unless `url` is a configured source's or resolves only to public addresses."""
        scheme, host, port = origin(url)
        if scheme not in ("http", "https") or not host:
            raise Refused(f"refused {url!r}: only http and https URLs are fetched")
        if (scheme, host, port) in self.trusted:
            return
        try:
            addresses = list(self.resolve(host, port))
        except (OSError, UnicodeError) as e:
            raise Refused(f"refused {url!r}: its host does not resolve ({e})") from None
        private = [a for a in addresses if not is_public(a)]
        if not addresses or private:
            raise Refused(f"refused {url!r}: not a configured source, and {host} is at a non-public address "
                          f"({', '.join(private) or 'none'})")

    def check_peer(self, url: str, peer: str | None) -> None:
        """The address really connected to, for a URL that is not a configured source's."""
        if peer is None or origin(url) in self.trusted:
            return
        if not is_public(peer):
            raise Refused(f"refused {url!r}: it connected to the non-public address {peer}")
