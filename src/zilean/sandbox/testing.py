"""pytest fixtures and helpers to run the real discord.py client against the sandbox, in-process.

Use from a conftest.py:
    from zilean.sandbox.testing import sandbox, sandbox_client, sandbox_http, user_in_voice
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import httpx
import pytest_asyncio
import yarl

with warnings.catch_warnings():
    # discord.py 2.7 imports the deprecated audioop module (Python 3.11-3.12); pytest runs with -W error.
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord
    from discord.ext import commands

from zilean.sandbox.server import Sandbox, SandboxConfig

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.contextmanager
def discord_pointed_at(sandbox: Sandbox) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at the sandbox; restore them afterwards."""
    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = sandbox.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sandbox.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


def client_options(sandbox: Sandbox) -> dict[str, Any]:
    """Client kwargs for the sandbox: fast on_ready and a connector that trusts the voice certificate."""
    options: dict[str, Any] = {"guild_ready_timeout": 0.1}
    if sandbox.voice is not None:
        context = ssl.create_default_context(cafile=str(sandbox.voice.cert_path))
        options["connector"] = aiohttp.TCPConnector(ssl=context, limit=0)
    return options


def make_bot(
    sandbox: Sandbox, *, intents: discord.Intents | None = None, prefix: str = "!", **kwargs: Any
) -> commands.Bot:
    """A plain commands.Bot ready for the sandbox (default intents plus message content and members)."""
    if intents is None:
        intents = discord.Intents.default()
        intents.message_content = intents.members = True
    return commands.Bot(command_prefix=prefix, intents=intents, **{**client_options(sandbox), **kwargs})


@contextlib.asynccontextmanager
async def running_client(
    sandbox: Sandbox, client: ClientT, *, ready_s: float = 15.0
) -> AsyncIterator[ClientT]:
    """Log in, connect and wait for on_ready; close on exit. A failed connect (e.g. 4014) raises here."""
    with discord_pointed_at(sandbox):
        await client.login(sandbox.token)
        task = asyncio.create_task(client.connect(reconnect=True))
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait({task, ready}, timeout=ready_s, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
                raise RuntimeError("the client disconnected before it was ready")
            if ready not in done:
                raise TimeoutError(f"the client was not ready within {ready_s} s")
            yield client
        finally:
            ready.cancel()
            await client.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(5):
                    await task


async def wait_until(predicate: Callable[[], Any], *, within_s: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until `predicate()` is truthy and return its value (TimeoutError otherwise)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class VoiceUser:
    """A seeded member sitting in a voice channel."""

    user_id: int
    guild_id: int
    channel_id: int


@pytest_asyncio.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A running sandbox with the default world (and voice when the voice server is installed)."""
    async with Sandbox(config=SandboxConfig()) as running:
        yield running


@pytest_asyncio.fixture
async def sandbox_client(sandbox: Sandbox) -> AsyncIterator[commands.Bot]:
    """A real discord.py commands.Bot (prefix "!") logged in to the sandbox and ready."""
    async with running_client(sandbox, make_bot(sandbox)) as bot:
        yield bot


@pytest_asyncio.fixture
async def sandbox_http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the sandbox's base URL (for /_sandbox control calls)."""
    async with httpx.AsyncClient(
        base_url=sandbox.base_url, headers=sandbox.control_headers, timeout=10
    ) as http:
        yield http


@pytest_asyncio.fixture
async def user_in_voice(sandbox: Sandbox) -> VoiceUser:
    """The seeded "dj" member, sitting in the "Music" voice channel."""
    music = sandbox.world.channel_named("Music")
    dj = sandbox.world.user_named("dj")
    sandbox.voice_states.move(music.guild_id, dj.id, music.id)
    return VoiceUser(dj.id, music.guild_id, music.id)
