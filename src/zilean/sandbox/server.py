"""The Sandbox: one aiohttp server with REST, gateway, control API, OAuth2 and the web page, plus voice."""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from zilean.sandbox.commands import Commands
from zilean.sandbox.control import ControlApi
from zilean.sandbox.gateway import HEARTBEAT_ACK_DELAY_MS, HEARTBEAT_INTERVAL_MS, PRIVILEGED_INTENTS, Gateway
from zilean.sandbox.guard import KEY_HEADER, guard_middleware
from zilean.sandbox.guild_admin import GuildAdmin
from zilean.sandbox.hub import Hub
from zilean.sandbox.interactions import Interactions
from zilean.sandbox.responses import discord_errors
from zilean.sandbox.rest import API_PREFIXES, RestApi, auth_middleware
from zilean.sandbox.voicestate import VoiceStates
from zilean.sandbox.world import World, build_world

if TYPE_CHECKING:
    from zilean.sandbox.voice import VoiceServer

log = logging.getLogger(__name__)

DEFAULT_REDIRECT_URIS = ("http://127.0.0.1:8000/callback", "http://localhost:8000/callback")


def bot_token_for(world: World) -> str:
    """A stable token shaped like Discord's (base64 of the bot id, then two parts); not a secret."""
    head = base64.b64encode(str(world.bot_user_id).encode()).decode().rstrip("=")
    return f"{head}.sandbox.local-sandbox-token-not-a-secret"


@dataclass
class SandboxConfig:
    """How to run the emulator; everything has a default that works offline."""

    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = None
    allowed_privileged_intents: int = PRIVILEGED_INTENTS
    voice: bool = True
    cert_dir: Path | None = None
    rate_limit: int | None = None  # requests per bucket per window; None = off
    client_secret: str = "sandbox-client-secret"
    redirect_uris: list[str] = field(default_factory=lambda: list(DEFAULT_REDIRECT_URIS))
    heartbeat_interval_ms: int = HEARTBEAT_INTERVAL_MS  # what HELLO announces (Discord: 41250)
    heartbeat_ack_delay_ms: int = HEARTBEAT_ACK_DELAY_MS  # a round trip's worth before each ACK
    allowed_hosts: list[str] = field(default_factory=list)  # more Host values for /_sandbox, /sandbox
    control_key: str | None = None  # required by /_sandbox and /sandbox when set (see guard.py)
    dashboard_url: str | None = None  # the sandbox page links to the dashboard when it runs beside it
    clock_offset_s: float = 0.0  # REST `Date` headers this far from the real clock (tests of clock skew)


def skewed_date_middleware(offset_s: float) -> Any:
    """REST answers carry a `Date` header `offset_s` away from the real time, like a server whose
    clock is off (aiohttp writes the true one otherwise)."""

    @web.middleware
    async def skew(request: web.Request, handler: Any) -> web.StreamResponse:
        response: web.StreamResponse = await handler(request)
        if not response.prepared:
            response.headers["Date"] = formatdate(time.time() + offset_s, usegmt=True)
        return response

    return skew


