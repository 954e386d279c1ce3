"""The resolver with real yt-dlp (in its worker process) against local servers that record hits."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from local_http import RecordingServer, Route, serve
from media_files import TONE_SECONDS

from zilean.core.errors import SourceError, UnsafeURLError
from zilean.core.media import MediaInput
from zilean.core.sources import LoadFailed, PlaylistLoaded, Resolver, SourceOptions, TrackLoaded
from zilean.core.sources.egress import Ticket
from zilean.core.sources.ytdlp import YtDlpRunner
from zilean.core.track import Track

pytestmark = pytest.mark.asyncio(loop_scope="module")
HLS = "application/vnd.apple.mpegurl"


def upstream_of(media: MediaInput) -> str | None:
    """The URL the egress proxy fetches for a MediaInput (ffmpeg sees only the proxy's URL)."""
    assert media.location.startswith("http://zilean.invalid/") and media.proxy
    assert isinstance(media.ticket, Ticket)
    return media.ticket.upstream(0)


@pytest.fixture(scope="module")
def site() -> Iterator[RecordingServer]:
    """Stands for a public site: trusted in this module."""
    yield from serve()


@pytest.fixture(scope="module")
def inner() -> Iterator[RecordingServer]:
    """A private target (127.0.0.1, never trusted): nothing may ever be fetched from it."""
    server = next(serve_inner := serve())
    server.add("/secret.mp3", b"ID3" + bytes(1000), "audio/mpeg")
    server.add("/seg.ts", b"secret", "video/mp2t")
    yield server
    serve_inner.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def runner(site: RecordingServer) -> AsyncIterator[YtDlpRunner]:
    ytdlp = YtDlpRunner([("127.0.0.1", site.port)], timeout=30)
    await ytdlp.start()
    yield ytdlp
    await ytdlp.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def resolver(site: RecordingServer, runner: YtDlpRunner) -> AsyncIterator[Resolver]:
    options = SourceOptions(trusted_origins=(site.origin,), playlist_limit=3)
    resolver = Resolver(options, runner=runner)
    yield resolver
    await resolver.close()


@pytest.fixture(autouse=True)
def nothing_reaches_the_inner_server(inner: RecordingServer) -> Iterator[None]:
    yield
    assert inner.hits == [], "a private target was fetched"


def html(body: str, title: str = "A page") -> str:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>"


async def test_direct_file_link_loads_and_streams(
    resolver: Resolver, site: RecordingServer, audio_files: dict[str, bytes]
) -> None:
    url = site.add("/music/song.ogg", audio_files["ogg"], "audio/ogg")
    result = await resolver.resolve(f"<{url}>")
    assert isinstance(result, TrackLoaded)
    assert (result.track.source, result.track.url, result.track.title) == ("http", url, "song")
    assert result.track.duration_ms == pytest.approx(TONE_SECONDS * 1000, abs=150)
    media = await resolver.stream_for(result.track)
    assert upstream_of(media) == url and not media.is_local_file


async def test_png_renamed_mp3_is_refused(
    resolver: Resolver, site: RecordingServer, audio_files: dict[str, bytes]
) -> None:
    url = site.add("/cover.mp3", audio_files["png"], "audio/mpeg")
    assert await resolver.resolve(url) == LoadFailed("That file is a PNG image, not audio.")


async def test_html_upload_is_refused_and_a_page_without_media_is_unsupported(
    resolver: Resolver, site: RecordingServer
) -> None:
    url = site.add("/page.html", html("<p>no media here</p>"), "text/html")
    assert await resolver.resolve_file(url) == LoadFailed("That file is an HTML page, not audio.")
    result = await resolver.resolve(url)
    assert isinstance(result, LoadFailed)
    assert "nothing the bot can play" in result.message


async def test_page_with_video_pointing_inward_is_refused_unfetched(
    resolver: Resolver, site: RecordingServer, inner: RecordingServer
) -> None:
    url = site.add("/trap.html", html(f'<video src="{inner.url("/secret.mp3")}"></video>'), "text/html")
    result = await resolver.resolve(url)
    assert isinstance(result, LoadFailed)
    assert "loopback address" in result.message and "will not fetch" in result.message
    assert site.hits[-1] == "/trap.html"


async def test_page_with_audio_on_the_site_plays_through_yt_dlp(
    resolver: Resolver, site: RecordingServer, audio_files: dict[str, bytes]
) -> None:
    song = site.add("/media/tune.mp3", audio_files["mp3"], "audio/mpeg")
    url = site.add("/listen.html", html('<audio src="/media/tune.mp3"></audio>', "Listen"), "text/html")
    result = await resolver.resolve(url)
    assert isinstance(result, TrackLoaded)
    assert result.track.url == url and "Listen" in result.track.title
    assert result.track.source not in {"http", "upload", "local", "spotify"}  # resolved again by yt-dlp
    media = await resolver.stream_for(result.track)
    assert upstream_of(media) == song


async def test_yt_dlp_generic_extraction_of_a_direct_url(
    resolver: Resolver, runner: YtDlpRunner, site: RecordingServer, audio_files: dict[str, bytes]
) -> None:
    url = site.add("/direct.wav", audio_files["wav"], "audio/wav")
    info = await runner.extract(url, flat=False, allow_generic=True)
    assert info["type"] == "video" and info["stream_url"] == url
    assert (await runner.extract(url, flat=True, allow_generic=False)) == {"type": "generic"}
    media = await resolver.stream_for(Track(title="direct", url=url, source="generic"))
    assert upstream_of(media) == url


async def test_playlist_is_flat_and_capped(resolver: Resolver, site: RecordingServer) -> None:
    items = "".join(
        f'<item><title>Episode {i}</title><guid>ep{i}</guid><enclosure url="{site.url(f"/ep{i}.mp3")}" '
        'type="audio/mpeg" length="1000"/></item>'
        for i in range(10)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>The Show</title>{items}</channel></rss>'
    url = site.add("/feed.xml", feed, "application/rss+xml")
    before = len(site.hits)
    result = await resolver.resolve(url)
    assert isinstance(result, PlaylistLoaded)
    assert result.name == "The Show"
    assert [t.title for t in result.tracks] == ["Episode 0", "Episode 1", "Episode 2"]
    assert [t.url for t in result.tracks] == [site.url(f"/ep{i}.mp3") for i in range(3)]
    assert result.truncated_from == 10
    assert not any(hit.startswith("/ep") for hit in site.hits[before:])  # metadata only


async def test_redirect_to_the_inner_server_is_refused(
    resolver: Resolver, site: RecordingServer, inner: RecordingServer
) -> None:
    url = site.redirect("/jump.mp3", inner.url("/secret.mp3"))
    result = await resolver.resolve(url)
    assert isinstance(result, LoadFailed) and "loopback" in result.message


@pytest.mark.parametrize("segment", ["inner", "file:///etc/passwd"])
async def test_hls_with_private_or_file_segments_is_refused(
    resolver: Resolver, site: RecordingServer, inner: RecordingServer, segment: str
) -> None:
    target = inner.url("/seg.ts") if segment == "inner" else segment
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n{site.url('/ok.ts')}\n#EXTINF:2,\n{target}\n"
    url = site.add("/live/stream.m3u8", playlist, HLS)
    result = await resolver.resolve(url)
    assert isinstance(result, LoadFailed)
    assert "playlist refers to something unsafe" in result.message


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("file:///etc/passwd", "not file: links"),
        ("http://[::1]/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("data:audio/mp3;base64,AAAA", "not data: links"),
    ],
)
async def test_unsafe_links_are_refused(resolver: Resolver, query: str, words: str) -> None:
    result = await resolver.resolve(query)
    assert isinstance(result, LoadFailed) and words in result.message


async def test_hostname_resolving_to_10_0_0_1_is_refused(site: RecordingServer) -> None:
    asked: list[str] = []

    async def fake_dns(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["10.0.0.1"]

    resolver = Resolver(SourceOptions(), resolve=fake_dns)
    try:
        result = await resolver.resolve("http://music.internal.test/song.mp3")
    finally:
        await resolver.close()
    assert result == LoadFailed("That link leads to a private network address, which the bot will not fetch.")
    assert asked == ["music.internal.test"]


async def test_worker_guard_refuses_inner_targets_even_if_asked_directly(
    runner: YtDlpRunner, inner: RecordingServer
) -> None:
    with pytest.raises(UnsafeURLError, match="loopback"):
        await runner.extract(inner.url("/secret.mp3"), flat=False, allow_generic=True)


async def test_a_hung_site_times_out_and_the_runner_recovers(site: RecordingServer) -> None:
    def slow() -> Route:
        time.sleep(4)
        return Route(200, b"<html></html>", {"Content-Type": "text/html"})

    site.routes["/slow"] = slow
    ytdlp = YtDlpRunner([("127.0.0.1", site.port)], timeout=1.5)
    try:
        with pytest.raises(SourceError, match="took too long"):
            await ytdlp.extract(site.url("/slow"), flat=True)
        ok = site.add("/after.mp3", b"x", "audio/mpeg")
        assert (await ytdlp.extract(ok, flat=True, allow_generic=False))["type"] == "generic"
    finally:
        await ytdlp.close()


async def test_a_slow_site_does_not_hold_up_other_queries(site: RecordingServer) -> None:
    released = threading.Event()

    def stuck_until_released() -> Route:
        released.wait(20)
        return Route(200, b"<html><title>late</title></html>", {"Content-Type": "text/html"})

    site.routes["/stuck"] = stuck_until_released
    quick = site.add("/quick.mp3", b"ID3", "audio/mpeg")
    ytdlp = YtDlpRunner([("127.0.0.1", site.port)], timeout=30, workers=2)
    finished: list[str] = []

    async def ask(url: str, name: str) -> None:
        try:
            await ytdlp.extract(url, flat=True)
        except SourceError:
            pass
        finished.append(name)
        if name == "quick":
            released.set()

    try:
        slow = asyncio.create_task(ask(site.url("/stuck"), "stuck"))
        await asyncio.sleep(0)
        await ask(quick, "quick")
        await slow
    finally:
        released.set()
        await ytdlp.close()
    assert finished == ["quick", "stuck"]


@pytest.mark.parametrize("target", ["inner", "file:///etc/passwd"])
async def test_playlist_entries_pointing_inward_are_refused_when_played(
    resolver: Resolver, site: RecordingServer, inner: RecordingServer, target: str
) -> None:
    enclosure = inner.url("/secret.mp3") if target == "inner" else target
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Trap</title>'
        f'<item><title>Bad</title><guid>b</guid><enclosure url="{enclosure}" type="audio/mpeg"/></item>'
        "</channel></rss>"
    )
    result = await resolver.resolve(site.add(f"/trap-{target[:5]}.xml", feed, "application/rss+xml"))
    if target == "inner":  # queued, but refused when it is about to play
        assert isinstance(result, PlaylistLoaded)
        with pytest.raises(UnsafeURLError, match="loopback"):
            await resolver.stream_for(result.tracks[0])
    else:  # not even queued
        assert result == LoadFailed("That playlist is empty.")
