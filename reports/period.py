"""The period a report covers, in the campaign's time zone, and the one before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.core.clock import to_utc_iso


@dataclass(frozen=True)
class Period:
    start: datetime  # inclusive, aware, in the campaign's zone
    end: datetime  # exclusive

    @property
    def label(self) -> str:
        """The folder name: first and last day, both inclusive."""
        return f"{self.start:%Y-%m-%d}_to_{self.end - timedelta(days=1):%Y-%m-%d}"

    @property
    def title(self) -> str:
        return f"{self.start:%a %d %b %Y} to {self.end - timedelta(days=1):%a %d %b %Y}"

    @property
    def utc_bounds(self) -> tuple[str, str]:
        return to_utc_iso(self.start), to_utc_iso(self.end)

    def previous(self) -> "Period":
        """The period of the same length just before, for the change in %."""
        return Period(self.start - (self.end - self.start), self.start)

    def days(self) -> list[date]:
        return [(self.start + timedelta(days=i)).date() for i in range((self.end - self.start).days)]


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def last_full_week(now: datetime, zone: ZoneInfo) -> Period:
    """Monday to Sunday, the last week that has ended, in the campaign's zone."""
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    return Period(_midnight(this_monday - timedelta(days=7), zone), _midnight(this_monday, zone))


def between(since: date, until: date, zone: ZoneInfo) -> Period:
    """From `since` (inclusive) to `until` (exclusive), as `--since`/`--until` say."""
    if until <= since:
        raise ValueError(f"--until {until} must be after --since {since}")
    return Period(_midnight(since, zone), _midnight(until, zone))
