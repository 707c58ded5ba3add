"""The campaign's configuration: the single place that reads and validates `campaign.toml`.

Every other module receives a `Config`; none of them reads the file or the environment
for settings, so a bad value is caught here, once, with the file and key named. The
sections of the platforms are read by the platforms themselves (`monitor.core.platforms`),
through the same checks; `config.<platform>` is that section.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.core import platforms as registry
from monitor.core.checks import ConfigError, section, string_list
from monitor.core.sections import (
    AlertConfig,
    HttpPolicy,
    ReadingConfig,
    ReportConfig,
    ScheduleConfig,
    TestimonyConfig,
    alerts_section,
    http_section,
    reading_section,
    report_section,
    schedule_section,
    testimonies_section,
)

__all__ = ["Config", "ConfigError", "DEFAULT_CONFIG", "DEFAULT_CONFIG_NAME", "HttpPolicy", "load_config"]

DEFAULT_CONFIG_NAME = "campaign.toml"
HASHTAG_RE = re.compile(r"^\w+$")
CORE_SECTIONS = ("campaign", "http", "schedule", "report", "alerts", "testimonies", "reading")


@dataclass(frozen=True)
class Config:
    path: Path
    name: str
    hashtags: tuple[str, ...]
    archive: Path
    organization: str = ""  # who keeps the archive: Source-Organization of an exported bag
    contact: str = ""  # how to reach them: Contact-Email / Contact-Name of a bag
    sections: dict[str, Any] = field(default_factory=dict)  # platform name -> its checked section
    http: HttpPolicy = field(default_factory=HttpPolicy)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    alerts: AlertConfig = field(default_factory=AlertConfig)
    testimonies: TestimonyConfig = field(default_factory=TestimonyConfig)
    reading: ReadingConfig = field(default_factory=ReadingConfig)

    def __getattr__(self, name: str) -> Any:
        """`config.mastodon` and the like: a platform's section, read by that platform."""
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    @property
    def platforms(self) -> list[str]:
        """Platforms with something to collect, in the registry's stable order."""
        return [name for name, platform in registry.registered().items()
                if name in self.sections and platform.enabled(self.sections[name])]


DEFAULT_CONFIG = """\
# campaign-monitor configuration. Every key is documented in README.md.

[campaign]
name = "Aspire Not To Exclude"
hashtags = ["AspireNotToExclude"]      # without '#'; matched case-insensitively
archive = "archive.db"                 # SQLite file; relative to this file
# organization = "Nurture charity"     # who keeps the archive (written into exported bags)
# contact = "archivist@example.org"    # how to reach them

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
verify_every = "7d"                    # the archive's fixity check ('campaign-monitor verify')
report = "mon 08:00"                   # weekly report
timezone = "Europe/London"
# log_file = "campaign-monitor.log"    # also log to this rotating file
# stream = true                        # also follow Bluesky's Jetstream and Mastodon's streams (or 'run --stream')

[report]                               # 'campaign-monitor report'
out = "reports"                        # one folder per period inside
show_authors = false                   # false: handles appear as stable pseudonyms
# email_to = ["comms@example.org"]     # --email sends the report here
# email_from = "campaign-monitor@example.org"
# smtp_host = "smtp.example.org"       # password from SMTP_PASSWORD
# smtp_port = 587
# smtp_starttls = true
# smtp_user = "campaign-monitor"

# [alerts]                             # 'run' sends these; 'campaign-monitor alerts test' tries them
# factor = 3.0                         # an hour with 3x its usual posts (median + MAD, same hour, 7 days) is a spike
# floor = 5                            # ...and at least 3 x 5 posts: a quiet campaign's few posts are no spike
# check_every = "5m"
# email_to = ["comms@example.org"]     # spike alerts (default: [report] email_to)
# reviewers = ["safeguarding@example.org"]  # the daily review digest: new candidates and flags
# digest_time = "08:00"
# webhook_format = "slack"             # json, slack or ntfy; the URL (a secret) from ALERTS_WEBHOOK_URL

[http]
timeout = 30          # seconds to wait for one response
max_attempts = 5      # tries per request on 429, 5xx, timeouts and garbled replies
backoff = 2.0         # first wait between tries, doubled each time
max_wait = 900        # longest wait (seconds) a rate limit may impose before giving up
max_requests = 10000  # requests one source may make in one run; the next run goes on from there
"""


def _hashtags(values: list, where: str) -> tuple[str, ...]:
    tags = string_list(values, where, "[campaign] hashtags")
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

    platforms = registry.registered()
    known = set(CORE_SECTIONS) | set(platforms)
    for key in doc:
        if key not in known:
            raise ConfigError(
                f"{where}: unknown section or key '{key}' (known: {', '.join(sorted(known))})"
            )
    for name in platforms:
        if name in doc and not isinstance(doc[name], dict):
            raise ConfigError(f"{where}: [{name}] must be a table")

    campaign = section(
        doc,
        "campaign",
        {
            "name": (str, "a string"),
            "hashtags": (list, "a list of hashtags without '#'"),
            "archive": (str, "a path to the SQLite archive"),
            "organization": (str, "the name of the organisation keeping the archive"),
            "contact": (str, "an e-mail address or name"),
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

    return Config(
        path=path,
        name=campaign["name"].strip(),
        hashtags=hashtags,
        archive=archive,
        organization=campaign.get("organization", "").strip(),
        contact=campaign.get("contact", "").strip(),
        sections={name: platform.read_config(doc.get(name), where, path) for name, platform in platforms.items()},
        http=http_section(doc, where),
        schedule=schedule_section(doc, where, path),
        report=report_section(doc, where, path),
        alerts=alerts_section(doc, where, path),
        testimonies=testimonies_section(doc, where, path),
        reading=reading_section(doc, where),
    )
