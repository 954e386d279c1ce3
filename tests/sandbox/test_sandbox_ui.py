"""The /sandbox page and the live PCM stream it plays (a real discord.py bot playing a real ffmpeg tone)."""

from __future__ import annotations

import gc

import aiohttp
import discord
import httpx
import numpy as np
import pytest
from discord.ext import commands

from audio_fixtures import ffmpeg_exe
from zilean.sandbox import Sandbox
from zilean.sandbox.testing import VoiceUser


async def test_page_and_assets_are_served_locally(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    page = await sandbox_http.get("/sandbox")
    assert page.status_code == 200 and "/sandbox/static/sandbox.js" in page.text
    script = await sandbox_http.get("/sandbox/static/sandbox.js")
    assert script.status_code == 200 and "/_sandbox/interactions" in script.text
    assert "http://" not in page.text and "https://" not in script.text  # no CDN, works offline
    assert (await sandbox_http.get("/sandbox/static/sandbox.css")).status_code == 200


# discord.py's FFmpegAudio.cleanup() drops ffmpeg's stdout pipe without closing it (player.py:321).
@pytest.mark.filterwarnings("ignore:unclosed file:ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_pcm_websocket_streams_what_the_bot_plays(
    sandbox: Sandbox, user_in_voice: VoiceUser, sandbox_client: commands.Bot
) -> None:
    if sandbox.voice is None:
        pytest.skip("the voice server is not installed")
    channel = sandbox_client.get_channel(user_in_voice.channel_id)
    assert isinstance(channel, discord.VoiceChannel)
    url = f"{sandbox.base_url}/_sandbox/voice/{user_in_voice.guild_id}/pcm"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        voice = await channel.connect(timeout=15)
        tone = discord.FFmpegOpusAudio(
            "sine=frequency=440:sample_rate=48000:duration=3",
            before_options="-f lavfi",
            executable=ffmpeg_exe(),
        )
        try:
            voice.play(tone)
            pcm = bytearray()
            while len(pcm) < 48000 * 4:  # one second of 48 kHz stereo s16le
                message = await ws.receive(timeout=10)
                assert message.type is aiohttp.WSMsgType.BINARY
                pcm += message.data
        finally:
            voice.stop()
            await voice.disconnect()
            del tone
            gc.collect()  # collect the leaked pipe here, under this test's filters, not in a later test
    left = np.frombuffer(bytes(pcm[: 48000 * 4]), dtype="<i2").reshape(-1, 2)[:, 0].astype(float)
    spectrum = np.abs(np.fft.rfft(left * np.hanning(len(left))))
    dominant = np.fft.rfftfreq(len(left), 1 / 48000)[int(np.argmax(spectrum))]
    assert abs(dominant - 440) <= 2
