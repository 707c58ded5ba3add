"""SIGKILL at random moments during a large ingest never leaves a cursor ahead of its posts.

A real `campaign-monitor collect` process is killed at least 200 times in all while it
pulls a long hashtag timeline from the fake instance. After every kill the archive must
pass `PRAGMA integrity_check` and hold every status up to its cursor; a final rerun must
complete the archive with every status exactly once. The same harness run against a
deliberately broken writer (cursor committed before the posts), crashed at the exact
point between its two commits, must be found damaged, which shows the check can fail.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from monitor.archive import db as archive
from monitor.archive import open_archive, start_run
from monitor.core.records import Author, Fetch, Page, Post
from tests.conftest import write_config
from tests.fakes.mastodon import FakeMastodon, lean_status

KILLS = 200
STATUSES = 800
ROOT = Path(__file__).resolve().parent.parent

RUN_CLI = "import sys; from monitor.cli import main; sys.argv[0] = 'campaign-monitor'; main()"
# The same writer with its two steps in the wrong order and in two transactions a page.
BROKEN_WRITER = """
from monitor.archive import db as archive
def save_pages(db, pages, run_id):
    results = []
    for page in pages:
        with archive.write_transaction(db):
            fetch_id = archive._insert_fetches(db, page.fetches, run_id)
            if page.cursor is not None:
                archive.advance_cursor(db, page, run_id)
        with archive.write_transaction(db):
            results.append(archive.store_posts(db, [(page.posts, fetch_id)], page.source))
    return results
archive.save_pages = save_pages
"""


# A crash injected at the exact point that matters: right after the commit that makes the
# third page's cursor durable. The broken writer commits that cursor before the page's posts;
# the real writer commits it with its page (and the pages batched with it), whole.
CRASH_AFTER_FIRST_COMMIT = """
import os, signal
from contextlib import contextmanager
from monitor.archive import db as archive
_cursors, _real_transaction, _real_advance = [0], archive.write_transaction, archive.advance_cursor
def _counted(db, page, run_id):
    _real_advance(db, page, run_id)
    _cursors[0] += 1
archive.advance_cursor = _counted
@contextmanager
def _crashing_transaction(db):
    with _real_transaction(db):
        yield
    if _cursors[0] >= 3:
        os.kill(os.getpid(), signal.SIGKILL)
archive.write_transaction = _crashing_transaction
"""


def start(config: Path, broken: bool, prelude: str = "") -> subprocess.Popen:
    code = (BROKEN_WRITER if broken else "") + prelude + RUN_CLI
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, "collect", "--quiet", "-c", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=config.parent,
    )


def violations(archive: Path, served_ids: dict[str, str]) -> list[str]:
    """What is wrong with the archive now; empty when it can be trusted."""
    if not archive.exists():
        return []
    conn = sqlite3.connect(archive)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            return ["integrity_check failed"]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "cursors" not in tables:
            return []
        row = conn.execute("SELECT position FROM cursors").fetchone()
        stored = {r[0] for r in conn.execute("SELECT key FROM posts")}
    finally:
        conn.close()
    if row is None:
        return []
    position = int(row[0])
    missing = [uri for uri, local in served_ids.items() if int(local) <= position and uri not in stored]
    return [f"{len(missing)} statuses at or below cursor {position} are missing"] if missing else []


def stored_posts(archive: Path) -> int:
    """How many posts a committed cursor covers so far (0 before the first page)."""
    if not archive.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{archive}?mode=ro", uri=True, timeout=0.1)
        try:
            if not conn.execute("SELECT count(*) FROM cursors").fetchone()[0]:
                return 0
            return conn.execute("SELECT count(*) FROM posts").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def ingest_span(config: Path, total: int) -> tuple[float, float]:
    """When a whole ingest stores its first page, and when its last, from process start.

    Kills are spread over that span: a kill before the first page tests nothing, and
    neither does one during the scoring that follows the ingest.
    """
    began = time.monotonic()
    process = start(config, broken=False)
    first = last = None
    while process.poll() is None:
        if last is None:
            stored = stored_posts(config.parent / "archive.db")
            if first is None and stored:
                first = time.monotonic() - began
            if stored >= total:
                last = time.monotonic() - began
        time.sleep(0.01)
    assert process.returncode == 0
    return (first or 0.0), last or (time.monotonic() - began)


def kill_episodes(server: FakeMastodon, served: dict[str, str], folder: Path, kills: int,
                  seed_value: int) -> tuple[int, list[str]]:
    """Kill collect `kills` times, on a fresh archive every 12 kills, checking after each."""
    rng = random.Random(seed_value)
    done, found, episode = 0, [], 0
    probe = folder / "probe"
    probe.mkdir(parents=True)
    first_page, finished = ingest_span(write_config(probe / "campaign.toml", [server.url]), len(served))
    while done < kills:
        episode_dir = folder / f"episode{episode}"
        episode_dir.mkdir()
        config = write_config(episode_dir / "campaign.toml", [server.url])
        for _ in range(min(12, kills - done)):
            process = start(config, broken=False)
            time.sleep(rng.uniform(first_page * 0.9, finished))
            process.send_signal(signal.SIGKILL)
            process.wait()
            done += 1
            found.extend(violations(episode_dir / "archive.db", served))
        assert start(config, broken=False).wait(120) == 0
        conn = sqlite3.connect(episode_dir / "archive.db")
        keys = [r[0] for r in conn.execute("SELECT key FROM posts")]
        conn.close()
        assert sorted(keys) == sorted(served), "the rerun must complete the archive, each post once"
        episode += 1
    return done, found


def kill_repeatedly(tmp_path: Path, kills: int) -> tuple[int, list[str]]:
    """Two workers (the machine has two cores) share the kills, each with its own archives."""
    with FakeMastodon("crash.example") as server:
        served = {}
        for n in range(STATUSES):
            s = server.add(lean_status("crash.example", n))
            served[s["uri"]] = s["id"]
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(kill_episodes, server, served, tmp_path / f"worker{i}", kills // 2, 20261123 + i)
                       for i in range(2)]
            results = [f.result() for f in futures]
    return sum(r[0] for r in results), [p for r in results for p in r[1]]


@pytest.mark.slow  # minutes of SIGKILLs: `pytest -m slow`, run by CI
@pytest.mark.timeout(900)  # about 7 minutes on two cores; the margin is for slower machines
def test_sigkill_at_random_moments_never_leaves_a_cursor_ahead_of_its_posts(tmp_path):
    done, problems = kill_repeatedly(tmp_path, KILLS)
    assert done >= KILLS
    assert problems == []


def _crash_at_the_exact_point(tmp_path: Path, broken: bool) -> list[str]:
    with FakeMastodon("crash.example") as server:
        served = {}
        for n in range(200):
            s = server.add(lean_status("crash.example", n))
            served[s["uri"]] = s["id"]
        config = write_config(tmp_path / "campaign.toml", [server.url])
        process = start(config, broken, CRASH_AFTER_FIRST_COMMIT)
        assert process.wait(60) == -signal.SIGKILL
    return violations(tmp_path / "archive.db", served)


def test_the_check_catches_a_writer_that_commits_the_cursor_before_the_posts(tmp_path):
    # the negative control, deterministic: the crash lands between the broken writer's two commits
    assert _crash_at_the_exact_point(tmp_path, broken=True)


def test_the_same_crash_leaves_the_real_writers_archive_whole(tmp_path):
    assert _crash_at_the_exact_point(tmp_path, broken=False) == []


def _pages_with_cursors(count: int, size: int = 40) -> list[Page]:
    author = Author("mastodon", "https://power.example/users/a", "a@power.example", followers_count=5)
    pages = []
    for p in range(count):
        posts = [Post("mastodon", f"https://power.example/s/{i}", None, author, "2026-11-02T09:00:00.000000+00:00",
                      f"story {i} " + "x" * 200, {"id": str(i)}, local_id=str(i))
                 for i in range(p * size, (p + 1) * size)]
        fetch = Fetch("mastodon", "power.example", "GET", "/api/v1/timelines/tag/x", {"min_id": p * size}, 200,
                      "2026-11-02T09:00:00+00:00")
        pages.append(Page("mastodon", "power.example", "x", posts, [fetch], str((p + 1) * size - 1)))
    return pages


def _cursor_first(db, page: Page, run_id: int) -> None:
    """The writer a power cut would break: the cursor committed before the page's posts."""
    with archive.write_transaction(db):
        archive.advance_cursor(db, page, run_id)
    with archive.write_transaction(db):
        archive.store_posts(db, [(page.posts, None)], page.source)


