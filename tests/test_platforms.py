"""A platform is one package: registering a toy one at test time needs no other module changed."""

from __future__ import annotations

import sqlite3

import pytest

from monitor.core import platforms as registry
from tests import example_platform

CONFIG = """[campaign]
name = "Toy campaign"
hashtags = ["AspireNotToExclude"]
archive = "archive.db"

[example]
feeds = ["toy"]
"""


@pytest.fixture
def example(tmp_path):
    registry.register(example_platform)
    example_platform.SERVED[:] = [
        {"id": str(i), "text": f"post {i} #AspireNotToExclude", "tags": ["AspireNotToExclude"]} for i in range(1, 6)
    ]
    example_platform.GONE.clear()
    path = tmp_path / "campaign.toml"
    path.write_text(CONFIG, encoding="utf-8")
    yield path
    registry.unregister("example")


def test_the_installed_platforms_come_from_the_registry():
    assert {"mastodon", "reddit", "bluesky"} <= set(registry.registered())


def test_a_registered_platform_reads_its_own_config_section(example):
    from monitor.core.config import load_config

    config = load_config(example)
    assert config.platforms == ["example"]
    assert config.example.feeds == ("toy",)


def test_a_registered_platform_is_collected_by_the_unchanged_pipeline(example, run_cli):
    result = run_cli("collect", "--quiet", "-c", str(example))
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(example.parent / "archive.db")
    assert db.execute("SELECT count(*) FROM posts WHERE platform = 'example'").fetchone()[0] == 5
    assert db.execute("SELECT position FROM cursors WHERE platform = 'example'").fetchone()[0] == "5"


def test_a_registered_platform_is_refreshed_and_its_deletions_tombstoned(example, run_cli):
    assert run_cli("collect", "--quiet", "-c", str(example)).exit_code == 0
    example_platform.GONE.add("example:3")
    result = run_cli("refresh", "-c", str(example))
    assert result.exit_code == 0, result.output
    db = sqlite3.connect(example.parent / "archive.db")
    assert db.execute("SELECT deleted_at IS NOT NULL, text FROM posts WHERE key = 'example:3'").fetchone() == (1, None)


def test_an_unknown_platform_section_names_the_known_ones(tmp_path):
    from monitor.core.config import ConfigError, load_config

    path = tmp_path / "campaign.toml"
    path.write_text(CONFIG, encoding="utf-8")  # [example] while no such platform is installed
    with pytest.raises(ConfigError, match=r"unknown section or key 'example' \(known: .*mastodon"):
        load_config(path)
