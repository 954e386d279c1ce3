"""/lyrics through the sandbox with the real bot, against a local fake of lrclib over real HTTP."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from bot_harness import Driver

from audio_fixtures import ffmpeg_exe, http_server
from fakes.lrclib import FakeLrclib, record, running
from polling import until_value
from zilean.core.lyrics import USER_AGENT
from zilean.sandbox.server import Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

WORDS = "Tick tock, the [Free Nitro](https://phish.example) clock\nTurns back *time*"
LONG = "\n".join(f"Verse line {n:04d}" + " la" * 20 for n in range(150))  # ~11,000 characters
SYNCED_ONLY = "\n".join(f"[00:{s:02d}.00]Second {s}" for s in range(0, 60))


@pytest.fixture(scope="module")
def lrclib() -> Iterator[FakeLrclib]:
    with running(FakeLrclib()) as fake:
        yield fake


@pytest.fixture(scope="module")
def tagged_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 30-s file tagged as a video upload would be: 'Clockwork (Official Video)' by Zilean Band."""
    site = tmp_path_factory.mktemp("lyrics-site")
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=30:sample_rate=48000",
         "-metadata", "title=Clockwork (Official Video)", "-metadata", "artist=Zilean Band",
         "-c:a", "flac", str(site / "clockwork.flac")],
        check=True,
    )  # fmt: skip
    with http_server(site) as base:
        yield base


@pytest.fixture(scope="module")
def bot_settings_overrides(
    lrclib: FakeLrclib, tagged_site: str, sandbox: Sandbox, media_site: str
) -> dict[str, Any]:
    return {
        "lyrics_api_base": lrclib.base_url,
        "trusted_media_origins": [sandbox.base_url, media_site, tagged_site],
    }


@pytest.fixture(autouse=True)
def lyrics_afresh(lrclib: FakeLrclib, running_bot: Any) -> None:
    """Every test starts with the same records, a healthy service and an empty cache."""
    lrclib.records[:] = [
        record(1, "Clockwork", "Zilean Band", album="Time", duration=30, plain=WORDS),
        record(2, "A Very Long Song", "Zilean Band", duration=600, plain=LONG),
    ]
    lrclib.status, lrclib.drop = None, False
    lrclib.requests.clear()
    running_bot.get_cog("Lyrics").client.clear_cache()


async def play_clockwork(driver: Driver, site: str) -> None:
    reply = await driver.say("alice", f"=play {site}/clockwork.flac")
    assert "Playing now" in reply.text and "Clockwork" in reply.text, reply.text


async def test_lyrics_of_nothing_playing_say_so(fresh_guild: Driver, lrclib: FakeLrclib) -> None:
    reply = await fresh_guild.say("alice", "=lyrics")
    assert "Nothing is playing" in reply.text
    slash = await fresh_guild.slash("alice", "lyrics")
    assert slash.ephemeral and "Nothing is playing" in slash.text
    assert lrclib.requests == []


async def test_lyrics_of_the_track_playing_come_from_an_exact_match(
    bot_in_voice: Driver, lrclib: FakeLrclib, tagged_site: str
) -> None:
    driver = bot_in_voice
    await play_clockwork(driver, tagged_site)
    reply = await driver.say("alice", "=lyrics")
    embed = reply.embeds[0]
    assert embed["title"] == "Clockwork — Zilean Band"
    # Markdown from the service is shown as text: no live masked link, no italics.
    assert embed["description"] == (
        "Tick tock, the \\[Free Nitro\\]\\(https://phish.example\\) clock\nTurns back \\*time\\*"
    )
    assert lrclib.paths() == ["/api/get"]
    assert lrclib.requests[0].query == {
        "track_name": "Clockwork",
        "artist_name": "Zilean Band",
        "duration": "30",
    }
    assert lrclib.requests[0].user_agent == USER_AGENT
    # Asked again (here by slash command): the answer comes from the cache.
    slash = await driver.slash("alice", "lyrics")
    assert not slash.ephemeral and slash.embeds[0]["title"] == "Clockwork — Zilean Band"
    assert len(lrclib.requests) == 1


async def test_synced_only_lyrics_show_the_line_being_sung(
    bot_in_voice: Driver, lrclib: FakeLrclib, tagged_site: str
) -> None:
    driver = bot_in_voice
    lrclib.records[0] = record(1, "Clockwork", "Zilean Band", duration=30, synced=SYNCED_ONLY)
    await play_clockwork(driver, tagged_site)
    description = (await driver.say("alice", "=lyrics")).embeds[0]["description"]
    lines = description.split("\n")
    assert len(lines) == 60 and lines[-1].strip("*") == "Second 59"  # no stamps shown
    bold = [line for line in lines if line.startswith("**")]
    assert len(bold) == 1 and bold[0].endswith("**"), bold


async def test_long_lyrics_of_a_song_named_take_several_messages(
    fresh_guild: Driver, lrclib: FakeLrclib
) -> None:
    driver = fresh_guild
    body = {
        "channel_id": str(driver.text_channel),
        "user_id": str(driver.users["alice"]),
        "command": "lyrics",
        "options": {"query": "very long song"},
    }
    interaction = (await driver.http.post("/_sandbox/interactions", json=body)).json()["interaction_id"]

    async def pages_sent() -> list[dict[str, Any]]:
        summary = (await driver.http.get(f"/_sandbox/interactions/{interaction}")).json()
        return [r["embeds"][0] for r in summary["responses"] if r.get("embeds")]

    pages = await until_value(pages_sent, lambda found: len(found) >= 3, what="three pages of lyrics")
    assert len(pages) == 3 and pages[0]["title"] == "A Very Long Song — Zilean Band"
    assert_pages(pages)
    assert lrclib.paths() == ["/api/search"] and lrclib.requests[0].query == {"q": "very long song"}
    # The prefix command: the first page replies to the command, the others follow it.
    before = await driver.last_message_id()
    await driver.say("alice", "=lyrics a very long song")
    await driver.bot_message_after(before, containing="page 3/3")
    sent = [m for m in await driver.messages(before) if int(m["author"]["id"]) == driver.bot_id]
    assert_pages([m["embeds"][0] for m in sent])


def assert_pages(pages: list[dict[str, Any]]) -> None:
    assert [p["footer"]["text"] for p in pages] == [f"lrclib · page {n}/3" for n in (1, 2, 3)]
    assert all(len(p["description"]) <= 4096 for p in pages)
    shown = "\n".join(p["description"] for p in pages).split("\n")
    assert shown == LONG.split("\n")  # every line, in order, none split across pages


async def test_a_song_not_found_and_a_broken_service_get_clear_answers(
    fresh_guild: Driver, lrclib: FakeLrclib
) -> None:
    driver = fresh_guild
    missing = await driver.say("alice", "=lyrics no such song")
    assert "No lyrics found for “no such song”" in missing.text
    lrclib.status = 503
    broken = await driver.slash("alice", "lyrics", query="clockwork")
    assert broken.ephemeral and "answered with an error (503)" in broken.text
    lrclib.status, lrclib.drop = None, True
    gone = await driver.say("alice", "=lyrics clockwork")
    assert "can't be reached" in gone.text and "Something went wrong" not in gone.text
    lrclib.drop = False
    found = await driver.say("alice", "=lyrics clockwork")  # failures are not remembered
    assert found.embeds[0]["title"] == "Clockwork — Zilean Band"
