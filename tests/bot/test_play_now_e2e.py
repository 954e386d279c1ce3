"""`play … now` ends the current track, so it needs the skip permission (review of issue #14)."""

from __future__ import annotations

import pytest
from bot_harness import Driver

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_play_now_is_refused_to_a_member_who_may_not_skip(playing_tone: Driver) -> None:
    driver = playing_tone
    await driver.join_voice("bob")
    ok = await driver.say("owner", f"=permissions set <@{driver.users['bob']}> skip deny")
    assert "deny" in ok.text
    vote = await driver.say("bob", "=skip")
    assert "1/2" in vote.text  # =skip only counts as a vote for bob
    refused = await driver.say("bob", "=play now local:short660.flac")
    assert "don't let you skip outright" in refused.text and "`next`" in refused.text
    refused_slash = await driver.slash("bob", "play", query="local:short660.flac", position="now")
    assert refused_slash.ephemeral and "don't let you skip outright" in refused_slash.text
    queue = await driver.say("alice", "=queue")
    assert "Short 660" not in queue.text  # nothing was queued either
    # The tone plays on: now-playing still names it.
    assert "Tone 440" in (await driver.say("alice", "=nowplaying")).text
    # `next` is only adding, which bob may do.
    assert "Added" in (await driver.say("bob", "=play next local:short660.flac")).text
    await driver.say("owner", f"=permissions reset <@{driver.users['bob']}>")
    await driver.leave_voice("bob")


async def test_play_now_still_works_for_a_member_who_may_skip(playing_tone: Driver) -> None:
    driver = playing_tone
    reply = await driver.say("alice", "=play now local:short660.flac")
    assert "Playing now" in reply.text and "Short 660" in reply.text, reply.text
    await driver.wait_voice(lambda s: s["dominant_hz"] and abs(s["dominant_hz"] - 660) < 5, within=20)
