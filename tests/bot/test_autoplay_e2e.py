"""Autoplay through the sandbox: when the queue runs out a related track plays by itself, marked so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from bot_harness import Driver, frequency

from polling import until_value
from zilean.core.sources.autoplay import RECENT_HISTORY
from zilean.core.sources.library import LOCAL_PREFIX, walk
from zilean.core.track import Track

pytestmark = pytest.mark.asyncio(loop_scope="module")

RIVER_TWO_HZ = 840  # bot_harness.TAGGED: River Two, the other track by River One's artist


@pytest_asyncio.fixture(loop_scope="module")
async def forgotten_history(bot_in_voice: Driver, running_bot: Any) -> Driver:
    """`bot_in_voice` with nothing of the library among the recent plays autoplay avoids."""
    for n in range(RECENT_HISTORY):
        await running_bot.store.history.record(
            bot_in_voice.guild_id,
            Track(title=f"filler {n}", url=f"https://filler.invalid/{n}", source="http"),
        )
    return bot_in_voice


async def test_autoplay_plays_a_track_by_the_same_artist_when_the_queue_runs_out(
    forgotten_history: Driver, running_bot: Any
) -> None:
    driver = forgotten_history
    on = await driver.slash("owner", "autoplay", state="on")
    assert "Autoplay is on" in on.text, on.text
    assert "Autoplay: on" in (await driver.say("alice", "=settings")).text
    start = await driver.last_message_id()
    reply = await driver.say("alice", "=play local:tagged/river1.flac")
    assert "Playing now" in reply.text and "River One" in reply.text, reply.text
    card = await driver.bot_message_after(start, containing="Autoplay: now playing", within=20)
    assert "River Two" in card.text and "Requested by 📻 Autoplay" in card.text, card.text
    await driver.wait_voice(lambda s: s["dominant_hz"] and abs(s["dominant_hz"] - RIVER_TWO_HZ) < 5)
    assert abs(frequency(await driver.listen(0.5)) - RIVER_TWO_HZ) < 5  # decoded: River Two is what plays
    saved = await running_bot.store.player.load(driver.guild_id)  # what the dashboard reads
    assert saved.track.title == "River Two" and saved.track.autoplay and saved.track.requester_id is None
    await driver.say("alice", "=stop")


async def test_with_autoplay_off_the_music_stops_as_before(
    forgotten_history: Driver, running_bot: Any
) -> None:
    driver = forgotten_history
    assert "Autoplay is on" in (await driver.say("owner", "=autoplay")).text  # no argument: switch
    off = await driver.say("owner", "=autoplay")
    assert "Autoplay is off" in off.text, off.text
    refused = await driver.slash("alice", "autoplay", state="on")  # a listener lacks the settings right
    assert refused.ephemeral and "Autoplay is on" not in refused.text
    assert not (await running_bot.store.settings.get(driver.guild_id)).autoplay
    start = await driver.last_message_id()
    reply = await driver.say("alice", "=play local:tagged/river1.flac")
    assert "River One" in reply.text, reply.text
    await driver.bot_message_after(start, containing="queue is finished", within=20)
    assert running_bot.sessions.existing(driver.guild_id).current is None
    texts = [str(m) for m in await driver.messages(start)]
    assert not any("Autoplay" in text for text in texts)


async def test_when_nothing_related_is_left_autoplay_says_so_and_stops(
    forgotten_history: Driver, running_bot: Any, media: dict[str, Path]
) -> None:
    driver = forgotten_history
    for path in walk(str(media["tone"].parent)):  # every library track was just played
        await running_bot.store.history.record(
            driver.guild_id, Track(title=path, url=LOCAL_PREFIX + path, source="local")
        )
    await driver.say("owner", "=autoplay on")
    start = await driver.last_message_id()
    await driver.say("alice", "=play local:tagged/river1.flac")
    notice = await driver.bot_message_after(start, containing="Autoplay found nothing related", within=20)
    assert "stops here" in notice.text
    await driver.bot_message_after(start, containing="queue is finished", within=10)
    assert running_bot.sessions.existing(driver.guild_id).current is None


async def test_after_an_online_track_autoplay_plays_a_search_hit_for_it(
    forgotten_history: Driver, running_bot: Any, media_site: str
) -> None:
    driver = forgotten_history  # the bot's search provider here is the library (SEARCH_PROVIDER=local)
    await driver.say("owner", "=autoplay on")
    start = await driver.last_message_id()
    reply = await driver.say("alice", f"=play {media_site}/chime1.flac")
    assert "Chime 1" in reply.text, reply.text
    card = await driver.bot_message_after(start, containing="Autoplay: now playing", within=20)
    assert "Chime 1" in card.text, card.text  # the hit for its title (it has no artist tag)
    saved = await running_bot.store.player.load(driver.guild_id)
    assert saved.track.autoplay and saved.track.source == "local"
    await driver.say("alice", "=stop")


async def test_skipping_the_last_track_goes_on_with_autoplay(
    forgotten_history: Driver, running_bot: Any
) -> None:
    driver = forgotten_history
    await driver.say("owner", "=autoplay on")
    reply = await driver.say("alice", "=play local:tagged/river2.flac")
    assert "River Two" in reply.text, reply.text
    await driver.say("alice", "=skip")

    async def autoplayed() -> list[Track]:
        played = await running_bot.store.history.recent(driver.guild_id, 5)
        return [e.track for e in played if e.track.autoplay]

    # River One (1 s) is the other track by the artist; the history keeps it with its mark.
    tracks = await until_value(autoplayed, bool, what="an autoplayed track in the history")
    assert tracks[-1].title == "River One" and tracks[-1].requester_id is None
    await driver.say("alice", "=stop")
