"""`export bag`: a BagIt bag that validates in full, fails when tampered with, and leaves out what it must."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import rows
from tests.fakes.mastodon import seed, status
from tests.test_testimonies import FLAGGED, STORY


def validate(bag) -> subprocess.CompletedProcess:
    """The bagit package's own full validation, every checksum recomputed (not --fast)."""
    return subprocess.run([sys.executable, "-m", "bagit", "--validate", str(bag)], capture_output=True, text=True)


@pytest.fixture
def archive(fake_mastodon, config_for, run_cli):
    seed(fake_mastodon, 3)
    fake_mastodon.add(status("fake.social", 8, text=STORY, media=True))
    fake_mastodon.add(status("fake.social", 9, text=FLAGGED, username="jamies_mum"))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-q", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    return config


@pytest.fixture
def bag(archive, run_cli, tmp_path):
    result = run_cli("export", "bag", "-c", str(archive), str(tmp_path / "bag"))
    assert result.exit_code == 0, result.output
    return tmp_path / "bag"


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_bag_passes_full_validation(bag):
    result = validate(bag)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in (bag / "data").iterdir()} >= {"posts.jsonl", "versions.jsonl", "fetches.jsonl",
                                                           "testimonies.csv", "README.txt", "media"}
    assert (bag / "manifest-sha256.txt").exists() and (bag / "manifest-sha512.txt").exists()


@pytest.mark.parametrize("target", ["posts.jsonl", "fetches.jsonl", "media"])
def test_a_bag_fails_validation_after_one_byte_of_a_payload_file_changes(bag, target):
    path = bag / "data" / target
    if path.is_dir():
        path = next(p for p in path.rglob("*") if p.is_file())
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = validate(bag)
    assert result.returncode != 0 and "checksum" in result.stderr.lower()


def test_bag_info_describes_the_campaign_and_carries_the_payload_oxum(bag):
    info = (bag / "bag-info.txt").read_text()
    assert "#AspireNotToExclude" in info and "mastodon" in info
    assert "Payload-Oxum:" in info and "Bagging-Date:" in info and "Source-Organization:" in info


def test_a_flagged_unaccepted_post_is_left_out_and_the_readme_says_why(bag):
    texts = [p["text"] for p in lines(bag / "data" / "posts.jsonl")]
    assert len(texts) == 4 and not any("Jamie" in t for t in texts)
    readme = (bag / "data" / "README.txt").read_text()
    assert "1 posts flagged for safeguarding and not accepted by a reviewer" in readme


def test_a_pseudonymised_bag_names_no_author_anywhere(bag):
    for path in bag.rglob("*"):
        if path.is_file():
            assert b"ms_okafor" not in path.read_bytes(), path
    assert all(p["payload"].startswith("withheld") for p in lines(bag / "data" / "posts.jsonl"))


def test_the_preservation_bag_holds_flagged_posts_and_their_raw_payloads(archive, run_cli, tmp_path):
    out = tmp_path / "full"
    assert run_cli("export", "bag", "--include-flagged", "-c", str(archive), str(out)).exit_code == 0
    assert validate(out).returncode == 0
    posts = lines(out / "data" / "posts.jsonl")
    assert any("Jamie" in p["text"] for p in posts)
    items = [i for f in lines(out / "data" / "fetches.jsonl") for i in f["items"]]
    assert len(items) == 5 and all(i["raw"]["uri"] for i in items)
    assert (out / "data" / "README.txt").read_text().count("PRESERVATION BAG") == 1


def test_the_media_of_a_bag_are_its_posts_files_by_content(bag, tmp_path):
    [media] = rows(tmp_path, "SELECT DISTINCT sha256, path FROM media_files WHERE status = 'stored'")
    copied = bag / "data" / media["path"]
    assert copied.read_bytes() == (tmp_path / media["path"]).read_bytes()
    assert any(media["sha256"] in p["media_sha256"] for p in lines(bag / "data" / "posts.jsonl"))


def test_a_window_keeps_only_posts_created_in_it(archive, run_cli, tmp_path):
    out = tmp_path / "none"
    assert run_cli("export", "bag", "--since", "2001-01-01", "--until", "2001-01-02", "-c", str(archive),
                   str(out)).exit_code == 0
    assert lines(out / "data" / "posts.jsonl") == [] and validate(out).returncode == 0


def test_a_bag_is_never_written_into_a_folder_that_holds_files(archive, run_cli, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = run_cli("export", "bag", "-c", str(archive), str(tmp_path / "taken"))
    assert result.exit_code == 2 and "not an empty folder" in result.output
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.txt"]
