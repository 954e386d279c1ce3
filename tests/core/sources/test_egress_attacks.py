"""The egress review's attacks, replayed in a private network namespace: none reaches the internal server.

egress_world.py runs them (real resolver, guard, egress proxy, yt-dlp worker and ffmpeg) inside
`unshare -r -n -m`, where loopback also has a public address for the attacker's site.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

WORLD = Path(__file__).with_name("egress_world.py")
PUBLIC_IP = "93.184.216.34"
LOOPBACK_MESSAGE = "That link leads to a loopback address (this machine), which the bot will not fetch."


def _namespace_prefix(hosts: Path) -> list[str]:
    setup = (
        f"mount --bind {hosts} /etc/hosts && ip link set lo up && ip addr add {PUBLIC_IP}/32 dev lo && "
        'exec "$@"'
    )
    return ["unshare", "-r", "-n", "-m", "sh", "-c", setup, "sh"]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every case's outcome, from one run of the world (the cases share one yt-dlp worker)."""
    hosts = tmp_path_factory.mktemp("netns") / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{PUBLIC_IP} attacker.test\n127.0.0.1 rebind.test\n")
    prefix = _namespace_prefix(hosts)
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("needs unshare and ip (util-linux, iproute2) for a private network namespace")
    probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no private network namespace here: {probe.stderr.strip()}")
    done = subprocess.run(
        [*prefix, sys.executable, str(WORLD)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _reached_attacker_as_ffmpeg(outcome: dict[str, Any]) -> bool:
    return any(agent.startswith("Lavf") for _, agent in outcome["attacker_hits"])


def test_a_segment_redirecting_inward_is_refused_and_said(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["hls_redirect"]
    assert outcome["internal_hits"] == []
    assert ("/seg1.ts", "GroovyZilean/0.1 (+music bot)") in [tuple(hit) for hit in outcome["attacker_hits"]]
    assert outcome["packets"] > 0  # the segment before it played
    assert outcome["error"] == LOOPBACK_MESSAGE


def test_cloaking_by_user_agent_has_no_one_to_cloak_for(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["cloaking"]
    assert outcome["internal_hits"] == []
    assert not _reached_attacker_as_ffmpeg(outcome)  # ffmpeg never speaks to the site itself
    assert outcome["load"] == "loaded" and outcome["error"] is None
    assert outcome["packets"] > 100  # the MP3 everybody gets


def test_a_dash_manifest_pointing_inward_is_refused_at_play(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["dash"]
    assert outcome["internal_hits"] == []
    assert outcome["load"] == "failed" and "DASH manifest" in outcome["message"]


def test_a_queued_dash_link_is_refused_when_it_starts(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["dash_queued"]
    assert outcome["internal_hits"] == []
    assert "DASH manifest" in outcome["stream_error"]


def test_unquoted_uri_attributes_are_vetted(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["unquoted_uri"]
    assert outcome["internal_hits"] == []
    assert outcome["load"] == "failed" and "refers to something unsafe" in outcome["message"]


def test_a_playlist_that_turns_inward_after_the_checks_is_stopped_by_the_proxy(
    outcomes: dict[str, Any],
) -> None:
    outcome = outcomes["swapped_playlist"]
    assert outcome["internal_hits"] == []
    assert outcome["load"] == "loaded"  # the checks at =play saw a clean playlist
    assert outcome["proxy_requests"] >= 2  # the playlist, then its inward EXT-X-MAP, through the proxy
    assert outcome["error"] == LOOPBACK_MESSAGE


def test_dns_rebinding_after_the_check_reaches_nothing(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["rebinding"]
    # The system resolver says 127.0.0.1 for rebind.test: had ffmpeg resolved it, it would have hit.
    assert outcome["internal_hits"] == []
    assert len(outcome["attacker_hits"]) == 1  # the bot's check, while the name was public
    assert outcome["packets"] == 0 and outcome["error"] == LOOPBACK_MESSAGE


def test_a_reconnect_flood_is_capped(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["reconnect_flood"]
    assert outcome["internal_hits"] == []
    radio_hits = [path for path, _ in outcome["attacker_hits"] if path == "/radio.mp3"]
    assert 2 <= len(radio_hits) <= 45  # the check, then at most the proxy's 40-request budget
    assert outcome["error"] == "The site kept dropping the connection, so the bot gave up on this track."


def test_a_link_that_never_sends_audio_fails_with_a_clear_reason(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["no_first_packet"]
    assert outcome["packets"] == 0
    assert outcome["error"] == "This link produced no audio within 3 seconds, so the bot skipped it."


def test_a_clean_public_link_plays_through_the_proxy(outcomes: dict[str, Any]) -> None:
    outcome = outcomes["clean_mp3"]
    assert outcome["load"] == "loaded" and outcome["error"] is None
    assert 140 <= outcome["packets"] <= 160  # 3 s of 20-ms packets
    assert outcome["proxy_requests"] >= 1
    assert not _reached_attacker_as_ffmpeg(outcome)
