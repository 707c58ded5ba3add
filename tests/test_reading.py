"""What pictures and videos say: a poster's words and a video's burnt-in captions, read by
`media read` from files the fake instance serves, joining scoring, safeguarding, search,
review, the register and the report. The OCR engine is the real one, on real files."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from tests.conftest import rows
from tests.test_testimonies import _week_of
from tests.fakes.files import captioned_video, poster
from tests.fakes.mastodon import status

POSTER = ["My nurture group", "kept me in school.", "Year 9 and still here!"]
NAMING = ["Jamie Tanner", "Year 4", "Oakfield Primary"]
CAPTIONS = [(0.0, 3.0, "I was excluded twice in Year 7"), (3.0, 6.0, "The nurture group changed everything"),
            (6.0, 9.0, "Now I go to school every day")]


def _post(tmp_path, n: int) -> dict:
    [post] = rows(tmp_path, "SELECT p.id, p.media_text, t.status, t.flagged, t.flag_reasons FROM posts p"
                            " JOIN testimonies t ON t.post_id = p.id WHERE p.key LIKE ?", [f"%/statuses/{n}"])
    return post


@pytest.fixture(scope="module")
def read_once(tmp_path_factory):
    """Posts that say nothing but the hashtag, each with a picture or video, collected and read
    once for the module (reading costs seconds); each test gets its own copy of the archive."""
    from click.testing import CliRunner

    from monitor.cli import cli
    from tests.conftest import write_config
    from tests.fakes.mastodon import FakeMastodon

    folder = tmp_path_factory.mktemp("read")
    with FakeMastodon("fake.social") as fake:
        fake.add(status("fake.social", 1, text="", media=[(poster(POSTER), "image/jpeg", "image", None)]))
        fake.add(status("fake.social", 2, text="", media=[(poster(NAMING), "image/jpeg", "image", None)]))
        fake.add(status("fake.social", 3, text="", media=[(captioned_video(CAPTIONS, 9), "video/mp4", "video",
                                                           None)]))
        fake.add(status("fake.social", 4, text="Our day", media=[(b"not a picture", "image/png", "image", None)]))
        config = write_config(folder / "campaign.toml", [fake.url], extra='\n[report]\nshow_authors = false\n')
        assert CliRunner().invoke(cli, ["collect", "-q", "-c", str(config)]).exit_code == 0
        result = CliRunner().invoke(cli, ["media", "read", "-c", str(config)])
    assert result.exit_code == 0, result.output
    return folder, result.output


@pytest.fixture
def read(read_once, tmp_path):
    folder, output = read_once
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    return tmp_path / "campaign.toml", output


def test_a_poster_alone_makes_its_post_a_testimony_candidate(read, tmp_path):
    post = _post(tmp_path, 1)
    assert post["status"] == "candidate" and not post["flagged"]
    assert post["media_text"].replace("\n", " ") == " ".join(POSTER)


def test_each_line_is_stored_with_its_confidence_box_and_engine_once_per_file(read, tmp_path):
    [reading] = rows(tmp_path, "SELECT r.* FROM media_text r JOIN media_files f ON f.sha256 = r.sha256"
                               " JOIN posts p ON p.id = f.post_id WHERE p.key LIKE '%/statuses/1'")
    lines = json.loads(reading["lines"])
    assert [line["text"] for line in lines] == POSTER
    assert all(line["confidence"] > 0.8 and len(line["box"]) == 4 for line in lines)
    assert reading["engine"].startswith("rapidocr ") and reading["status"] == "read"


def test_a_poster_naming_a_pupil_and_a_school_flags_its_post(read, tmp_path):
    post = _post(tmp_path, 2)
    assert post["flagged"]
    assert rows(tmp_path, "SELECT id FROM visible_posts WHERE id = ?", [post["id"]]) == []


def test_a_videos_burnt_in_captions_become_a_caption_track_with_times(read, tmp_path):
    post = _post(tmp_path, 3)
    [reading] = rows(tmp_path, "SELECT r.lines, r.frames, r.kind FROM media_text r JOIN media_files f"
                               " ON f.sha256 = r.sha256 WHERE f.post_id = ?", [post["id"]])
    track = json.loads(reading["lines"])
    assert reading["kind"] == "video" and [line["text"] for line in track] == [c for _, _, c in CAPTIONS]
    assert not post["flagged"]  # no face in its frames
    for line, (start, end, _) in zip(track, CAPTIONS):
        assert abs(line["start"] - start) <= 1 and abs(line["end"] - end) <= 1
    assert post["status"] == "candidate"


def test_a_file_that_is_not_a_picture_is_recorded_never_blocks_the_others_and_is_tried_later(read, run_cli, tmp_path):
    config, output = read
    [bad] = rows(tmp_path, "SELECT r.status, r.error FROM media_text r JOIN media_files f ON f.sha256 = r.sha256"
                           " JOIN posts p ON p.id = f.post_id WHERE p.key LIKE '%/statuses/4'")
    assert bad["status"] == "unreadable" and "decoded" in bad["error"]
    assert "3 read, 1 unreadable" in output
    assert "0 read, 0 unreadable" in run_cli("media", "read", "-c", str(config)).output  # not again at once
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("UPDATE media_text SET read_at = '2000-01-01T00:00:00+00:00'")  # as if an hour had passed
    conn.commit()
    conn.close()
    assert "0 read, 1 unreadable" in run_cli("media", "read", "-c", str(config)).output  # tried again later
    [again] = rows(tmp_path, "SELECT attempts FROM media_text WHERE status = 'unreadable'")
    assert again["attempts"] == 2


def test_status_counts_the_files_stored_and_read(read, run_cli):
    config, _ = read
    assert "4 media files stored, 3 read for their text, 1 unreadable" in run_cli("status", "-c", str(config)).output


def test_search_finds_a_post_by_the_words_on_its_poster(read, run_cli):
    config, _ = read
    result = run_cli("search", "still here", "-c", str(config))
    [hit] = [json.loads(line) for line in result.output.splitlines()]
    assert "still here" in hit["snippet"]


def test_review_register_and_report_show_what_the_pictures_say(read, run_cli, tmp_path):
    config, _ = read
    post = _post(tmp_path, 1)
    shown = run_cli("testimonies", "show", "-c", str(config), str(post["id"])).output
    assert "What its pictures say" in shown and "kept me in school" in shown
    run_cli("testimonies", "accept", "-c", str(config), str(post["id"]), "--consent", "granted")
    [entry] = [json.loads(line) for line in run_cli("testimonies", "export", "-c", str(config),
                                                    "--format", "jsonl").output.splitlines()]
    assert entry["picture_text"].startswith("My nurture group")
    week = _week_of(tmp_path)
    assert run_cli("report", "-c", str(config), "--since", week[0], "--until", week[1]).exit_code == 0
    report = next((tmp_path / "reports").glob("*/report.md")).read_text()
    assert "Its pictures say: My nurture group" in report


def test_a_redaction_replaces_what_the_pictures_say_and_reading_never_writes_it_back(read, run_cli, tmp_path):
    config, _ = read
    post = _post(tmp_path, 2)
    assert run_cli("testimonies", "redact", "-c", str(config), str(post["id"]), "--text", "",
                   "--media-text", "A pupil's poster").exit_code == 0
    conn = sqlite3.connect(tmp_path / "archive.db")
    conn.execute("DELETE FROM media_text")  # as a new engine would, every file is read again
    conn.commit()
    conn.close()
    assert run_cli("media", "read", "-c", str(config)).exit_code == 0
    assert _post(tmp_path, 2)["media_text"] == "A pupil's poster"
    assert rows(tmp_path, "SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'Oakfield OR Tanner'") == []


def test_alt_text_is_what_the_pictures_say_as_soon_as_a_post_is_collected(fake_mastodon, config_for, run_cli,
                                                                          tmp_path):
    fake_mastodon.add(status("fake.social", 5, text="", media=[
        (poster(["x"]), "image/jpeg", "image", "Year 6 pupils holding a banner: nurture groups work")]))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-q", "-c", str(config)).exit_code == 0
    assert _post(tmp_path, 5)["media_text"] == "Year 6 pupils holding a banner: nurture groups work"
    result = run_cli("search", "banner", "-c", str(config))
    assert result.exit_code == 0 and "banner" in result.output


def test_a_playlist_never_sends_the_video_reader_to_the_network(fake_mastodon, tmp_path):
    from monitor.testimonies.pictures import Unreadable, read_video

    fake_mastodon.files["/seg.ts"] = (captioned_video(CAPTIONS, 3), "video/mp2t")
    playlist = tmp_path / "video.m3u8"
    playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3,\n{fake_mastodon.url}/seg.ts\n#EXT-X-ENDLIST\n")
    with pytest.raises(Unreadable):
        read_video(playlist, per_second=1, max_frames=5, max_seconds=5)
    assert fake_mastodon.requests_to("/seg.ts") == []


def test_captions_seen_in_successive_frames_merge_into_one_line_with_its_span():
    from monitor.testimonies.pictures import Line, merge_captions

    box = [[0, 300], [100, 300], [100, 330], [0, 330]]
    frames = [(0.0, [Line("Nurture kept me in school", 0.9, box)]),
              (1.0, [Line("Nurture kept me in schoo1", 0.8, box)]),
              (2.0, [Line("Year 9 and still here", 0.95, box)])]
    track = merge_captions(frames, 1.0)
    assert [(line.text, line.start, line.end) for line in track] == [
        ("Nurture kept me in school", 0.0, 2.0), ("Year 9 and still here", 2.0, 3.0)]


def test_an_older_archive_gets_its_alt_text_searchable_when_migrated(tmp_path):
    from sqlite_utils import Database

    from monitor.archive import open_archive
    from monitor.archive.migrations import migrations

    path = tmp_path / "archive.db"
    older = Database(sqlite3.connect(path))
    migrations.apply(older, stop_before="m019_media_text")
    older.execute("INSERT INTO posts (id, platform, key, created_at, text, hashtags, media) VALUES"
                  " (1, 'mastodon', 'k1', '2026-11-02', 'Our day', '[]', ?)",
                  [json.dumps([{"type": "image", "url": "https://f/1.png", "description": " Pupils  holding a banner "},
                               {"type": "image", "url": "https://f/2.png", "description": None}])])
    older.conn.commit()
    older.close()
    db = open_archive(path)
    assert db.execute("SELECT media_text FROM posts").fetchone()[0] == "Pupils holding a banner"
    assert db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'banner'").fetchall() == [(1,)]
    assert db.execute("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'day'").fetchall() == [(1,)]


def test_the_daemons_follow_up_reads_what_a_collection_brought(fake_mastodon, config_for, run_cli, tmp_path):
    from monitor.archive import open_archive
    from monitor.core.config import load_config
    from monitor.pipeline.followup import after_collection

    fake_mastodon.add(status("fake.social", 6, text="", media=[(poster(POSTER), "image/jpeg", "image", None)]))
    config = load_config(config_for(fake_mastodon))
    assert run_cli("collect", "-q", "-c", str(config.path)).exit_code == 0
    db = open_archive(config.archive)
    try:
        after_collection(config, db)  # what each of the daemon's collections ends with (Scheduler.collect)
    finally:
        db.close()
    assert _post(tmp_path, 6)["status"] == "candidate"


def test_reading_can_be_turned_off(fake_mastodon, config_for, run_cli, tmp_path):
    from monitor.archive import open_archive
    from monitor.core.config import load_config
    from monitor.pipeline.followup import after_collection

    fake_mastodon.add(status("fake.social", 7, text="", media=[(poster(POSTER), "image/jpeg", "image", None)]))
    config = load_config(config_for(fake_mastodon, extra="\n[reading]\nenabled = false\n"))
    assert run_cli("collect", "-q", "-c", str(config.path)).exit_code == 0
    db = open_archive(config.archive)
    try:
        after_collection(config, db)
    finally:
        db.close()
    assert rows(tmp_path, "SELECT * FROM media_text") == [] and _post(tmp_path, 7)["media_text"] is None


def test_a_face_in_a_videos_frames_flags_its_post(fake_mastodon, config_for, run_cli, tmp_path):
    from PIL import Image
    from skimage.data import astronaut  # a photograph of a person, shipped inside scikit-image

    person = Image.new("RGB", (640, 360), (40, 40, 40))
    person.paste(Image.fromarray(astronaut()).resize((300, 300)), (170, 0))
    fake_mastodon.add(status("fake.social", 8, text="", media=[
        (captioned_video(CAPTIONS[:1], 3, background=person), "video/mp4", "video", None)]))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-q", "-c", str(config)).exit_code == 0
    assert run_cli("media", "read", "-q", "-c", str(config)).exit_code == 0
    post = _post(tmp_path, 8)
    assert post["flagged"] and "face in image" in post["flag_reasons"]
    assert [r["faces"] for r in rows(tmp_path, "SELECT faces FROM media_files")] == [1]
