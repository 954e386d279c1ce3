"""Listening to the bot: what it sends is decoded by the sandbox and measured."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import numpy as np
import pytest
from bot_harness import SOURCE_AMPLITUDE, STEP_BASE_HZ, STEP_HZ, Driver, both_backends, frequency, level

from polling import until_value
from zilean.core.equalizer import FLAT, gain_at

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("fresh_guild")]

SOURCE_RMS = SOURCE_AMPLITUDE / 2**0.5


async def settle(driver: Driver, seconds: float = 1.2) -> None:
    """Let the new audio fill the listening window."""
    start = (await driver.voice())["packets"]
    await driver.wait_voice(lambda s: s["packets"] >= start + int(seconds * 50))


async def heard(driver: Driver, hz: float, rms: float | None = None, *, hz_tol: float = 3) -> None:
    """Wait until the last 0.8 s heard is `hz` (and `rms` to ±3 %).

    A change restarts ffmpeg, later on a busy machine, and a starved sender leaves gaps that lower
    the level; so this waits for the condition rather than a fixed amount of audio. It stays strict:
    a wrong filter never reaches the frequency, and gaps only lower a level, so a gain 8 % low never
    reaches ±3 % of the right one.
    """

    def matches(block: object) -> bool:
        if frequency(block) != pytest.approx(hz, abs=hz_tol):  # type: ignore[arg-type]
            return False
        return rms is None or level(block) == pytest.approx(rms, rel=0.03)  # type: ignore[arg-type]

    async def listened() -> object:
        return await driver.listen(0.8)

    try:
        await until_value(listened, matches, what=f"{hz} Hz at RMS {rms}")
    except TimeoutError:
        block = await driver.listen(0.8)
        raise AssertionError(f"heard {frequency(block):.1f} Hz at RMS {level(block):.4f}") from None


@both_backends
async def test_default_volume_is_a_quarter_and_200_is_a_half(playing_tone: Driver) -> None:
    driver = playing_tone
    await heard(driver, 440, 0.25 * SOURCE_RMS)
    reply = await driver.say("alice", "=volume 200")
    assert "200%" in reply.text
    await heard(driver, 440, 0.5 * SOURCE_RMS)


async def test_nightcore_mid_song_moves_440_to_550(playing_tone: Driver) -> None:
    driver = playing_tone
    reply = await driver.slash("alice", "effect add", name="nightcore")
    assert "nightcore" in reply.text and not reply.ephemeral
    await heard(driver, 550, hz_tol=4)
    await driver.say("alice", "=effect clear")
    await heard(driver, 440)


async def test_eq_set_mid_song_changes_the_level_sent_and_reset_restores_it(playing_tone: Driver) -> None:
    """-9 dB at 400 Hz is ~-8 dB at the 440 Hz tone (the solved response says how much exactly)."""
    driver = playing_tone
    await heard(driver, 440, 0.25 * SOURCE_RMS)
    reply = await driver.slash("alice", "eq set", band="400", gain="-9")
    assert "400 Hz set to -9.0 dB" in reply.text and not reply.ephemeral
    expected_db = gain_at(FLAT.with_band(400, -9), 440)
    assert -9 < expected_db < -7
    await heard(driver, 440, 0.25 * SOURCE_RMS * 10 ** (expected_db / 20))
    await driver.say("alice", "=eq reset")
    await heard(driver, 440, 0.25 * SOURCE_RMS)


@both_backends
async def test_pause_stops_packets_and_resume_restarts_them(playing_tone: Driver) -> None:
    driver = playing_tone
    reply = await driver.say("alice", "=pause")
    assert "Paused" in reply.text
    await driver.assert_audio_held()
    reply = await driver.slash("alice", "resume")
    assert "Resumed" in reply.text
    await driver.packets_flowing()
    reply = await driver.say("alice", "=stop")
    assert "Stopped" in reply.text, reply.text


def second_playing(block: object) -> float:
    """Which second of the steps file a block comes from (its pitch says it)."""
    return (frequency(block) - STEP_BASE_HZ) / STEP_HZ  # type: ignore[arg-type]


async def lands_on(driver: Driver, first: float, last: float) -> None:
    """Wait until the steps file is heard between seconds `first` and `last`.

    A seek restarts ffmpeg, which takes longer on a busy machine, so this waits for the new audio
    instead of sleeping. It stays strict: playing on from the old place never reaches the window in
    the 10 s allowed (each seek below jumps at least 15 s away from where it was).
    """

    async def heard() -> float:
        return second_playing(await driver.listen(0.3))

    await until_value(heard, lambda second: first <= second <= last, within=10, what=f"second {first}–{last}")


@both_backends
async def test_seek_lands_on_the_right_second(bot_in_voice: Driver) -> None:
    driver = bot_in_voice
    reply = await driver.slash("alice", "play", query="local:steps.flac")
    assert "Steps" in reply.text
    await driver.packets_flowing()
    reply = await driver.say("alice", "=seek 30")
    assert "0:30" in reply.text
    await lands_on(driver, 29.9, 33.1)
    reply = await driver.slash("alice", "seek", time="-20")
    await lands_on(driver, 9.9, 14.1)
    reply = await driver.say("alice", "=seek 0:45")
    assert "0:45" in reply.text
    await lands_on(driver, 44.9, 48.1)
    reply = await driver.say("alice", "=seek 5:00")
    assert "past the end" in reply.text
    await driver.say("alice", "=stop")


async def test_next_track_follows_without_a_gap(driver: Driver) -> None:
    await driver.say("alice", "=play local:short660.flac")
    reply = await driver.say("alice", "=play local:tone440.flac")
    assert "Added to the queue" in reply.text and "Position 1" in reply.text
    await driver.wait_voice(lambda s: s["dominant_hz"] and abs(s["dominant_hz"] - 440) < 5, within=20)
    await settle(driver, 0.5)
    block = await driver.listen(3.0)
    mono = np.abs(block.mean(axis=1))
    frames = mono[: mono.size // 960 * 960].reshape(-1, 960).max(axis=1)  # 20 ms peaks
    loud = np.flatnonzero(frames > 0.01)
    pitches = [frequency(block[i * 960 : (i + 5) * 960]) for i in (loud[0], loud[-1] - 5)]
    assert pitches[0] == pytest.approx(660, abs=8) and pitches[1] == pytest.approx(440, abs=8)
    quiet_inside = np.count_nonzero(frames[loud[0] : loud[-1]] <= 0.01)
    assert quiet_inside * 20 <= 100, f"{quiet_inside * 20} ms of silence between the tracks"
    await driver.say("alice", "=stop")


async def test_every_frame_goes_through_discord_py_send_audio_packet(
    driver: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DAVE and transport encryption live in VoiceClient.send_audio_packet: our frames must pass there."""
    import discord

    calls: list[bool] = []
    senders: set[str] = set()
    connection_states: set[str] = set()
    original = discord.VoiceClient.send_audio_packet

    def spy(self: discord.VoiceClient, data: bytes, *, encode: bool = True) -> None:
        calls.append(encode)
        senders.add(threading.current_thread().name)
        connection_states.add(type(self._connection).__name__)
        original(self, data, encode=encode)

    monkeypatch.setattr(discord.VoiceClient, "send_audio_packet", spy)
    before = (await driver.voice())["packets"]
    await driver.say("alice", "=play local:short660.flac")
    status = await driver.wait_voice(lambda s: s["packets"] >= before + 50)
    assert len(calls) >= 50 and not any(calls)  # Opus passthrough: encode=False
    # Every packet the sandbox received was one of those calls (discord.py adds ≤ 5 silence frames).
    assert status["packets"] - before <= len(calls) + 5
    # One shared sender thread, not discord.py's thread per player (zilean.bot.sender).
    assert senders == {"zilean-audio-sender"}
    assert not [t.name for t in threading.enumerate() if t.name.startswith("audio-player")]
    assert connection_states == {"ReliableVoiceConnectionState"}  # zilean.bot.voice_handshake
    await driver.say("alice", "=stop")


