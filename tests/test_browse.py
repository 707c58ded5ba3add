"""`campaign-monitor browse`: the real command serving Datasette on loopback. Anyone who reaches
the pages sees what a report may show; everything else waits for the archivist's sign-in."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from datasette_auth_passwords.utils import hash_password

from tests.report_data import author, build, post, standard_archive
from tests.test_report_browser import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
FLAGGED = "My son Jamie, aged 7, was nearly excluded from Oakfield Primary. Nurture kept him in school."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The browse command on a small archive (the report tests' week, plus a flagged post)."""
    folder = tmp_path_factory.mktemp("browse")
    (folder / "campaign.toml").write_text('[campaign]\nname = "Aspire Not To Exclude"\n'
                                          'hashtags = ["AspireNotToExclude"]\narchive = "archive.db"\n')
    standard_archive(folder / "archive.db").close()
    build(folder / "archive.db", [post("f1", "2026-11-12T10:00:00.000000+00:00", author(9), text=FLAGGED)]).close()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAMPAIGN_MONITOR_ARCHIVIST_HASH": hash_password(PASSWORD)}
    server = subprocess.Popen([sys.executable, "-c", "from monitor.cli import main; main()", "browse",
                               "-c", str(folder / "campaign.toml"), "--port", str(port)],
                              cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(base + "/-/versions.json", timeout=5).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"browse did not start: {server.stderr.read()}")
            time.sleep(0.2)
    yield base, folder
    server.terminate()
    server.wait(timeout=10)


def _get(url: str, opener=None) -> tuple[int, str]:
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def _json(url: str, opener=None):
    status, body = _get(url, opener)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def _flagged_id(folder: Path) -> int:
    with sqlite3.connect(folder / "archive.db") as conn:
        return conn.execute("SELECT id FROM posts WHERE key = 'f1'").fetchone()[0]


def _archivist(base: str):
    """A browser-like session signed in as the archivist through Datasette's own login form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    _, form = _get(base + "/-/login", opener)
    token = re.search(r'name="csrftoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode({"username": "archivist", "password": PASSWORD, "csrftoken": token}).encode()
    opener.open(urllib.request.Request(base + "/-/login", data=body), timeout=30).close()
    return opener


def test_anyone_sees_the_posts_a_report_may_show_with_pseudonymous_authors(site):
    base, _ = site
    shown = _json(base + "/archive/browse_posts.json?_shape=array")
    assert len(shown) == 7 and FLAGGED not in json.dumps(shown)
    assert all(p["author"].startswith("participant-") for p in shown)
    assert "teacher1@m.example" not in _get(base + "/archive/browse_posts")[1]


@pytest.mark.parametrize("path", ["/archive/posts", "/archive/authors", "/archive/post_payloads/1",
                                  "/archive/fetches.json", "/archive/posts_fts", "/archive?sql=select+text+from+posts",
                                  "/archive/browse_posts?_where=1%3D1", "/archive/flagged_for_review"])
def test_without_signing_in_base_tables_raw_payloads_and_sql_are_refused(site, path):
    base, _ = site
    assert _get(base + path)[0] == 403


def test_a_flagged_post_is_refused_by_its_address_and_absent_from_search(site):
    base, folder = site
    assert _get(base + f"/archive/posts/{_flagged_id(folder)}")[0] == 403
    assert _json(base + "/archive/browse_posts.json?text__contains=Jamie&_shape=array") == []
    assert _json(base + "/archive/browse_posts.json?_search=Jamie&_shape=array") == []
    assert _json(base + "/archive/search.json?q=Oakfield&_shape=array") == []


def test_search_ranks_and_marks_the_matching_words(site):
    base, _ = site
    hits = _json(base + "/archive/search.json?q=nurture&_shape=array")
    assert len(hits) == 6 and all(re.search("\x02nurture\x03", h["snippet"], re.I) for h in hits)
    assert re.search("<mark>nurture</mark>", _get(base + "/archive/search?q=nurture")[1], re.I)


def test_the_posts_page_counts_the_rows_it_may_show(site):
    base, _ = site
    assert _json(base + "/archive/browse_posts.json")["filtered_table_rows_count"] == 7
    assert _json(base + "/archive/browse_posts.json?text__contains=Boxall")["filtered_table_rows_count"] == 1


def test_the_search_box_of_the_posts_page_uses_the_stemmed_index(site):
    base, _ = site
    [found] = _json(base + "/archive/browse_posts.json?_search=profiles&_shape=array")
    assert "Boxall profile" in found["text"]


def test_a_query_the_index_cannot_parse_is_an_error_on_the_page_not_a_crash(site):
    base, _ = site
    status, page = _get(base + "/archive/search?q=" + urllib.parse.quote('nurture AND ("'))
    assert status == 400 and '<p class="message-error">unterminated string</p>' in page


def test_the_password_hash_is_never_published(site):
    base, _ = site
    hashed = os.environ.get("CAMPAIGN_MONITOR_ARCHIVIST_HASH")
    body = _get(base + "/-/metadata.json")[1]
    assert "pbkdf2_sha256" not in body and (hashed is None or hashed not in body)


def test_the_archivist_signs_in_and_reaches_payloads_and_flagged_posts(site):
    base, folder = site
    archivist = _archivist(base)
    assert _json(base + "/-/actor.json", archivist)["actor"] == {"id": "archivist"}
    assert _get(base + "/archive/post_payloads/1", archivist)[0] == 200
    flagged = _json(base + "/archive/flagged_for_review.json?_shape=array", archivist)
    assert [p["text"] for p in flagged] == [FLAGGED]
    assert _get(base + f"/archive/posts/{_flagged_id(folder)}", archivist)[0] == 200


def test_every_table_and_column_is_described(site):
    base, folder = site
    tables = _json(base + "/-/metadata.json")["databases"]["archive"]["tables"]
    with sqlite3.connect(folder / "archive.db") as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
        missing = [f"{n}.{c}" for n in names for (c,) in conn.execute(f"SELECT name FROM pragma_table_info('{n}')")
                   if not tables.get(n, {}).get("columns", {}).get(c)]
    assert not [n for n in [*names, "browse_posts"] if not tables.get(n, {}).get("description")]
    assert missing == []


def _dom(url: str, tmp_path: Path) -> tuple[str, list[str]]:
    result = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", url],
                            capture_output=True, text=True, timeout=120)
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def test_in_a_browser_the_archive_page_lists_the_canned_queries(site, tmp_path):
    base, _ = site
    dom, _ = _dom(base + "/archive", tmp_path)
    for title in ("Search posts", "Top posts by engagement", "Testimony candidates", "Coverage of the last 7 days"):
        assert title in dom
    assert "Flagged posts awaiting review" not in dom  # the archivist's query is listed to the archivist only


def test_in_a_browser_an_anonymous_raw_payload_address_is_refused(site, tmp_path):
    base, _ = site
    dom, _ = _dom(base + "/archive/post_payloads/1", tmp_path)
    assert "Forbidden" in dom and '"raw"' not in dom and "fake.social" not in dom


def test_in_a_browser_a_hostile_post_is_text_on_every_page(site, tmp_path):
    base, _ = site
    for path in ("/archive/browse_posts", "/archive/search?q=story", "/archive/top_posts"):
        dom, _ = _dom(base + path, tmp_path)
        assert "data-xss" not in dom.split("<body", 1)[1].split(">", 1)[0], path
        assert "&lt;script&gt;" in dom, path
    assert "<mark>story</mark>" in _dom(base + "/archive/search?q=story", tmp_path)[0]
