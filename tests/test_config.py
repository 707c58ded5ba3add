"""The config file: what `init` writes, and one-line errors for everything else."""

from __future__ import annotations

import pytest

from monitor.core.config import DEFAULT_CONFIG, ConfigError, load_config


def write(tmp_path, text):
    path = tmp_path / "campaign.toml"
    path.write_text(text)
    return path


def test_init_writes_a_config_for_the_first_campaign(tmp_path, run_cli):
    path = tmp_path / "campaign.toml"
    result = run_cli("init", "-c", str(path))
    assert result.exit_code == 0
    config = load_config(path)
    assert config.hashtags == ("AspireNotToExclude",)
    assert config.mastodon.instances == ("https://mastodon.social", "https://mastodonapp.uk")
    assert config.archive == tmp_path / "archive.db"


def test_init_refuses_to_overwrite_an_existing_config(tmp_path, run_cli):
    path = write(tmp_path, "# mine\n")
    result = run_cli("init", "-c", str(path))
    assert result.exit_code == 2 and "already exists" in result.output
    assert path.read_text() == "# mine\n"


def test_archive_path_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "c.toml"
    path.write_text(DEFAULT_CONFIG)
    assert load_config(path).archive == tmp_path / "sub" / "archive.db"


@pytest.mark.parametrize(
    "text, message",
    [
        ('[campaign]\nname = "x"\nhashtags = ["A"]\ncolour = "red"\n', "unknown key 'colour' in [campaign]"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[twitter]\n', "unknown section or key 'twitter'"),
        ('[campaign]\nname = "x"\nhashtags = ["#A"]\n', "hashtags[0] '#A' must be written without '#': 'A'"),
        ('[campaign]\nname = "x"\nhashtags = []\n', "hashtags must list at least one hashtag"),
        ('[campaign]\nname = "x"\nhashtags = ["A", "a"]\n', "hashtags[1] 'a' repeats 'A'"),
        ('[campaign]\nname = "x"\nhashtags = "A"\n', "[campaign] hashtags must be a list of hashtags"),
        ('[campaign]\nname = "x"\n', "[campaign] hashtags is required"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[mastodon]\ninstances = ["mastodon.social"]\n',
         "[mastodon] instances[0] 'mastodon.social' must be a base URL"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[mastodon]\nlimit = 80\n', "[mastodon] limit must be a whole number from 1 to 40 (statuses per page), got 80"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[http]\ntimeout = "soon"\n', "[http] timeout must be a number of seconds"),
        ('[campaign\nname = "x"\n', "not valid TOML"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[schedule]\ncollect_every = "often"\n',
         "[schedule] collect_every must be a duration above 0 and at most 100 years, such as '30m', '6h' or '14d', "
         "got 'often'"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[schedule]\nreport = "monday 8am"\n',
         "[schedule] report must be a weekday and a 24-hour time such as 'mon 08:00'"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[schedule]\ntimezone = "Mars/Olympus"\n',
         "[schedule] timezone 'Mars/Olympus' is not a time zone name"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[reddit]\nsubreddits = ["r/Teachers"]\n',
         "[reddit] subreddits[0] 'r/Teachers' must be a subreddit name"),
        ('[campaign]\nname = "x"\nhashtags = ["A"]\n[bluesky]\nsince = "last week"\n',
         "[bluesky] since must be a date such as '2026-11-01'"),
    ],
)
def test_bad_config_names_file_key_and_what_is_expected(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_bad_config_exits_2_with_one_line_and_no_archive(tmp_path, run_cli):
    path = write(tmp_path, '[campaign]\nname = "x"\nhashtags = ["#A"]\n')
    result = run_cli("collect", "-c", str(path))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith(f"Error: {path}")
    assert not (tmp_path / "archive.db").exists()


def test_missing_config_says_how_to_make_one(tmp_path, run_cli):
    result = run_cli("status", "-c", str(tmp_path / "none.toml"))
    assert result.exit_code == 2
    assert "run 'campaign-monitor init'" in result.output


BASE = '[campaign]\nname = "x"\nhashtags = ["A"]\n'


@pytest.mark.parametrize("section, message", [
    ("[http]\ntimeout = nan\n", "[http] timeout must be a number of seconds above 0, at most 3600, got nan"),
    ("[http]\nmax_wait = inf\n", "[http] max_wait must be a number of seconds from 0 to 86400, got inf"),
    ("[http]\ntimeout = 0\n", "[http] timeout must be a number of seconds above 0"),
    ("[http]\nbackoff = -1.5\n", "[http] backoff must be a number of seconds from 0 to 3600, got -1.5"),
    ("[http]\nmax_attempts = 0\n", "[http] max_attempts must be a whole number of tries from 1 to 100, got 0"),
    ("[report]\nsmtp_port = 70000\n", "[report] smtp_port must be a port number from 1 to 65535, got 70000"),
    ("[report]\nsmtp_port = 0\n", "[report] smtp_port must be a port number from 1 to 65535, got 0"),
    ("[testimonies]\nmedia_max_mb = -1\n", "[testimonies] media_max_mb must be a size in megabytes above 0"),
    ("[testimonies]\nthreshold = nan\n", "[testimonies] threshold must be a probability between 0 and 1"),
    ("[reading]\nper_second = 0\n", "[reading] per_second must be a number of video frames a second above 0"),
    ("[reading]\nmin_confidence = 2\n", "[reading] min_confidence must be a number from 0 to 1, got 2"),
    ('[reading]\nall_posts = "yes"\n', "[reading] all_posts must be true or false"),
    ("[bluesky]\nwindow_hours = 0\n", "[bluesky] window_hours must be a whole number of hours from 1 to 744, got 0"),
    ('[schedule]\ncollect_every = "0m"\n', "[schedule] collect_every must be a duration above 0"),
    ('[schedule]\nrefresh_window = "9999999d"\n', "[schedule] refresh_window must be a duration above 0 and at most"),
    ('[mastodon]\ninstances = ["http://[::1"]\n', "[mastodon] instances[0] 'http://[::1' is not a valid URL"),
    ('[mastodon]\ninstances = ["http://[zz::1]:80"]\n', "[mastodon] instances[0] 'http://[zz::1]:80' is not a valid URL"),
    ('[mastodon]\ninstances = ["http://127.0.0.1:99999"]\n', "is not a valid URL (Port out of range"),
])
def test_numbers_and_addresses_out_of_range_are_one_line_errors(tmp_path, section, message):
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, BASE + section))
    assert message in str(raised.value) and "\n" not in str(raised.value)