async def test_an_image_renamed_mp3_is_refused(driver: Driver, media: dict[str, Path]) -> None:
    data = media["fake_mp3"].read_bytes()
    reply = await driver.say("alice", "=playfile", attachments=[("holiday.mp3", data)])
    assert "PNG" in reply.text or "image" in reply.text.lower(), reply.text
    assert reply.embeds[0]["color"] == 0xE5484D


async def test_an_uploaded_audio_file_plays(driver: Driver, media: dict[str, Path]) -> None:
    data = media["short"].read_bytes()
    reply = await driver.slash(
        "alice", "play", file={"filename": "mine.flac", "content_base64": base64.b64encode(data).decode()}
    )
    assert "Playing now" in reply.text, reply.text
    await driver.wait_voice(lambda s: s["dominant_hz"] and abs(s["dominant_hz"] - 660) < 5)
    await driver.say("alice", "=stop")


async def test_playback_carries_on_after_the_voice_connection_drops(playing_tone: Driver) -> None:
    driver = playing_tone
    connects = (await driver.voice())["ws_connects"]
    fault = await driver.http.post(
        "/_sandbox/faults", json={"kind": "drop_voice", "guild_id": str(driver.guild_id)}
    )
    fault.raise_for_status()
    await driver.wait_voice(lambda s: s["ws_connects"] > connects or s["resumes"] > 0, within=20)
    await driver.packets_flowing(within=20)
    await settle(driver, 0.6)
    assert frequency(await driver.listen(0.5)) == pytest.approx(440, abs=3)
    await driver.say("alice", "=stop")
