"""A link that never yields audio ends its track with a clear reason instead of playing silence forever."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from player_sink import FakeSink

from audio_fixtures import ffmpeg_exe
from egress_thread import egress_proxy, handler_server
from zilean.core.events import EndReason, PlayerEvent, TrackEnded
from zilean.core.pipeline import OpusStream, PlaybackSpec
from zilean.core.player import Player


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Answers 200 with a size, then sends nothing until the test ends."""
    release = threading.Event()

    class Silent(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            release.wait(60)

    with handler_server(Silent) as base:
        try:
            yield base
        finally:
            release.set()  # before the server's shutdown waits for its handler threads


async def test_a_track_without_a_first_packet_fails_with_a_reason(silent_server: str) -> None:
    events: list[PlayerEvent] = []
    with egress_proxy(silent_server) as proxy:
        media = proxy.media(f"{silent_server}/stuck.mp3")
        player = Player(
            lambda spec: OpusStream(ffmpeg_exe(), spec, first_packet_timeout=1.0),
            events.append,
            asyncio.get_running_loop(),
            linger_ms=40,
        )
        player.play(PlaybackSpec(media), tag="stuck")
        sink = FakeSink(player).start()  # after play(): the sink stops at the first None
        try:
            async with asyncio.timeout(30):
                while not any(isinstance(event, TrackEnded) for event in events):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
        finally:
            sink.stop()
            player.close()
    ended = [event for event in events if isinstance(event, TrackEnded)]
    assert ended == [
        TrackEnded(
            "stuck",
            EndReason.FAILED,
            0,
            "This link produced no audio within 1 second, so the bot skipped it.",
        )
    ]
    assert sink.audio() == []  # only silence was handed out while it waited
