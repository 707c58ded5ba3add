"""One rule for what outputs may show: flagged posts, redactions, faces in pictures.

A post that may identify a child stays out of every output until a reviewer accepts it,
and words a redaction removed survive only in the raw payloads.
"""

from __future__ import annotations

import email
import json
import sqlite3
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import rows, smtp_section
from tests.fakes.mastodon import status

STORY = ("As a parent I can't thank the nurture staff enough. My daughter went from daily meltdowns to making "
         "friends, and she's back in class full time.")
FLAGGED = ('My son Jamie, aged 7, was nearly excluded from Oakfield Primary. The nurture group kept him in school. '
           '<a href="https://oakfield-primary.example/jamie">https://oakfield-primary.example/jamie</a>')
SECRETS = ("Jamie", "oakfield-primary.example", "oakfieldweek")  # the flagged post's name, link and own hashtag


def _week(tmp_path: Path) -> tuple[str, str]:
    [first] = rows(tmp_path, "SELECT min(created_at) AS d FROM posts")
    start = date.fromisoformat(first["d"][:10]) - timedelta(days=1)
    return start.isoformat(), (start + timedelta(days=8)).isoformat()


@pytest.fixture
def archive(fake_mastodon, config_for, run_cli, tmp_path, smtp_inbox):
    """A story and a flagged post collected through the fake; the report mailed to a real SMTP server."""
    port, messages = smtp_inbox
    fake_mastodon.add(status("fake.social", 1, text=STORY, likes=5, tags=("AspireNotToExclude", "kindness")))
    fake_mastodon.add(status("fake.social", 2, text=FLAGGED, likes=500, tags=("AspireNotToExclude", "OakfieldWeek")))
    config = config_for(fake_mastodon, extra="\n[report]\n" + smtp_section(port))
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    return config, messages


