"""What a user can fix ends in one line and exit 2, never a traceback (issue #11, 13)."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import write_config
from tests.fakes.mastodon import lean_status, seed
from tests.report_data import standard_archive

ROOT = Path(__file__).resolve().parent.parent
RUN_CLI = "import sys; from monitor.cli import main; sys.argv[0] = 'campaign-monitor'; main()"


def one_line_error(result_output: str) -> str:
    lines = [line for line in result_output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result_output, result_output
    return lines[0]


def test_a_damaged_archive_is_a_one_line_error(fake_mastodon, config_for, run_cli, tmp_path):
    seed(fake_mastodon, 60)
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    path = tmp_path / "archive.db"
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 3, len(data), 4096):  # every page after the first few: headers and cells
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    for wal in (tmp_path / "archive.db-wal", tmp_path / "archive.db-shm"):
        wal.unlink(missing_ok=True)
    result = run_cli("status", "-c", str(config))
    assert result.exit_code == 2
    assert "archive.db" in one_line_error(result.output)


def test_a_full_disk_during_collection_is_a_one_line_error(fake_mastodon, tmp_path):
    for n in range(2000):
        fake_mastodon.add(lean_status("fake.social", n))
    config = write_config(tmp_path / "campaign.toml", [fake_mastodon.url])

    def small_files():  # the disk is full once a file passes 2 MB: after the schema, during the posts
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000_000, 2_000_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    done = subprocess.run([sys.executable, "-c", RUN_CLI, "collect", "-q", "-c", str(config)], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120,
                          preexec_fn=small_files)
    assert done.returncode == 2, done.stderr
    assert "the disk may be full" in one_line_error(done.stderr)
    conn = sqlite3.connect(tmp_path / "archive.db")  # the schema was written; the posts filled the disk
    assert 0 < conn.execute("SELECT count(*) FROM posts").fetchone()[0] < 2000
    conn.close()


def test_a_log_file_in_a_missing_folder_is_a_one_line_error_before_any_archive(fake_mastodon, tmp_path, run_cli):
    config = write_config(tmp_path / "campaign.toml", [fake_mastodon.url],
                          extra='\n[schedule]\nlog_file = "no/such/folder/monitor.log"\n')
    result = run_cli("run", "-c", str(config))
    assert result.exit_code == 2 and "folder" in one_line_error(result.output)
    assert not (tmp_path / "archive.db").exists()


def test_an_out_folder_that_cannot_be_written_is_a_one_line_error(tmp_path, run_cli):
    config = tmp_path / "campaign.toml"
    config.write_text('[campaign]\nname = "A"\nhashtags = ["AspireNotToExclude"]\narchive = "archive.db"\n')
    standard_archive(tmp_path / "archive.db")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("report", "-c", str(config), "--since", "2026-11-09", "--until", "2026-11-16",
                     "--out", str(blocker / "reports"))
    assert result.exit_code == 2 and "a-file" in one_line_error(result.output)
