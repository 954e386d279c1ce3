"""The voice UDP endpoint: answers IP discovery and feeds decrypted RTP payloads to captures."""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

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
        self.handle(data, addr, time.monotonic())

    def handle(self, data: bytes, addr: tuple[str, int], arrived: float) -> None:
        """Route one datagram that arrived at `arrived` (monotonic seconds)."""
        if time.monotonic() < self._paused_until:
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
        route.capture.on_packet(payload, arrived)

    def _answer_discovery(self, data: bytes, addr: tuple[str, int]) -> None:
        # Like Discord, echo the address the packet came from; the client puts it in SELECT_PROTOCOL.
        if self._transport is not None:
            self._transport.sendto(rtp.discovery_response(rtp.discovery_ssrc(data), addr[0], addr[1]), addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("voice UDP error: %s", exc)


# Python does not export it; 35 is Linux's SO_TIMESTAMPNS(_OLD) on x86 and ARM (asm-generic/socket.h).
SO_TIMESTAMPNS: int | None = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
# struct timespec, as SO_TIMESTAMPNS delivers it (two native longs on Linux).
_TIMESPEC = struct.Struct("@ll")
_MAX_PER_WAKEUP = 2000


class DrainingUdpReader:
    """Read every queued datagram per wakeup, each stamped with the kernel's arrival time.

    asyncio's datagram transport reads one datagram per loop iteration; with the decode thread
    holding the GIL, each iteration can wait a 5 ms switch interval, so 100 streams (5,000 packets/s)
    fell behind and the arrival times measured the sandbox, not the bot. Draining the socket and
    using SO_TIMESTAMPNS keeps both the throughput and the gap statistics honest.
    """

    def __init__(self, sock: socket.socket, protocol: VoiceUdpProtocol) -> None:
        self._sock = sock
        self._protocol = protocol
        self._stamped = False
        if SO_TIMESTAMPNS is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                self._stamped = True
            except OSError:
                log.debug("no SO_TIMESTAMPNS; voice packet arrival = read time")
        protocol.connection_made(_SendOnly(sock))

    def drain(self) -> None:
        """add_reader callback: hand every waiting datagram to the protocol."""
        offset = time.time() - time.monotonic()  # kernel stamps are wall-clock; captures use monotonic
        space = socket.CMSG_SPACE(_TIMESPEC.size)
        for _ in range(_MAX_PER_WAKEUP):
            try:
                data, ancillary, _flags, addr = self._sock.recvmsg(2048, space)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.debug("voice UDP receive error: %s", exc)
                return
            arrived = time.monotonic()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:  # SCM_ and SO_ share the value
                    seconds, nanoseconds = _TIMESPEC.unpack(value[: _TIMESPEC.size])
                    arrived = seconds + nanoseconds / 1e9 - offset
            self._protocol.handle(data, addr, arrived)


class _SendOnly(asyncio.DatagramTransport):
    """The one thing the protocol needs from a transport here: sendto (discovery answers)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock

    def sendto(self, data: bytes | bytearray | memoryview, addr: Any = None) -> None:
        try:
            self._sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            log.debug("voice UDP send buffer full; discovery answer dropped")
