"""The campaign's configuration: the single place that reads and validates `campaign.toml`.

Every other module receives a `Config`; none of them reads the file or the environment
for settings, so a bad value is caught here, once, with the file and key named.
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

DEFAULT_CONFIG_NAME = "campaign.toml"
HASHTAG_RE = re.compile(r"^\w+$")


class ConfigError(Exception):
    """A problem with the config file; its message is one line naming file, key and fix."""


@dataclass(frozen=True)
class HttpPolicy:
    """How hard every collector tries before a source is reported as failed."""

    timeout: float = 30.0
    max_attempts: int = 5
    backoff: float = 2.0
    max_wait: float = 900.0
    max_requests: int = 10_000  # per source and run: a server that never stops paging cannot hold a run forever


@dataclass(frozen=True)
class MastodonConfig:
    instances: tuple[str, ...] = ()
    limit: int = 40


@dataclass(frozen=True)
class RedditConfig:
    subreddits: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    comments: bool = False
    user_agent_contact: str = ""
    oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"


@dataclass(frozen=True)
class BlueskyConfig:
    enabled: bool = False
    service: str = "https://bsky.social"
    search: tuple[str, ...] = ()
    since: str | None = None  # ISO date the first run reaches back to
    window_hours: int = 24


@dataclass(frozen=True)
class ScheduleConfig:
    """When `campaign-monitor run` does what; durations in seconds."""

    collect_every: float = 30 * 60
    refresh_every: float = 6 * 3600
    refresh_window: float = 14 * 86400
    report_day: str = "mon"
    report_time: str = "08:00"
    timezone: str = "Europe/London"
    log_file: Path | None = None


@dataclass(frozen=True)
class ReportConfig:
    out: Path = Path("reports")
    show_authors: bool = False
    key_file: Path = Path(".campaign-monitor.key")  # the pseudonym key, kept out of the archive
    email_to: tuple[str, ...] = ()
    email_from: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str = ""
    allow_plaintext_auth: bool = False  # send the SMTP password without TLS: only on a trusted local relay
    link_posts: bool = False  # with show_authors = false, post links (which name their authors) are left out


@dataclass(frozen=True)
class TestimonyConfig:
    signals: dict = field(default_factory=dict)  # kind -> regular expressions; defaults if empty
    threshold: float = 0.5  # the model's probability a candidate needs
    media: bool = True
    media_max_bytes: int = 50 * 1024 * 1024
    media_deadline: float = 120.0  # seconds one download may take in all
    retrain_after: int = 20  # new reviewer decisions that make the model retrain itself
    corpus: Path | None = None  # a labelled JSONL file replacing the shipped corpus (another campaign)


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    hashtags: tuple[str, ...]
    archive: Path
    mastodon: MastodonConfig = field(default_factory=MastodonConfig)
    reddit: RedditConfig = field(default_factory=RedditConfig)
    bluesky: BlueskyConfig = field(default_factory=BlueskyConfig)
    http: HttpPolicy = field(default_factory=HttpPolicy)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    testimonies: TestimonyConfig = field(default_factory=TestimonyConfig)

    @property
    def platforms(self) -> list[str]:
        """Platforms with something to collect, in a stable order."""
        configured = {
            "mastodon": bool(self.mastodon.instances),
            "reddit": bool(self.reddit.subreddits),
            "bluesky": self.bluesky.enabled,
        }
        return [name for name in PLATFORMS if configured[name]]


PLATFORMS = ("mastodon", "reddit", "bluesky")


DEFAULT_CONFIG = """\
# campaign-monitor configuration. Every key is documented in README.md.

[campaign]
name = "Aspire Not To Exclude"
hashtags = ["AspireNotToExclude"]      # without '#'; matched case-insensitively
archive = "archive.db"                 # SQLite file; relative to this file

[mastodon]
# Hashtag timelines are public on most instances. An instance that requires a login
# for hashtag feeds gets the token in MASTODON_ACCESS_TOKEN_<HOST> (for example
# MASTODON_ACCESS_TOKEN_MASTODON_SOCIAL) or, failing that, MASTODON_ACCESS_TOKEN.
instances = ["https://mastodon.social", "https://mastodonapp.uk"]

# [reddit]
# Read-only application access: REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET from the
# environment (new API access needs Reddit's approval). Without them Reddit is skipped.
# subreddits = ["Teachers", "SEND", "education", "UKParenting"]   # or ["all"]
# search = ["nurture group exclusion"]   # extra queries besides the hashtags
# comments = true                        # also archive comments that carry a hashtag
# user_agent_contact = "u/your_reddit_name or you@example.org"   # Reddit requires a contact

# [bluesky]
# Search needs a login: BLUESKY_HANDLE and BLUESKY_APP_PASSWORD from the environment.
# service = "https://bsky.social"
# since = "2026-11-01"                   # how far back the first run reaches (default: 30 days)

[schedule]                             # for 'campaign-monitor run'
collect_every = "30m"                  # per platform; "15m", "2h", ...
refresh_every = "6h"                   # engagement refresh
refresh_window = "14d"                 # refresh posts younger than this
report = "mon 08:00"                   # weekly report
timezone = "Europe/London"
# log_file = "campaign-monitor.log"    # also log to this rotating file

[report]                               # 'campaign-monitor report'
out = "reports"                        # one folder per period inside
show_authors = false                   # false: handles appear as stable pseudonyms
# email_to = ["comms@example.org"]     # --email sends the report here
# email_from = "campaign-monitor@example.org"
# smtp_host = "smtp.example.org"       # password from SMTP_PASSWORD
# smtp_port = 587
# smtp_starttls = true
# smtp_user = "campaign-monitor"

