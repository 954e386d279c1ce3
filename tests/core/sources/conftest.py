"""Local HTTP servers on 127.0.0.1 that record every hit, and generated audio files of each format."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from local_http import RecordingServer, serve
from media_files import AUDIO_FORMATS, ffmpeg, make_tone


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
