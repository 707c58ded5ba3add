"""The command line as a user meets it: real processes, exit codes, quiet without a terminal."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.fakes.mastodon import lean_status, seed

ROOT = Path(__file__).resolve().parent.parent


def campaign_monitor(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from monitor.cli import main; main()", *args],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_collect_without_a_terminal_prints_no_progress_and_quiet_prints_nothing(fake_mastodon, config_for, tmp_path):
    seed(fake_mastodon, 45)
    config = config_for(fake_mastodon)
    out, err = campaign_monitor("collect", "-c", str(config), cwd=tmp_path).communicate(timeout=60)
    assert "new posts" in out and "45" in out
    assert err == "" and "\r" not in out and "\x1b[" not in out
    quiet = campaign_monitor("collect", "-q", "-c", str(config), cwd=tmp_path)
    assert quiet.communicate(timeout=60) == ("", "") and quiet.returncode == 0


def test_sigterm_stops_collect_keeping_every_whole_page(fake_mastodon, config_for, tmp_path):
    for n in range(800):  # twice PAGES_PER_COMMIT pages: a commit is always left to interrupt
        fake_mastodon.add(lean_status("fake.social", n))
    fake_mastodon.delay = 0.05
    process = campaign_monitor("collect", "-c", str(config_for(fake_mastodon)), cwd=tmp_path)
    archive = tmp_path / "archive.db"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if archive.exists():
            conn = sqlite3.connect(archive)
            try:
                if conn.execute("SELECT count(*) FROM posts").fetchone()[0] >= 80:
                    break
            except sqlite3.Error:
                pass
            finally:
                conn.close()
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Interrupted" in err
    conn = sqlite3.connect(archive)
    posts = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    status = conn.execute("SELECT status FROM runs").fetchone()[0]
    conn.close()
    assert posts % 40 == 0 and 80 <= posts < 800
    assert status == "interrupted"


def test_status_shows_sources_cursors_and_the_last_result(fake_mastodon, config_for, run_cli):
    seed(fake_mastodon, 12)
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    result = run_cli("status", "-c", str(config), "--json")
    state = json.loads(result.output)
    [source] = state["sources"]
    assert (source["posts"], source["last_status"], source["last_new"]) == (12, "ok", 12)
    [cursor] = state["cursors"]
    assert cursor["stream"] == "aspirenottoexclude"
    text = run_cli("status", "-c", str(config)).output
    assert "12 posts by 5 authors" in text and "Cursors" in text


def test_status_shows_a_failed_source_with_its_error(config_for, run_cli):
    from tests.fakes.mastodon import FakeMastodon

    with FakeMastodon("down.example") as down:
        down.fail("404", path="/api/v1/timelines/", times=5)
        config = config_for(down)
        run_cli("collect", "-c", str(config))
    state = json.loads(run_cli("status", "-c", str(config), "--json").output)
    [source] = state["sources"]
    assert source["last_status"] == "failed" and "HTTP 404" in source["last_error"]


def test_status_before_any_collection_says_what_to_run(tmp_path, config_for, fake_mastodon, run_cli):
    result = run_cli("status", "-c", str(config_for(fake_mastodon)))
    assert result.exit_code == 2 and "run 'campaign-monitor collect'" in result.output


def test_version_is_printed(run_cli):
    assert run_cli("--version").output.startswith("campaign-monitor, version ")


def test_collect_on_a_terminal_shows_progress_and_its_table(fake_mastodon, config_for, tmp_path):
    import pty

    seed(fake_mastodon, 90)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", "from monitor.cli import main; main()", "collect", "-c", str(config_for(fake_mastodon))],
        cwd=tmp_path, stdout=follower, stderr=follower, env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"},
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(60) == 0
    text = output.decode(errors="replace")
    assert "new posts" in text and "90" in text
    assert "Traceback" not in text


def test_a_second_collect_on_a_busy_archive_says_so_at_once_and_exits_2(fake_mastodon, config_for, run_cli, tmp_path):
    from monitor.archive.lock import ArchiveLock

    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    with ArchiveLock(tmp_path / "archive.db", "collect"):
        result = run_cli("collect", "-c", str(config))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "busy: in use by campaign-monitor collect (pid " in result.output
