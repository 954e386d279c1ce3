"""One sandbox and one real bot per test module (starting them is the slow part), plus the media they play.

The bot is shared, its guild state is not: every end-to-end test takes `fresh_guild` (nothing
playing, an empty queue, default volume, effects, equalizer, loop, settings and permission rules,
no saved EQ presets; alice alone in the Music channel), or `bot_in_voice` / `playing_tone` on
top of it, so each test passes alone and in any order.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import pytest
import pytest_asyncio
from bot_harness import Driver, make_media
from sqlalchemy.engine import make_url

from audio_fixtures import ffmpeg_exe, http_server
from polling import until
from zilean.config import Settings
from zilean.core.queue import LoopMode
from zilean.db.records import DEFAULT_IDLE_TIMEOUT_S
from zilean.sandbox.server import Sandbox, SandboxConfig
from zilean.sandbox.testing import discord_pointed_at, wait_until


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Generated audio files in a library folder (played with `local:` queries)."""
    root = tmp_path_factory.mktemp("media")
    return make_media(ffmpeg_exe(), root / "library")


@pytest.fixture(scope="session")
def media_site(media: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local web site the bot trusts: three chimes and an RSS feed of them (a playlist by link)."""
    site = tmp_path_factory.mktemp("site")
    for number in (1, 2, 3):
        shutil.copy(media[f"chime{number}"], site / f"chime{number}.flac")
    with http_server(site) as base:
        items = "".join(
            f"<item><title>Chime {n}</title><guid>chime{n}</guid>"
            f'<enclosure url="{base}/chime{n}.flac" type="audio/flac" length="1000"/></item>'
            for n in (1, 2, 3)
        )
        (site / "feed.xml").write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Chimes</title>{items}</channel></rss>'
        )
        yield base


@pytest.fixture(scope="module")
def bot_backend(request: pytest.FixtureRequest) -> str:
    """The bot's database: SQLite unless a test is marked `bot_harness.both_backends`."""
    return str(getattr(request, "param", "sqlite"))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot_database_url(
    bot_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A new, empty database for the module's bot (the bot migrates it as `zilean bot` does)."""
    if bot_backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'bot.db'}"
        return
    admin = make_url(request.getfixturevalue("postgres_admin_url"))
    name = f"zilean_bot_{secrets.token_hex(4)}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


def bot_settings(sandbox: Sandbox, library: Path, database_url: str, trusted: Sequence[str] = ()) -> Settings:
    """Settings pointing the bot at the sandbox, a database and the generated library."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=sandbox.token,
        discord_api_base=sandbox.api_base,
        discord_gateway_url=sandbox.gateway_url,
        database_url=database_url,
        library_dir=library,
        search_provider="local",
        trusted_media_origins=[sandbox.base_url, *trusted],
        log_dir=library.parent / "logs",
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox shared by the module's tests."""
    async with Sandbox(config=SandboxConfig()) as running:
        yield running


@pytest.fixture(scope="module")
def bot_settings_overrides() -> dict[str, Any]:
    """Settings a module's bot gets on top of `bot_settings` (a module overrides this fixture)."""
    return {}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running_bot(
    sandbox: Sandbox,
    media: dict[str, Path],
    media_site: str,
    bot_database_url: str,
    bot_settings_overrides: dict[str, Any],
) -> AsyncIterator[object]:
    """The real bot (ZileanBot via zilean.bot.runner), connected to the sandbox and ready."""
    import asyncio

    from zilean.bot.runner import built_bot

    settings = bot_settings(sandbox, media["tone"].parent, bot_database_url, [media_site])
    settings = settings.model_copy(update=bot_settings_overrides)
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


USERS_OUT_OF_VOICE = ("owner", "dj", "bob")


@pytest_asyncio.fixture(loop_scope="module")
async def fresh_guild(driver: Driver, running_bot: Any, sandbox: Sandbox) -> Driver:
    """The guild as a newcomer finds it: nothing playing, defaults everywhere, alice alone in Music."""
    bot = running_bot
    guild_id = driver.guild_id
    session = bot.sessions.existing(guild_id)
    if session is not None:
        session.announcer.queue_finished()  # as `=stop` does: the next track gets a new card
        await session.stop()
        await session.set_volume(100)
        await session.set_effects(())
        await session.edit(lambda queue: setattr(queue, "loop", LoopMode.OFF))
    await bot.sessions.update_settings(
        guild_id,
        prefix=None,
        volume=100,
        effects=(),
        loop_mode="off",
        dj_role_id=None,
        idle_timeout_s=DEFAULT_IDLE_TIMEOUT_S,
        always_on=False,
        announce_channel_id=None,
        eq={},
        fair_queue=False,
        autoplay=False,
    )
    for preset in await bot.store.eq_presets.for_guild(guild_id):
        await bot.store.eq_presets.delete(guild_id, preset.name)
    if sandbox.voice is not None:  # measurements start afresh once the last packets are in
        await driver.packets_still()
        sandbox.voice.reset_stats(guild_id)
    for rule in await bot.store.permissions.rules(guild_id):
        await bot.store.permissions.delete(guild_id, rule.target_kind, rule.target_id)
    for user in USERS_OUT_OF_VOICE:
        await driver.leave_voice(user)
    await driver.join_voice("alice")
    guild = bot.get_guild(guild_id)

    def members_seen() -> bool:  # the bot has heard the voice moves before the test speaks
        alice = guild.get_member(driver.users["alice"]) if guild else None
        return bool(
            alice and alice.voice and alice.voice.channel and alice.voice.channel.id == driver.voice_channel
        )

    await until(members_seen, what="the bot seeing alice in Music")
    return driver


@pytest_asyncio.fixture(loop_scope="module")
async def bot_in_voice(fresh_guild: Driver) -> Driver:
    """`fresh_guild` with the bot connected to the Music channel."""
    driver = fresh_guild
    status = await driver.voice()
    if not (status["connected"] and status["channel_id"] == str(driver.voice_channel)):
        reply = await driver.say("alice", "=join")
        assert "Joined" in reply.text, reply.text
        await driver.wait_voice(lambda s: s["connected"] and s["channel_id"] == str(driver.voice_channel))
    return driver


@pytest_asyncio.fixture(loop_scope="module")
async def playing_tone(bot_in_voice: Driver) -> Driver:
    """`bot_in_voice` playing the 30-s 440 Hz tone, its audio already reaching the sandbox."""
    driver = bot_in_voice
    start = (await driver.voice())["packets"]
    reply = await driver.say("alice", "=play local:tone440.flac")
    assert "Playing now" in reply.text and "Tone 440" in reply.text, reply.text
    # The status's window is the last second received: only new packets say what plays now.
    await driver.wait_voice(
        lambda s: s["packets"] >= start + 60 and s["dominant_hz"] and abs(s["dominant_hz"] - 440) < 5,
        within=20,
    )
    return driver


BACKEND_ORDER = {"sqlite": 0, "postgresql": 1}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Inside each bot module, the SQLite bot's tests run first, then the PostgreSQL bot's.

    The random order stays (pytest-randomly shuffles before this); this only keeps each module's
    bot from being torn down and started again whenever the shuffled order switches backends.
    """

    def backend(item: pytest.Item) -> int:
        callspec = getattr(item, "callspec", None)
        return BACKEND_ORDER.get(callspec.params.get("bot_backend", "sqlite") if callspec else "sqlite", 0)

    start = 0
    while start < len(items):
        end = start
        while end < len(items) and items[end].path == items[start].path:
            end += 1
        if "bot" in items[start].path.parts:
            items[start:end] = sorted(items[start:end], key=backend)
        start = end


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests not marked `both_backends` run on SQLite, as the same module bot as the marked ones' [sqlite]."""
    if "bot_backend" not in metafunc.fixturenames:
        return
    marked = any(
        m.args and m.args[0] == "bot_backend" for m in metafunc.definition.iter_markers("parametrize")
    )
    if not marked:
        metafunc.parametrize("bot_backend", ["sqlite"], indirect=True, scope="module")
