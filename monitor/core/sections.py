"""The optional sections of `campaign.toml`: [reddit], [bluesky] and [schedule].

Kept apart from `monitor.core.config` only for size; `load_config` is still the one reader.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.core.checks import ConfigError, relative, section, string_list, within
from monitor.core.phrases import DEFAULT_SIGNALS, DEFAULT_THRESHOLD


@dataclass(frozen=True)
class HttpPolicy:
    """How hard every collector tries before a source is reported as failed."""

    timeout: float = 30.0
    max_attempts: int = 5
    backoff: float = 2.0
    max_wait: float = 900.0
    max_requests: int = 10_000  # per source and run: a server that never stops paging cannot hold a run forever


@dataclass(frozen=True)
class ScheduleConfig:
    """When `campaign-monitor run` does what; durations in seconds."""

    collect_every: float = 30 * 60
    refresh_every: float = 6 * 3600
    refresh_window: float = 14 * 86400
    verify_every: float = 7 * 86400  # the archive's fixity check (campaign-monitor verify)
    report_day: str = "mon"
    report_time: str = "08:00"
    timezone: str = "Europe/London"
    log_file: Path | None = None
    stream: bool = False  # `run` also follows the platforms' streams (Jetstream, Mastodon streaming)


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
class AlertConfig:
    """[alerts]: spike alerts and the reviewers' daily digest, by e-mail and webhook, from `run`."""

    enabled: bool = False  # the section is present
    factor: float = 3.0  # an hour with this many times its baseline is a spike
    floor: int = 5  # the least baseline (posts an hour): a quiet campaign's few posts are no spike
    check_every: float = 300.0  # seconds between checks
    email_to: tuple[str, ...] = ()  # spike alerts; empty: [report] email_to
    reviewers: tuple[str, ...] = ()  # the review digest's addresses; empty: no digest
    digest_time: str = "08:00"  # daily, in [schedule] timezone
    webhook_format: str = "json"  # json, slack or ntfy; the URL comes from ALERTS_WEBHOOK_URL


WEBHOOK_FORMATS = ("json", "slack", "ntfy")


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
class ReadingConfig:
    """[reading]: what pictures and videos say (`media read`, and the daemon after each collection)."""

    enabled: bool = True
    all_posts: bool = True  # every post's pictures, testimonies' first; false: testimonies' only
    per_run: int = 200  # files read in one run at most: the rest wait for the next
    per_second: float = 1.0  # video frames read a second
    max_frames: int = 120  # frames read of one video at most
    max_seconds: float = 180.0  # of a video, only its start is read
    min_confidence: float = 0.5  # recognised lines the engine is less sure of are left out


DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


MAX_DURATION = 36_525 * 86400  # a century: anything longer is a typo, and overflows the scheduler's clock


def parse_duration(value: str, where: str, label: str) -> float:
    match = DURATION_RE.match(value.strip().lower())
    seconds = float(match.group(1)) * UNITS[match.group(2)] if match else 0
    if not 0 < seconds <= MAX_DURATION:
        raise ConfigError(f"{where}: {label} must be a duration above 0 and at most 100 years, such as '30m', '6h' "
                          f"or '14d', got {value!r}")
    return seconds


