"""HLS playlists are vetted entry by entry at `=play`, and rewritten to proxy URLs when ffmpeg reads them."""

from __future__ import annotations

import pytest
from local_http import RecordingServer

from zilean.core.errors import SourceError, UnsafeURLError
from zilean.core.sources.egress import EgressProxy
from zilean.core.sources.netguard import NetGuard
from zilean.core.sources.streams import (
    looks_like_dash,
    media_input_for,
    playlist_references,
    rewrite_playlist,
)

HLS = "application/vnd.apple.mpegurl"


def media_playlist(*segments: str) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2"]
    for segment in segments:
        lines += ["#EXTINF:2.0,", segment]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def test_playlist_references_finds_segments_variants_keys_and_maps() -> None:
    text = "\n".join(
        [
            "#EXTM3U",
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",URI="audio/index.m3u8"',
            "#EXT-X-STREAM-INF:BANDWIDTH=1000",
            "low/index.m3u8",
            '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example/k"',
            '#EXT-X-MAP:URI="init.mp4"',
            "#EXTINF:2,",
            "seg1.ts",
        ]
    )
    assert playlist_references(text, "https://cdn.example/live/master.m3u8") == [
        ("https://cdn.example/live/audio/index.m3u8", True),
        ("https://cdn.example/live/low/index.m3u8", True),
        ("https://keys.example/k", False),
        ("https://cdn.example/live/init.mp4", False),
        ("https://cdn.example/live/seg1.ts", False),
    ]


@pytest.mark.parametrize("kind", ["private-segment", "file-segment", "key", "variant"])
async def test_hls_with_an_inner_or_file_entry_is_refused(
    media_server: RecordingServer, inner_server: RecordingServer, kind: str
) -> None:
    inner_server.add("/seg.ts", b"secret", "video/mp2t")
    inner_server.add("/inner.m3u8", media_playlist("seg.ts"), HLS)
    good = media_server.url("/ok.ts")
    playlist = {
        "private-segment": media_playlist(good, inner_server.url("/seg.ts")),
        "file-segment": media_playlist(good, "file:///etc/passwd"),
        "key": media_playlist(good).replace(
            "#EXTINF", '#EXT-X-KEY:METHOD=AES-128,URI="http://169.254.169.254/key"\n#EXTINF', 1
        ),
        "variant": f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{inner_server.url('/inner.m3u8')}\n",
    }[kind]
    url = media_server.add("/live.m3u8", playlist, HLS)
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        with pytest.raises(UnsafeURLError, match="playlist refers to something unsafe") as caught:
            await media_input_for(guard, client, EgressProxy(guard, client), url)
    assert "will not fetch" in caught.value.message or "not file:" in caught.value.message
    assert inner_server.hits == []


async def test_clean_hls_passes_and_nested_variant_is_checked(media_server: RecordingServer) -> None:
    media_server.add("/a/index.m3u8", media_playlist("s1.ts", "s2.ts"), HLS)
    # No HLS content type: recognised by its first line.
    url = media_server.add("/master", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\na/index.m3u8\n", "text/plain")
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        egress = EgressProxy(guard, client)
        media = await media_input_for(guard, client, egress, url, headers={"User-Agent": "x"})
        await egress.close()
    assert media.location.startswith("http://zilean.invalid/") and media.location.endswith("/0/master")
    assert media.proxy == egress.address
    assert media.ticket is not None and media.ticket.headers == {"User-Agent": "x"}  # type: ignore[attr-defined]
    assert media.protocol_whitelist == "http,tcp,crypto"
    assert media_server.hits == ["/master", "/master", "/a/index.m3u8"]


async def test_media_input_is_the_url_after_checked_redirects(media_server: RecordingServer) -> None:
    final = media_server.add("/file.mp3", b"ID3" + bytes(5000), "audio/mpeg")
    start = media_server.redirect("/short", "/file.mp3")
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        egress = EgressProxy(guard, client)
        media = await media_input_for(guard, client, egress, start)
        await egress.close()
    assert media.ticket is not None and media.ticket.upstream(0) == final  # type: ignore[attr-defined]
    assert not media.is_local_file


def test_unquoted_uri_attributes_are_found_and_rewritten() -> None:
    text = "\n".join(
        [
            "#EXTM3U",
            "#EXT-X-MAP:URI=http://127.0.0.1:8080/init.mp4",
            "#EXT-X-KEY:METHOD=AES-128,URI=http://169.254.169.254/key,IV=0x1",
            '#EXT-X-KEY:METHOD=AES-128,URI="k2"',
            "#EXTINF:2,",
            "seg1.ts",
        ]
    )
    base = "https://cdn.example/live/index.m3u8"
    assert [uri for uri, _ in playlist_references(text, base)] == [
        "http://127.0.0.1:8080/init.mp4",
        "http://169.254.169.254/key",
        "https://cdn.example/live/k2",
        "https://cdn.example/live/seg1.ts",
    ]
    seen: list[str] = []

    def proxied(uri: str) -> str:
        seen.append(uri)
        return f"http://zilean.invalid/t/{len(seen)}/x"

    rewritten = rewrite_playlist(text, base, proxied).splitlines()
    assert rewritten == [
        "#EXTM3U",
        '#EXT-X-MAP:URI="http://zilean.invalid/t/1/x"',
        '#EXT-X-KEY:METHOD=AES-128,URI="http://zilean.invalid/t/2/x",IV=0x1',
        '#EXT-X-KEY:METHOD=AES-128,URI="http://zilean.invalid/t/3/x"',
        "#EXTINF:2,",
        "http://zilean.invalid/t/4/x",
    ]
    assert seen == [uri for uri, _ in playlist_references(text, base)]
    assert not any("127.0.0.1" in line or "169.254" in line or "cdn.example" in line for line in rewritten)


def test_a_dash_manifest_is_recognised_by_type_or_root_element() -> None:
    mpd = '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period/></MPD>'
    assert looks_like_dash("text/xml", mpd.encode())
    assert looks_like_dash("application/dash+xml", b"")
    assert not looks_like_dash("audio/mpeg", b"ID3\x04")


async def test_media_input_for_refuses_a_dash_manifest(media_server: RecordingServer) -> None:
    mpd = '<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period/></MPD>'
    url = media_server.add("/a.mpd", mpd, "application/dash+xml")
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        with pytest.raises(SourceError, match="DASH manifest"):
            await media_input_for(guard, client, EgressProxy(guard, client), url)
