"""The main gateway: HELLO, IDENTIFY (intents enforced), READY, GUILD_CREATE, heartbeats, RESUME, faults."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from zilean.sandbox import payloads
from zilean.sandbox.world import Message, World

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
BUFFER_LIMIT = 2000
GUILDS, GUILD_MEMBERS, GUILD_VOICE_STATES, GUILD_PRESENCES = 1 << 0, 1 << 1, 1 << 7, 1 << 8
GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS, MESSAGE_CONTENT = 1 << 9, 1 << 10, 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
# The application flags Discord sets when a privileged intent is enabled in the developer portal.
INTENT_APP_FLAGS = {GUILD_PRESENCES: 1 << 12, GUILD_MEMBERS: 1 << 14, MESSAGE_CONTENT: 1 << 18}

VoiceHandler = Callable[["GatewaySession", dict[str, Any]], Awaitable[None]]


@dataclass
class GatewaySession:
    """One identified bot session; it outlives its websocket so that RESUME can replay what was missed."""

    session_id: str
    intents: int
    shard: tuple[int, int]
    seq: int = 0
    buffer: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    wakeups: set[asyncio.Event] = field(default_factory=set)  # one per sending connection
    invalidated: bool = False

    def covers(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events for the guild."""
        shard_id, count = self.shard
        return guild_id is None or (guild_id >> 22) % count == shard_id

    def push(self, event: str, data: Any) -> None:
        self.seq += 1
        self.buffer.append({"op": 0, "t": event, "s": self.seq, "d": data})
        del self.buffer[:-BUFFER_LIMIT]
        for wakeup in self.wakeups:
            wakeup.set()


