"""The media downloader fetches only configured sources' origins and public addresses (issue #11, 8).

Every test here talks to 127.0.0.1 only: the pure address checks take a resolver that
answers without the network, and the autouse `loopback_only` fixture fails any test that
would connect elsewhere, even if the guard were broken.
"""

from __future__ import annotations

import pytest

from monitor.core.netguard import Guard, Refused, is_public
from tests.conftest import rows
from tests.fakes.files import png
from tests.fakes.mastodon import FakeMastodon, status
from tests.test_testimonies import STORY


@pytest.mark.parametrize("address", ["10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "127.0.0.1",
                                     "0.0.0.0", "100.64.0.1", "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1",
                                     "::ffff:169.254.169.254", "224.0.0.1", "fd00:ec2::254"])
def test_private_loopback_link_local_and_metadata_addresses_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "151.101.1.140"])
def test_globally_routable_addresses_are_public(address):
    assert is_public(address)


def test_a_host_resolving_to_the_metadata_service_is_refused_before_any_connection():
    guard = Guard(set(), resolve=lambda host, port: ["169.254.169.254"])
    with pytest.raises(Refused, match="169.254.169.254"):
        guard.check_url("http://metadata.example/latest/meta-data/")


def test_a_host_with_one_private_address_among_public_ones_is_refused():
    guard = Guard(set(), resolve=lambda host, port: ["93.184.216.34", "10.1.2.3"])
    with pytest.raises(Refused, match="10.1.2.3"):
        guard.check_url("https://cdn.example/a.png")


def test_a_configured_sources_origin_is_trusted_even_on_loopback():
    Guard({("http", "127.0.0.1", 8001)}, resolve=lambda host, port: pytest.fail("no lookup needed")) \
        .check_url("http://127.0.0.1:8001/system/a.png")


@pytest.fixture
def other_server():
    """Another loopback server, not a configured source: what a hostile media URL would point to."""
    with FakeMastodon("internal.example") as server:
        server.files["/secret.png"] = (png(colour=(1, 2, 3)), "image/png")
        yield server


def test_a_media_url_at_another_loopback_port_is_refused(fake_mastodon, other_server, config_for, run_cli, tmp_path):
    s = status("fake.social", 1, text=STORY, media=True)
    s["media_attachments"][0]["remote_url"] = other_server.url + "/secret.png"
    fake_mastodon.add(s)
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    [media] = rows(tmp_path, "SELECT status, last_error, path FROM media_files")
    assert media["status"] == "refused" and "not a configured source" in media["last_error"] and media["path"] is None
    assert other_server.requests == []


def test_a_redirect_to_another_loopback_port_is_refused_at_the_hop(fake_mastodon, other_server, config_for, run_cli,
                                                                   tmp_path):
    s = fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    path = s["media_attachments"][0]["url"].split(fake_mastodon.url)[1]
    fake_mastodon.fail("redirect", path=path, location=other_server.url + "/secret.png")
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    [media] = rows(tmp_path, "SELECT status, last_error FROM media_files")
    assert media["status"] == "refused" and other_server.url.split("//")[1] in media["last_error"]
    assert other_server.requests == []


def test_a_redirect_within_the_source_is_followed(fake_mastodon, config_for, run_cli, tmp_path):
    s = fake_mastodon.add(status("fake.social", 1, text=STORY, media=True))
    path = s["media_attachments"][0]["url"].split(fake_mastodon.url)[1]
    fake_mastodon.files["/moved.png"] = (png(), "image/png")
    fake_mastodon.fail("redirect", path=path, location="/moved.png")
    config = config_for(fake_mastodon)
    assert run_cli("collect", "-c", str(config)).exit_code == 0
    assert run_cli("media", "fetch", "-q", "-c", str(config)).exit_code == 0
    assert rows(tmp_path, "SELECT status FROM media_files") == [{"status": "stored"}]
