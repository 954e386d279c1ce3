"""The real bot's METRICS_PORT endpoint, scraped over HTTP and parsed with prometheus_client's parser."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import pytest_asyncio
from bot_harness import Driver

from metrics_text import Samples, parse, value
from polling import until, until_value
from zilean.config import Settings
from zilean.observability import names
from zilean.sandbox.server import Sandbox
from zilean.sandbox.testing import discord_pointed_at, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running_bot(
    sandbox: Sandbox, media: dict[str, Path], media_site: str, bot_database_url: str
) -> AsyncIterator[object]:
    """conftest's module bot, with METRICS_PORT=0 (a free port: bot.metrics_server.port)."""
    from zilean.bot.runner import built_bot

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        discord_token=sandbox.token,
        discord_api_base=sandbox.api_base,
        discord_gateway_url=sandbox.gateway_url,
        database_url=bot_database_url,
        library_dir=media["tone"].parent,
        search_provider="local",
        trusted_media_origins=[sandbox.base_url, media_site],
        log_dir=media["tone"].parent.parent / "logs",
        metrics_port=0,  # a free port: bot.metrics_server.port
    )
    assert sandbox.voice is not None
    connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=str(sandbox.voice.cert_path)))
    with discord_pointed_at(sandbox):
        async with built_bot(settings, connector=connector, guild_ready_timeout=0.1) as bot:
            task = asyncio.create_task(bot.start(sandbox.token))
            try:
                await wait_until(lambda: bot.is_ready() or task.done(), within_s=20)
                if task.done():
                    task.result()
                await wait_until(lambda: bot.bus_worker is not None or task.done(), within_s=20)
                yield bot
            finally:
                await bot.close()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(10):
                        await task


@pytest_asyncio.fixture(loop_scope="module")
async def scrape(running_bot: Any) -> AsyncIterator[Any]:
    """GET a path of the bot's metrics endpoint."""
    async with httpx.AsyncClient(base_url=running_bot.metrics_server.url, timeout=10) as http:
        yield http


async def metrics(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)[0]


async def test_a_played_track_shows_in_streams_frames_ffmpeg_resolves_and_commands(
    fresh_guild: Driver, scrape: httpx.AsyncClient
) -> None:
    driver = fresh_guild
    before = await metrics(scrape)
    assert value(before, "zilean_bot_guilds") >= 1
    assert value(before, "zilean_bot_streams_playing") == 0

    reply = await driver.say("alice", "=play local:short660.flac")
    assert "Playing now" in reply.text, reply.text
    playing = await until_value(
        lambda: metrics(scrape),
        lambda s: (
            value(s, "zilean_bot_streams_playing") == 1
            and value(s, "zilean_sender_frames_sent_total") > value(before, "zilean_sender_frames_sent_total")
        ),
        what="one stream playing and frames sent",
    )
    assert value(playing, "zilean_bot_voice_connections") == 1
    assert value(playing, "zilean_ffmpeg_starts_total") > value(before, "zilean_ffmpeg_starts_total")
    play_ok = {"command": "play", "via": "prefix", "outcome": "ok"}
    assert (
        value(playing, "zilean_commands_total", **play_ok)
        == value(before, "zilean_commands_total", **play_ok) + 1
    )
    for kind in ("query", "stream"):
        resolved = {"kind": kind, "result": "track"}
        assert value(playing, "zilean_resolves_total", **resolved) > value(
            before, "zilean_resolves_total", **resolved
        )
        count = value(playing, "zilean_resolve_seconds_count", kind=kind)
        assert count > value(before, "zilean_resolve_seconds_count", kind=kind)
    ticks = value(playing, "zilean_sender_tick_seconds_count")
    assert ticks > value(before, "zilean_sender_tick_seconds_count")
    assert value(playing, "zilean_sender_tick_seconds_bucket", le="+Inf") == ticks

    # The 2-s track ends by itself: nothing plays, and the sender counted every frame it sent.
    ended = await until_value(
        lambda: metrics(scrape),
        lambda s: value(s, "zilean_bot_streams_playing") == 0,
        what="the track ending",
    )
    sent = value(ended, "zilean_sender_frames_sent_total") - value(before, "zilean_sender_frames_sent_total")
    assert sent >= 90  # 2 s of audio is 100 frames (and a few of silence around it)


async def test_commands_are_counted_by_name_how_they_came_and_outcome(
    fresh_guild: Driver, scrape: httpx.AsyncClient, running_bot: Any
) -> None:
    driver = fresh_guild
    before = await metrics(scrape)
    reply = await driver.say("alice", "=skip")  # nothing plays: refused with a reason
    assert "Nothing is playing" in reply.text, reply.text
    reply = await driver.slash("alice", "volume", percent=80)
    assert "80%" in reply.text, reply.text
    done = await running_bot.bus.send(
        driver.guild_id, "volume", {"percent": 90}, user_id=driver.users["alice"], timeout_s=15
    )
    assert done.status == "done", done

    after = await until_value(
        lambda: metrics(scrape),
        lambda s: (
            value(s, "zilean_commands_total", command="volume", via="web", outcome="ok")
            > value(before, "zilean_commands_total", command="volume", via="web", outcome="ok")
        ),
        what="the dashboard's volume command counted",
    )

    def grew(**labels: str) -> float:
        return value(after, "zilean_commands_total", **labels) - value(
            before, "zilean_commands_total", **labels
        )

    assert grew(command="skip", via="prefix", outcome="refused") == 1
    assert grew(command="skip", via="prefix", outcome="ok") == 0
    assert grew(command="volume", via="slash", outcome="ok") == 1
    assert grew(command="volume", via="web", outcome="ok") == 1
    assert value(after, "zilean_bus_command_lag_seconds_count") > value(
        before, "zilean_bus_command_lag_seconds_count"
    )
    assert value(after, "zilean_bus_pending_commands") == 0


async def test_healthz_readyz_and_every_exported_family_is_named(
    running_bot: Any, scrape: httpx.AsyncClient
) -> None:
    assert (await scrape.get("/healthz")).json() == {"ok": True}
    ready = await until(lambda: scrape.get("/readyz"), what="readyz answering")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"ready": True, "gateway": True, "database": True, "heartbeat": True}
    _, families = parse((await scrape.get("/metrics")).text)
    # prometheus_client adds a `<name>_created` timestamp beside each counter and histogram it owns.
    ours = {name for name in families if name.startswith("zilean_") and not name.endswith("_created")}
    assert ours == names.BOT
    assert {"process_cpu_seconds", "process_resident_memory_bytes"} <= families
