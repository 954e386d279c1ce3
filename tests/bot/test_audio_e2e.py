"""Listening to the bot: what it sends is decoded by the sandbox and measured."""

from __future__ import annotations

import asyncio

import pytest
from bot_harness import SOURCE_AMPLITUDE, Driver, frequency, level

pytestmark = pytest.mark.asyncio(loop_scope="module")

SOURCE_RMS = SOURCE_AMPLITUDE / 2**0.5


async def settle(driver: Driver, seconds: float = 1.2) -> None:
    """Let the new audio fill the listening window."""
    start = (await driver.voice())["packets"]
    await driver.wait_voice(lambda s: s["packets"] >= start + int(seconds * 50))


async def test_default_volume_is_a_quarter_and_200_is_a_half(driver: Driver) -> None:
    await driver.join_voice("alice")
    reply = await driver.say("alice", "=play local:tone440.flac")
    assert "Playing now" in reply.text and "Tone 440" in reply.text, reply.text
    await driver.packets_flowing()
    await settle(driver)
    block = await driver.listen(0.8)
    assert frequency(block) == pytest.approx(440, abs=3)
    assert level(block) == pytest.approx(0.25 * SOURCE_RMS, rel=0.10)

    reply = await driver.say("alice", "=volume 200")
    assert "200%" in reply.text
    await settle(driver)
    block = await driver.listen(0.8)
    assert level(block) == pytest.approx(0.5 * SOURCE_RMS, rel=0.10)
    assert frequency(block) == pytest.approx(440, abs=3)


async def test_nightcore_mid_song_moves_440_to_550(driver: Driver) -> None:
    reply = await driver.slash("alice", "effect add", name="nightcore")
    assert "nightcore" in reply.text and not reply.ephemeral
    await settle(driver)
    assert frequency(await driver.listen(0.8)) == pytest.approx(550, abs=4)
    await driver.say("alice", "=effect clear")
    await settle(driver)
    assert frequency(await driver.listen(0.8)) == pytest.approx(440, abs=3)


async def test_pause_stops_packets_and_resume_restarts_them(driver: Driver) -> None:
    reply = await driver.say("alice", "=pause")
    assert "Paused" in reply.text
    await asyncio.sleep(0.3)  # discord.py sends its 5 silence frames, then nothing
    before = (await driver.voice())["packets"]
    await asyncio.sleep(1.0)
    assert (await driver.voice())["packets"] == before
    reply = await driver.slash("alice", "resume")
    assert "Resumed" in reply.text
    await driver.packets_flowing()
    await driver.say("alice", "=stop")