class Sandbox:
    """A running local Discord: `await start()`, read the URLs, `await stop()`."""

    def __init__(self, world: World | None = None, config: SandboxConfig | None = None) -> None:
        self.world = world or build_world()
        self.config = config or SandboxConfig()
        self.token = self.config.token or bot_token_for(self.world)
        self.gateway = Gateway(
            self.world,
            self.token,
            self.config.allowed_privileged_intents,
            heartbeat_interval_ms=self.config.heartbeat_interval_ms,
            heartbeat_ack_delay_ms=self.config.heartbeat_ack_delay_ms,
        )
        self.hub = Hub(self.world, self.gateway)
        self.voice: VoiceServer | None = None
        self.voice_states = VoiceStates(self.world, self.gateway, None)
        self.commands = Commands(self.world)
        self.interactions = Interactions(self.hub)
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._port = 0
        self.app = self._build_app()

    # --- URLs a bot needs ------------------------------------------------------------------------------
    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return self.gateway.url

    @property
    def page_url(self) -> str:
        """The /sandbox page, with the key when one is required (the URL to print)."""
        key = self.config.control_key
        return f"{self.base_url}/sandbox" + (f"?key={key}" if key else "")

    @property
    def control_headers(self) -> dict[str, str]:
        """Headers a program needs for /_sandbox calls."""
        return {KEY_HEADER: self.config.control_key} if self.config.control_key else {}

    def allowed_hosts(self) -> set[str]:
        """Host header values /_sandbox and /sandbox answer to: this server's own addresses."""
        names = {"127.0.0.1", "localhost", "[::1]", self.config.host}
        hosts = {f"{name}:{self._port}" for name in names}
        return hosts | {h.lower() for h in self.config.allowed_hosts}

    def bot_env(self) -> dict[str, str]:
        """The environment a bot process needs to use this sandbox instead of Discord."""
        env = {
            "DISCORD_API_BASE": self.api_base,
            "DISCORD_GATEWAY_URL": self.gateway_url,
            "DISCORD_TOKEN": self.token,
            "DISCORD_CLIENT_ID": str(self.world.application_id),
            "DISCORD_CLIENT_SECRET": self.config.client_secret,
        }
        if self.voice is not None:
            env["SSL_CERT_FILE"] = str(Path(self.voice.cert_path).resolve())
        return env

    # --- lifecycle -------------------------------------------------------------------------------------
    def _build_app(self) -> web.Application:
        from zilean.sandbox.oauth import OAuth
        from zilean.sandbox.ratelimit import rate_limit_middleware

        self.oauth = OAuth(self)
        middlewares: list[Any] = [
            guard_middleware(self.allowed_hosts, self.config.control_key),
            discord_errors,
            auth_middleware(self.token, self.oauth.bearer_valid),
        ]
        if self.config.rate_limit:
            middlewares.append(rate_limit_middleware(self.config.rate_limit))
        if self.config.clock_offset_s:
            middlewares.append(skewed_date_middleware(self.config.clock_offset_s))
        app = web.Application(middlewares=middlewares, client_max_size=64 * 1024 * 1024)
        self.rest = RestApi(self.hub, self.voice_states, lambda: self.gateway_url, self.oauth)
        self.rest.add_routes(app)
        for prefix in API_PREFIXES:
            self.commands.add_routes(app, prefix)
            self.interactions.add_routes(app, prefix)
        self.oauth.add_routes(app)
        ControlApi(self).add_routes(app)
        GuildAdmin(self).add_routes(app)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id:\\d+}/{filename}", self._attachment)
        try:
            from zilean.sandbox.ui import add_ui_routes
        except ImportError:
            pass
        else:
            add_ui_routes(app, self)
        return app

    async def _attachment(self, request: web.Request) -> web.Response:
        """Uploaded files, served back like Discord's CDN."""
        attachment = self.world.attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None or attachment.filename != request.match_info["filename"]:
            raise web.HTTPNotFound()
        return web.Response(body=attachment.data, headers={"Content-Type": attachment.content_type})

    async def start(self) -> None:
        """Start voice (when available) and the HTTP/WebSocket server; the URLs are valid afterwards."""
        if self.config.voice:
            self.voice = _make_voice_server(self.config.host, self.config.cert_dir)
            if self.voice is not None:
                await self.voice.start()
                self.voice_states.voice = self.voice
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._port = port
        self.base_url = f"http://{host}:{port}"
        self.hub.base_url = self.gateway.base_url = self.base_url
        self.gateway.url = f"ws://{host}:{port}/gateway"
        log.info("sandbox listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close client connections, then the server and the voice server."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.voice is not None:
            await self.voice.stop()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _make_voice_server(host: str, cert_dir: Path | None) -> VoiceServer | None:
    try:
        from zilean.sandbox.voice import VoiceServer
    except ImportError:
        log.warning("zilean.sandbox.voice is not available; the sandbox runs without voice")
        return None
    return VoiceServer(host=host, cert_dir=cert_dir)
