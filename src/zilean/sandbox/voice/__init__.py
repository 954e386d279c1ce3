"""The sandbox's voice server: voice gateway v8 over TLS, UDP/RTP receive, decoding and analysis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncGenerator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from . import tls
from .capture import GuildCapture
from .gateway import ExpectedSession, VoiceGateway
from .udp import DrainingUdpReader, UdpRoute, VoiceUdpProtocol

log = logging.getLogger(__name__)

__all__ = ["VoiceServer"]

UDP_RECEIVE_BUFFER = 4 << 20
DECODE_INTERVAL = 0.1  # seconds between decode batches: 5 packets per guild per batch


class VoiceServer:
    """Discord's voice side for the sandbox: one TLS websocket port and one UDP port for all guilds."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        cert_dir: Path | None = None,
        *,
        decode: bool = True,
        decode_in_thread: bool = False,
    ) -> None:
        self.host = host
        self.cert_dir = cert_dir
        self.decode_default = decode
        # Decoding on the loop in per-guild slices beat a worker thread in bench/sandbox_voice_cpu.py:
        # PyAV keeps the GIL while decoding, so the thread starved the loop (GIL convoy).
        self.decode_in_thread = decode_in_thread
        self.endpoint = ""
        self.port = 0
        self.udp_port = 0
        self.cert_path = Path()
        self.key_path = Path()
        self._captures: dict[int, GuildCapture] = {}
        self._routes: dict[int, UdpRoute] = {}  # cached per SSRC: the hot path allocates nothing
        self._gateway = VoiceGateway(host, self._captures, self._new_capture)
        self._udp: VoiceUdpProtocol | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._udp_socket: socket.socket | None = None
        self._udp_reader = False
        self._runner: web.AppRunner | None = None
        self._decoder_task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Generate/load the certificate, open the TLS websocket port and the UDP port."""
        loop = asyncio.get_running_loop()
        self.cert_path, self.key_path = await asyncio.to_thread(
            tls.ensure_certificate, self.cert_dir, self.host
        )
        app = web.Application()
        app.router.add_get("/", self._gateway.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        ssl_context = tls.server_ssl_context(self.cert_path, self.key_path)
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        udp = self._udp = VoiceUdpProtocol(self._route)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.bind((self.host, 0))
        _grow_receive_buffer(sock)
        self._udp_socket = sock
        try:
            reader = DrainingUdpReader(sock, udp)
            loop.add_reader(sock.fileno(), reader.drain)
        except (NotImplementedError, OSError):
            # No add_reader (Windows' proactor loop) or no kernel timestamps: asyncio's transport.
            transport, _ = await loop.create_datagram_endpoint(lambda: udp, sock=sock)
            self._udp_transport = transport
        else:
            self._udp_reader = True
        self.udp_port = sock.getsockname()[1]
        self._gateway.udp_port = self.udp_port
        self.endpoint = f"{self.host}:{self.port}"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-opus")
        self._decoder_task = asyncio.create_task(self._decode_loop(), name="sandbox voice decoder")
        log.info("sandbox voice server on wss://%s (udp %s)", self.endpoint, self.udp_port)

    async def stop(self) -> None:
        """Close every websocket and both ports."""
        if self._decoder_task is not None:
            self._decoder_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._decoder_task
            self._decoder_task = None
        for guild_id in list(self._gateway.sessions):
            await self._gateway.end(guild_id)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._udp_transport is not None:
            self._udp_transport.close()  # closes the socket too
            self._udp_transport = None
        elif self._udp_socket is not None:
            if self._udp_reader:
                asyncio.get_running_loop().remove_reader(self._udp_socket.fileno())
            self._udp_socket.close()
        self._udp_socket = None
        self._udp_reader = False
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- the main gateway's side --------------------------------------------------------------

    def expect_session(self, *, guild_id: int, user_id: int, session_id: str, token: str) -> None:
        """Accept the next IDENTIFY (or a RESUME) for this guild if it carries exactly these values.

        Resume contract for the main gateway: after a 4015 close discord.py re-sends op 4 for the channel
        it is already in and waits until it has seen VOICE_SERVER_UPDATE *and then* VOICE_STATE_UPDATE
        (voice_state.py: a server update while connected moves it to got_voice_server_update, and only
        a state update after that reaches got_both_voice_updates); the other order hangs it for 30 s.
        """
        self._gateway.expect(ExpectedSession(guild_id, user_id, session_id, token))

    def end_session(self, guild_id: int) -> None:
        """The bot left voice: forget the session and close its websocket (stats are kept)."""
        task = asyncio.get_running_loop().create_task(self._gateway.end(guild_id))
        task.add_done_callback(_log_failure)

    # -- measurements -------------------------------------------------------------------------

    def stats(self, guild_id: int) -> dict[str, Any]:
        """Connection state plus the guild's packet, timing and audio analysis numbers."""
        capture = self._captures.get(guild_id)
        result = capture.stats() if capture is not None else GuildCapture(guild_id).stats()
        session = self._gateway.sessions.get(guild_id)
        ws_open = session is not None and session.ws is not None and not session.ws.closed
        result.update(
            connected=bool(ws_open and session is not None and session.secret_key is not None),
            websocket_open=ws_open,
            ssrc=session.ssrc if session else None,
            mode=session.mode if session else None,
            ws_connects=session.ws_connects if session else 0,
            resumes=session.resumes if session else 0,
            last_close_code=session.last_close_code if session else None,
            udp_dropped_while_paused=self._udp.dropped_while_paused if self._udp else 0,
        )
        return result

    def wav(self, guild_id: int, seconds: float) -> bytes:
        """The last `seconds` (≤ 60) of the guild's decoded audio as a 48 kHz stereo 16-bit WAV."""
        return self._capture(guild_id).wav(seconds)

    def subscribe_pcm(self, guild_id: int) -> AsyncGenerator[bytes, None]:
        """Live decoded 48 kHz stereo s16le chunks (about 100 ms each) for the browser page."""
        return self._capture(guild_id).subscribe()

    def reset_stats(self, guild_id: int) -> None:
        """Start the guild's measurements afresh."""
        self._capture(guild_id).reset()

    def set_decoding(self, guild_id: int, enabled: bool) -> None:
        """Turn full Opus decoding on or off for a guild; packet timing stats are always on."""
        self._capture(guild_id).decode_enabled = enabled

    # -- faults -------------------------------------------------------------------------------

    async def drop_websocket(self, guild_id: int | None = None) -> None:
        """Close the voice websocket(s) with 4015 so discord.py resumes."""
        await self._gateway.drop(guild_id)

    def pause_udp(self, seconds: float) -> None:
        """Stop receiving UDP (discovery included) for `seconds`."""
        if self._udp is not None:
            self._udp.pause(seconds)

    # -- internals ----------------------------------------------------------------------------

    def _new_capture(self, guild_id: int) -> GuildCapture:
        return GuildCapture(guild_id, decode=self.decode_default)

    def _capture(self, guild_id: int) -> GuildCapture:
        capture = self._captures.get(guild_id)
        if capture is None:
            capture = self._captures[guild_id] = self._new_capture(guild_id)
        return capture

    def _route(self, ssrc: int) -> UdpRoute | None:
        session = self._gateway.by_ssrc.get(ssrc)
        if session is None or session.secret_key is None:
            return None
        route = self._routes.get(ssrc)
        if route is None or (route.secret_key, route.capture) != (session.secret_key, session.capture):
            route = self._routes[ssrc] = UdpRoute(session.secret_key, session.capture)
        return route

    async def _decode_loop(self) -> None:
        """Every DECODE_INTERVAL, decode what arrived (guild by guild on the loop, or in a thread)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(DECODE_INTERVAL)
            work = [(c, batch) for c in self._captures.values() if (batch := c.take_pending())]
            if not work:
                continue
            if not self.decode_in_thread:
                for capture, batch in work:
                    capture.accept_pcm(*capture.decode_batch(batch))
                    await asyncio.sleep(0)  # ~5 packets per slice: datagrams are read in between
                continue
            try:
                results = await loop.run_in_executor(self._executor, _decode_all, work)
            except Exception:
                log.exception("sandbox voice decode batch failed")
                continue
            for capture, (pcm, errors) in zip((c for c, _ in work), results, strict=True):
                capture.accept_pcm(pcm, errors)


def _grow_receive_buffer(sock: socket.socket) -> None:
    """Ask for a 4 MiB UDP receive buffer: 100 streams are ~1.8 MB/s, and the 208 KiB default overflows
    (measured: kernel RcvbufErrors) whenever the event loop stalls for ~100 ms on a busy machine."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)


def _decode_all(work: list[tuple[GuildCapture, list[bytes]]]) -> list[tuple[bytes, int]]:
    return [capture.decode_batch(batch) for capture, batch in work]


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("ending a voice session failed", exc_info=task.exception())
