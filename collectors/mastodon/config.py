"""[mastodon]: which instances to poll, read with the core's checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.core.checks import ConfigError, base_url, checked_table, string_list, within


@dataclass(frozen=True)
class MastodonConfig:
    instances: tuple[str, ...] = ()
    limit: int = 40


def read_config(table: dict[str, Any] | None, where: str, path: Path) -> MastodonConfig:
    masto = checked_table(table, "mastodon", {
        "instances": (list, "a list of instance base URLs"),
        "limit": (int, "a whole number from 1 to 40 (statuses per page)", within(1, 40)),
    }, where)
    instances = string_list(masto.get("instances", []), where, "[mastodon] instances")
    instances = [base_url(url, where, f"[mastodon] instances[{i}]") for i, url in enumerate(instances)]
    if len(set(instances)) != len(instances):
        raise ConfigError(f"{where}: [mastodon] instances lists the same instance twice")
    return MastodonConfig(instances=tuple(instances), limit=masto.get("limit", 40))