class Gateway:
    """Accepts discord.py's gateway connections and fans world events out to identified sessions."""

    def __init__(self, world: World, token: str, allowed_privileged: int = PRIVILEGED_INTENTS) -> None:
        self.world = world
        self.token = token
        self.allowed_privileged = allowed_privileged
        self.url = ""  # set once the server knows its port
        self.base_url = ""
        self.sessions: dict[str, GatewaySession] = {}
        self.on_voice_state: VoiceHandler | None = None
        self.identify_count = 0
        self.resume_count = 0
        self._server_closed: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    # --- dispatching ----------------------------------------------------------------------------------
    def dispatch(
        self, event: str, data: Any, *, guild_id: int | None = None, intent: int | None = None
    ) -> None:
        """Queue an event for every session whose intents and shard cover it."""
        for session in self._live_sessions():
            if session.covers(guild_id) and (intent is None or session.intents & intent):
                session.push(event, data)

    def dispatch_message(self, event: str, message: Message) -> None:
        """MESSAGE_CREATE/UPDATE, with content blanked for sessions without MESSAGE_CONTENT."""
        if message.ephemeral:
            return  # Discord never sends ephemeral messages over the gateway.
        for session in self._live_sessions():
            if not session.covers(message.guild_id) or not session.intents & GUILD_MESSAGES:
                continue
            exempt = (
                message.author_id == self.world.bot_user_id
                or self.world.bot_user_id in message.mention_user_ids
            )
            with_content = bool(session.intents & MESSAGE_CONTENT) or exempt
            session.push(
                event, payloads.message(self.world, self.base_url, message, with_content=with_content)
            )

    def _live_sessions(self) -> list[GatewaySession]:
        return [s for s in self.sessions.values() if not s.invalidated]

    @property
    def connected(self) -> bool:
        return any(s.ws is not None and not s.ws.closed for s in self._live_sessions())

    def status(self) -> list[dict[str, Any]]:
        """What /_sandbox/state shows about gateway sessions."""
        return [
            {
                "session_id": s.session_id,
                "connected": s.ws is not None and not s.ws.closed,
                "intents": s.intents,
                "shard": list(s.shard),
                "seq": s.seq,
                "invalidated": s.invalidated,
            }
            for s in self.sessions.values()
        ]

    # --- faults ---------------------------------------------------------------------------------------
    async def drop(self) -> None:
        """Close every gateway socket abnormally; clients will RESUME."""
        for session in self._live_sessions():
            if session.ws is not None:
                await self._server_close(session.ws, 4000, b"Unknown error")

    async def send_reconnect(self) -> None:
        """Op 7 RECONNECT to every connected client."""
        for session in self._live_sessions():
            if session.ws is not None and not session.ws.closed:
                await session.ws.send_str(json.dumps({"op": 7, "d": None}))

    async def invalidate(self, resumable: bool = False) -> None:
        """Op 9 INVALID_SESSION; unless resumable, the sessions are forgotten and clients re-IDENTIFY."""
        for session in self._live_sessions():
            session.invalidated = not resumable
            if session.ws is not None and not session.ws.closed:
                await session.ws.send_str(json.dumps({"op": 9, "d": resumable}))

    async def _server_close(self, ws: web.WebSocketResponse, code: int, message: bytes) -> None:
        """Close from our side; the session stays resumable whatever code the client echoes."""
        self._server_closed.add(ws)
        await ws.close(code=code, message=message)

    async def close_all(self) -> None:
        for session in self.sessions.values():
            if session.ws is not None:
                await self._server_close(session.ws, 1001, b"Going away")

    # --- the websocket --------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """GET /gateway: one client connection."""
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}}))
        session: GatewaySession | None = None
        sender: asyncio.Task[None] | None = None
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    if msg.type is WSMsgType.BINARY:
                        await ws.close(code=4002, message=b"Error while decoding payload.")
                    continue
                try:
                    frame = json.loads(msg.data)
                    op, data = frame["op"], frame.get("d")
                except (ValueError, KeyError, TypeError):
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11, "d": None}))
                elif op in (2, 6):
                    if session is not None:
                        await ws.close(code=4005, message=b"Already authenticated.")
                        break
                    session, start = (
                        await self._identify(ws, data) if op == 2 else await self._resume(ws, data)
                    )
                    if session is not None:
                        sender = asyncio.create_task(self._send_loop(ws, session, start))
                elif session is None:
                    await ws.close(code=4003, message=b"Not authenticated.")
                    break
                elif op == 4 and self.on_voice_state is not None:
                    await self.on_voice_state(session, data)
                elif op == 8:
                    self._members_chunk(session, data)
                elif op not in (3,):
                    await ws.close(code=4001, message=b"Unknown opcode.")
                    break
        finally:
            if sender is not None:
                sender.cancel()
            if session is not None and session.ws is ws:
                session.ws = None
                if ws.close_code in (1000, 1001) and ws not in self._server_closed:
                    # A client's clean close ends its session, as on Discord: it cannot be resumed.
                    session.invalidated = True
                    session.buffer.clear()
        return ws

    async def _send_loop(self, ws: web.WebSocketResponse, session: GatewaySession, after: int) -> None:
        """Send every buffered dispatch with s > `after`, then wait for more (RESUME replays this way)."""
        sent = after
        wakeup = asyncio.Event()
        session.wakeups.add(wakeup)
        try:
            while not ws.closed:
                wakeup.clear()
                for frame in [f for f in session.buffer if f["s"] > sent]:
                    try:
                        await ws.send_str(json.dumps(frame))
                    except ConnectionError:
                        return
                    sent = frame["s"]
                if not any(f["s"] > sent for f in session.buffer):
                    await wakeup.wait()
        finally:
            session.wakeups.discard(wakeup)

    async def _identify(
        self, ws: web.WebSocketResponse, data: dict[str, Any]
    ) -> tuple[GatewaySession | None, int]:
        if not isinstance(data, dict) or data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None, 0
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None, 0
        shard_id, count = (data.get("shard") or [0, 1])[:2]
        if count < 1 or not 0 <= shard_id < count:
            await ws.close(code=4010, message=b"Invalid shard.")
            return None, 0
        session = GatewaySession(secrets.token_hex(16), intents, (shard_id, count), ws=ws)
        self.sessions[session.session_id] = session
        self.identify_count += 1
        guilds = [g for g in self.world.guilds.values() if session.covers(g.id)]
        session.push("READY", self._ready(session, guilds))
        for guild in guilds:
            session.push("GUILD_CREATE", payloads.guild(self.world, guild))
        return session, 0

    async def _resume(
        self, ws: web.WebSocketResponse, data: dict[str, Any]
    ) -> tuple[GatewaySession | None, int]:
        session = self.sessions.get(str((data or {}).get("session_id")))
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None, 0
        if session is None or session.invalidated:
            await ws.send_str(json.dumps({"op": 9, "d": False}))
            return None, 0
        last = int(data.get("seq") or 0)
        if session.buffer and last < session.buffer[0]["s"] - 1:
            await ws.send_str(json.dumps({"op": 9, "d": False}))  # too far behind to replay
            return None, 0
        old = session.ws
        session.ws = ws
        if old is not None and not old.closed:
            await self._server_close(old, 4000, b"Resumed elsewhere")
        self.resume_count += 1
        session.push("RESUMED", {"_trace": ["zilean-sandbox"]})  # discord.py writes into d
        return session, last

    def _ready(self, session: GatewaySession, guilds: list[Any]) -> dict[str, Any]:
        bot = {
            **payloads.user(self.world.bot),
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "email": None,
        }
        flags = sum(f for intent, f in INTENT_APP_FLAGS.items() if self.allowed_privileged & intent)
        return {
            "v": 10,
            "user": bot,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "resume_gateway_url": self.url,
            "shard": list(session.shard),
            "application": {"id": str(self.world.application_id), "flags": flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "user_settings": {},
            "session_type": "normal",
        }

    def _members_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild_ids = data.get("guild_id")
        for raw in guild_ids if isinstance(guild_ids, list) else [guild_ids]:
            guild = self.world.guilds.get(int(raw)) if raw else None
            if guild is None:
                continue
            members = [payloads.member(self.world, m) for m in guild.members.values()]
            wanted = {int(u) for u in data.get("user_ids") or []}
            if wanted:
                members = [m for m in members if int(m["user"]["id"]) in wanted]
            query = (data.get("query") or "").lower()
            if query:
                members = [m for m in members if m["user"]["username"].lower().startswith(query)]
            chunk = {"guild_id": str(guild.id), "members": members, "chunk_index": 0, "chunk_count": 1}
            if data.get("nonce"):
                chunk["nonce"] = data["nonce"]
            session.push("GUILD_MEMBERS_CHUNK", chunk)