def schedule_section(doc: dict, where: str, path: Path) -> ScheduleConfig:
    table = section(
        doc,
        "schedule",
        {
            "collect_every": (str, "a duration such as '30m'"),
            "refresh_every": (str, "a duration such as '6h'"),
            "refresh_window": (str, "a duration such as '14d'"),
            "verify_every": (str, "a duration such as '7d'"),
            "report": (str, "a weekday and time such as 'mon 08:00'"),
            "timezone": (str, "a time zone name such as 'Europe/London'"),
            "log_file": (str, "a path to a log file"),
            "stream": (bool, "true or false"),
        },
        where,
        required=False,
    )
    default = ScheduleConfig()
    durations = {
        key: parse_duration(table[key], where, f"[schedule] {key}")
        for key in ("collect_every", "refresh_every", "refresh_window", "verify_every")
        if key in table
    }
    report = table.get("report", f"{default.report_day} {default.report_time}").strip().lower().split()
    if len(report) != 2 or report[0] not in DAYS or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", report[1]):
        raise ConfigError(
            f"{where}: [schedule] report must be a weekday and a 24-hour time such as 'mon 08:00', "
            f"got {table.get('report')!r}"
        )
    zone = table.get("timezone", default.timezone)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: [schedule] timezone {zone!r} is not a time zone name such as 'Europe/London'") from None
    log_file = None
    if "log_file" in table:
        log_file = Path(table["log_file"])
        if not log_file.is_absolute():
            log_file = path.resolve().parent / log_file
        if not log_file.parent.is_dir():
            raise ConfigError(f"{where}: [schedule] log_file {table['log_file']!r}: folder {log_file.parent} does "
                              "not exist (create it, or name a file in an existing folder)")
    return ScheduleConfig(
        **durations, report_day=report[0], report_time=report[1], timezone=zone, log_file=log_file,
        stream=table.get("stream", False),
    )


def report_section(doc: dict, where: str, path: Path) -> ReportConfig:
    table = section(
        doc,
        "report",
        {
            "out": (str, "a folder for the reports"),
            "show_authors": (bool, "true or false"),
            "key_file": (str, "a path to the pseudonym key file"),
            "email_to": (list, "a list of e-mail addresses"),
            "email_from": (str, "an e-mail address"),
            "smtp_host": (str, "a host name"),
            "smtp_port": (int, "a port number from 1 to 65535", within(1, 65535)),
            "smtp_starttls": (bool, "true or false"),
            "smtp_user": (str, "a user name (the password comes from SMTP_PASSWORD)"),
            "allow_plaintext_auth": (bool, "true or false (send the password without TLS)"),
            "link_posts": (bool, "true or false (show post links, which name their authors)"),
        },
        where,
        required=False,
    )
    email_to = string_list(table.get("email_to", []), where, "[report] email_to")
    for i, address in enumerate(email_to + ([table["email_from"]] if "email_from" in table else [])):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            label = f"email_to[{i}]" if i < len(email_to) else "email_from"
            raise ConfigError(f"{where}: [report] {label} {address!r} is not an e-mail address")
    default = ReportConfig()
    return ReportConfig(
        out=relative(path, table.get("out", "reports")),
        show_authors=table.get("show_authors", False),
        key_file=relative(path, table.get("key_file", str(default.key_file))),
        email_to=tuple(email_to),
        email_from=table.get("email_from", ""),
        smtp_host=table.get("smtp_host", default.smtp_host),
        smtp_port=table.get("smtp_port", default.smtp_port),
        smtp_starttls=table.get("smtp_starttls", default.smtp_starttls),
        smtp_user=table.get("smtp_user", ""),
        allow_plaintext_auth=table.get("allow_plaintext_auth", False),
        link_posts=table.get("link_posts", False),
    )


def _addresses(values: list, where: str, label: str) -> tuple[str, ...]:
    addresses = string_list(values, where, label)
    for i, address in enumerate(addresses):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", address):
            raise ConfigError(f"{where}: {label}[{i}] {address!r} is not an e-mail address")
    return tuple(addresses)


def alerts_section(doc: dict, where: str, path: Path) -> AlertConfig:
    table = section(doc, "alerts", {
        "factor": (float, "a number above 1 (how many times its usual rate makes an hour a spike)",
                   within(1, 1000, above=True)),
        "floor": (int, "a whole number of posts an hour, 1 or more", within(1)),
        "check_every": (str, "a duration such as '5m'"),
        "email_to": (list, "a list of e-mail addresses"),
        "reviewers": (list, "a list of e-mail addresses"),
        "digest_time": (str, "a 24-hour time such as '08:00'"),
        "webhook_format": (str, "json, slack or ntfy"),
    }, where, required=False)
    default = AlertConfig()
    digest_time = table.get("digest_time", default.digest_time)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", digest_time):
        raise ConfigError(f"{where}: [alerts] digest_time must be a 24-hour time such as '08:00', got {digest_time!r}")
    webhook_format = table.get("webhook_format", default.webhook_format)
    if webhook_format not in WEBHOOK_FORMATS:
        raise ConfigError(f"{where}: [alerts] webhook_format must be one of {', '.join(WEBHOOK_FORMATS)}, "
                          f"got {webhook_format!r}")
    return AlertConfig(
        enabled=doc.get("alerts") is not None,
        factor=float(table.get("factor", default.factor)),
        floor=table.get("floor", default.floor),
        check_every=parse_duration(table["check_every"], where, "[alerts] check_every")
        if "check_every" in table else default.check_every,
        email_to=_addresses(table.get("email_to", []), where, "[alerts] email_to"),
        reviewers=_addresses(table.get("reviewers", []), where, "[alerts] reviewers"),
        digest_time=digest_time,
        webhook_format=webhook_format,
    )


