"""Mastodon as a platform of campaign-monitor: what the registry needs of it.

`client` talks to instances through Mastodon.py, `transform` turns their JSON into records,
`config` reads [mastodon]. This module is the `Platform` the registry loads.
"""

from __future__ import annotations

import threading
from typing import Callable, Iterator

from collectors.base import lazy
from collectors.mastodon import client, streaming
from collectors.mastodon.client import (
    TOKEN_ENV,
    source_name,
    token_for,
    token_variable,
)
from collectors.mastodon.config import MastodonConfig, read_config
from collectors.mastodon.transform import NAME, transform_status
from monitor.core.config import Config
from monitor.core.platforms import Due, OnRetry, SourceJob
from monitor.core.records import RefreshBatch

__all__ = ["MastodonConfig", "read_config", "source_name", "token_for", "token_variable", "transform_status"]

name = NAME
token_env = (TOKEN_ENV, f"{TOKEN_ENV}_<HOST>")


def transport_errors() -> tuple[type[BaseException], ...]:
    return client.transport_errors()


def enabled(section: MastodonConfig) -> bool:
    return bool(section.instances)


def base_urls(section: MastodonConfig) -> list[str]:
    return list(section.instances)


def sources(config: Config, on_retry: OnRetry) -> list[SourceJob]:
    """One source per instance (its host), one stream per hashtag, sharing a client made on first use."""
    jobs = []
    for url in config.mastodon.instances:
        source = source_name(url)
        conn = lazy(lambda url=url: client.connect(url, token_for(url), config.http))

        def stream(tag: str, source: str = source, conn=conn):
            return lambda cursor: client.fetch_pages(
                conn(), tag, cursor, policy=config.http, limit=config.mastodon.limit,
                on_retry=lambda message: on_retry(source, message),
            )

        jobs.append(SourceJob(NAME, source, [(tag, stream(tag)) for tag in config.hashtags]))
    return jobs


def live_sources(config: Config, on_retry: OnRetry, stop: threading.Event) -> list[SourceJob]:
    """Each instance's hashtag streams, merged into one stream per instance."""
    return [SourceJob(NAME, source_name(url), [(streaming.STREAM, streaming.live_stream(
                url, token_for(url), config.hashtags, config.http, stop))])
            for url in config.mastodon.instances]


def refresh(config: Config, due: Due, on_retry: Callable[[str], None]) -> Iterator[tuple[str, Iterator[RefreshBatch]]]:
    """Each post is re-read on the instance it was collected from."""
    urls = {source_name(u): u for u in config.mastodon.instances}
    for source, items in due.items():
        if source not in urls:
            client.log.warning("mastodon %s: no longer in [mastodon] instances; its %d posts are not refreshed",
                               source, len(items))
            continue
        conn = client.connect(urls[source], token_for(urls[source]), config.http)
        yield source, client.refresh(conn, items, policy=config.http, on_retry=on_retry)
