"""Hostile post content reaches every output inert, and never stops one (issue #11, 1, 7, 10)."""

from __future__ import annotations

import csv
import json
import re

import openpyxl
import pytest

from reports.cells import markdown, plain, spreadsheet
from tests.report_data import author, build, post

WEEK = ("--since", "2026-11-09", "--until", "2026-11-16")
CONTROLS = "Nurture\x00 group\x0b kept\x1b[31m him in school\x7f"
FORMULA = '=HYPERLINK("http://x.example","click")'
QUOTES = 'She said "I like school now" and it\'s true & lovely <3'


@pytest.fixture
def campaign(tmp_path):
    config = tmp_path / "campaign.toml"
    config.write_text('[campaign]\nname = "Aspire"\nhashtags = ["AspireNotToExclude"]\narchive = "archive.db"\n')
    return config


def hostile_archive(tmp_path, *texts: str) -> None:
    who = author(1)
    build(tmp_path / "archive.db", [post(f"h{n}", f"2026-11-10T1{n}:00:00.000000+00:00", who, text=t, likes=10 - n)
                                    for n, t in enumerate(texts)])


def report_folder(run_cli, campaign):
    result = run_cli("report", "-c", str(campaign), *WEEK)
    assert result.exit_code == 0, result.output
    return campaign.parent / "reports" / "2026-11-09_to_2026-11-15"


def test_control_characters_in_a_post_do_not_stop_the_report_or_leave_a_temp_file(campaign, tmp_path, run_cli):
    hostile_archive(tmp_path, CONTROLS)
    folder = report_folder(run_cli, campaign)
    assert {p.suffix for p in folder.iterdir()} == {".html", ".md", ".csv", ".xlsx"}
    sheet = openpyxl.load_workbook(folder / "report.xlsx")["top_posts"]
    assert [c.value for c in sheet[2] if c.value and "Nurture" in str(c.value)] == ["Nurture group kept[31m him in school"]


def test_the_archive_keeps_the_exact_text_the_outputs_cleaned(campaign, tmp_path, run_cli):
    import sqlite3

    hostile_archive(tmp_path, CONTROLS)
    report_folder(run_cli, campaign)
    [(text,)] = sqlite3.connect(tmp_path / "archive.db").execute("SELECT text FROM posts").fetchall()
    assert text == CONTROLS


def test_a_formula_in_a_post_is_text_in_every_spreadsheet(campaign, tmp_path, run_cli):
    hostile_archive(tmp_path, FORMULA)
    folder = report_folder(run_cli, campaign)
    with open(folder / "top_posts.csv", encoding="utf-8-sig") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["text"] == "'" + FORMULA
    cell = next(c for c in openpyxl.load_workbook(folder / "report.xlsx")["top_posts"][2] if "HYPERLINK" in str(c.value))
    assert cell.data_type == "s" and cell.value == "'" + FORMULA


def test_a_formula_in_a_testimony_is_text_in_the_register(campaign, tmp_path, run_cli):
    hostile_archive(tmp_path, FORMULA + " As a parent, the nurture group kept my son in school, he is thriving now.")
    [(post_id,)] = __import__("sqlite3").connect(tmp_path / "archive.db").execute("SELECT id FROM posts").fetchall()
    run_cli("testimonies", "accept", "-c", str(campaign), str(post_id))
    out = tmp_path / "register.xlsx"
    assert run_cli("testimonies", "export", "-c", str(campaign), "--format", "xlsx", "--out", str(out)).exit_code == 0
    cell = openpyxl.load_workbook(out)["testimonies"]["B2"]
    assert cell.data_type == "s" and cell.value.startswith("'=HYPERLINK")


def test_markdown_and_e_mail_text_show_no_html_entities(campaign, tmp_path, run_cli):
    hostile_archive(tmp_path, QUOTES)
    text = (report_folder(run_cli, campaign) / "report.md").read_text()
    assert "&quot;" not in text and "&#x27;" not in text and "&amp;" not in text
    assert 'She said "I like school now" and it\'s true \\& lovely \\<3' in text


@pytest.mark.parametrize("value, expected", [
    ("-1 exclusion", "'-1 exclusion"), ("+44 7700", "'+44 7700"), ("@everyone", "'@everyone"),
    ("\tTAB", "'\tTAB"), ("plain", "plain"), (42, 42),
])
def test_spreadsheet_cells_that_would_run_as_formulas_are_prefixed(value, expected):
    assert spreadsheet(value) == expected


def test_a_lone_surrogate_becomes_a_replacement_character_every_encoder_accepts():
    assert plain("a\ud800b").encode("utf-8") == "a\ufffdb".encode("utf-8")


def test_markdown_escapes_markup_and_html_without_entities():
    assert markdown("**bold** <script>x</script> [a](b)") == "\\*\\*bold\\*\\* \\<script\\>x\\</script\\> \\[a\\]\\(b\\)"


def test_a_100_kb_post_fits_an_excel_cell():
    assert len(spreadsheet("x" * 100_000)) == 32_767 and json.dumps(spreadsheet("x" * 100_000))


HOSTILE_POSTS = [
    "Nurture\x00 group\x0b kept\x1b[2J him in school \x7f",
    "Our nurture room \ud800 kept her in class",
    '=HYPERLINK("http://x.example","click") +SUM(A1) -2 @cmd',
    '<script>alert(1)</script><img src=x onerror=alert(2)> **bold** [a](javascript:alert(3)) &amp; &quot;',
    "مجموعة الرعاية أبقت ابني في المدرسة \u202eevil\u202c 💜👩‍🏫🏫",
    "As a parent, the nurture group kept my son in school. " + "He is thriving now. " * 5_000,
]


def test_a_hostile_content_fixture_runs_through_every_output_with_no_exception(fake_mastodon, config_for, run_cli,
                                                                                 tmp_path, smtp_inbox):
    from tests.conftest import rows, smtp_section
    from tests.fakes.files import png
    from tests.fakes.mastodon import status
    from tests.test_visibility import _every_output

    port, messages = smtp_inbox
    for n, text in enumerate(HOSTILE_POSTS, start=1):
        fake_mastodon.add(status("fake.social", n, text=text.replace("<", "&lt;") if "<script" in text else text,
                                 likes=n, media=[(png(), "image/png", "image", text[:1500])]))  # alt text too
    config = config_for(fake_mastodon, extra="\n[report]\n" + smtp_section(port))
    result = run_cli("collect", "-c", str(config))
    assert result.exit_code == 0, result.output
    for row in rows(tmp_path, "SELECT id FROM posts"):
        assert run_cli("testimonies", "accept", "-c", str(config), str(row["id"])).exit_code == 0
    outputs = _every_output(run_cli, config, tmp_path, messages)
    for name, text in outputs.items():
        assert "\x00" not in text and "\x1b" not in text and "\ud800" not in text, name
    for name in ("report.html", "report.md", "e-mail"):  # markup formats: the tags are escaped, inert text
        assert not re.search(r"(?<!\\)<(script|img)", outputs[name]), name
    assert "'=HYPERLINK" in outputs["register-accepted.csv"] and '\n=HYPERLINK' not in outputs["register-accepted.csv"]
    assert "💜" in outputs["report.html"] and "مجموعة" in outputs["register-accepted.jsonl"]
    listed = run_cli("testimonies", "list", "-c", str(config))
    assert listed.exit_code == 0 and "\x1b" not in listed.output