def _wal_tail_losses(folder: Path, save) -> tuple[list[str], set[int]]:
    """Save 12 pages with checkpoints off, then open a copy of the archive at every frame
    boundary of its WAL (what a power cut may leave); return what is wrong in each copy."""
    path = folder / "archive.db"
    db = open_archive(path)
    db.execute("PRAGMA wal_autocheckpoint = 0")  # keep every commit in the WAL, as between checkpoints
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    run_id = start_run(db, "power cut")
    for page in _pages_with_cursors(12):
        save(db, page, run_id)
    wal = (folder / "archive.db-wal").read_bytes()
    image = path.read_bytes()
    db.close()
    frame = 24 + int.from_bytes(wal[8:12], "big")  # frame header + page size (WAL header bytes 8-11)
    problems, positions = [], set()
    for n, cut in enumerate(range(32, len(wal) + 1, frame)):
        copy = folder / f"cut{n}"
        copy.mkdir()
        (copy / "archive.db").write_bytes(image)
        (copy / "archive.db-wal").write_bytes(wal[:cut] + bytes(range(256)) * 4)  # a torn frame after the cut
        conn = sqlite3.connect(copy / "archive.db")
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            problems.append(f"cut at byte {cut}: integrity_check failed")
        row = conn.execute("SELECT position FROM cursors").fetchone()
        stored = {int(k.rsplit("/", 1)[1]) for (k,) in conn.execute("SELECT key FROM posts")}
        conn.close()
        position = int(row[0]) if row else -1
        positions.add(position)
        if not all(i in stored for i in range(position + 1)):
            problems.append(f"cut at byte {cut}: cursor {position} ahead of the stored posts")
    return problems, positions


def test_a_power_cut_that_loses_the_wal_tail_never_leaves_a_cursor_ahead_of_its_posts(tmp_path):
    """Why `synchronous = NORMAL` is safe here. In WAL mode NORMAL does not sync at each commit,
    so a power cut may lose the last transactions: what survives is a prefix of the WAL (frames
    carry checksums; recovery stops at the first torn one). A page and its cursor are one
    transaction, so every prefix is an archive whose cursor covers only stored posts, and the
    lost pages are simply fetched again."""
    problems, positions = _wal_tail_losses(tmp_path, archive.save_page)
    assert problems == []
    assert len(positions) >= 10, "the cuts land between many different commits"


def test_the_wal_tail_check_catches_a_writer_that_commits_the_cursor_first(tmp_path):
    problems, _ = _wal_tail_losses(tmp_path, _cursor_first)
    assert problems and all("ahead of the stored posts" in p for p in problems)
