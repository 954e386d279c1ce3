"""Generated audio files of every supported format (the wheel's ffmpeg writes them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from audio_fixtures import ffmpeg_exe

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
    return ffmpeg_exe()


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
