"""Sandbox + the real bot + the dashboard in this process, as `zilean run` wires them offline.

The bot and the dashboard share one Database and one Bus (the embedded default); the sandbox knows
the dashboard's /callback as its OAuth2 redirect URI. Everything listens on random loopback ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from browser_kit import Served, free_socket, served
from pydantic import SecretStr

from bot.bot_harness import Driver, make_media
from zilean.config import Settings
from zilean.sandbox.server import Sandbox, SandboxConfig
from zilean.sandbox.testing import discord_pointed_at, wait_until
from zilean.web.app import create_app


@dataclass
class Stack:
    """What a test drives: Discord's side (driver, sandbox), the bot and the dashboard."""

    sandbox: Sandbox
    driver: Driver
    bot: Any
    web: Served
    settings: Settings
    media: dict[str, Path]


def stack_settings(
    sandbox: Sandbox, library: Path, database_url: str, base_url: str, **more: Any
) -> Settings:
    """One Settings for bot and dashboard, pointed at the sandbox."""
    values: dict[str, Any] = {
        "discord_token": SecretStr(sandbox.token),
        "discord_api_base": sandbox.api_base,
        "discord_gateway_url": sandbox.gateway_url,
        "discord_client_id": str(sandbox.world.application_id),
        "discord_client_secret": SecretStr(sandbox.config.client_secret),
        "database_url": database_url,
        "library_dir": library,
        "search_provider": "local",
        "trusted_media_origins": [sandbox.base_url],
        "log_dir": library.parent / "logs",
        "web_base_url": base_url,
        "secret_key": SecretStr("browser-e2e-secret-key-long-enough-0123456789"),
        "lyrics_api_base": "",  # the lyrics panel never reaches lrclib.net from a test
        **more,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@contextlib.asynccontextmanager
async def running_stack(tmp: Path, database_url: str | None = None, **settings: Any) -> AsyncIterator[Stack]:
    """Start sandbox, bot and dashboard; stop them all at the end."""
    import imageio_ffmpeg

    from zilean.bot.runner import built_bot

    media = make_media(str(imageio_ffmpeg.get_ffmpeg_exe()), tmp / "library")
    sock = free_socket()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    url = database_url or f"sqlite+aiosqlite:///{tmp / 'stack.db'}"
    config = SandboxConfig(redirect_uris=[f"{base_url}/callback"])
    async with Sandbox(config=config) as sandbox:
        assert sandbox.voice is not None
        conf = stack_settings(sandbox, media["tone"].parent, url, base_url, **settings)
        connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(sandbox.voice.cert_path)))
        with discord_pointed_at(sandbox):
            async with built_bot(conf, connector=connector, guild_ready_timeout=0.1) as bot:
                task = asyncio.create_task(bot.start(sandbox.token))
                await wait_until(lambda: bot.is_ready() or task.done(), within_s=30)
                if task.done():
                    task.result()
                app = create_app(conf, bot.bus.db, bot.bus)
                try:
                    async with (
                        served(app, sock) as web,
                        httpx.AsyncClient(base_url=sandbox.base_url, timeout=15) as http,
                    ):
                        yield Stack(sandbox, Driver(sandbox, http), bot, web, conf, media)
                finally:
                    await bot.close()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, 10)
