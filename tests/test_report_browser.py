"""The HTML report in a real browser (Debian's headless Chromium): it renders offline, no
script runs, not even one smuggled in a post, and nothing is logged to the console."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.report_data import record_failure, standard_archive
from tests.test_report import WEEK, campaign  # noqa: F401 - the fixture

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must have Debian's chromium (.ci/run installs it)")
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--window-size=1280,2200"]


def chromium(page: Path, tmp_path: Path, *action: str) -> tuple[str, list[str]]:
    """Run Chromium on the page; return what it printed and the console lines it logged."""
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *action, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


def check_in_browser(page: Path, tmp_path: Path) -> tuple[str, list[str], Path]:
    dom, console = chromium(page, tmp_path, "--dump-dom")
    shot = tmp_path / f"{page.parent.name}.png"
    _, more = chromium(page, tmp_path, f"--screenshot={shot}")
    return dom, console + more, shot


def test_report_with_an_xss_post_renders_with_no_script_and_no_console_error(campaign, tmp_path, run_cli):  # noqa: F811
    standard_archive(tmp_path / "archive.db")
    assert run_cli("report", "-c", str(campaign), *WEEK).exit_code == 0
    page = tmp_path / "reports" / "2026-11-09_to_2026-11-15" / "report.html"
    dom, console, shot = check_in_browser(page, tmp_path)
    assert "data-xss" not in dom.split("<body", 1)[1].split(">", 1)[0]  # the payload's marker was never set
    assert "Posts by source" in dom and "<svg" in dom
    assert console == []
    assert shot.stat().st_size > 20_000


def test_empty_and_failed_periods_render_cleanly(campaign, tmp_path, run_cli):  # noqa: F811
    db = standard_archive(tmp_path / "archive.db")
    record_failure(db, "2026-11-12T10:00:00.000000+00:00")
    assert run_cli("report", "-c", str(campaign), *WEEK).exit_code == 0
    assert run_cli("report", "-c", str(campaign), "--since", "2025-01-06", "--until", "2025-01-13").exit_code == 0
    for label, expected in (("2026-11-09_to_2026-11-15", "What these numbers may be missing"),
                            ("2025-01-06_to_2025-01-12", "Nothing collected in this period")):
        dom, console, _ = check_in_browser(tmp_path / "reports" / label / "report.html", tmp_path)
        assert expected in dom and console == []


def test_browser_check_catches_a_page_that_runs_a_script(tmp_path):
    page = tmp_path / "unsafe" / "report.html"
    page.parent.mkdir()
    page.write_text('<!DOCTYPE html><html><body><script>document.body.setAttribute("data-xss","1");'
                    'console.error("ran")</script></body></html>')
    dom, console, _ = check_in_browser(page, tmp_path)
    assert 'data-xss="1"' in dom and console
