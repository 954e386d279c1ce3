"""Direct file links: validated by content, duration read, anything else refused by name."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from local_http import RecordingServer
from media_files import AUDIO_FORMATS, TONE_SECONDS, ffmpeg

from zilean.core.errors import SourceError, UnsafeURLError
from zilean.core.sources.direct import DirectFiles, name_from_url, parse_ffmpeg_banner, probe_media
from zilean.core.sources.egress import EgressProxy
from zilean.core.sources.netguard import NetGuard
from zilean.core.sources.sniff import sniff

EXPECTED_KIND = {
    "wav": "wav",
    "mp3": "mp3",
    "ogg": "ogg",
    "opus": "opus",
    "flac": "flac",
    "m4a": "m4a",
    "mp4": "mp4",
    "webm": "webm",
    "aac": "aac",
}


@pytest.mark.parametrize("name", sorted(AUDIO_FORMATS))
def test_sniff_recognises_each_generated_format(audio_files: dict[str, bytes], name: str) -> None:
    kind = sniff(audio_files[name][:4096])
    assert kind.is_audio
    assert kind.name == EXPECTED_KIND[name]


@pytest.mark.parametrize(
    ("data", "label"),
    [
        (b"<!DOCTYPE html><html><body>hi</body></html>", "an HTML page"),
        (b"  \n<html lang=en>", "an HTML page"),
        (b"PK\x03\x04\x14\x00\x00\x00", "a ZIP archive"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        (b"GIF89a\x01\x00", "a GIF image"),
        (b"\x00\x00\x00\x1cftypheic\x00\x00", "a HEIF/AVIF image"),
        (b"\x7fELF\x02\x01\x01", "a program"),
        (b'{"json": true}', "a JSON document"),
        (b"just some words\n", "a text file"),
        (b"\x00\x01\x02\x03\x04\x05", "not in a supported audio format"),
    ],
)
def test_sniff_names_what_is_not_audio(data: bytes, label: str) -> None:
    kind = sniff(data)
    assert not kind.is_audio
    assert kind.label == label


def test_sniff_looks_behind_an_id3_tag() -> None:
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10)
    assert sniff(tag + b"fLaC\x00\x00\x00\x22").name == "flac"
    assert sniff(tag + b"\xff\xfb\x90\x64").name == "mp3"
    assert sniff(tag[:10]).name == "mp3"  # tag only, body not fetched yet


def test_parse_ffmpeg_banner() -> None:
    banner = """Input #0, ogg, from 'http://x/a.ogg':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 112 kb/s
  Stream #0:0: Audio: vorbis, 48000 Hz, mono, fltp, 112 kb/s
    Metadata:
      TITLE           : Song Name
      ARTIST          : Some Band
