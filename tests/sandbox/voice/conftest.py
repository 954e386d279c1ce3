"""Fixtures: a bare VoiceServer for protocol tests; the full sandbox's bot in voice for end-to-end ones."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from audio_fixtures import ffmpeg_exe

with warnings.catch_warnings():
    # discord.py 2.7 imports the deprecated audioop module (Python 3.11–3.12).
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord
    from discord.oggparse import OggStream

from zilean.sandbox.testing import VoiceUser
from zilean.sandbox.voice import VoiceServer


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return ffmpeg_exe()


def write_tone(ffmpeg: str, path: Path, seconds: float, gain: float = 1.0) -> Path:
    """A 440 Hz stereo 16-bit WAV at 48 kHz made by ffmpeg (ffmpeg's sine is 1/8 of full scale)."""
    subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
         "-af", f"volume={gain}", "-ac", "2", "-c:a", "pcm_s16le", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> Path:
    """A 3 s, 440 Hz stereo WAV at 48 kHz (about -12 dBFS peak), made by ffmpeg."""
    return write_tone(ffmpeg, tmp_path_factory.mktemp("tone") / "tone440.wav", 3, gain=4)


@pytest.fixture(scope="session")
def long_tone(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> Path:
    """A 6 s tone: long enough to survive a fault in the middle."""
    return write_tone(ffmpeg, tmp_path_factory.mktemp("long") / "tone6.wav", 6)


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
async def voice_client(
    sandbox_client: discord.Client, user_in_voice: VoiceUser
) -> AsyncIterator[discord.VoiceClient]:
    """The sandbox's real discord.py bot joined to the Music voice channel (where the "dj" user sits)."""
    channel = sandbox_client.get_channel(user_in_voice.channel_id)
    assert isinstance(channel, discord.VoiceChannel)
    vc = await channel.connect(timeout=15, reconnect=True)
    try:
        yield vc
    finally:
        if vc.is_connected():
            await vc.disconnect(force=True)
