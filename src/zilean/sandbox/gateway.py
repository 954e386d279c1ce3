"""The main gateway: HELLO, IDENTIFY (intents enforced), READY, GUILD_CREATE, heartbeats, RESUME, faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from zilean.sandbox import payloads
from zilean.sandbox.world import Guild, Member, Message, World

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 41250
# Heartbeat ACKs go out after this long, like a network round trip. discord.py stamps a beat's send
# time only after the send completes; an instant ACK from the same process is handled first, and
# the client then measures the time since the *previous* beat ("Can't keep up … 41.3s behind").
HEARTBEAT_ACK_DELAY_MS = 40
BUFFER_LIMIT = 2000
CHUNK_SIZE = 1000  # members per GUILD_MEMBERS_CHUNK, as Discord sends them
QUERY_LIMIT = 100  # a prefix query or a user_ids list returns at most this many members
NONCE_BYTES = 32  # a longer nonce is ignored: the chunks carry none
LARGE_THRESHOLD = (50, 250)  # IDENTIFY's large_threshold: allowed range (50 is the default)
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
    large_threshold: int = LARGE_THRESHOLD[0]
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

    def __init__(
        self,
        world: World,
        token: str,
        allowed_privileged: int = PRIVILEGED_INTENTS,
        *,
        heartbeat_interval_ms: int = HEARTBEAT_INTERVAL_MS,
        heartbeat_ack_delay_ms: int = HEARTBEAT_ACK_DELAY_MS,
    ) -> None:
        self.world = world
        self.token = token
        self.allowed_privileged = allowed_privileged
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.heartbeat_ack_delay_s = max(0, heartbeat_ack_delay_ms) / 1000
        self.heartbeat_count = 0
        self._acks: set[asyncio.Task[None]] = set()
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
        for task in list(self._acks):
            task.cancel()
        for session in self.sessions.values():
            if session.ws is not None:
                await self._server_close(session.ws, 1001, b"Going away")

    def application_flags(self) -> int:
        """The application's flags: one per privileged intent the portal allows (Discord's GATEWAY_*)."""
        return sum(f for intent, f in INTENT_APP_FLAGS.items() if self.allowed_privileged & intent)

    # --- the websocket --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """GET /gateway: one client connection."""
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}))
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
                    self._ack_later(ws)
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

    def _ack_later(self, ws: web.WebSocketResponse) -> None:
        """Answer a heartbeat (op 11) after the configured network delay, without holding up the socket."""
        self.heartbeat_count += 1

        async def ack() -> None:
            await asyncio.sleep(self.heartbeat_ack_delay_s)
            if not ws.closed:
                with contextlib.suppress(ConnectionError):
                    await ws.send_str(json.dumps({"op": 11, "d": None}))

        task = asyncio.get_running_loop().create_task(ack())
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

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
        try:
            threshold = int(data.get("large_threshold") or LARGE_THRESHOLD[0])
        except (TypeError, ValueError):
            threshold = LARGE_THRESHOLD[0]
        threshold = min(max(threshold, LARGE_THRESHOLD[0]), LARGE_THRESHOLD[1])
        session = GatewaySession(secrets.token_hex(16), intents, (shard_id, count), threshold, ws=ws)
        self.sessions[session.session_id] = session
        self.identify_count += 1
        guilds = [g for g in self.world.guilds.values() if session.covers(g.id)]
        session.push("READY", self._ready(session, guilds))
        for guild in guilds:
            self.send_guild_create(session, guild)
        return session, 0

    def send_guild_create(self, session: GatewaySession, guild: Guild, *, joined: bool = False) -> None:
        """GUILD_CREATE with the member list Discord sends at connect (the rest must be requested).

        Without GUILD_PRESENCES: only the bot and members in voice. With it: everyone in a guild of
        at most `large_threshold` members, else those with a role, a nickname or in voice (the
        sandbox has no presences, so nobody counts as online). For a guild the bot has just `joined`,
        Discord leaves out `unavailable` (discord.py tells a join from a guild coming back by it).
        """
        members = list(guild.members.values())
        large = len(members) > session.large_threshold
        if not session.intents & GUILD_PRESENCES:
            members = [
                m for m in members if m.user_id == self.world.bot_user_id or m.user_id in guild.voice_states
            ]
        elif large:
            members = [
                m
                for m in members
                if m.user_id == self.world.bot_user_id or m.roles or m.nick or m.user_id in guild.voice_states
            ]
        data = payloads.guild(self.world, guild, members=members, large=large)
        if joined:
            del data["unavailable"]
        session.push("GUILD_CREATE", data)

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
        flags = self.application_flags()
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
        """Op 8 REQUEST_GUILD_MEMBERS, with Discord's documented limits (one guild per request; a
        prefix query or user_ids at most 100 members; the whole list only with GUILD_MEMBERS),
        answered in GUILD_MEMBERS_CHUNKs of up to 1000 members."""
        if not isinstance(data, dict):
            return
        raw = data.get("guild_id")
        if isinstance(raw, list):  # Discord takes one guild per request
            raw = raw[0] if raw else None
        guild = self.world.guilds.get(int(raw)) if raw and str(raw).isdigit() else None
        if guild is None or not session.covers(guild.id):
            return
        found, not_found = self._matching_members(session, guild, data)
        nonce = data.get("nonce")
        nonce = nonce if isinstance(nonce, str) and len(nonce.encode()) <= NONCE_BYTES else None
        chunks = [found[i : i + CHUNK_SIZE] for i in range(0, len(found), CHUNK_SIZE)] or [[]]
        for index, members in enumerate(chunks):
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [payloads.member(self.world, m) for m in members],
                "chunk_index": index,
                "chunk_count": len(chunks),
            }
            if not_found and index == 0:
                chunk["not_found"] = not_found
            if nonce:
                chunk["nonce"] = nonce
            session.push("GUILD_MEMBERS_CHUNK", chunk)

    def _matching_members(
        self, session: GatewaySession, guild: Guild, data: dict[str, Any]
    ) -> tuple[list[Member], list[str]]:
        raw_ids = data.get("user_ids")
        if raw_ids is not None:
            wanted = [str(u) for u in (raw_ids if isinstance(raw_ids, list) else [raw_ids])][:QUERY_LIMIT]
            found = [guild.members[int(u)] for u in wanted if u.isdigit() and int(u) in guild.members]
            return found, [u for u in wanted if not u.isdigit() or int(u) not in guild.members]
        query = str(data.get("query") or "").lower()
        limit = int(data.get("limit") or 0)
        members = list(guild.members.values())
        if not query:
            if not session.intents & GUILD_MEMBERS:
                # Discord does not document its answer; the sandbox sends an empty chunk and says why.
                log.warning("op 8 for the whole member list without the GUILD_MEMBERS intent: no members")
                return [], []
            return (members[:limit] if limit > 0 else members), []
        limit = min(limit, QUERY_LIMIT) if limit > 0 else QUERY_LIMIT
        return [m for m in members if self._name_starts(m, query)][:limit], []

    def _name_starts(self, member: Member, query: str) -> bool:
        user = self.world.users[member.user_id]
        names = (user.username, user.global_name or "", member.nick or "")
        return any(name.lower().startswith(query) for name in names)
