"""The same voice path through the full sandbox app: its gateway hands out the voice server, its control API
reports the analysis, serves the WAV and injects the faults."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import httpx
import pytest

from zilean.core import analysis
from zilean.sandbox.server import Sandbox
from zilean.sandbox.testing import VoiceUser, wait_until

from .conftest import discord

pytestmark = [
    pytest.mark.slow,
    # discord.py's FFmpegAudio.cleanup() drops ffmpeg's stdout pipe without closing it (player.py:321).
    pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


async def test_bot_is_heard_through_the_sandbox_control_api(
    sandbox: Sandbox,
    sandbox_client: discord.Client,
    sandbox_http: httpx.AsyncClient,
    user_in_voice: VoiceUser,
    tone_wav: Path,
    ffmpeg: str,
) -> None:
    channel = sandbox_client.get_channel(user_in_voice.channel_id)
    assert isinstance(channel, discord.VoiceChannel)
    vc = await channel.connect(timeout=15)
    try:
        status_url = f"/_sandbox/voice/{user_in_voice.guild_id}"
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        vc.play(
            discord.FFmpegOpusAudio(str(tone_wav), executable=ffmpeg),
            after=lambda _e: loop.call_soon_threadsafe(done.set),
        )

        async def status() -> dict[str, object]:
            return (await sandbox_http.get(status_url)).json()  # type: ignore[no-any-return]

        await wait_until(
            lambda: (
                sandbox.voice is not None and sandbox.voice.stats(user_in_voice.guild_id)["packets"] >= 100
            )
        )
        live = await status()
        assert live["connected"] is True and live["speaking"] is True
        assert live["channel_id"] == str(user_in_voice.channel_id)
        assert live["dominant_hz"] == pytest.approx(440, abs=2)

        await sandbox_http.post("/_sandbox/faults", json={"kind": "stop_udp", "seconds": 0.4})
        await asyncio.wait_for(done.wait(), 10)
        after = await status()
        assert after["gap_max_ms"] >= 350  # type: ignore[operator]
        assert after["frame_deficit"] >= 15  # type: ignore[operator]

        wav = (await sandbox_http.get(f"{status_url}/audio.wav", params={"seconds": 2})).content
        with wave.open(io.BytesIO(wav)) as exported:
            frames = analysis.pcm16_to_channels(exported.readframes(exported.getnframes()))
        assert analysis.dominant_frequency(frames[:48000, 0]) == pytest.approx(440, abs=2)
    finally:
        await vc.disconnect(force=True)