[http]
timeout = 30          # seconds to wait for one response
max_attempts = 5      # tries per request on 429, 5xx, timeouts and garbled replies
backoff = 2.0         # first wait between tries, doubled each time
max_wait = 900        # longest wait (seconds) a rate limit may impose before giving up
max_requests = 10000  # requests one source may make in one run; the next run goes on from there
"""

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


def _section(doc: dict, name: str, spec: _Spec, where: str, required: bool) -> dict:
    table = doc.get(name)
    if table is None:
        if required:
            raise ConfigError(f"{where}: missing section [{name}]")
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


def _string_list(values: list, where: str, label: str) -> list[str]:
    for i, item in enumerate(values):
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{where}: {label}[{i}] must be a non-empty string, got {item!r}")
    return [v.strip() for v in values]


def _hashtags(values: list, where: str) -> tuple[str, ...]:
    tags = _string_list(values, where, "[campaign] hashtags")
    if not tags:
        raise ConfigError(f"{where}: [campaign] hashtags must list at least one hashtag")
    seen: dict[str, str] = {}
    for i, tag in enumerate(tags):
        if tag.startswith("#"):
            raise ConfigError(
                f"{where}: [campaign] hashtags[{i}] {tag!r} must be written without '#': {tag[1:]!r}"
            )
        if not HASHTAG_RE.match(tag):
            raise ConfigError(
                f"{where}: [campaign] hashtags[{i}] {tag!r} may hold only letters, digits and '_'"
            )
        if tag.lower() in seen:
            raise ConfigError(
                f"{where}: [campaign] hashtags[{i}] {tag!r} repeats {seen[tag.lower()]!r} "
                "(hashtags are matched case-insensitively)"
            )
        seen[tag.lower()] = tag
    return tuple(tags)


def _base_url(url: str, where: str, label: str) -> str:
    try:
        parsed = urlparse(url)
        host, _ = parsed.hostname, parsed.port  # each raises on a bad IPv6 literal or port
        if host and ":" in host:
            ipaddress.IPv6Address(host)  # urlparse accepts "[zz::1]"
    except ValueError as e:
        raise ConfigError(f"{where}: {label} {url!r} is not a valid URL ({e}); write a base URL such as "
                          "'https://mastodon.social' or 'http://[::1]:8080'") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"{where}: {label} {url!r} must be a base URL such as 'https://mastodon.social'"
        )
    return url.rstrip("/")


def load_config(path: str | Path) -> Config:
    """Read and validate `path`; raise ConfigError with a one-line message on any problem."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: no such config file (run 'campaign-monitor init' to write one)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{where}: cannot read: {e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{where}: not valid TOML: {e}") from None

    sections = {"campaign", "mastodon", "reddit", "bluesky", "http", "schedule", "report", "testimonies"}
    for key in doc:
        if key not in sections:
            raise ConfigError(
                f"{where}: unknown section or key '{key}' (known: {', '.join(sorted(sections))})"
            )

    campaign = _section(
        doc,
        "campaign",
        {
            "name": (str, "a string"),
            "hashtags": (list, "a list of hashtags without '#'"),
            "archive": (str, "a path to the SQLite archive"),
        },
        where,
        required=True,
    )
    for key in ("name", "hashtags"):
        if key not in campaign:
            raise ConfigError(f"{where}: [campaign] {key} is required")
    if not campaign["name"].strip():
        raise ConfigError(f"{where}: [campaign] name must not be empty")
    hashtags = _hashtags(campaign["hashtags"], where)
    archive = Path(campaign.get("archive", "archive.db"))
    if not archive.is_absolute():
        archive = path.resolve().parent / archive

    masto = _section(
        doc,
        "mastodon",
        {
            "instances": (list, "a list of instance base URLs"),
            "limit": (int, "a whole number from 1 to 40 (statuses per page)", within(1, 40)),
        },
        where,
        required=False,
    )
    instances = _string_list(masto.get("instances", []), where, "[mastodon] instances")
    instances = [
        _base_url(url, where, f"[mastodon] instances[{i}]") for i, url in enumerate(instances)
    ]
    if len(set(instances)) != len(instances):
        raise ConfigError(f"{where}: [mastodon] instances lists the same instance twice")
    limit = masto.get("limit", 40)

    from monitor.core.sections import (
        bluesky_section,
        reddit_section,
        report_section,
        schedule_section,
        testimonies_section,
    )

    reddit = reddit_section(doc, where)
    bluesky = bluesky_section(doc, where)

    http = _section(
        doc,
        "http",
        {
            "timeout": (float, "a number of seconds above 0, at most 3600", within(0, 3600, above=True)),
            "max_attempts": (int, "a whole number of tries from 1 to 100", within(1, 100)),
            "backoff": (float, "a number of seconds from 0 to 3600", within(0, 3600)),
            "max_wait": (float, "a number of seconds from 0 to 86400", within(0, 86400)),
            "max_requests": (int, "a whole number of requests a source may make in one run, at least 1", within(1)),
        },
        where,
        required=False,
    )

    return Config(
        path=path,
        name=campaign["name"].strip(),
        hashtags=hashtags,
        archive=archive,
        mastodon=MastodonConfig(instances=tuple(instances), limit=limit),
        reddit=reddit,
        bluesky=bluesky,
        schedule=schedule_section(doc, where, path),
        report=report_section(doc, where, path),
        testimonies=testimonies_section(doc, where, path),
        http=HttpPolicy(**{k: (int(v) if k in ("max_attempts", "max_requests") else float(v)) for k, v in http.items()}),
    )

