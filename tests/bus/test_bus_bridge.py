"""Bus commands run by the real bot (discord.py against the sandbox) through its own commands and checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

import polling
from audio_fixtures import ffmpeg_exe
from real_bot import real_bot
from zilean.db import open_database
from zilean.db.bus import Bus, BusOptions
from zilean.sandbox.server import Sandbox, SandboxConfig

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """Sandbox, the real bot with its bus worker, and a web-side Bus on the same SQLite database."""
    from zilean.bot.bus_bridge import start_bus_worker

    root = tmp_path_factory.mktemp("bridge")
    library = root / "library"
    library.mkdir()
    ffmpeg = await asyncio.create_subprocess_exec(
        ffmpeg_exe(),
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=30",
        "-metadata",
        "title=Tone 440",
        str(library / "tone440.flac"),
    )
    assert await ffmpeg.wait() == 0
    url = f"sqlite+aiosqlite:///{root / 'bot.db'}"
    async with (
        Sandbox(config=SandboxConfig()) as sandbox,
        real_bot(sandbox, url, library, root / "logs") as bot,
    ):
        db = await open_database(url)
        bus = Bus(db, BusOptions(poll_interval_s=0.02))
        await bus.start()
        worker = await start_bus_worker(bot, bus)
        w = sandbox.world
        music = w.channel_named("Music")
        try:
            async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=10) as http:
                yield {
                    "bus": bus,
                    "bot": bot,
                    "http": http,
                    "guild": music.guild_id,
                    "voice": music.id,
                    "users": {n: w.user_named(n).id for n in ("owner", "dj", "alice", "bob")},
                    "worker": worker,
                }
        finally:
            await bus.close()
            await db.close()


async def send(world: dict[str, Any], user: str, action: str, payload: dict[str, Any] | None = None) -> Any:
    bus: Bus = world["bus"]
    return await bus.send(world["guild"], action, payload or {}, user_id=world["users"][user], timeout_s=60)


async def join_voice(world: dict[str, Any], user: str) -> None:
    body = {"user_id": str(world["users"][user]), "channel_id": str(world["voice"])}
    (await world["http"].post("/_sandbox/voice", json=body)).raise_for_status()


async def leave_voice(world: dict[str, Any], user: str) -> None:
    """Take the member out of voice and wait until the bot sees it (another test may have put them in)."""
    body = {"user_id": str(world["users"][user]), "channel_id": None}
    (await world["http"].post("/_sandbox/voice", json=body)).raise_for_status()
    member = world["bot"].get_guild(world["guild"]).get_member(world["users"][user])
    await polling.until(
        lambda: member.voice is None or member.voice.channel is None, what=f"{user} out of voice"
    )


async def test_the_bots_own_checks_refuse_with_their_reason(world: dict[str, Any]) -> None:
    await leave_voice(world, "alice")
    command = await send(world, "alice", "play", {"query": "local:tone440.flac"})
    assert (command.status, command.outcome) == ("refused", "Join a voice channel first.")
    command = await send(world, "alice", "seek", {"position_ms": 5000})
    assert (command.status, command.outcome) == ("refused", "Join a voice channel first.")


async def test_play_pause_volume_run_through_the_bot(world: dict[str, Any]) -> None:
    await join_voice(world, "alice")
    played = await send(world, "alice", "play", {"query": "local:tone440.flac"})
    assert played.status == "done", played.outcome
    assert "Tone 440" in played.outcome
    session = world["bot"].sessions.existing(world["guild"])
    assert session is not None and session.current is not None and session.current.track.title == "Tone 440"
    paused = await send(world, "alice", "pause")
    assert paused.status == "done" and "Paused" in paused.outcome
    assert session.paused
    volume = await send(world, "alice", "volume", {"percent": 150})
    assert volume.status == "done" and "150" in volume.outcome, volume.outcome
    assert session.volume == 150
    effects = await send(world, "alice", "effects", {"effects": ["bassboost", "nightcore"]})
    assert effects.status == "done", effects.outcome
    assert list(session.effects) == ["bassboost", "nightcore"]
    bogus = await send(world, "alice", "effects", {"effects": ["kazoo"]})
    assert bogus.status == "refused", bogus.outcome
    assert list(session.effects) == ["bassboost", "nightcore"]  # refused before anything changed
    stopped = await send(world, "alice", "stop")
    assert stopped.status == "done", stopped.outcome
    nothing = await send(world, "alice", "seek", {"position_ms": 5000})
    assert nothing.status == "refused" and "Nothing is playing" in nothing.outcome


async def test_settings_follow_the_permission_policy(world: dict[str, Any]) -> None:
    refused = await send(world, "bob", "settings", {"changes": {"prefix": "!"}})
    assert refused.status == "refused" and "DJ or an administrator" in refused.outcome, refused.outcome
    done = await send(world, "owner", "settings", {"changes": {"prefix": "!"}})
    assert done.status == "done", done.outcome
    assert (await world["bus"].db.guild_settings.get(world["guild"])).prefix == "!"


async def test_unknown_guilds_and_members_are_refused(world: dict[str, Any]) -> None:
    bus: Bus = world["bus"]
    elsewhere = await bus.send(world["guild"] + 1, "pause", {}, user_id=world["users"]["alice"], timeout_s=60)
    assert (elsewhere.status, elsewhere.outcome) == ("refused", "The bot is not in that server.")
    stranger = await bus.send(world["guild"], "pause", {}, user_id=999_999_999_999, timeout_s=60)
    assert (stranger.status, stranger.outcome) == ("refused", "You are not a member of that server.")