def _every_output(run_cli, config: Path, tmp_path: Path, messages: list) -> dict[str, str]:
    """The text of every file a comms team or an archivist can be handed, by name."""
    since, until = _week(tmp_path)
    assert run_cli("report", "-c", str(config), "--since", since, "--until", until, "--email").exit_code == 0
    outputs = {}
    for path in (tmp_path / "reports").rglob("*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as workbook:
                outputs[path.name] = " ".join(workbook.read(n).decode() for n in workbook.namelist())
        elif path.is_file():
            outputs[path.name] = path.read_text(encoding="utf-8-sig")
    for status_ in ("accepted", "candidate"):
        for fmt in ("csv", "xlsx", "jsonl"):
            out = tmp_path / f"register-{status_}.{fmt}"
            run_cli("testimonies", "export", "-c", str(config), "--format", fmt, "--status", status_, "--out", str(out))
            outputs[out.name] = (" ".join(zipfile.ZipFile(out).read(n).decode() for n in zipfile.ZipFile(out).namelist())
                                 if fmt == "xlsx" else out.read_text(encoding="utf-8-sig"))
    [envelope] = messages
    outputs["e-mail"] = "\n".join(p.get_payload(decode=True).decode("utf-8", "replace")
                                  for p in email.message_from_bytes(envelope.content).walk() if not p.is_multipart()
                                  and not p.get_filename())
    return outputs


def test_a_flagged_post_is_absent_from_every_output(archive, run_cli, tmp_path):
    config, messages = archive
    outputs = _every_output(run_cli, config, tmp_path, messages)
    assert {"report.html", "report.md", "links.csv", "co_hashtags.csv", "top_posts.csv", "report.xlsx",
            "register-candidate.csv", "e-mail"} <= set(outputs)
    leaks = {(name, secret) for name, text in outputs.items() for secret in SECRETS if secret.lower() in text.lower()}
    assert leaks == set()
    assert "kindness" in outputs["co_hashtags.csv"]  # the unflagged post's hashtag is still counted


def test_a_flagged_post_reaches_the_outputs_once_a_reviewer_accepts_it(archive, run_cli, tmp_path):
    config, messages = archive
    [flagged] = rows(tmp_path, "SELECT post_id FROM testimonies WHERE flagged = 1")
    run_cli("testimonies", "accept", "-c", str(config), str(flagged["post_id"]), "--consent", "granted")
    outputs = _every_output(run_cli, config, tmp_path, messages)
    assert "oakfieldweek" in outputs["co_hashtags.csv"] and "Jamie" in outputs["register-accepted.jsonl"]


def test_redacted_words_are_absent_from_every_table_but_the_raw_payloads(archive, fake_mastodon, run_cli, tmp_path):
    config, messages = archive
    [flagged] = rows(tmp_path, "SELECT id, key FROM posts WHERE text LIKE '%Jamie%'")
    fake_mastodon.edit(flagged["key"], FLAGGED.replace("nearly", "very nearly"))
    assert run_cli("refresh", "-c", str(config)).exit_code in (0, 1)
    assert rows(tmp_path, "SELECT count(*) AS n FROM post_versions WHERE post_id = ?", [flagged["id"]])[0]["n"] >= 1
    run_cli("testimonies", "redact", "-c", str(config), str(flagged["id"]), "--text",
            "My son, aged 7, was nearly excluded. The nurture group kept him in school.")
    run_cli("testimonies", "redact", "-c", str(config), str(flagged["id"]), "--text",
            "A pupil was nearly excluded. The nurture group kept him in school.")
    conn = sqlite3.connect(tmp_path / "archive.db")
    found = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"):
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        for row in cursor:
            found += [(table, c) for c, v in zip(columns, row) if isinstance(v, str) and "Jamie" in v]
    conn.close()
    # the raw payloads (and the versions' own) alone keep the original
    assert set(found) <= {("post_payloads", "raw"), ("post_versions", "raw")}
    assert ("post_payloads", "raw") in found
    assert "Jamie" not in json.dumps(_every_output(run_cli, config, tmp_path, messages))


def test_a_face_in_a_testimonys_picture_flags_it_for_a_reviewer(fake_mastodon, config_for, run_cli, tmp_path):
    import cv2
    from skimage.data import astronaut  # a photograph of a person, shipped inside scikit-image

    ok, jpeg = cv2.imencode(".jpg", astronaut()[:, :, ::-1])
    s = fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    fake_mastodon.files[s["media_attachments"][0]["url"].split(fake_mastodon.url)[1]] = (jpeg.tobytes(), "image/jpeg")
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    [scored] = rows(tmp_path, "SELECT flagged, flag_reasons FROM testimonies")
    assert scored["flagged"] == 1
    assert [f["label"] for f in json.loads(scored["flag_reasons"])] == ["face in image: check whether a child is shown"]


def test_a_picture_without_a_face_raises_no_flag(fake_mastodon, config_for, run_cli, tmp_path):
    fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert rows(tmp_path, "SELECT flagged FROM testimonies") == [{"flagged": 0}]
    assert rows(tmp_path, "SELECT faces FROM media_files") == [{"faces": 0}]


MENTIONING = (STORY + " Thanks to @ben_h@other.example for the idea, see "
              '<a href="https://other.example/@ben_h">https://other.example/@ben_h</a>')


@pytest.fixture
def pseudonymised(fake_mastodon, config_for, run_cli, tmp_path, smtp_inbox):
    """A story by ms_okafor that mentions and links another account, accepted, with the report mailed."""
    port, messages = smtp_inbox

    def collect(extra: str = "") -> tuple[Path, list]:
        config = config_for(fake_mastodon, extra="\n[report]\nshow_authors = false\n" + extra + smtp_section(port))
        assert run_cli("collect", "-c", str(config)).exit_code == 0
        assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
        [post] = rows(tmp_path, "SELECT id FROM posts")
        run_cli("testimonies", "accept", "-c", str(config), str(post["id"]), "--consent", "granted")
        return config, messages

    fake_mastodon.add(status("fake.social", 1, text=MENTIONING, username="ms_okafor", likes=20))
    return collect


def test_a_pseudonymised_output_names_no_account_anywhere(pseudonymised, run_cli, tmp_path):
    config, messages = pseudonymised()
    outputs = _every_output(run_cli, config, tmp_path, messages)
    leaks = {(name, handle) for name, text in outputs.items() for handle in ("ms_okafor", "ben_h") if handle in text}
    assert leaks == set()
    assert "participant-" in outputs["register-accepted.csv"] and "Thanks to @…" in outputs["register-accepted.csv"]


def test_post_links_come_back_with_link_posts_and_the_output_says_what_they_reveal(pseudonymised, run_cli, tmp_path):
    config, messages = pseudonymised("link_posts = true\n")
    outputs = _every_output(run_cli, config, tmp_path, messages)
    assert "https://fake.social/@ms_okafor/1" in outputs["report.html"]
    assert "a link names the account that wrote the post" in outputs["report.md"]
