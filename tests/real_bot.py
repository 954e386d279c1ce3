"""The real bot (zilean.bot.runner.built_bot) connected to a running sandbox, for tests that cross it."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from zilean.config import Settings
from zilean.sandbox.server import Sandbox
from zilean.sandbox.testing import discord_pointed_at, wait_until


@contextlib.asynccontextmanager
async def real_bot(
    sandbox: Sandbox, database_url: str, library: Path, log_dir: Path, **settings_overrides: Any
) -> AsyncIterator[Any]:
    """The bot on `database_url`, playing `local:` files from `library`, ready and taking bus commands
    (`settings_overrides`: more Settings fields, e.g. metrics_port=0)."""
    from zilean.bot.runner import built_bot

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=sandbox.token,
        discord_api_base=sandbox.api_base,
        discord_gateway_url=sandbox.gateway_url,
        database_url=database_url,
        library_dir=library,
        search_provider="local",
        trusted_media_origins=[sandbox.base_url],
        log_dir=log_dir,
        **settings_overrides,
    )
    assert sandbox.voice is not None, "the bot needs the sandbox's voice server"
    connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(sandbox.voice.cert_path)))
    with discord_pointed_at(sandbox):
        async with built_bot(settings, connector=connector, guild_ready_timeout=0.1) as bot:
            task = asyncio.create_task(bot.start(sandbox.token))
            await wait_until(lambda: bot.is_ready() or task.done(), within_s=30)
            if task.done():
                task.result()
            await wait_until(lambda: bot.bus_worker is not None or task.done(), within_s=30)
            try:
                yield bot
            finally:
                await bot.close()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(10):
                        await task
