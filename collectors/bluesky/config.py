"""[bluesky]: the search service and its queries, read with the core's checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.core.checks import ConfigError, base_url, checked_table, string_list, within


@dataclass(frozen=True)
class BlueskyConfig:
    enabled: bool = False
    service: str = "https://bsky.social"
    search: tuple[str, ...] = ()
    since: str | None = None  # ISO date the first run reaches back to
    window_hours: int = 24
    # the stream (`run --stream`): Jetstream needs no login; the CDN serves the images its records name
    jetstream: str = "wss://jetstream2.us-east.bsky.network"
    cdn: str = "https://cdn.bsky.app"


def read_config(table: dict[str, Any] | None, where: str, path: Path) -> BlueskyConfig:
    present = table is not None
    table = checked_table(
        table,
        "bluesky",
        {
            "service": (str, "a base URL such as 'https://bsky.social'"),
            "search": (list, "a list of search queries"),
            "since": (str, "a date such as '2026-11-01'"),
            "window_hours": (int, "a whole number of hours from 1 to 744", within(1, 24 * 31)),
            "jetstream": (str, "a WebSocket base URL such as 'wss://jetstream2.us-east.bsky.network'"),
            "cdn": (str, "a base URL such as 'https://cdn.bsky.app'"),
        },
        where,
    )
    since = table.get("since")
    if since is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
        raise ConfigError(f"{where}: [bluesky] since must be a date such as '2026-11-01', got {since!r}")
    window = table.get("window_hours", 24)
    return BlueskyConfig(
        enabled=present,
        service=base_url(table.get("service", BlueskyConfig.service), where, "[bluesky] service"),
        search=tuple(string_list(table.get("search", []), where, "[bluesky] search")),
        since=since,
        window_hours=window,
        jetstream=base_url(table.get("jetstream", BlueskyConfig.jetstream), where, "[bluesky] jetstream",
                           schemes=("ws", "wss")),
        cdn=base_url(table.get("cdn", BlueskyConfig.cdn), where, "[bluesky] cdn"),
    )
