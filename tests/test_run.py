"""`campaign-monitor run`: real daemons, real signals, a fake Mastodon, short intervals."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests import following
from tests.conftest import count_posts, write_config
from tests.fakes.mastodon import FakeMastodon, lean_status, seed

ROOT = Path(__file__).resolve().parent.parent


def daemon(config: Path, *args: str) -> subprocess.Popen:
    """A real daemon; its log goes to a file, as under a service manager (a pipe nobody
    reads fills up and blocks the daemon's logging)."""
    log = open(config.parent / f"daemon-{time.monotonic_ns()}.log", "w+")
    process = subprocess.Popen(
        [sys.executable, "-c", "from monitor.cli import main; main()", "run", "-c", str(config), *args],
        cwd=config.parent, stdout=subprocess.DEVNULL, stderr=log, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def logged(process: subprocess.Popen) -> str:
    process.log.seek(0)  # type: ignore[attr-defined]
    return process.log.read()  # type: ignore[attr-defined]


def schedule(tmp_path: Path) -> dict[str, dict]:
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.row_factory = sqlite3.Row
    try:
        return {r["job"]: dict(r) for r in conn.execute("SELECT * FROM schedule")}
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def wait_for(condition, timeout: float = 30.0) -> None:
    """As the stream tests wait, with a daemon's longer default (it starts a process first)."""
    following.wait_for(condition, timeout)


def runs_of(tmp_path: Path) -> int:
    """Collections the daemon started; 0 while the archive is still being created."""
    conn = sqlite3.connect(tmp_path / "archive.db")
    try:
        return conn.execute("SELECT count(*) FROM runs WHERE command = 'run collect:mastodon'").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def posts_so_far(tmp_path: Path) -> int:
    try:
        return count_posts(tmp_path)
    except sqlite3.Error:
        return 0


def stop(process: subprocess.Popen) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    return process.returncode, logged(process)


def slow_instance(statuses: int) -> FakeMastodon:
    """An instance whose every answer takes 50 ms, so a test can act in the middle of a collection."""
    server = FakeMastodon("slow.example")
    for n in range(statuses):
        server.add(lean_status("slow.example", n))
    server.delay = 0.05
    return server


def config_with_schedule(tmp_path: Path, servers, every: str = "1h") -> Path:
    extra = f'\n[schedule]\ncollect_every = "{every}"\nrefresh_every = "6h"\nreport = "mon 08:00"\ntimezone = "Europe/London"\n'
    return write_config(tmp_path / "campaign.toml", [s.url for s in servers], extra=extra)


def test_first_start_collects_at_once_and_status_shows_the_schedule(fake_mastodon, tmp_path, run_cli):
    seed(fake_mastodon, 30)
    config = config_with_schedule(tmp_path, [fake_mastodon])
    process = daemon(config)
    wait_for(lambda: schedule(tmp_path).get("collect:mastodon", {}).get("last_status") == "ok")
    code, err = stop(process)
    assert code == 0, err
    assert count_posts(tmp_path) == 30
    state = json.loads(run_cli("status", "-c", str(config), "--json").output)
    jobs = {job["job"]: job for job in state["schedule"]}
    assert set(jobs) == {"collect:mastodon", "refresh", "verify", "report"}
    assert jobs["collect:mastodon"]["last_status"] == "ok" and jobs["report"]["next_run_at"]
    assert "Schedule" in run_cli("status", "-c", str(config)).output


def test_restart_after_missed_runs_catches_up_exactly_once(fake_mastodon, tmp_path):
    seed(fake_mastodon, 5)
    config = config_with_schedule(tmp_path, [fake_mastodon], every="1h")
    process = daemon(config)
    wait_for(lambda: schedule(tmp_path).get("collect:mastodon", {}).get("last_status") == "ok")
    assert stop(process)[0] == 0
    # pretend the daemon was down for five intervals
    conn = sqlite3.connect(tmp_path / "archive.db")
    five_hours_ago = (datetime.now(timezone.utc) - timedelta(hours=5)).isoformat()
    conn.execute("UPDATE schedule SET last_run_at = ? WHERE job = 'collect:mastodon'", [five_hours_ago])
    conn.commit()
    conn.close()
    process = daemon(config)
    # the catch-up run has ended once its row names its end; APScheduler would run a burst of
    # missed runs back to back in the same call, each recorded in `runs` before the daemon
    # can exit, so after a clean stop the count says whether one happened
    wait_for(lambda: schedule(tmp_path).get("collect:mastodon", {}).get("last_run_at", "") > five_hours_ago
             and schedule(tmp_path)["collect:mastodon"]["next_run_at"] is not None)
    next_run = datetime.fromisoformat(schedule(tmp_path)["collect:mastodon"]["next_run_at"])
    assert next_run > datetime.now(timezone.utc) + timedelta(minutes=50)
    assert stop(process)[0] == 0
    assert runs_of(tmp_path) == 2


def test_restart_before_the_next_run_is_due_does_not_collect(fake_mastodon, tmp_path):
    config = config_with_schedule(tmp_path, [fake_mastodon], every="1h")
    process = daemon(config)
    wait_for(lambda: schedule(tmp_path).get("collect:mastodon", {}).get("last_status") == "ok")
    assert stop(process)[0] == 0
    process = daemon(config)
    # the daemon records each job's next run, with its pid, once it has scheduled them
    wait_for(lambda: schedule(tmp_path).get("collect:mastodon", {}).get("pid") == process.pid)
    next_run = datetime.fromisoformat(schedule(tmp_path)["collect:mastodon"]["next_run_at"])
    assert next_run > datetime.now(timezone.utc) + timedelta(minutes=50)
    assert stop(process)[0] == 0
    assert runs_of(tmp_path) == 1


def test_second_daemon_on_the_same_archive_refuses_naming_the_first(fake_mastodon, tmp_path):
    config = config_with_schedule(tmp_path, [fake_mastodon])
    first = daemon(config)
    wait_for(lambda: (tmp_path / "archive.db.lock").exists() and schedule(tmp_path))
    second = daemon(config)
    second.wait(timeout=30)
    err = logged(second)
    assert second.returncode == 2
    assert f"busy: in use by campaign-monitor run (pid {first.pid}" in err
    assert stop(first)[0] == 0


def test_sigterm_during_a_collection_keeps_whole_pages_and_exits_0(tmp_path):
    with slow_instance(800) as slow:  # twice PAGES_PER_COMMIT pages: a commit is always left to interrupt
        config = config_with_schedule(tmp_path, [slow])
        process = daemon(config)
        wait_for(lambda: posts_so_far(tmp_path) >= 80)
        code, err = stop(process)
    assert code == 0, err
    posts = count_posts(tmp_path)
    assert posts % 40 == 0 and posts < 800
    assert schedule(tmp_path)["collect:mastodon"]["last_status"] == "interrupted"


def test_platform_failing_every_time_is_logged_and_the_daemon_keeps_going(fake_mastodon, tmp_path):
    seed(fake_mastodon, 3)
    with FakeMastodon("down.example") as down:
        down.fail("500", path="/api/v1/timelines/", times=10_000)
        config = config_with_schedule(tmp_path, [down, fake_mastodon], every="1s")
        process = daemon(config)
        wait_for(lambda: runs_of(tmp_path) >= 3, timeout=60)
        assert process.poll() is None
        code, err = stop(process)
    assert code == 0
    assert "server error (HTTP 500)" in err and "mastodon" in err
    assert schedule(tmp_path)["collect:mastodon"]["last_status"] in ("partial", "interrupted")
    assert count_posts(tmp_path) == 3


def test_logs_go_to_the_rotating_file_and_never_hold_a_token(tmp_path, monkeypatch):
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "tok-SECRET-123")
    with FakeMastodon("private.example", require_auth="tok-SECRET-123") as private:
        seed(private, 3)
        private.fail("503", path="/api/v1/timelines/")
        config = config_with_schedule(tmp_path, [private])
        config.write_text(config.read_text().replace('timezone = "Europe/London"\n',
                                                     'timezone = "Europe/London"\nlog_file = "daemon.log"\n'))
        process = daemon(config)
        wait_for(lambda: schedule(tmp_path).get("collect:mastodon", {}).get("last_status") == "ok")
        code, err = stop(process)
    log = (tmp_path / "daemon.log").read_text()
    assert code == 0 and "collect:mastodon: ok" in log and "server error (HTTP 503)" in log
    assert "tok-SECRET-123" not in log and "tok-SECRET-123" not in err
    assert count_posts(tmp_path) == 3


def test_interrupted_run_is_redone_at_the_next_start(tmp_path):
    with slow_instance(400) as slow:
        slow.delay = 0.3  # ten pages of 40 take 3 s: a commit (at most a second of pages) lands mid-walk
        config = config_with_schedule(tmp_path, [slow])
        process = daemon(config)
        wait_for(lambda: posts_so_far(tmp_path) >= 40)
        code, err = stop(process)
        assert code == 0, err[-3000:]
        assert posts_so_far(tmp_path) < 400, "stopped before the walk's end"
        slow.delay = 0
        process = daemon(config)
        wait_for(lambda: schedule(tmp_path).get("collect:mastodon", {}).get("pid") == process.pid)
        wait_for(lambda: posts_so_far(tmp_path) == 400)
        assert stop(process)[0] == 0


@pytest.mark.slow
def test_daemon_left_running_with_faults_holds_every_served_post_once(
    fake_mastodon, fake_reddit, fake_bluesky, tmp_path, monkeypatch
):
    from tests.conftest import bluesky_section, reddit_section
    from tests.fakes.bluesky import post_view
    from tests.fakes.reddit import submission

    expected: set[str] = set()
    config = write_config(
        tmp_path / "campaign.toml", [fake_mastodon.url],
        extra=reddit_section(fake_reddit, comments=False) + bluesky_section(fake_bluesky)
        + '\n[schedule]\ncollect_every = "1s"\nrefresh_every = "2s"\n',
    )
    config.write_text(config.read_text().replace("backoff = 0.01", "backoff = 0.05"))
    process = daemon(config)
    faults = ["429", "500", "malformed", "truncated", "503"]
    # about 1.2 s a round; SOAK_ROUNDS=150 leaves the daemon running for three minutes
    for round_ in range(int(os.environ.get("SOAK_ROUNDS", "10"))):
        expected |= {s["uri"] for s in seed(fake_mastodon, 10, start=round_ * 10)}
        for n in range(round_ * 5, round_ * 5 + 5):
            expected.add(fake_reddit.add(submission(n))["name"])
            just_now = datetime.now(timezone.utc) - timedelta(seconds=30)  # search indexes within the hour
            expected.add(fake_bluesky.add(post_view(n, created=just_now))["uri"])
        kind = faults[round_ % len(faults)]
        fake_mastodon.fail(kind, path="/api/v1/timelines/", retry_after=1)
        fake_reddit.fail("503" if kind == "truncated" else kind, path="/r/", retry_after=1)
        fake_bluesky.fail(kind, path="/xrpc/app.bsky.feed.searchPosts", retry_after=1)
        time.sleep(1.2)
    def archived() -> set[str]:
        try:
            conn = sqlite3.connect(tmp_path / "archive.db")
            try:
                return {r[0] for r in conn.execute("SELECT key FROM posts")}
            finally:
                conn.close()
        except sqlite3.Error:
            return set()

    # faults still queued fail runs loudly, and the next runs catch up: wait for that
    wait_for(lambda: archived() >= expected, timeout=120)
    assert process.poll() is None
    code, err = stop(process)
    assert code == 0, err
    conn = sqlite3.connect(tmp_path / "archive.db")
    keys = [r[0] for r in conn.execute("SELECT key FROM posts")]
    conn.close()
    assert len(keys) == len(set(keys))
    missing = expected - set(keys)
    assert not missing, (sorted(missing)[:5], err[-3000:])
    assert set(keys) == expected


def test_weekly_report_job_writes_the_last_full_week(fake_mastodon, tmp_path):
    from monitor.core.config import load_config
    from monitor.pipeline.scheduler import Daemon
    from reports.build import weekly_report

    seed(fake_mastodon, 3)
    config = load_config(config_with_schedule(tmp_path, [fake_mastodon]))
    status, summary = Daemon(config, report=weekly_report).report()
    assert status == "ok"
    assert (Path(summary) / "report.html").exists() and Path(summary).parent == tmp_path / "reports"
