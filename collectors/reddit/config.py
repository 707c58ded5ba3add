"""[reddit]: which subreddits to search and how, read with the core's checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.core.checks import ConfigError, base_url, checked_table, string_list


@dataclass(frozen=True)
class RedditConfig:
    subreddits: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    comments: bool = False
    user_agent_contact: str = ""
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"


def read_config(table: dict[str, Any] | None, where: str, path: Path) -> RedditConfig:
    table = checked_table(
        table,
        "reddit",
        {
            "subreddits": (list, "a list of subreddit names without 'r/' (or [\"all\"])"),
            "search": (list, "a list of search queries"),
            "comments": (bool, "true or false"),
            "user_agent_contact": (str, "a contact for Reddit's user agent rule"),
            "oauth_url": (str, "a base URL"),
            "reddit_url": (str, "a base URL"),
        },
        where,
    )
    subreddits = string_list(table.get("subreddits", []), where, "[reddit] subreddits")
    for i, name in enumerate(subreddits):
        if not re.fullmatch(r"[A-Za-z0-9_]{2,21}", name):
            raise ConfigError(
                f"{where}: [reddit] subreddits[{i}] {name!r} must be a subreddit name such as "
                "'Teachers' (no 'r/', no spaces)"
            )
    if table and not subreddits:
        raise ConfigError(f"{where}: [reddit] subreddits must list at least one subreddit (or [\"all\"])")
    return RedditConfig(
        subreddits=tuple(subreddits),
        search=tuple(string_list(table.get("search", []), where, "[reddit] search")),
        comments=table.get("comments", False),
        user_agent_contact=table.get("user_agent_contact", "").strip(),
        oauth_url=base_url(table.get("oauth_url", RedditConfig.oauth_url), where, "[reddit] oauth_url"),
        reddit_url=base_url(table.get("reddit_url", RedditConfig.reddit_url), where, "[reddit] reddit_url"),
    )
