"""`campaign-monitor export parquet`: the visible archive as a Parquet dataset, read back with DuckDB."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import reports.parquet
from monitor.archive import open_archive
from monitor.core.config import load_config
from tests.report_data import author, build, post, standard_archive
from tests.test_report import WEEK, campaign, headlines, report  # noqa: F401 - the fixture

FLAGGED = "My son Jamie, aged 7, was nearly excluded from Oakfield Primary. Nurture kept him in school."


def export(run_cli, config: Path, out: Path):
    result = run_cli("export", "parquet", "-c", str(config), str(out))
    assert result.exit_code == 0, result.output
    return result


def query(sql: str, out: Path) -> list[tuple]:
    """`sql` in DuckDB, `posts` naming the export's posts (every month's files) and `authors` its authors."""
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW posts AS SELECT * FROM read_parquet('{out}/posts/*/*.parquet', hive_partitioning = true)")
        con.execute(f"CREATE VIEW authors AS SELECT * FROM read_parquet('{out}/authors.parquet')")
        return con.execute(sql).fetchall()


def test_duckdb_counts_the_weeks_posts_participants_and_engagement_as_the_report_does(campaign, tmp_path, run_cli):  # noqa: F811
    standard_archive(tmp_path / "archive.db")
    numbers = headlines(report(run_cli, campaign))
    export(run_cli, campaign, tmp_path / "pq")
    [(n, people, engagement)] = query("SELECT count(*), count(DISTINCT author), sum(engagement) FROM posts WHERE"
                                      " created_at >= '2026-11-09T00:00:00Z' AND created_at < '2026-11-16T00:00:00Z'",
                                      tmp_path / "pq")
    assert n == float(numbers["Posts"]["value"]) == 5
    assert people == float(numbers["Participants"]["value"])
    assert engagement == float(numbers["Engagement"]["value"])


def test_posts_are_partitioned_by_utc_month(campaign, tmp_path, run_cli):  # noqa: F811
    build(tmp_path / "archive.db", [post("o1", "2026-10-31T23:30:00.000000+00:00", author(1)),
                                    post("n1", "2026-11-01T00:30:00.000000+00:00", author(1))])
    export(run_cli, campaign, tmp_path / "pq")
    assert sorted(p.name for p in (tmp_path / "pq" / "posts").iterdir()) == ["month=2026-10", "month=2026-11"]
    assert query("SELECT id FROM posts WHERE month = '2026-10'", tmp_path / "pq") == [(1,)]


def test_a_flagged_post_and_the_authors_identities_stay_out(campaign, tmp_path, run_cli):  # noqa: F811
    standard_archive(tmp_path / "archive.db")
    build(tmp_path / "archive.db", [post("f1", "2026-11-12T10:00:00.000000+00:00", author(9), text=FLAGGED)])
    export(run_cli, campaign, tmp_path / "pq")
    texts = [t for (t,) in query("SELECT text FROM posts", tmp_path / "pq")]
    assert len(texts) == 7 and FLAGGED not in texts
    authors = query("SELECT author, display_name, url FROM authors", tmp_path / "pq")
    assert len(authors) == 3 and all(a.startswith("participant-") and d is u is None for a, d, u in authors)
    assert {a for (a,) in query("SELECT DISTINCT author FROM posts", tmp_path / "pq")} == {a for a, _, _ in authors}


def test_every_column_carries_its_description(campaign, tmp_path, run_cli):  # noqa: F811
    standard_archive(tmp_path / "archive.db")
    export(run_cli, campaign, tmp_path / "pq")
    for path in (tmp_path / "pq").rglob("*.parquet"):
        schema = pq.read_schema(path)
        assert not [f.name for f in schema if not (f.metadata or {}).get(b"description")], path
        assert b"pseudonymised" in schema.metadata[b"rule"]


def test_an_existing_folder_is_refused_in_one_line(campaign, tmp_path, run_cli):  # noqa: F811
    standard_archive(tmp_path / "archive.db")
    (tmp_path / "pq").mkdir()
    result = run_cli("export", "parquet", "-c", str(campaign), str(tmp_path / "pq"))
    assert result.exit_code != 0 and "already exists" in result.output and len(result.output.splitlines()) == 1


def test_a_failed_export_leaves_no_folder_behind(campaign, tmp_path, run_cli, monkeypatch):  # noqa: F811
    standard_archive(tmp_path / "archive.db")

    def fail(*args):
        raise OSError("No space left on device")

    monkeypatch.setattr(reports.parquet, "_snapshots", fail)
    with pytest.raises(OSError):
        reports.parquet.write_parquet(*_archive(tmp_path, campaign), tmp_path / "pq")
    assert list(tmp_path.glob("*pq*")) == []


def _archive(tmp_path: Path, config: Path):
    return open_archive(tmp_path / "archive.db"), load_config(config)
