"""The voice websocket (gateway v8): IDENTIFY/RESUME checks, READY, SESSION_DESCRIPTION, SPEAKING."""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from . import rtp
from .capture import GuildCapture

log = logging.getLogger(__name__)

# Opcodes (Discord voice gateway v8).
IDENTIFY, SELECT_PROTOCOL, READY, HEARTBEAT, SESSION_DESCRIPTION, SPEAKING = 0, 1, 2, 3, 4, 5
HEARTBEAT_ACK, RESUME, HELLO, RESUMED, CLIENT_CONNECT, CLIENT_DISCONNECT = 6, 7, 8, 9, 11, 13
# Close codes, as Discord documents them.
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTH_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_SESSION_INVALID = 4006
CLOSE_DISCONNECTED = 4014
CLOSE_SERVER_CRASHED = 4015
CLOSE_UNKNOWN_MODE = 4016
HEARTBEAT_INTERVAL_MS = 13_750  # what Discord's voice servers announce


@dataclass(frozen=True)
class ExpectedSession:
    """What the main gateway told the bot in VOICE_STATE_UPDATE / VOICE_SERVER_UPDATE."""

    guild_id: int
    user_id: int
    session_id: str
    token: str


@dataclass
class VoiceSession:
    """One guild's voice connection, surviving websocket drops so RESUME can pick it up."""

    expected: ExpectedSession
    ssrc: int
    capture: GuildCapture
    secret_key: bytes | None = None
    mode: str | None = None
    media_session_id: str = ""
    ws: web.WebSocketResponse | None = None
    seq: int = 0
    client_address: tuple[str, int] | None = None
    ws_connects: int = 0
    resumes: int = 0
    heartbeats: int = 0
    last_close_code: int | None = None
    connected_at: float | None = field(default=None)


