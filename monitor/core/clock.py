"""Timestamps in the one format the archive stores: ISO 8601 in UTC, to the microsecond.

One format everywhere means text comparison in SQL orders times correctly.
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    return to_utc_iso(datetime.now(timezone.utc))


def to_utc_iso(value: str | datetime) -> str:
    """Normalise an API timestamp ('2026-08-01T13:52:44.180Z', an aware datetime) to UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
