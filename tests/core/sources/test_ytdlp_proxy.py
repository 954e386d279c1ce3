"""YTDLP_PROXY: yt-dlp extracts through it, and the stream it found is fetched through it too."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from local_http import RecordingServer
from media_files import TONE_SECONDS

from egress_thread import handler_server
from zilean.core.pipeline import OpusStream, PlaybackSpec
from zilean.core.sources import Resolver, SourceOptions
from zilean.core.sources.ytdlp_config import YtDlpConfig
from zilean.core.track import Track


def drain(stream: OpusStream) -> int:
    stream.start()
    packets = 0
    while (packet := stream.read()) is not None:
        packets += bool(packet)
        if not packet:
            stream.wait_ready(1)
    stream.close()
    return packets


@pytest.fixture
def forward_proxy() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A plain HTTP forward proxy on 127.0.0.1 that records (URL, User-Agent) of every request."""
    seen: list[tuple[str, str]] = []

    class Forward(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            seen.append((self.path, self.headers.get("User-Agent", "")))
            wanted = {k: v for k, v in self.headers.items() if k.lower() in ("range", "user-agent", "accept")}
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no proxy of its own
            try:
                with opener.open(urllib.request.Request(self.path, headers=wanted), timeout=10) as upstream:
                    body, status, headers = upstream.read(), upstream.status, dict(upstream.headers)
            except urllib.error.HTTPError as exc:
                body, status, headers = exc.read(), exc.code, dict(exc.headers)
            self.send_response(status)
            for name in ("Content-Type", "Content-Range", "Accept-Ranges"):
                if name in headers:
                    self.send_header(name, headers[name])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with handler_server(Forward) as base:
        yield base, seen


async def test_a_track_found_through_the_proxy_streams_through_it(
    media_server: RecordingServer,
    audio_files: dict[str, bytes],
    forward_proxy: tuple[str, list[tuple[str, str]]],
) -> None:
    proxy, seen = forward_proxy
    url = media_server.add("/direct.wav", audio_files["wav"], "audio/wav")
    options = SourceOptions(trusted_origins=(media_server.origin,), ytdlp=YtDlpConfig(proxy=proxy))
    resolver = Resolver(options)
    try:
        media = await resolver.stream_for(Track(title="direct", url=url, source="generic"))
        stream = OpusStream(options.ffmpeg_executable(), PlaybackSpec(media))
        packets = await asyncio.to_thread(drain, stream)  # the egress proxy serves on this loop
    finally:
        await resolver.close()
    assert stream.error is None and packets >= TONE_SECONDS * 50 - 2
    # yt-dlp's extraction, the bot's check and the egress proxy's fetch for ffmpeg: all through it
    # (the bot sends the User-Agent yt-dlp says the stream wants), and nothing bypassed it.
    through = [path for path, _ in seen if path == url]
    assert len(through) >= 3, seen
    assert len([hit for hit in media_server.hits if hit == "/direct.wav"]) == len(through)
