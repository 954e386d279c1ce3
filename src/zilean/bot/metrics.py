"""The bot's Prometheus metrics: what it plays, what it is asked, how its parts do (observability/names.py).

Hot paths never touch prometheus_client: the sender counts in plain ints (sender.SenderStats) and
the gauges (guilds, voice, streams) are read from discord.py's state when Prometheus scrapes, on
the bot's loop. Only per-command and per-track events (a resolve, a command, an ffmpeg start)
update metrics objects directly.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from zilean.bot.errors import GENERIC, user_message
from zilean.bot.sender import CLOCK, TICK_BUCKETS_S, SharedClock
from zilean.core.errors import ZileanError, cause_of
from zilean.core.media import MediaInput
from zilean.core.pipeline import OpusStream
from zilean.core.sources import Resolver
from zilean.core.sources.results import LoadFailed, LoadResult, NoMatches, PlaylistLoaded, TrackLoaded
from zilean.core.track import Track
from zilean.db.bus.records import TRANSIENT_ERRORS, Command, CommandHandler, Outcome
from zilean.db.connector import utcnow
from zilean.observability.bus import BusGauges
from zilean.observability.registry import new_registry

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot

log = logging.getLogger(__name__)

READY_QUERY_TIMEOUT_S = 2.0
LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The bus says "failed" where Discord commands say "error": the action could not be carried out.
BUS_OUTCOMES = {"done": "ok", "refused": "refused", "failed": "error"}


class FfmpegCounts:
    """ffmpeg processes started and failed in this process (any thread starts and closes them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.starts = 0
        self.failures = 0

    def started(self) -> None:
        with self._lock:
            self.starts += 1

    def failed(self) -> None:
        with self._lock:
            self.failures += 1


FFMPEG = FfmpegCounts()  # per process, like sender.CLOCK: every guild's streams count here


class MeteredOpusStream(OpusStream):
    """An OpusStream counted in FFMPEG: a start, and a failure if it ended with an error."""

    _counted_failure = False

    def start(self) -> None:
        FFMPEG.started()
        try:
            super().start()
        except Exception:
            self._count_failure()
            raise

    def close(self) -> None:
        super().close()
        if self.error is not None:
            self._count_failure()

    def _count_failure(self) -> None:
        if not self._counted_failure:
            self._counted_failure = True
            FFMPEG.failed()


_NESTED = contextvars.ContextVar("zilean_resolve_nested", default=False)


def _result_name(result: LoadResult) -> str:
    if isinstance(result, TrackLoaded):
        return "track"
    if isinstance(result, PlaylistLoaded):
        return "playlist"
    if isinstance(result, NoMatches):
        return "no_matches"
    return "failed"


class MeteredResolver(Resolver):
    """The Resolver, timing every resolve (a query, an upload, a track's stream) and counting its result."""

    metrics: BotMetrics

    async def resolve(self, query: str) -> LoadResult:
        started = time.perf_counter()
        result = await super().resolve(query)
        self.metrics.resolved("query", result, time.perf_counter() - started)
        return result

    async def resolve_file(self, url: str, filename: str | None = None) -> LoadResult:
        started = time.perf_counter()
        result = await super().resolve_file(url, filename)
        self.metrics.resolved("upload", result, time.perf_counter() - started)
        return result

    async def stream_for(self, track: Track) -> MediaInput:
        if _NESTED.get():  # a Spotify track resolves its match through here again: count it once
            return await super().stream_for(track)
        token = _NESTED.set(True)
        started = time.perf_counter()
        try:
            media = await super().stream_for(track)
        except ZileanError as exc:
            self.metrics.resolved("stream", LoadFailed(exc.message, cause_of(exc)), _since(started))
            raise
        except Exception as exc:
            self.metrics.resolved("stream", LoadFailed("", cause_of(exc)), _since(started))
            raise
        finally:
            _NESTED.reset(token)
        self.metrics.resolved("stream", TrackLoaded(track), _since(started))
        return media


def _since(started: float) -> float:
    return time.perf_counter() - started


def command_outcome(error: BaseException) -> str | None:
    """A failed command's outcome label: "refused" (told the user why: a check, bad input, a
    ZileanError), "error" (a bug: the generic apology); None for no command at all."""
    if isinstance(error, commands.CommandNotFound):
        return None
    return "error" if user_message(error) == GENERIC else "refused"


class BotMetrics:
    """One bot process's registry; `attach(bot)` adds the gauges read from the bot at scrape time."""

    def __init__(self, clock: SharedClock = CLOCK, ffmpeg: FfmpegCounts = FFMPEG) -> None:
        self.registry: CollectorRegistry = new_registry()
        self.clock = clock
        self.ffmpeg = ffmpeg
        self.bot: ZileanBot | None = None
        self.bus_gauges: BusGauges | None = None
        self.commands = Counter(
            "zilean_commands",
            "Commands run, by name, how they came (prefix, slash, web, cli) and outcome",
            ["command", "via", "outcome"],
            registry=self.registry,
        )
        self.resolve_seconds = Histogram(
            "zilean_resolve_seconds",
            "Time to resolve a query, an upload or a track's stream",
            ["kind"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.resolves = Counter(
            "zilean_resolves",
            "Resolves by kind and result (track, playlist, no_matches, failed)",
            ["kind", "result"],
            registry=self.registry,
        )
        self.resolve_failures = Counter(
            "zilean_resolve_failures",
            "Failed resolves by kind and cause (source, unsafe_url, playback, internal, …)",
            ["kind", "cause"],
            registry=self.registry,
        )
        self.bus_lag = Histogram(
            "zilean_bus_command_lag_seconds",
            "From a dashboard or CLI command being queued to this bot starting it",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )

    # --- events --------------------------------------------------------------------------------

    def resolved(self, kind: str, result: LoadResult, seconds: float) -> None:
        """Count one resolve."""
        self.resolve_seconds.labels(kind).observe(seconds)
        name = _result_name(result)
        self.resolves.labels(kind, name).inc()
        if isinstance(result, LoadFailed):
            self.resolve_failures.labels(kind, result.cause).inc()

    async def _command_completed(self, ctx: commands.Context[Any]) -> None:
        if ctx.command is not None:
            self.commands.labels(ctx.command.qualified_name, _via(ctx), "ok").inc()

    async def _command_failed(self, ctx: commands.Context[Any], error: commands.CommandError) -> None:
        outcome = command_outcome(error)
        if outcome is not None and ctx.command is not None:
            self.commands.labels(ctx.command.qualified_name, _via(ctx), outcome).inc()

    def bus_handler(self, handler: CommandHandler) -> CommandHandler:
        """`handler`, counting each bus command by action and outcome and timing its wait in the queue."""

        async def counted(command: Command) -> Outcome:
            if command.created_at is not None:
                self.bus_lag.observe(max(0.0, (utcnow() - command.created_at).total_seconds()))
            via = command.origin if command.origin in ("web", "cli") else "web"
            try:
                outcome = await handler(command)
            except Exception:  # the worker records it as failed
                self.commands.labels(command.action, via, "error").inc()
                raise
            self.commands.labels(command.action, via, BUS_OUTCOMES.get(outcome.status, "error")).inc()
            return outcome

        return counted

    # --- the bot -------------------------------------------------------------------------------

    def attach(self, bot: ZileanBot, shard_ids: list[int] | None, shard_count: int | None) -> None:
        """Read gauges from `bot` at scrape time and count its commands."""
        self.bot = bot
        self.registry.register(_BotCollector(self))
        if bot.bus is not None:
            ids = None if shard_ids is None else list(shard_ids)
            self.bus_gauges = BusGauges(bot.bus.commands, ids, shard_count or 1)
            self.registry.register(self.bus_gauges)
        bot.add_listener(self._command_completed, "on_command_completion")
        bot.add_listener(self._command_failed, "on_command_error")

    async def refresh(self) -> None:
        """Before a scrape: the numbers that need the database."""
        if self.bus_gauges is not None:
            await self.bus_gauges.refresh()

    async def ready(self) -> tuple[bool, dict[str, Any]]:
        """Ready: connected to the gateway, the database answers and this process's heartbeat is fresh."""
        bot = self.bot
        if bot is None:
            return False, {"gateway": False, "database": False, "heartbeat": False}
        shards = getattr(bot, "shards", {}) or {}
        gateway = bot.is_ready() and not bot.is_closed() and not any(s.is_closed() for s in shards.values())
        worker = bot.bus_worker
        database = heartbeat = False
        if bot.bus is not None:
            stale = worker.timing.stale_after_s if worker is not None else 10.0
            try:
                async with asyncio.timeout(READY_QUERY_TIMEOUT_S):
                    live = await bot.bus.heartbeats.live(timedelta(seconds=stale))
            except (*TRANSIENT_ERRORS, TimeoutError) as exc:
                log.info("not ready: the database does not answer (%s)", exc.__class__.__name__)
            else:
                database = True
                heartbeat = worker is not None and any(p.process_id == worker.process_id for p in live)
        checks = {"gateway": gateway, "database": database, "heartbeat": heartbeat}
        return all(checks.values()), checks


def _via(ctx: commands.Context[Any]) -> str:
    return "prefix" if ctx.interaction is None else "slash"


class _BotCollector(Collector):
    """Gauges and the sender's counts, read when Prometheus scrapes (on the bot's loop)."""

    def __init__(self, metrics: BotMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self._metrics
        bot = metrics.bot
        if bot is None:
            return
        voices = [vc for vc in bot.voice_clients if isinstance(vc, discord.VoiceClient)]
        yield GaugeMetricFamily("zilean_bot_guilds", "Guilds this process serves", value=len(bot.guilds))
        yield GaugeMetricFamily(
            "zilean_bot_voice_connections",
            "Voice channels this process is connected to",
            value=sum(1 for vc in voices if vc.is_connected()),
        )
        yield GaugeMetricFamily(
            "zilean_bot_streams_playing",
            "Guilds sending audio now (not paused)",
            value=sum(1 for vc in voices if vc.is_playing()),
        )
        latency = GaugeMetricFamily(
            "zilean_bot_gateway_latency_seconds", "Gateway heartbeat round trip per shard", labels=["shard"]
        )
        for shard_id, seconds in getattr(bot, "latencies", []):
            if math.isfinite(seconds):
                latency.add_metric([str(shard_id)], seconds)
        yield latency
        yield from _sender_metrics(metrics.clock)
        yield CounterMetricFamily(
            "zilean_ffmpeg_starts", "ffmpeg processes started for playback", value=metrics.ffmpeg.starts
        )
        yield CounterMetricFamily(
            "zilean_ffmpeg_failures",
            "ffmpeg processes that failed (could not start, exited with an error, gave no audio)",
            value=metrics.ffmpeg.failures,
        )


def _sender_metrics(clock: SharedClock) -> Iterator[Metric]:
    stats = clock.stats
    yield CounterMetricFamily(
        "zilean_sender_frames_sent",
        "Opus frames the shared sender handed to discord.py",
        value=stats.frames_sent,
    )
    yield CounterMetricFamily(
        "zilean_sender_frames_missed",
        "Frames that were due and not sent (the sender fell behind and skipped, voice reconnecting)",
        value=stats.frames_missed,
    )
    yield GaugeMetricFamily(
        "zilean_sender_players", "Players the shared sender steps each tick", value=clock.player_count
    )
    yield GaugeMetricFamily(
        "zilean_sender_realtime",
        "1 while the sender thread runs with real-time priority",
        value=int(clock.realtime),
    )
    cumulative, buckets = 0, []
    counts = list(stats.tick_buckets)  # a copy: the sender thread keeps counting
    for bound, count in zip((*TICK_BUCKETS_S, math.inf), counts, strict=True):
        cumulative += count
        buckets.append(("+Inf" if bound == math.inf else repr(bound), cumulative))
    yield HistogramMetricFamily(
        "zilean_sender_tick_seconds",
        "Time the sender spent stepping every player in one 20 ms tick",
        buckets=buckets,
        sum_value=stats.tick_sum_s,
    )
