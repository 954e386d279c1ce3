"""Build the bot and its collaborators from Settings and run it until it is stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Sequence

import aiohttp

from zilean.bot.client import ZileanBot, apply_endpoints
from zilean.bot.connection import stay_connected
from zilean.bot.metrics import BotMetrics, MeteredResolver
from zilean.bot.sender import CLOCK
from zilean.bot.store import Store
from zilean.config import Settings
from zilean.core.errors import ConfigError, ZileanError
from zilean.core.sources import Resolver
from zilean.db.bus import Bus
from zilean.db.database import Database
from zilean.db.engine import create_engine
from zilean.db.migrate import ensure_current
from zilean.observability.access import MetricsAccess
from zilean.observability.server import MetricsServer

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def built_bot(
    settings: Settings,
    *,
    shard_ids: Sequence[int] | None = None,
    shard_count: int | None = None,
    connector: aiohttp.BaseConnector | None = None,
    guild_ready_timeout: float = 2.0,
    warm_sources: bool = False,
) -> AsyncIterator[ZileanBot]:
    """A bot with a migrated database and a resolver; everything is closed on exit.

    `warm_sources` starts every yt-dlp worker in the background (a service's first plays then
    skip the second each worker needs to start; tests leave it off to spare the CPU)."""
    apply_endpoints(settings.discord_api_base, settings.discord_gateway_url)
    CLOCK.realtime_priority = settings.audio_realtime_priority
    engine = create_engine(settings.database_url)
    resolver: Resolver | None = None
    bus: Bus | None = None
    server: MetricsServer | None = None
    warming: asyncio.Task[None] | None = None
    try:
        await ensure_current(engine, auto_migrate=settings.auto_migrate)
        database = Database(engine)
        bus = Bus(database)
        await bus.start()
        metrics = BotMetrics()
        resolver = MeteredResolver(settings.source_options())
        resolver.metrics = metrics
        if warm_sources:
            warming = asyncio.create_task(_warm(resolver), name="zilean-warm-ytdlp")
        bot = ZileanBot(
            settings,
            Store(database.connector, bus.events),
            resolver,
            connector=connector,
            shard_ids=shard_ids,
            shard_count=shard_count,
            guild_ready_timeout=guild_ready_timeout,
            bus=bus,
        )
        bot.metrics = metrics  # type: ignore[attr-defined]
        metrics.attach(bot, list(shard_ids) if shard_ids is not None else None, shard_count)
        try:
            if settings.metrics_port is not None:
                server = metrics_server(settings, metrics, shard_ids)
                await server.start()
            bot.metrics_server = server  # type: ignore[attr-defined]
            yield bot
        finally:
            if not bot.is_closed():
                await bot.close()
    finally:
        if warming is not None:
            warming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await warming
        if server is not None:
            await server.stop()
        if resolver is not None:
            await resolver.close()
        if bus is not None:
            await bus.close()
        await engine.dispose()


async def _warm(resolver: Resolver) -> None:
    try:
        await resolver.start(every=True)
    except ZileanError as exc:  # the first play will try again and say what is wrong
        log.warning("yt-dlp workers did not start: %s", exc.message)


def metrics_server(settings: Settings, metrics: BotMetrics, shard_ids: Sequence[int] | None) -> MetricsServer:
    """The METRICS_PORT endpoint; a process running shards listens on METRICS_PORT + its first shard id,
    so every shard process of one .env gets its own port (0 stays 0: a free port)."""
    port = settings.metrics_port or 0
    if port and shard_ids:
        port += min(shard_ids)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    return MetricsServer(
        metrics.registry,
        MetricsAccess.build(settings.metrics_allow_ips, token),
        metrics.ready,
        refresh=metrics.refresh,
        host=settings.metrics_host,
        port=port,
    )


def required_token(settings: Settings) -> str:
    """The bot's token, or a one-line ConfigError naming DISCORD_TOKEN."""
    if settings.discord_token is None:
        raise ConfigError("DISCORD_TOKEN is not set; put the bot's token in .env (see README)")
    return settings.discord_token.get_secret_value()


def cancel_on_signals() -> None:
    """SIGINT/SIGTERM cancel the current task wherever it is (logging in, waiting to retry,
    connected); leaving `built_bot` then closes the bot, its players and the database."""
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, main.cancel)


async def run_bot(
    settings: Settings, *, shard_ids: Sequence[int] | None = None, shard_count: int | None = None
) -> None:
    """Connect and play until SIGINT/SIGTERM, retrying while Discord cannot be reached."""
    token = required_token(settings)
    cancel_on_signals()
    with contextlib.suppress(asyncio.CancelledError):
        async with built_bot(
            settings, shard_ids=shard_ids, shard_count=shard_count, warm_sources=True
        ) as bot:
            await stay_connected(bot, token, api_base=settings.discord_api_base)