"""
    probe = parse_ffmpeg_banner(banner)
    assert probe.has_audio and probe.duration_ms == 62_500
    assert (probe.title, probe.artist) == ("Song Name", "Some Band")
    assert not parse_ffmpeg_banner("Duration: N/A\n  Stream #0:0: Video: png").has_audio


def test_name_from_url() -> None:
    assert name_from_url("https://cdn.example/a/My%20Song.mp3?x=1") == "My Song"


_PROXIES: list[EgressProxy] = []


@pytest.fixture(autouse=True)
async def _close_proxies() -> AsyncIterator[None]:
    yield
    while _PROXIES:
        await _PROXIES.pop().close()


def _files(guard: NetGuard, max_bytes: int = 10_000_000) -> DirectFiles:
    client = guard.client()
    _PROXIES.append(EgressProxy(guard, client))
    return DirectFiles(guard, client, _PROXIES[-1], ffmpeg(), max_bytes)


async def _direct(server: RecordingServer, max_bytes: int = 10_000_000) -> tuple[NetGuard, DirectFiles]:
    guard = NetGuard([server.origin])
    return guard, _files(guard, max_bytes)


@pytest.mark.parametrize("name", sorted(AUDIO_FORMATS))
async def test_each_format_is_loaded_with_its_duration(
    media_server: RecordingServer, audio_files: dict[str, bytes], name: str
) -> None:
    url = media_server.add(f"/music/{name} tone.{name}", audio_files[name], "application/octet-stream")
    _, direct = await _direct(media_server)
    track = await direct.load(url, source="upload")
    assert track.source == "upload"
    assert track.url == url
    assert track.title == f"{name} tone"
    assert track.duration_ms is not None
    assert track.duration_ms == pytest.approx(TONE_SECONDS * 1000, abs=150)


async def test_tags_become_title_and_artist(media_server: RecordingServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from media_files import make_tone

    path = make_tone(tmp_path / "t.mp3", ["-c:a", "libmp3lame"], 1, {"title": "Ode", "artist": "Ludwig"})
    url = media_server.add("/t.mp3", path.read_bytes(), "audio/mpeg")
    _, direct = await _direct(media_server)
    track = await direct.load(url)
    assert (track.title, track.artist) == ("Ode", "Ludwig")


async def test_png_renamed_mp3_is_refused_naming_what_it_is(
    media_server: RecordingServer, audio_files: dict[str, bytes]
) -> None:
    url = media_server.add("/song.mp3", audio_files["png"], "audio/mpeg")
    _, direct = await _direct(media_server)
    with pytest.raises(SourceError, match="That file is a PNG image, not audio"):
        await direct.load(url)


async def test_html_page_is_refused(media_server: RecordingServer) -> None:
    url = media_server.add("/song.mp3", "<!doctype html><title>Download</title>", "text/html")
    _, direct = await _direct(media_server)
    with pytest.raises(SourceError, match="That file is an HTML page, not audio"):
        await direct.load(url)


async def test_file_over_the_size_limit_is_refused(
    media_server: RecordingServer, audio_files: dict[str, bytes]
) -> None:
    url = media_server.add("/big.wav", audio_files["wav"], "audio/wav")
    _, direct = await _direct(media_server, max_bytes=100_000)
    with pytest.raises(SourceError, match=r"limit is 0\.10 MB"):
        await direct.load(url)
    assert len(media_server.hits) == 1  # only the first bytes were asked for


async def test_video_without_audio_is_refused(media_server: RecordingServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    path = tmp_path / "silent.mp4"
    subprocess.run(  # noqa: ASYNC221 (test set-up)
        [ffmpeg(), "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue:s=32x32:d=1", "-c:v", "mpeg4",
         str(path)],
        check=True,
    )  # fmt: skip
    url = media_server.add("/silent.mp4", path.read_bytes(), "video/mp4")
    _, direct = await _direct(media_server)
    with pytest.raises(SourceError, match="no audio track"):
        await direct.load(url)


async def test_upload_link_on_an_inner_address_is_never_fetched(inner_server: RecordingServer) -> None:
    url = inner_server.add("/a.mp3", b"ID3" + bytes(100), "audio/mpeg")
    direct = _files(NetGuard())
    with pytest.raises(UnsafeURLError, match="loopback"):
        await direct.load(url)
    assert inner_server.hits == []


async def test_the_probe_does_not_follow_redirects_itself(
    media_server: RecordingServer, inner_server: RecordingServer, audio_files: dict[str, bytes]
) -> None:
    """The probe reads through the egress proxy: a redirect inward is refused there, not followed."""
    inner_server.add("/a.wav", audio_files["wav"], "audio/wav")
    sneaky = media_server.redirect("/sneaky.wav", inner_server.url("/a.wav"))
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        egress = EgressProxy(guard, client)
        probe = await probe_media(ffmpeg(), await egress.media_input(sneaky))
        assert not probe.has_audio
        assert inner_server.hits == []
        media_server.add("/plain.wav", audio_files["wav"], "audio/wav")
        assert (
            await probe_media(ffmpeg(), await egress.media_input(media_server.url("/plain.wav")))
        ).has_audio
        await egress.close()
