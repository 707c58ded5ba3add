"""Delivering an alert: by e-mail (the report's SMTP path) and by webhook (a JSON POST).

The webhook's URL is a secret (a Slack or ntfy URL lets anyone post to the channel), so it
comes from the environment (`ALERTS_WEBHOOK_URL`) and only its host is ever logged or
stored. A POST goes through the one fault policy every collector uses (429 with
Retry-After, 5xx and timeouts retried with backoff), so a webhook that hiccups is retried
and one that refuses is reported, and neither stops the daemon. Bodies: `json` (the
alert's fields), `slack` (an incoming webhook's `text`, escaped as Slack asks) or `ntfy`
(its JSON publishing: topic, title, message).
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import requests

from monitor.core import http
from monitor.core.config import Config
from monitor.core.records import SourceError
from reports.email import EmailError, send

log = logging.getLogger("campaign_monitor.alerts")
WEBHOOK_ENV = "ALERTS_WEBHOOK_URL"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # bidi overrides too


@dataclass
class Alert:
    """One message, whatever carries it."""

    kind: str  # spike, digest, test
    title: str  # one line: the mail's subject, the notification's title
    lines: list[str]  # the body, plain text
    fields: dict[str, Any] = field(default_factory=dict)  # the JSON webhook's structured part
    to: tuple[str, ...] = ()  # e-mail addresses


def clean(text: str) -> str:
    """Post text made safe to put in a mail, a chat message or a terminal: no control characters."""
    return CONTROL.sub("", text.replace("\r", " "))


def webhook_url() -> str | None:
    return os.environ.get(WEBHOOK_ENV) or None


def slack_escape(text: str) -> str:
    """Slack reads `<...>` as links and mentions (`<!channel>`): &, < and > are escaped, as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_body(alert: Alert, fmt: str, url: str) -> tuple[str, dict[str, Any]]:
    """(where to POST, the JSON body) for the chosen format."""
    text = "\n".join(alert.lines)
    if fmt == "slack":
        return url, {"text": slack_escape(f"*{alert.title}*\n{text}"), "unfurl_links": False, "mrkdwn": True}
    if fmt == "ntfy":  # JSON publishing goes to the server's root, naming the topic
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}/", {
            "topic": parts.path.strip("/").split("/")[-1], "title": alert.title, "message": text,
            "tags": ["chart_with_upwards_trend" if alert.kind == "spike" else "clipboard"]}
    return url, {"kind": alert.kind, "title": alert.title, "text": text, **alert.fields}


def post_webhook(config: Config, alert: Alert, url: str) -> None:
    """POST the alert under the shared fault policy; raise SourceError when it cannot be delivered."""
    target, body = webhook_body(alert, config.alerts.webhook_format, url)
    host = urlsplit(target).netloc
    recorder = http.Recorder("alerts", host)
    session = requests.Session()
    session.trust_env = False  # the configured URL itself, never a proxy named by the environment
    recorder.attach_requests(session)

    def attempt() -> None:
        response = session.post(target, json=body, timeout=config.http.timeout,
                                headers={"User-Agent": "campaign-monitor alerts"})
        response.raise_for_status()

    try:
        http.call(attempt, policy=config.http, recorder=recorder, describe=f"webhook {host}",
                  transport_errors=(requests.RequestException, OSError),
                  on_retry=lambda message: log.warning(message))
    finally:
        session.close()


def mail(config: Config, alert: Alert) -> None:
    message = EmailMessage()
    message["Subject"] = clean(alert.title)[:200]
    message["From"] = config.report.email_from
    message["To"] = ", ".join(alert.to)
    message.set_content("\n".join(alert.lines) + "\n")
    send(config.report, message)


def deliver(config: Config, alert: Alert, *, webhook: bool = True) -> tuple[list[str], str | None]:
    """Send by every configured channel; (where it went, what failed or None). Never raises."""
    delivered, errors = [], []
    if alert.to:
        try:
            if not config.report.email_from:
                raise EmailError("set [report] email_from to mail alerts")
            mail(config, alert)
            delivered.append("email")
        except EmailError as e:
            errors.append(str(e))
    url = webhook_url() if webhook else None
    if url:
        try:
            post_webhook(config, alert, url)
            delivered.append(f"webhook {urlsplit(url).netloc}")
        except SourceError as e:
            errors.append(str(e))
    if not delivered and not errors:
        errors.append(f"nowhere to send it: set [alerts] email_to (with [report] email_from) or {WEBHOOK_ENV}")
    for error in errors:
        log.error("alert %r: %s", alert.title, error)
    return delivered, "; ".join(errors) or None