def testimonies_section(doc: dict, where: str, path: Path) -> TestimonyConfig:
    kinds = {k: (list, "a list of phrases (regular expressions)") for k in DEFAULT_SIGNALS}
    table = section(doc, "testimonies", {
        **kinds,
        "threshold": (float, "a probability between 0 and 1 (what the model must give a candidate)"),
        "media": (bool, "true or false (download testimonies' attachments)"),
        "media_max_mb": (float, "a size in megabytes above 0, at most 100000", within(0, 100_000, above=True)),
        "media_deadline": (float, "a number of seconds above 0 one download may take in all, at most 86400",
                           within(0, 86400, above=True)),
        "retrain_after": (int, "a whole number of new reviewer decisions (0: never retrain by itself)",
                          within(0)),
        "corpus": (str, "a path to a JSON-lines file of labelled posts ({\"text\": ..., \"testimony\": true})"),
    }, where, required=False)
    threshold = float(table.get("threshold", DEFAULT_THRESHOLD))
    if not 0 < threshold < 1:
        raise ConfigError(f"{where}: [testimonies] threshold = {threshold} is not a probability strictly between 0 "
                          "and 1 (scores are the model's probability since the learned scorer; 0.5 is the default)")
    retrain_after = table.get("retrain_after", 20)
    corpus = relative(path, table["corpus"]) if "corpus" in table else None
    if corpus is not None and not corpus.is_file():
        raise ConfigError(f"{where}: [testimonies] corpus = {table['corpus']!r}: no such file ({corpus})")
    signals = {}
    for kind, default in DEFAULT_SIGNALS.items():
        phrases = string_list(table.get(kind, default), where, f"[testimonies] {kind}")
        for i, phrase in enumerate(phrases):
            try:
                re.compile(phrase)
            except re.error as e:
                raise ConfigError(f"{where}: [testimonies] {kind}[{i}] {phrase!r} is not a valid pattern: {e}") from None
        signals[kind] = phrases
    return TestimonyConfig(
        signals=signals,
        threshold=threshold,
        media=table.get("media", True),
        media_max_bytes=int(float(table.get("media_max_mb", 50)) * 1024 * 1024),
        media_deadline=float(table.get("media_deadline", 120)),
        retrain_after=retrain_after,
        corpus=corpus,
    )


def reading_section(doc: dict, where: str) -> ReadingConfig:
    table = section(doc, "reading", {
        "enabled": (bool, "true or false (read the text in pictures and videos)"),
        "all_posts": (bool, "true or false (every post's pictures; false: testimony candidates' only)"),
        "per_run": (int, "a whole number of files from 1 to 100000", within(1, 100_000)),
        "per_second": (float, "a number of video frames a second above 0, at most 30", within(0, 30, above=True)),
        "max_frames": (int, "a whole number of frames from 1 to 100000", within(1, 100_000)),
        "max_seconds": (float, "a number of seconds above 0, at most 86400", within(0, 86400, above=True)),
        "min_confidence": (float, "a number from 0 to 1", within(0, 1)),
    }, where, required=False)
    return ReadingConfig(**{k: (float(v) if isinstance(getattr(ReadingConfig, k), float) else v)
                            for k, v in table.items()})


def http_section(doc: dict, where: str) -> HttpPolicy:
    table = section(
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
    return HttpPolicy(**{k: (int(v) if k in ("max_attempts", "max_requests") else float(v)) for k, v in table.items()})
