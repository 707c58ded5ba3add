"""`campaign-monitor search`: the archive's words, ranked, as a report may show them."""

from __future__ import annotations

import json

import pytest

from tests.conftest import rows
from tests.fakes.mastodon import status

STORY = ("Our nurture group kept him in school: his attendance went from 60% to 95% and nobody mentions "
         "talks of him being excluded any more. Thank you @mrs_hill@school.example")
OTHER = "A lovely école visit today with the nurture staff, no attendance story here"
FLAGGED = "My son Jamie, aged 7, was nearly excluded from Oakfield Primary. Nurture kept him in school."


def _hits(run_cli, config, query: str, *options: str) -> list[dict]:
    result = run_cli("search", query, "-c", str(config), *options)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


@pytest.fixture
def archive(fake_mastodon, config_for, run_cli):
    fake_mastodon.add(status("fake.social", 1, text=STORY, likes=5))
    fake_mastodon.add(status("fake.social", 2, text=OTHER, likes=1))
    fake_mastodon.add(status("fake.social", 3, text=FLAGGED, likes=50))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    return config


def test_a_stemmed_word_finds_the_post(archive, run_cli):
    [hit] = _hits(run_cli, archive, "excluding")  # "excluded" in the story (and in the flagged post, not shown)
    assert "excluded" in hit["snippet"]
    start, end = hit["highlights"][0]
    assert hit["snippet"][start:end].lower() == "excluded"


def test_boolean_queries_combine_words(archive, run_cli):
    assert len(_hits(run_cli, archive, "nurture AND attendance")) == 2
    [hit] = _hits(run_cli, archive, "nurture AND (attendance NOT ecole)")
    assert "95%" in hit["snippet"]


def test_diacritics_are_ignored(archive, run_cli):
    [hit] = _hits(run_cli, archive, "ecole")
    assert "école" in hit["snippet"]


def test_the_best_match_comes_first(archive, run_cli):
    hits = _hits(run_cli, archive, "attendance OR excluded")
    assert "excluded" in hits[0]["snippet"] and len(hits) == 2


def test_a_flagged_post_is_never_a_hit(archive, run_cli):
    assert _hits(run_cli, archive, "Jamie OR Oakfield") == []


def test_authors_and_mentions_are_pseudonymised_unless_shown(archive, run_cli):
    [hit] = _hits(run_cli, archive, "excluded")
    assert hit["author"].startswith("participant-") and hit["url"] == ""
    assert "mrs_hill" not in hit["snippet"] and "@…" in hit["snippet"]


def test_a_redacted_word_is_no_longer_found(archive, run_cli, tmp_path):
    [post] = rows(tmp_path, "SELECT id FROM posts WHERE text LIKE '%95%%'")
    result = run_cli("testimonies", "redact", "-c", str(archive), str(post["id"]), "--text",
                     "Our nurture group kept him in school. [redacted]")
    assert result.exit_code == 0, result.output
    assert _hits(run_cli, archive, "attendance AND school") == []
    assert len(_hits(run_cli, archive, "redacted")) == 1


def test_a_post_deleted_on_its_platform_is_no_longer_found(archive, fake_mastodon, run_cli, tmp_path):
    [post] = rows(tmp_path, "SELECT key FROM posts WHERE text LIKE '%école%'")
    fake_mastodon.delete(post["key"])
    run_cli("refresh", "-c", str(archive))
    assert _hits(run_cli, archive, "ecole") == []
    assert rows(tmp_path, "SELECT count(*) AS n FROM posts_fts WHERE posts_fts MATCH 'ecole'") == [{"n": 0}]


def test_platform_and_dates_filter_the_hits(archive, run_cli):
    assert _hits(run_cli, archive, "nurture", "--platform", "reddit") == []
    assert _hits(run_cli, archive, "nurture", "--since", "2099-01-01") == []
    assert len(_hits(run_cli, archive, "nurture", "--until", "2099-01-01")) == 2


def test_a_query_fts_cannot_read_is_one_line_naming_it(archive, run_cli):
    result = run_cli("search", "nurture AND (attendance", "-c", str(archive))
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "nurture AND (attendance" in line and "quoted phrases" in line


def test_hostile_text_reaches_a_terminal_without_its_escape_sequences(fake_mastodon, config_for, run_cli, tmp_path):
    from monitor.archive import open_archive
    from reports.pseudonym import Disclosure
    from reports.search import search

    fake_mastodon.add(status("fake.social", 9, text="nurture \x1b]0;owned\x07 \x1b[2J [bold]group[/bold] story"))
    config = config_for(fake_mastodon)
    run_cli("collect", "-c", str(config))
    [hit] = search(open_archive(tmp_path / "archive.db"), "nurture", Disclosure(None, True)).hits
    assert "\x1b" not in hit.snippet and "[bold]group[/bold]" in hit.snippet


def test_a_word_in_very_many_posts_ranks_the_last_collected_matches(fake_mastodon, config_for, run_cli, monkeypatch):
    monkeypatch.setattr("reports.search.RANKED", 2)
    for n in range(1, 6):  # the more "nurture", the better the match; the instance serves 5 first, 1 last
        fake_mastodon.add(status("fake.social", n, text=f"Nurture story {n}" + " nurture" * n))
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    hits = _hits(run_cli, config, "nurture")
    assert [h["snippet"].split()[2] for h in hits] == ["2", "1"]  # the best of the last two collected
