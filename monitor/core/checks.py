"""The checks every config section shares: types, ranges, lists, base URLs, relative paths.

Each failure is one line naming the file, the section and key, and what would be right.
Platform packages use the same checks for their own sections.
"""

from __future__ import annotations

import ipaddress
import math
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse


class ConfigError(Exception):
    """A problem with the config file; its message is one line naming file, key and fix."""


# key -> (type, description of what is expected[, the range a number must fall in])
_Spec = dict[str, tuple[Any, ...]]


def within(low: float, high: float = math.inf, *, above: bool = False) -> Callable[[float], bool]:
    """A number from `low` (or, with `above`, greater than it) to `high`, both finite."""
    return lambda v: (v > low if above else v >= low) and v <= high


def _check(value: Any, expected: Any, valid: Callable[[Any], bool] | None = None) -> bool:
    if expected in (float, int):
        is_number = isinstance(value, (int, float) if expected is float else int) and not isinstance(value, bool)
        # TOML allows nan and inf: neither is a timeout, a port or a size
        return is_number and math.isfinite(value) and (valid is None or valid(value))
    return isinstance(value, expected)


def section(doc: dict, name: str, spec: _Spec, where: str, required: bool) -> dict:
    """The section `name` of the whole file, checked against `spec` (empty when absent and optional)."""
    if doc.get(name) is None and required:
        raise ConfigError(f"{where}: missing section [{name}]")
    return checked_table(doc.get(name), name, spec, where)


def checked_table(table: Any, name: str, spec: _Spec, where: str) -> dict:
    """One section's table (None: absent) checked against `spec`: what a platform's read_config is given."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    for key, value in table.items():
        if key not in spec:
            known = ", ".join(sorted(spec))
            raise ConfigError(f"{where}: unknown key '{key}' in [{name}] (known keys: {known})")
        expected, description, *valid = spec[key]
        if not _check(value, expected, *valid):
            raise ConfigError(f"{where}: [{name}] {key} must be {description}, got {value!r}")
    return table


def string_list(values: list, where: str, label: str) -> list[str]:
    for i, item in enumerate(values):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{where}: {label}[{i}] must be a non-empty string, got {item!r}")
    return [v.strip() for v in values]


def base_url(url: str, where: str, label: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    try:
        parsed = urlparse(url)
        host, _ = parsed.hostname, parsed.port  # each raises on a bad IPv6 literal or port
        if host and ":" in host:
            ipaddress.IPv6Address(host)  # urlparse accepts "[zz::1]"
    except ValueError as e:
        raise ConfigError(f"{where}: {label} {url!r} is not a valid URL ({e}); write a base URL such as "
                          "'https://mastodon.social' or 'http://[::1]:8080'") from None
    if parsed.scheme not in schemes or not host:
        example = "'https://mastodon.social'" if "https" in schemes else f"'{schemes[-1]}://jetstream2.us-east.bsky.network'"
        raise ConfigError(f"{where}: {label} {url!r} must be a base URL such as {example}")
    return url.rstrip("/")


def relative(path: Path, value: str) -> Path:
    """A path from the config, relative to the config file's folder unless absolute."""
    p = Path(value)
    return p if p.is_absolute() else path.resolve().parent / p
