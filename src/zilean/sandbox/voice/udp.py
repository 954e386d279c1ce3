"""The voice UDP endpoint: answers IP discovery and feeds decrypted RTP payloads to captures."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from . import rtp
from .capture import GuildCapture

log = logging.getLogger(__name__)


@dataclass
class UdpRoute:
    """Where the packets of one SSRC go, and the key that opens them."""

    secret_key: bytes
    capture: GuildCapture


class VoiceUdpProtocol(asyncio.DatagramProtocol):
    """One socket for every guild, as a Discord voice server has: routing is by SSRC."""

    def __init__(self, routes: Callable[[int], UdpRoute | None]) -> None:
        self._routes = routes
        self._transport: asyncio.DatagramTransport | None = None
        self._paused_until = 0.0
        self.dropped_while_paused = 0
        self.unknown_ssrc = 0
        self.malformed = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def pause(self, seconds: float) -> None:
        """Ignore every datagram for the next `seconds` (fault injection)."""
        self._paused_until = time.monotonic() + seconds

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        now = time.monotonic()
        if now < self._paused_until:
            self.dropped_while_paused += 1
            return
        if rtp.is_discovery_request(data):
            self._answer_discovery(data, addr)
            return
        if not rtp.is_rtp(data):
            self.malformed += 1
            return
        ssrc = int.from_bytes(data[8:12], "big")
        route = self._routes(ssrc)
        if route is None:
            self.unknown_ssrc += 1
            return
        try:
            _, payload = rtp.decrypt_xchacha(data, route.secret_key)
        except rtp.PacketError:
            route.capture.decrypt_errors += 1
            return
        route.capture.on_packet(payload, now)

    def _answer_discovery(self, data: bytes, addr: tuple[str, int]) -> None:
        # Like Discord, echo the address the packet came from; the client puts it in SELECT_PROTOCOL.
        if self._transport is not None:
            self._transport.sendto(rtp.discovery_response(rtp.discovery_ssrc(data), addr[0], addr[1]), addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("voice UDP error: %s", exc)
