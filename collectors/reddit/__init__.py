"""Reddit as a platform of campaign-monitor: what the registry needs of it.

`client` searches subreddits through praw, `transform` turns listings into records,
`config` reads [reddit]. This module is the `Platform` the registry loads.
"""

from __future__ import annotations

from typing import Callable, Iterator

from collectors.base import lazy
from collectors.reddit import client
from collectors.reddit.client import credentials, missing_credentials_message, queries
from collectors.reddit.config import RedditConfig, read_config
from collectors.reddit.transform import NAME
from monitor.core.config import Config
from monitor.core.platforms import Due, OnRetry, Skip, SourceJob
from monitor.core.records import RefreshBatch

__all__ = ["RedditConfig", "credentials", "read_config"]

name = NAME
token_env = ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET")


def transport_errors() -> tuple[type[BaseException], ...]:
    return client.TRANSPORT_ERRORS


def enabled(section: RedditConfig) -> bool:
    return bool(section.subreddits)


def base_urls(section: RedditConfig) -> list[str]:
    return [section.oauth_url, section.reddit_url] if section.subreddits else []


def sources(config: Config, on_retry: OnRetry) -> list[SourceJob]:
    """One source per subreddit, one stream per query (the hashtags and [reddit] search)."""
    creds = credentials()
    if creds is None:
        raise Skip(missing_credentials_message())
    cfg = config.reddit
    jobs = []
    for subreddit in cfg.subreddits:
        source = f"r/{subreddit}"
        conn = lazy(lambda subreddit=subreddit: client.connect(cfg, subreddit, creds, config.http))

        def stream(query: str, subreddit: str = subreddit, source: str = source, conn=conn):
            return lambda cursor: client.search_pages(
                cfg, conn(), subreddit, query, cursor, hashtags=config.hashtags, policy=config.http,
                on_retry=lambda message: on_retry(source, message),
            )

        jobs.append(SourceJob(NAME, source, [(q, stream(q)) for q in queries(config.hashtags, cfg.search)]))
    return jobs


def refresh(config: Config, due: Due, on_retry: Callable[[str], None]) -> Iterator[tuple[str, Iterator[RefreshBatch]]]:
    """Every post is re-read by its fullname through /api/info, whatever subreddit it came from."""
    creds = credentials()
    if creds is None:
        return
    conn = client.connect(config.reddit, config.reddit.subreddits[0], creds, config.http)
    keys = [key for items in due.values() for key, _ in items]
    yield "reddit", client.refresh(config.reddit, conn, keys, policy=config.http, on_retry=on_retry)