class VoiceGateway:
    """Serves voice websockets for every guild; the VoiceServer owns it and the UDP side."""

    def __init__(self, host: str, captures: dict[int, GuildCapture], new_capture: Any) -> None:
        self.host = host
        self.udp_port = 0
        self._expected: dict[int, ExpectedSession] = {}
        self.sessions: dict[int, VoiceSession] = {}
        self.by_ssrc: dict[int, VoiceSession] = {}
        self._captures = captures
        self._new_capture = new_capture
        self._next_ssrc = 1000 + secrets.randbelow(1000)

    # -- called by the main gateway ----------------------------------------------------------

    def expect(self, expected: ExpectedSession) -> None:
        """Allow one IDENTIFY with exactly these values (a new join or a move)."""
        self._expected[expected.guild_id] = expected

    async def end(self, guild_id: int) -> None:
        """Forget the guild's voice session; close its websocket as Discord does (4014)."""
        self._expected.pop(guild_id, None)
        session = self.sessions.pop(guild_id, None)
        if session is None:
            return
        self.by_ssrc.pop(session.ssrc, None)
        session.capture.set_speaking(0)
        if session.ws is not None and not session.ws.closed:
            session.last_close_code = CLOSE_DISCONNECTED
            ws, session.ws = session.ws, None
            await ws.close(code=CLOSE_DISCONNECTED, message=b"Disconnected.")

    async def drop(self, guild_id: int | None) -> int:
        """Close voice websockets with 4015 ('voice server crashed'), which discord.py resumes."""
        dropped = 0
        for gid, session in list(self.sessions.items()):
            if guild_id is not None and gid != guild_id:
                continue
            if session.ws is not None and not session.ws.closed:
                session.last_close_code = CLOSE_SERVER_CRASHED
                ws, session.ws = session.ws, None
                await ws.close(code=CLOSE_SERVER_CRASHED, message=b"Voice server crashed.")
                dropped += 1
        return dropped

    # -- the websocket ------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for wss://endpoint/?v=8 (permessage-deflate is negotiated by aiohttp)."""
        ws = web.WebSocketResponse(autoping=True, compress=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        if request.query.get("v") != "8":
            log.debug("voice websocket asked for version %r; speaking v8 anyway", request.query.get("v"))
        session: VoiceSession | None = None
        await self._send(ws, None, HELLO, {"heartbeat_interval": HEARTBEAT_INTERVAL_MS})
        async for message in ws:
            if message.type is WSMsgType.BINARY:
                continue  # DAVE (MLS) frames; the sandbox always answers dave_protocol_version 0
            if message.type is not WSMsgType.TEXT:
                break
            try:
                payload = json.loads(message.data)
                op, data = int(payload["op"]), payload.get("d")
                session, keep_going = await self._dispatch(ws, session, op, data)
            except (ValueError, KeyError, TypeError, AttributeError):
                # A payload of the wrong shape: Discord answers 4002 (failed to decode payload).
                await ws.close(code=CLOSE_DECODE_ERROR, message=b"Decode error.")
                break
            if not keep_going:
                break
        if session is not None and session.ws is ws:
            # The client closed (or the connection broke); server-side closes record their own code.
            session.ws = None
            session.last_close_code = ws.close_code
        return ws

    async def _dispatch(
        self, ws: web.WebSocketResponse, session: VoiceSession | None, op: int, data: Any
    ) -> tuple[VoiceSession | None, bool]:
        """Handle one client message; return the (possibly new) session and whether to keep reading."""
        if op == HEARTBEAT:
            await self._heartbeat(ws, session, data)
        elif op == IDENTIFY:
            if session is not None:
                await ws.close(code=CLOSE_ALREADY_AUTHENTICATED, message=b"Already authenticated.")
                return session, False
            session = await self._identify(ws, data)
        elif op == RESUME:
            session = await self._resume(ws, data)
        elif session is None:
            await ws.close(code=CLOSE_NOT_AUTHENTICATED, message=b"Not authenticated.")
            return None, False
        elif op == SELECT_PROTOCOL:
            await self._select_protocol(ws, session, data)
        elif op == SPEAKING:
            session.capture.set_speaking(int(data.get("speaking", 0)))
        elif op not in (CLIENT_CONNECT, CLIENT_DISCONNECT) and not 20 <= op <= 31:  # 20-31: DAVE
            await ws.close(code=CLOSE_UNKNOWN_OPCODE, message=b"Unknown opcode.")
            return session, False
        return session, not ws.closed

    async def _send(self, ws: web.WebSocketResponse, session: VoiceSession | None, op: int, d: Any) -> None:
        message: dict[str, Any] = {"op": op, "d": d}
        if session is not None:
            session.seq += 1
            message["seq"] = session.seq
        if not ws.closed:
            await ws.send_str(json.dumps(message))

    async def _heartbeat(self, ws: web.WebSocketResponse, session: VoiceSession | None, data: Any) -> None:
        # v8 heartbeats are {"t": nonce, "seq_ack": n}; the ack echoes the nonce.
        nonce = data.get("t") if isinstance(data, dict) else data
        if session is not None:
            session.heartbeats += 1
        await self._send(ws, None, HEARTBEAT_ACK, {"t": nonce})

    async def _identify(self, ws: web.WebSocketResponse, data: Any) -> VoiceSession | None:
        try:
            guild_id, user_id = int(data["server_id"]), int(data["user_id"])
            session_id, token = str(data["session_id"]), str(data["token"])
        except (KeyError, TypeError, ValueError):
            await ws.close(code=CLOSE_DECODE_ERROR, message=b"Decode error.")
            return None
        expected = self._expected.get(guild_id)
        if expected is None or expected.user_id != user_id or expected.session_id != session_id:
            await ws.close(code=CLOSE_SESSION_INVALID, message=b"Session is no longer valid.")
            return None
        if not secrets.compare_digest(expected.token, token):
            await ws.close(code=CLOSE_AUTH_FAILED, message=b"Authentication failed.")
            return None
        old = self.sessions.get(guild_id)
        if old is not None:
            self.by_ssrc.pop(old.ssrc, None)
            if old.ws is not None and not old.ws.closed:
                await old.ws.close(code=CLOSE_DISCONNECTED, message=b"Disconnected.")
        capture = self._captures.get(guild_id)
        if capture is None:
            capture = self._captures[guild_id] = self._new_capture(guild_id)
        session = VoiceSession(expected=expected, ssrc=self._allocate_ssrc(), capture=capture, ws=ws)
        session.ws_connects = 1
        session.connected_at = time.monotonic()
        self.sessions[guild_id] = session
        self.by_ssrc[session.ssrc] = session
        await self._send(
            ws,
            session,
            READY,
            {
                "ssrc": session.ssrc,
                "ip": self.host,
                "port": self.udp_port,
                "modes": list(rtp.OFFERED_MODES),
                "heartbeat_interval": HEARTBEAT_INTERVAL_MS,
                "experiments": [],
            },
        )
        log.info("voice session identified: guild %s ssrc %s", guild_id, session.ssrc)
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: Any) -> VoiceSession | None:
        try:
            guild_id = int(data["server_id"])
            session_id, token = str(data["session_id"]), str(data["token"])
        except (KeyError, TypeError, ValueError):
            await ws.close(code=CLOSE_DECODE_ERROR, message=b"Decode error.")
            return None
        session = self.sessions.get(guild_id)
        if session is None or session.expected.session_id != session_id:
            await ws.close(code=CLOSE_SESSION_INVALID, message=b"Session is no longer valid.")
            return None
        # discord.py re-sends op 4 before resuming, so the main gateway may have issued a newer token.
        latest = self._expected.get(guild_id)
        tokens = [session.expected.token]
        if latest is not None and latest.session_id == session_id:
            tokens.append(latest.token)
        if not any(secrets.compare_digest(t, token) for t in tokens):
            await ws.close(code=CLOSE_AUTH_FAILED, message=b"Authentication failed.")
            return None
        if session.ws is not None and session.ws is not ws and not session.ws.closed:
            await session.ws.close(code=CLOSE_DISCONNECTED, message=b"Disconnected.")
        session.ws = ws
        session.ws_connects += 1
        session.resumes += 1
        await self._send(ws, session, RESUMED, None)
        if session.secret_key is not None and session.mode is not None:
            # discord.py 2.7.1 waits for a secret key on the *new* websocket before it calls the
            # resume complete (voice_state.py _handshake_websocket), so repeat the unchanged
            # description; without it the resume times out after 30 s and the bot leaves voice.
            await self._describe(ws, session)
        log.info("voice session resumed: guild %s", guild_id)
        return session

    async def _select_protocol(self, ws: web.WebSocketResponse, session: VoiceSession, data: Any) -> None:
        try:
            mode = str(data["data"]["mode"])
            address = (str(data["data"]["address"]), int(data["data"]["port"]))
        except (KeyError, TypeError, ValueError):
            await ws.close(code=CLOSE_DECODE_ERROR, message=b"Decode error.")
            return
        if mode != rtp.MODE_XCHACHA:
            # The sandbox can only open xchacha packets; Discord closes 4016 for modes it lacks.
            await ws.close(code=CLOSE_UNKNOWN_MODE, message=b"Unknown encryption mode.")
            return
        session.mode = mode
        session.client_address = address
        session.secret_key = secrets.token_bytes(32)
        session.media_session_id = secrets.token_hex(16)
        await self._describe(ws, session)

    async def _describe(self, ws: web.WebSocketResponse, session: VoiceSession) -> None:
        """op 4 SESSION_DESCRIPTION; DAVE stays off (version 0), so no MLS traffic follows."""
        assert session.secret_key is not None
        await self._send(
            ws,
            session,
            SESSION_DESCRIPTION,
            {
                "mode": session.mode,
                "secret_key": list(session.secret_key),
                "audio_codec": "opus",
                "video_codec": None,
                "media_session_id": session.media_session_id,
                "dave_protocol_version": 0,
            },
        )

    def _allocate_ssrc(self) -> int:
        self._next_ssrc += 1
        return self._next_ssrc
