"""The egress proxy on its own: it serves only what a ticket registered, caps requests and endless streams."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from local_http import RecordingServer

from egress_thread import handler_server
from zilean.core.sources.egress import MAX_REQUESTS_PER_WINDOW, EgressProxy, Ticket, _byte_range
from zilean.core.sources.netguard import NetGuard


@pytest.fixture
async def proxy(media_server: RecordingServer) -> AsyncIterator[EgressProxy]:
    guard = NetGuard([media_server.origin])
    async with guard.client() as client:
        egress = EgressProxy(guard, client)
        await egress.start()
        yield egress
        await egress.close()


async def ask(proxy: EgressProxy, target: str, *headers: str) -> tuple[int, bytes]:
    """Send ffmpeg's kind of request (absolute form) to the proxy; the status and the body."""
    host, port = proxy.address.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [f"GET {target} HTTP/1.1", "Host: x", *headers, "", ""]
    writer.write("\r\n".join(lines).encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_only_registered_tickets_are_served(
    proxy: EgressProxy, media_server: RecordingServer, inner_server: RecordingServer
) -> None:
    url = media_server.add("/a.mp3", b"ID3" + bytes(500), "audio/mpeg")
    inner_server.add("/secret", b"internal", "text/plain")
    media = await proxy.media_input(url)
    assert await ask(proxy, media.location) == (200, b"ID3" + bytes(500))
    # Whatever else ffmpeg might be talked into asking for: not served, not fetched.
    for target in (
        inner_server.url("/secret"),
        media_server.url("/a.mp3"),
        "http://zilean.invalid/not-a-ticket/0/a.mp3",
        media.location.replace("/0/", "/7/"),
        "http://zilean.invalid:8080" + media.location.removeprefix("http://zilean.invalid"),
    ):
        status, _ = await ask(proxy, target)
        assert status in (403, 404), target
    assert inner_server.hits == []
    assert media_server.hits == ["/a.mp3"]
    assert proxy.refused == 5


async def test_a_ticket_dies_with_the_last_media_input_holding_it(
    proxy: EgressProxy, media_server: RecordingServer
) -> None:
    url = media_server.add("/a.mp3", b"ID3" + bytes(500), "audio/mpeg")
    location = (await proxy.media_input(url)).location  # nothing keeps the MediaInput
    status, _ = await ask(proxy, location)
    assert status == 404
    assert media_server.hits == []


async def test_ranges_pass_through_and_one_past_the_end_is_unsatisfiable(
    proxy: EgressProxy, media_server: RecordingServer
) -> None:
    data = bytes(range(256)) * 4
    url = media_server.add("/a.bin", data, "audio/mpeg")
    media = await proxy.media_input(url)
    assert await ask(proxy, media.location, "Range: bytes=1000-") == (206, data[1000:])
    # RecordingServer answers a range past the end with the whole file; the proxy says 416.
    # (A site that ignores ranges altogether: test_pipeline's HTTP seek test.)
    status, _ = await ask(proxy, media.location, "Range: bytes=5000-")
    assert status == 416


def test_byte_range_parses_only_plain_byte_ranges() -> None:
    assert _byte_range("bytes=0-") == (0, None)
    assert _byte_range("bytes=10-20") == (10, 20)
    assert _byte_range("bytes=-20") is None
    assert _byte_range("items=1-2") is None
    assert _byte_range("") is None


def test_a_ticket_that_asks_too_often_fails_for_good() -> None:
    ticket = Ticket("t", "https://cdn.example/a.mp3", {})
    now = 1000.0
    assert all(ticket.admit(now + i * 0.01) for i in range(MAX_REQUESTS_PER_WINDOW))
    assert not ticket.admit(now + 1)
    assert ticket.failure is not None and "kept dropping the connection" in ticket.failure
    assert not ticket.admit(now + 3600)  # it stays failed


def test_requests_spread_over_time_stay_within_the_budget() -> None:
    ticket = Ticket("t", "https://cdn.example/live.m3u8", {})
    assert all(ticket.admit(1000.0 + i * 0.5) for i in range(10 * MAX_REQUESTS_PER_WINDOW))
    assert ticket.failure is None


@pytest.fixture
def endless_server() -> Iterator[str]:
    """An 'internet radio' on 127.0.0.1: no Content-Length, a kilobyte every 20 ms for up to 30 s."""

    class Radio(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "audio/mpeg")
            self.end_headers()
            deadline = time.monotonic() + 30
            try:
                while time.monotonic() < deadline:
                    self.wfile.write(b"\xff" * 1024)
                    self.wfile.flush()
                    time.sleep(0.02)
            except (BrokenPipeError, ConnectionResetError):
                pass

    with handler_server(Radio) as base:
        yield base


async def test_a_stream_without_a_size_is_ended_at_the_time_limit(endless_server: str) -> None:
    guard = NetGuard([endless_server])
    async with guard.client() as client:
        egress = EgressProxy(guard, client, stream_limit_s=0.5)
        media = await egress.media_input(endless_server + "/radio.mp3")
        status, body = await ask(egress, media.location)
        await egress.close()
    assert status == 200
    assert body.endswith(b"0\r\n\r\n")  # a proper end of the chunked body, before the site's 30 s
    assert media.ticket is not None and media.ticket.failure is not None
    assert "limit for endless streams" in media.ticket.failure
