"""One sandbox and one real bot per test module (starting them is the slow part), plus the media they play."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import httpx
import pytest
import pytest_asyncio
from bot_harness import Driver, make_media

from zilean.config import Settings
from zilean.sandbox.server import Sandbox, SandboxConfig
from zilean.sandbox.testing import discord_pointed_at, wait_until


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated audio files in a library folder (played with `local:` queries)."""
    import imageio_ffmpeg

    root = tmp_path_factory.mktemp("media")
    return make_media(str(imageio_ffmpeg.get_ffmpeg_exe()), root / "library")


def bot_settings(sandbox: Sandbox, library: Path, database_url: str) -> Settings:
    """Settings pointing the bot at the sandbox, a SQLite file and the generated library."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=sandbox.token,
        discord_api_base=sandbox.api_base,
        discord_gateway_url=sandbox.gateway_url,
        database_url=database_url,
        library_dir=library,
        search_provider="local",
        trusted_media_origins=[sandbox.base_url],
        log_dir=library.parent / "logs",
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox shared by the module's tests."""
    async with Sandbox(config=SandboxConfig()) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running_bot(
    sandbox: Sandbox, media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[object]:
    """The real bot (ZileanBot via zilean.bot.runner), connected to the sandbox and ready."""
    import asyncio

    from zilean.bot.runner import built_bot

    database = tmp_path_factory.mktemp("db") / "bot.db"
    settings = bot_settings(sandbox, media["tone"].parent, f"sqlite+aiosqlite:///{database}")
    assert sandbox.voice is not None, "the bot tests need the sandbox's voice server"
    connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(sandbox.voice.cert_path)))
    with discord_pointed_at(sandbox):
        async with built_bot(settings, connector=connector, guild_ready_timeout=0.1) as bot:
            task = asyncio.create_task(bot.start(sandbox.token))
            await wait_until(lambda: bot.is_ready() or task.done(), within_s=20)
            if task.done():
                task.result()
            yield bot
            await bot.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def driver(sandbox: Sandbox, running_bot: object) -> AsyncIterator[Driver]:
    """Users of the sandbox world, talking to the running bot."""
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=10) as http:
        yield Driver(sandbox, http)
