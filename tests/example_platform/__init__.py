"""A toy platform, "example", registered at test time: proof that a platform is one package.

It meets `monitor.core.platforms.Platform` and nothing else: no other module of the
project knows of it. Its one source serves the posts a test puts in `SERVED`, pages of
two, and forgets the ones in `GONE` when refreshed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from monitor.core.checks import checked_table, string_list
from monitor.core.clock import utc_now
from monitor.core.platforms import Due, OnRetry, SourceJob
from monitor.core.records import Author, Fetch, Page, Post, RefreshBatch

name = "example"
token_env = ()
SERVED: list[dict[str, Any]] = []  # {"id": "1", "text": ..., "tags": [...]}, oldest first
GONE: set[str] = set()


@dataclass(frozen=True)
class ExampleConfig:
    feeds: tuple[str, ...] = ()


def transport_errors() -> tuple[type[BaseException], ...]:
    return (OSError,)


def read_config(table: dict[str, Any] | None, where: str, path: Path) -> ExampleConfig:
    table = checked_table(table, "example", {"feeds": (list, "a list of feed names")}, where)
    return ExampleConfig(tuple(string_list(table.get("feeds", []), where, "[example] feeds")))


def enabled(cfg: ExampleConfig) -> bool:
    return bool(cfg.feeds)


def base_urls(cfg: ExampleConfig) -> list[str]:
    return []


def transform(item: dict[str, Any]) -> Post:
    author = Author(name, "example:alice", "alice@example")
    return Post(name, f"example:{item['id']}", None, author, item.get("created_at") or utc_now(), item["text"],
                dict(item), local_id=item["id"], hashtags=[t.lower() for t in item.get("tags", [])])


def _fetch(feed: str, params: dict[str, Any]) -> Fetch:
    return Fetch(name, feed, "GET", "/feed", params, 200, utc_now())


def _pages(feed: str, tag: str, cursor: str | None) -> Iterator[Page]:
    after = int(cursor or 0)
    newer = [i for i in SERVED if int(i["id"]) > after and tag.lower() in [t.lower() for t in i.get("tags", [])]]
    for start in range(0, len(newer), 2):
        chunk = newer[start:start + 2]
        yield Page(name, feed, tag, [transform(i) for i in chunk], [_fetch(feed, {"after": after})], chunk[-1]["id"])
    yield Page(name, feed, tag, [], [_fetch(feed, {"after": after})], None)


def sources(config, on_retry: OnRetry) -> list[SourceJob]:
    return [SourceJob(name, feed, [(tag, lambda cursor, feed=feed, tag=tag: _pages(feed, tag, cursor))
                                   for tag in config.hashtags]) for feed in config.example.feeds]


def refresh(config, due: Due, on_retry: Callable[[str], None]) -> Iterator[tuple[str, Iterator[RefreshBatch]]]:
    for feed, items in due.items():
        by_key = {f"example:{i['id']}": i for i in SERVED}
        observed = [transform(by_key[key]) for key, _ in items if key in by_key and key not in GONE]
        gone = {key: "gone from the example feed" for key, _ in items if key in GONE}
        yield feed, iter([RefreshBatch(name, feed, observed, gone, [_fetch(feed, {"refresh": len(items)})])])
