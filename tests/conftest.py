"""Shared fixtures: fake platforms on 127.0.0.1 and a config file pointing at them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fakes.mastodon import FakeMastodon


@pytest.fixture
def fake_mastodon():
    with FakeMastodon("fake.social") as server:
        yield server


@pytest.fixture
def second_mastodon():
    with FakeMastodon("other.example") as server:
        yield server


def write_config(path: Path, instances: list[str], *, hashtags=("AspireNotToExclude",),
                 extra: str = "") -> Path:
    tags = ", ".join(f'"{t}"' for t in hashtags)
    urls = ", ".join(f'"{u}"' for u in instances)
    path.write_text(
        f'[campaign]\nname = "Test campaign"\nhashtags = [{tags}]\narchive = "archive.db"\n\n'
        + (f"[mastodon]\ninstances = [{urls}]\n\n" if instances else "")
        + "[http]\ntimeout = 2\nmax_attempts = 4\nbackoff = 0.01\nmax_wait = 5\n" + extra,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config_for(tmp_path):
    def make(*servers, **kwargs) -> Path:
        """A config for these fake instances; it replaces the previous one, the archive stays."""
        return write_config(tmp_path / "campaign.toml", [s.url for s in servers], **kwargs)
    return make


@pytest.fixture
def run_cli(monkeypatch):
    """Invoke the real click command group in-process, as a user would from the shell."""
    from monitor.cli import cli

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return run


@pytest.fixture
def smtp_inbox():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; yields (port, the envelopes it received)."""
    import socket

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # a free port: the controller's readiness check needs a real one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox.messages
    finally:
        controller.stop()


def smtp_section(port: int) -> str:
    return (f'email_to = ["comms@example.org"]\nemail_from = "monitor@example.org"\nsmtp_host = "127.0.0.1"\n'
            f"smtp_port = {port}\nsmtp_starttls = false\n")


@pytest.fixture
def fake_reddit(monkeypatch):
    from tests.fakes.reddit import FakeReddit

    monkeypatch.setenv("REDDIT_CLIENT_ID", "app-id")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "app-secret")
    with FakeReddit() as server:
        yield server


def reddit_section(server, *, subreddits=("Teachers",), comments=True, search=()) -> str:
    subs = ", ".join(f'"{s}"' for s in subreddits)
    queries = ", ".join(f'"{q}"' for q in search)
    return (
        f"\n[reddit]\nsubreddits = [{subs}]\nsearch = [{queries}]\ncomments = {str(comments).lower()}\n"
        f'user_agent_contact = "tests@example.org"\noauth_url = "{server.url}"\nreddit_url = "{server.url}"\n'
    )


@pytest.fixture
def fake_bluesky(monkeypatch):
    from tests.fakes.bluesky import FakeBluesky

    monkeypatch.setenv("BLUESKY_HANDLE", "campaign.bsky.social")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "app-pass-word")
    with FakeBluesky() as server:
        yield server


def bluesky_section(server, *, days_back: int = 8, window_hours: int = 48, search=()) -> str:
    from datetime import date, timedelta

    queries = ", ".join(f'"{q}"' for q in search)
    since = (date.today() - timedelta(days=days_back)).isoformat()
    return (f'\n[bluesky]\nservice = "{server.url}"\nsince = "{since}"\nwindow_hours = {window_hours}\n'
            f"search = [{queries}]\n")


def rows(tmp_path: Path, sql: str, params=()) -> list[dict]:
    """Rows of the test's archive, read the way any other SQLite client would."""
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def count_posts(tmp_path: Path) -> int:
    return rows(tmp_path, "SELECT count(*) AS n FROM posts")[0]["n"]


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Tests talk to fakes on 127.0.0.1 only: any other address fails the test at once."""
    import socket

    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("::1", "localhost") or host.startswith("/")):
            raise AssertionError(f"a test tried to reach {address}: tests may only talk to fakes on 127.0.0.1")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
