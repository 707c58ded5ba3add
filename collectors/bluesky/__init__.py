"""Bluesky as a platform of campaign-monitor: what the registry needs of it.

`client` searches through atproto, `transform` turns post views into records, `config`
reads [bluesky]. This module is the `Platform` the registry loads.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator
from urllib.parse import urlsplit

from collectors.base import lazy
from collectors.bluesky import client, jetstream
from collectors.bluesky.client import credentials, missing_credentials_message
from collectors.bluesky.config import BlueskyConfig, read_config
from collectors.bluesky.transform import NAME, transform_post
from monitor.core.config import Config
from monitor.core.platforms import Due, OnRetry, Skip, SourceJob
from monitor.core.records import RefreshBatch

__all__ = ["BlueskyConfig", "credentials", "read_config", "transform_post"]

name = NAME
token_env = ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD")


def transport_errors() -> tuple[type[BaseException], ...]:
    return client.transport_errors()


def enabled(section: BlueskyConfig) -> bool:
    return section.enabled


def base_urls(section: BlueskyConfig) -> list[str]:
    return [section.service, section.cdn] if section.enabled else []


def sources(config: Config, on_retry: OnRetry) -> list[SourceJob]:
    """One source (the search service), one stream per hashtag and per [bluesky] search query."""
    creds = credentials()
    if creds is None:
        raise Skip(missing_credentials_message())
    cfg = config.bluesky
    conn = lazy(lambda: client.connect(cfg, creds, config.http))
    source = urlsplit(cfg.service).netloc

    def stream(name: str, tag: str | None):
        return lambda cursor: client.search_pages(
            cfg, conn(), name, cursor, tag=tag, on_retry=lambda message: on_retry(source, message))

    streams = [(tag, stream(tag, tag)) for tag in config.hashtags]
    streams += [(query, stream(query, None)) for query in cfg.search]
    return [SourceJob(NAME, source, streams)]


def live_sources(config: Config, on_retry: OnRetry, stop: threading.Event) -> list[SourceJob]:
    """Jetstream: one stream for the whole network, filtered by the campaign's hashtags; no login needed."""
    cfg = config.bluesky
    if not cfg.enabled:
        return []
    source = urlsplit(cfg.jetstream).netloc

    def follow(cursor: str | None):
        return jetstream.stream_pages(cfg, config.hashtags, cursor, policy=config.http, stop=stop,
                                      on_retry=lambda message: on_retry(source, message))

    return [SourceJob(NAME, source, [(jetstream.STREAM, follow)])]


def refresh(config: Config, due: Due, on_retry: Callable[[str], None]) -> Iterator[tuple[str, Iterator[RefreshBatch]]]:
    creds = credentials()
    if creds is None:
        return
    conn = client.connect(config.bluesky, creds, config.http)
    uris = [key for items in due.values() for key, _ in items]
    yield conn.source, client.refresh(conn, uris, on_retry=on_retry)
