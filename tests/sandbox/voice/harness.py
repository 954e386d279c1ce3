"""A minimal stand-in for the sandbox's main gateway and REST, just enough for discord.py to reach voice.

It plays the part the main sandbox app plays (issue #4): REST login, the gateway up to GUILD_CREATE, and
the bot's op 4 answered with VOICE_STATE_UPDATE + VOICE_SERVER_UPDATE after VoiceServer.expect_session.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from zilean.sandbox.voice import VoiceServer

BOT_ID = 900_000_000_000_000_001
OWNER_ID = 900_000_000_000_000_002
GUILD_ID = 900_000_000_000_000_100
TEXT_ID = 900_000_000_000_000_101
MUSIC_ID = 900_000_000_000_000_102
TOKEN = "sandbox-bot-token"


def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "avatar": None, "bot": bot}


def _json(data: Any) -> web.Response:
    # discord.py parses JSON only for this exact content type (protocol notes §1.1).
    return web.Response(body=json.dumps(data).encode(), headers={"Content-Type": "application/json"})


class MiniDiscord:
    """REST + main gateway for one guild with a #general and a Music voice channel."""

    def __init__(self, voice: VoiceServer) -> None:
        self.voice = voice
        self.port = 0
        self._runner: web.AppRunner | None = None
        self.session_id = secrets.token_hex(16)
        self.voice_tokens: list[str] = []
        self.op4: list[dict[str, Any]] = []
        self._seq = 0
        self.in_channel: str | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._app_info)
        app.router.add_get("/gateway", self._gateway)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _me(self, _request: web.Request) -> web.Response:
        return _json(_user(BOT_ID, "Zilean", bot=True))

    async def _app_info(self, _request: web.Request) -> web.Response:
        return _json(
            {
                "id": str(BOT_ID),
                "name": "Zilean",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": _user(OWNER_ID, "owner"),
                "verify_key": "0" * 64,
                "flags": 0,
            }
        )

    async def _dispatch(self, ws: web.WebSocketResponse, event: str, data: Any) -> None:
        self._seq += 1
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    def _guild(self) -> dict[str, Any]:
        return {
            "id": str(GUILD_ID),
            "name": "Sandbox",
            "owner_id": str(OWNER_ID),
            "roles": [{"id": str(GUILD_ID), "name": "@everyone", "permissions": "0", "position": 0}],
            "channels": [
                {"id": str(TEXT_ID), "type": 0, "name": "general", "position": 0},
                {
                    "id": str(MUSIC_ID),
                    "type": 2,
                    "name": "Music",
                    "position": 1,
                    "bitrate": 64000,
                    "user_limit": 0,
                },
            ],
            "members": [
                {"user": _user(BOT_ID, "Zilean", bot=True), "roles": [], "flags": 0, "joined_at": None},
                {"user": _user(OWNER_ID, "owner"), "roles": [], "flags": 0, "joined_at": None},
            ],
            "member_count": 2,
            "voice_states": [],
            "emojis": [],
            "stickers": [],
            "features": [],
        }

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                break
            payload = json.loads(message.data)
            op, data = payload["op"], payload.get("d")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None}))
            elif op == 2:
                await self._dispatch(
                    ws,
                    "READY",
                    {
                        "v": 10,
                        "user": _user(BOT_ID, "Zilean", bot=True),
                        "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                        "session_id": self.session_id,
                        "resume_gateway_url": self.gateway_url,
                        "application": {"id": str(BOT_ID), "flags": 0},
                    },
                )
                await self._dispatch(ws, "GUILD_CREATE", self._guild())
            elif op == 4:
                self.op4.append(data)
                await self._voice_state(ws, data)
        return ws

    async def _voice_state(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        channel = data.get("channel_id")
        state = {
            "guild_id": str(GUILD_ID),
            "channel_id": str(channel) if channel else None,
            "user_id": str(BOT_ID),
            "session_id": self.session_id,
            "deaf": False,
            "mute": False,
            "self_deaf": bool(data.get("self_deaf")),
            "self_mute": bool(data.get("self_mute")),
            "suppress": False,
            "member": {"user": _user(BOT_ID, "Zilean", bot=True), "roles": [], "flags": 0, "joined_at": None},
        }
        if channel is None:
            self.in_channel = None
            self.voice.end_session(GUILD_ID)
            await self._dispatch(ws, "VOICE_STATE_UPDATE", state)
            return
        token = secrets.token_hex(8)
        self.voice_tokens.append(token)
        self.voice.expect_session(guild_id=GUILD_ID, user_id=BOT_ID, session_id=self.session_id, token=token)
        rejoin = self.in_channel == channel
        self.in_channel = channel
        if not rejoin:
            await self._dispatch(ws, "VOICE_STATE_UPDATE", state)
            await asyncio.sleep(0)
        await self._dispatch(
            ws,
            "VOICE_SERVER_UPDATE",
            {"token": token, "guild_id": str(GUILD_ID), "endpoint": self.voice.endpoint},
        )
        if rejoin:
            await self._dispatch(ws, "VOICE_STATE_UPDATE", state)
