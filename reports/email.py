"""Mailing a report: the Markdown summary as text, the HTML report as HTML, the XLSX attached."""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage
from pathlib import Path

from monitor.core.config import ReportConfig

PASSWORD_ENV = "SMTP_PASSWORD"


class EmailError(Exception):
    """The report could not be mailed; the message says what to check."""


def build_message(cfg: ReportConfig, subject: str, markdown: str, html_text: str, xlsx: Path) -> EmailMessage:
    if not cfg.email_to or not cfg.email_from:
        raise EmailError("set [report] email_to and email_from to mail the report")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = cfg.email_from
    message["To"] = ", ".join(cfg.email_to)
    message.set_content(markdown)
    message.add_alternative(html_text, subtype="html")
    message.add_attachment(
        xlsx.read_bytes(), maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename=xlsx.name,
    )
    return message


def send(cfg: ReportConfig, message: EmailMessage, timeout: float = 30) -> None:
    if cfg.smtp_user and not cfg.smtp_starttls and not cfg.allow_plaintext_auth:
        raise EmailError(f"refusing to send the password of smtp_user {cfg.smtp_user!r} in clear to {cfg.smtp_host}: "
                         "set [report] smtp_starttls = true (or, for a trusted local relay only, "
                         "allow_plaintext_auth = true)")
    try:
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=timeout) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls()
            if cfg.smtp_user:
                password = os.environ.get(PASSWORD_ENV)
                if not password:
                    raise EmailError(f"[report] smtp_user is set: put its password in {PASSWORD_ENV}")
                smtp.login(cfg.smtp_user, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as e:
        raise EmailError(f"could not mail the report through {cfg.smtp_host}:{cfg.smtp_port}: {e}") from None
