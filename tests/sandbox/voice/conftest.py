"""Fixtures: a running VoiceServer, the stand-in main gateway, and a real discord.py client on them."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import imageio_ffmpeg
import pytest
import yarl

with warnings.catch_warnings():
    # discord.py 2.7 imports the deprecated audioop module (Python 3.11–3.12).
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord
    from discord.oggparse import OggStream

from zilean.sandbox.voice import VoiceServer

from .harness import GUILD_ID, MUSIC_ID, TOKEN, MiniDiscord


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> Path:
    """A 3 s, 440 Hz stereo WAV at 48 kHz (about -12 dBFS peak), made by ffmpeg."""
    path = tmp_path_factory.mktemp("tone") / "tone440.wav"
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=3",
            "-af",
            "volume=4",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
            str(path),
        ],
        check=True,
    )
    return path


def encode_opus_packets(ffmpeg: str, lavfi: str, directory: Path) -> list[bytes]:
    """Encode a lavfi source to Ogg Opus with ffmpeg (as FFmpegOpusAudio does) and split it into packets."""
    path = directory / "signal.ogg"
    subprocess.run(
        [
            ffmpeg,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            lavfi,
            "-ar",
            "48000",
            "-ac",
            "2",
            "-c:a",
            "libopus",
            "-b:a",
            "128k",
            str(path),
        ],
        check=True,
    )
    with path.open("rb") as file:
        return list(OggStream(file).iter_packets())


@pytest.fixture
async def voice_server(tmp_path: Path) -> AsyncIterator[VoiceServer]:
    server = VoiceServer(cert_dir=tmp_path / "tls")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def mini_discord(
    voice_server: VoiceServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MiniDiscord]:
    fake = MiniDiscord(voice_server)
    await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def bot(mini_discord: MiniDiscord, voice_server: VoiceServer) -> AsyncIterator[discord.Client]:
    """A real discord.py client, logged in, trusting the sandbox certificate through its connector."""
    context = ssl.create_default_context(cafile=str(voice_server.cert_path))
    client = discord.Client(
        intents=discord.Intents.default(),
        connector=aiohttp.TCPConnector(ssl=context),
        guild_ready_timeout=0.1,
    )
    ready = asyncio.Event()
    client.event(_on_ready(ready))
    runner = asyncio.create_task(client.start(TOKEN))
    await asyncio.wait_for(ready.wait(), 15)
    try:
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(runner, 10)


def _on_ready(event: asyncio.Event):  # type: ignore[no-untyped-def]
    async def on_ready() -> None:
        event.set()

    return on_ready


@pytest.fixture
async def voice_client(bot: discord.Client) -> AsyncIterator[discord.VoiceClient]:
    """The bot joined to the Music voice channel."""
    guild = bot.get_guild(GUILD_ID)
    assert guild is not None
    channel = guild.get_channel(MUSIC_ID)
    assert isinstance(channel, discord.VoiceChannel)
    vc = await channel.connect(timeout=15, reconnect=True)
    try:
        yield vc
    finally:
        if vc.is_connected():
            await vc.disconnect(force=True)
