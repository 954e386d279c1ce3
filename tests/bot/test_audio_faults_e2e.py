"""A guild whose ffmpeg dies mid-song is not left silent (issue #12): the real bot, through the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bot_harness import Driver, frequency

from polling import until

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("fresh_guild")]


async def test_a_killed_ffmpeg_is_restarted_where_it_was_and_the_song_plays_on(
    playing_tone: Driver, running_bot: Any
) -> None:
    driver = playing_tone
    player = running_bot.sessions.existing(driver.guild_id).player
    serial = player.stream_serial
    before = await driver.last_message_id()
    # The OOM killer or an operator killing one ffmpeg (the 30 s tone is more than its pipe holds, so
    # it is still running). Before issue #12 the song failed as "not audio ffmpeg can decode".
    player._feed.stream._process.kill()
    await until(lambda: player.stream_serial > serial, within=30, what="a new ffmpeg taking over")
    start = (await driver.voice())["packets"]
    await driver.wait_voice(lambda s: s["packets"] >= start + 40, within=20)
    assert frequency(await driver.listen(0.5)) == pytest.approx(440, abs=3)
    said = json.dumps(await driver.messages(after=before))
    assert "Couldn't play" not in said
    await driver.say("alice", "=stop")
