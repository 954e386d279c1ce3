"""Local HTTP servers on 127.0.0.1 that record every hit, and generated audio files of each format."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest
from local_http import RecordingServer, serve

# name -> (ffmpeg output args, file name)
AUDIO_FORMATS: dict[str, tuple[list[str], str]] = {
    "wav": (["-c:a", "pcm_s16le"], "tone.wav"),
    "mp3": (["-c:a", "libmp3lame", "-b:a", "64k"], "tone.mp3"),
    "ogg": (["-c:a", "libvorbis"], "tone.ogg"),
    "opus": (["-c:a", "libopus", "-b:a", "32k"], "tone.opus"),
    "flac": (["-c:a", "flac"], "tone.flac"),
    "m4a": (["-c:a", "aac", "-b:a", "64k"], "tone.m4a"),
    "mp4": (["-c:a", "aac", "-b:a", "64k", "-f", "mp4"], "tone.mp4"),
    "webm": (["-c:a", "libopus", "-b:a", "32k"], "tone.webm"),
    "aac": (["-c:a", "aac", "-b:a", "64k", "-f", "adts"], "tone.aac"),
}
TONE_SECONDS = 3


def ffmpeg() -> str:
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def make_tone(
    path: Path, codec_args: list[str], seconds: float = TONE_SECONDS, tags: dict[str, str] | None = None
) -> Path:
    """Write a sine tone with the given codec via the wheel's ffmpeg."""
    metadata = [arg for key, value in (tags or {}).items() for arg in ("-metadata", f"{key}={value}")]
    subprocess.run(
        [
            ffmpeg(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}:sample_rate=48000",
            *codec_args,
            *metadata,
            str(path),
        ],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def audio_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Each supported format as bytes (3 s of 440 Hz), plus a PNG for refusals."""
    folder = tmp_path_factory.mktemp("audio")
    files = {
        name: make_tone(folder / fname, args).read_bytes() for name, (args, fname) in AUDIO_FORMATS.items()
    }
    png = folder / "image.png"
    subprocess.run(
        [
            ffmpeg(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=16x16",
            "-frames:v",
            "1",
            str(png),
        ],
        check=True,
    )
    files["png"] = png.read_bytes()
    return files


@pytest.fixture
def media_server() -> Iterator[RecordingServer]:
    """The server with the media; trusted only in positive tests."""
    yield from serve()


@pytest.fixture
def inner_server() -> Iterator[RecordingServer]:
    """A 'private' target on 127.0.0.1 that is never trusted: its hit log must stay empty."""
    yield from serve()
