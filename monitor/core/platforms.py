"""The platform interface, and the registry the rest of the program finds platforms in.

A platform is one package under `collectors/` exposing a `PLATFORM` object that meets
`Platform`; it is registered by one line in `pyproject.toml` (the entry-point group
`campaign_monitor.platforms`), the way Datasette and pytest find their plugins. Config
reading, collection, refresh and the network guard ask the registry, so adding a platform
changes no other module; a test registers a toy one with `register()`.

Names that matter here: a *source* is what one client talks to (an instance, a subreddit,
a search service); a *stream* is one walk within it (a hashtag or a query) with its own
cursor in the archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Protocol

from monitor.core.records import Page, RefreshBatch

if TYPE_CHECKING:  # for the annotations only: the config module reads sections through this registry
    from monitor.core.config import Config

ENTRY_POINTS = "campaign_monitor.platforms"
OnRetry = Callable[[str, str], None]  # (source, message): a fault the policy is retrying
# (name of the stream, a function from its cursor to the pages after it)
Stream = tuple[str, Callable[[str | None], Iterator[Page]]]
# Posts due for a re-read, by the source they came from: (post key, id on that source)
Due = dict[str, list[tuple[str, str]]]


@dataclass
class SourceJob:
    platform: str
    source: str
    streams: list[Stream]


class Skip(Exception):
    """A platform that cannot be collected in this run (no credentials); not a failure."""


class Platform(Protocol):
    """What the program needs of a platform; everything else stays inside its package."""

    name: str  # its config section, and the archive's `platform` value
    token_env: tuple[str, ...]  # environment variables its credentials come from (never config or archive)

    def transport_errors(self) -> tuple[type[BaseException], ...]:
        """Its client library's network errors: what the shared fault policy retries as transport faults."""

    def read_config(self, table: dict[str, Any] | None, where: str, path: Path) -> Any:
        """Its section of the config (None when absent) checked into a frozen dataclass; raise ConfigError."""

    def enabled(self, section: Any) -> bool:
        """Whether the section asks for anything to be collected."""

    def base_urls(self, section: Any) -> list[str]:
        """The servers it talks to (media on them counts as the platform's own)."""

    def sources(self, config: "Config", on_retry: OnRetry) -> list[SourceJob]:
        """One job per source, each with its streams; raise Skip when it cannot run at all."""

    # Optional: platforms with a stream also have
    #   live_sources(config, on_retry, stop) -> list[SourceJob]
    # whose one stream per job yields pages until `stop` is set (a page at least every second).

    def refresh(self, config: "Config", due: Due, on_retry: Callable[[str], None]) -> Iterator[tuple[str, Iterator[RefreshBatch]]]:
        """(source, its re-read batches) for the posts due."""


_registry: dict[str, Platform] = {}
_loaded = False


def _load_installed() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for point in sorted(entry_points(group=ENTRY_POINTS), key=lambda p: p.name):
            platform = point.load()
            _registry.setdefault(platform.name, platform)


def registered() -> dict[str, Platform]:
    """Every platform, installed ones first (in a stable order), then those registered at run time."""
    _load_installed()
    return dict(_registry)


def get(name: str) -> Platform:
    return registered()[name]


def register(platform: Platform) -> None:
    _load_installed()
    _registry[platform.name] = platform


def unregister(name: str) -> None:
    _registry.pop(name, None)
