"""`zilean resolve`: tracks as lines or JSON, refusals as one line with exit code 2."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio_fixtures import ffmpeg_exe, http_server, stereo, tone, write_wav
from zilean.cli import main


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A folder with one generated WAV, served on 127.0.0.1."""
    write_wav(tmp_path / "beep.wav", stereo(tone(1000, 2.0)))
    with http_server(tmp_path) as base:
        yield base


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("TRUSTED_MEDIA_ORIGINS", "LIBRARY_DIR", "SEARCH_PROVIDER", "SPOTIFY_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)


def test_resolve_prints_json_for_a_trusted_file(
    served: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRUSTED_MEDIA_ORIGINS", served)
    assert main(["resolve", f"{served}/beep.wav", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip())
    assert record["title"] == "beep" and record["source"] == "http"
    assert record["url"] == f"{served}/beep.wav"
    assert record["duration"] == pytest.approx(2.0, abs=0.1)


def test_resolve_refuses_the_same_server_when_not_trusted(
    served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["resolve", f"{served}/beep.wav"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert (
        err == "zilean: That link leads to a loopback address (this machine), which the bot will not fetch."
    )


def test_resolve_refuses_file_urls(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["resolve", "file:///etc/passwd"]) == 2
    assert "not file: links" in capsys.readouterr().err


def test_resolve_local_query_lists_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    music = tmp_path / "music"
    music.mkdir()
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1",
         "-metadata", "title=Blue Moon", "-metadata", "artist=Ella", str(music / "x.mp3")],
        check=True,
    )  # fmt: skip
    monkeypatch.setenv("LIBRARY_DIR", str(music))
    assert main(["resolve", "local:ella", "blue"]) == 0
    assert capsys.readouterr().out.startswith("Blue Moon — Ella (0:01) [local] local:x.mp3")
    assert main(["resolve", "local:nothing like this"]) == 2
    assert "no matches" in capsys.readouterr().err
