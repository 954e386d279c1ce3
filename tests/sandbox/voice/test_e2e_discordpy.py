"""The real discord.py client joins voice and plays through FFmpegOpusAudio; the sandbox hears it."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import Callable
from pathlib import Path

import discord
import numpy as np
import pytest

from zilean.core import analysis
from zilean.sandbox.server import Sandbox
from zilean.sandbox.testing import VoiceUser
from zilean.sandbox.voice import VoiceServer

pytestmark = [
    pytest.mark.slow,
    # discord.py's FFmpegAudio.cleanup() drops ffmpeg's stdout pipe without closing it (player.py:321).
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture
def voice_server(sandbox: Sandbox) -> VoiceServer:
    """The full sandbox's voice server (overrides the bare one: here the sandbox's gateway hands it out)."""
    assert sandbox.voice is not None
    return sandbox.voice


@pytest.fixture
def guild_id(user_in_voice: VoiceUser) -> int:
    return user_in_voice.guild_id


async def _wait_for(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll until predicate() holds; fail after `limit` seconds (a hang guard, not a timing assertion)."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the stats are polled, there is no event to wait on
            await asyncio.sleep(0.02)


async def _listen(server: VoiceServer, guild_id: int, nbytes: int) -> bytes:
    """Collect `nbytes` of live PCM from subscribe_pcm (the browser page's feed)."""
    received = bytearray()
    stream = server.subscribe_pcm(guild_id)
    async for chunk in stream:
        received += chunk
        if len(received) >= nbytes:
            break
    await stream.aclose()
    return bytes(received)


def _play(vc: discord.VoiceClient, path: Path, ffmpeg: str) -> asyncio.Event:
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    source = discord.FFmpegOpusAudio(str(path), executable=ffmpeg)
    vc.play(source, after=lambda _err: loop.call_soon_threadsafe(done.set))
    return done


async def test_tone_is_heard_at_source_level(
    voice_server: VoiceServer, guild_id: int, voice_client: discord.VoiceClient, tone_wav: Path, ffmpeg: str
) -> None:
    assert voice_client.mode == "aead_xchacha20_poly1305_rtpsize"
    assert voice_server.stats(guild_id)["connected"] is True
    with wave.open(str(tone_wav)) as source:
        file_audio = analysis.pcm16_to_channels(source.readframes(source.getnframes()))
    file_rms, file_peak = analysis.rms(file_audio.ravel()), float(np.abs(file_audio).max())

    listener = asyncio.create_task(_listen(voice_server, guild_id, 48000 * 4))  # what the browser hears
    done = _play(voice_client, tone_wav, ffmpeg)
    await _wait_for(lambda: voice_server.stats(guild_id)["speaking"])
    await _wait_for(lambda: voice_server.stats(guild_id)["packets"] >= 100)
    live = voice_server.stats(guild_id)
    heard = analysis.pcm16_to_channels(await asyncio.wait_for(listener, 10))
    assert analysis.dominant_frequency(heard[9600:, 1]) == pytest.approx(440, abs=2)
    await asyncio.wait_for(done.wait(), 10)
    await _wait_for(lambda: not voice_server.stats(guild_id)["speaking"])
    # discord.py ends a stream with five Opus silence frames (protocol notes §3.3).
    await _wait_for(lambda: voice_server.stats(guild_id)["silence_frames"] >= 5)
    final = voice_server.stats(guild_id)

    assert live["dominant_hz"] == pytest.approx(440, abs=2)
    assert live["rms"] == pytest.approx(file_rms, rel=0.10)
    assert live["rms_left"] == pytest.approx(live["rms_right"], rel=0.05)
    assert live["silent"] is False
    # 3 s at 50 packets/s, the OpusHead/OpusTags pair counted apart, plus 5 trailing silence frames.
    assert final["header_packets"] == 2
    assert 148 <= final["packets"] - final["silence_frames"] <= 152
    assert final["silence_frames"] == 5
    assert final["seconds"] == pytest.approx(3.1, abs=0.1)
    assert final["gap_p50_ms"] == pytest.approx(20, abs=5)
    assert final["decode_errors"] == 0

    audio = voice_server.wav(guild_id, 2.0)
    with wave.open(io.BytesIO(audio)) as exported:
        assert (exported.getnchannels(), exported.getsampwidth(), exported.getframerate()) == (2, 2, 48000)
        frames = analysis.pcm16_to_channels(exported.readframes(exported.getnframes()))
    assert frames.shape[0] == pytest.approx(2.0 * 48000, abs=960)
    tone_part = frames[:48000, 0]
    assert analysis.dominant_frequency(tone_part) == pytest.approx(440, abs=2)
    assert analysis.rms(tone_part) == pytest.approx(file_rms, rel=0.10)
    assert np.abs(frames).max() == pytest.approx(file_peak, rel=0.1)


async def test_drop_websocket_resumes_and_audio_continues(
    voice_server: VoiceServer, guild_id: int, voice_client: discord.VoiceClient, long_tone: Path, ffmpeg: str
) -> None:
    done = _play(voice_client, long_tone, ffmpeg)
    await _wait_for(lambda: voice_server.stats(guild_id)["packets"] >= 50)
    await voice_server.drop_websocket(guild_id)
    await _wait_for(lambda: voice_server.stats(guild_id)["resumes"] == 1)
    at_resume = voice_server.stats(guild_id)["packets"]
    await _wait_for(lambda: voice_server.stats(guild_id)["packets"] >= at_resume + 50)
    stats = voice_server.stats(guild_id)
    assert stats["connected"] is True and stats["last_close_code"] == 4015
    assert voice_client.is_connected()
    voice_client.stop()
    await asyncio.wait_for(done.wait(), 10)


async def test_pause_udp_shows_a_gap(
    voice_server: VoiceServer, guild_id: int, voice_client: discord.VoiceClient, long_tone: Path, ffmpeg: str
) -> None:
    done = _play(voice_client, long_tone, ffmpeg)
    await _wait_for(lambda: voice_server.stats(guild_id)["packets"] >= 50)
    voice_server.pause_udp(0.5)
    await asyncio.sleep(0.5)
    at_resume = voice_server.stats(guild_id)["packets"]
    await _wait_for(lambda: voice_server.stats(guild_id)["packets"] >= at_resume + 25)
    stats = voice_server.stats(guild_id)
    assert stats["gap_max_ms"] >= 450
    assert stats["frame_deficit"] >= 20  # about 25 frames were sent while the receiver was deaf
    assert stats["udp_dropped_while_paused"] >= 20
    voice_client.stop()
    await asyncio.wait_for(done.wait(), 10)
