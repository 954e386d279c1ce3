"""Every API control through the real bot: discord.py against the sandbox, logged in through its OAuth2.

The dashboard has its own Database and Bus on the bot's SQLite file (as a separate `zilean web` process
would), so each action crosses the database: API → bus → the bot's own command and checks → outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from web_helpers import BASE_URL, client_for, sandbox_login, sandbox_web_settings

from real_bot import real_bot
from zilean.db import open_database
from zilean.db.bus import Bus, BusOptions
from zilean.sandbox.server import Sandbox, SandboxConfig
from zilean.web.app import create_app

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _tone(ffmpeg: str, path: Path, hz: int, seconds: int, title: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}",
        "-metadata", f"title={title}", str(path),
    )  # fmt: skip
    assert await proc.wait() == 0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict[str, Any]]:
    """Sandbox, the real bot, and the dashboard (own Database and Bus) on the bot's SQLite file."""
    import imageio_ffmpeg

    root = tmp_path_factory.mktemp("web-e2e")
    library = root / "library"
    library.mkdir()
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    for name, hz, title in (
        ("tone440", 440, "Tone 440"),
        ("tone660", 660, "Tone 660"),
        ("tone880", 880, "Tone 880"),
    ):
        await _tone(ffmpeg, library / f"{name}.flac", hz, 60, title)
    url = f"sqlite+aiosqlite:///{root / 'zilean.db'}"
    config = SandboxConfig(redirect_uris=[f"{BASE_URL}/callback"])
    async with Sandbox(config=config) as sandbox, real_bot(sandbox, url, library, root / "logs") as bot:
        db = await open_database(url)
        bus = Bus(db, BusOptions(poll_interval_s=0.02))
        await bus.start(maintain=True)
        app = create_app(sandbox_web_settings(sandbox, url, root), db, bus)
        music = sandbox.world.channel_named("Music")
        try:
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as sandbox_http,
            ):
                yield {
                    "sandbox": sandbox,
                    "sandbox_http": sandbox_http,
                    "app": app,
                    "bot": bot,
                    "db": db,
                    "guild": music.guild_id,
                    "voice": music.id,
                    "users": {n: sandbox.world.user_named(n).id for n in ("owner", "dj", "alice", "bob")},
                }
        finally:
            await bus.close()
            await db.close()


@contextlib.asynccontextmanager
async def browser_of(world: dict[str, Any], user: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser logged in through the sandbox's OAuth2 as `user`; yields it and its CSRF token."""
    async with client_for(world["app"]) as browser:
        answer = await sandbox_login(browser, world["sandbox_http"], world["users"][user])
        assert answer.status_code == 303, answer.text
        sessions = world["app"].state.web.sessions
        me = await sessions.load(browser.cookies.get(sessions.cookie_name))
        assert me is not None
        browser.headers["X-CSRF-Token"] = me.csrf_token
        yield browser, me.csrf_token


async def voice(world: dict[str, Any], user: str, channel: int | None) -> None:
    body: dict[str, Any] = {
        "user_id": str(world["users"][user]),
        "channel_id": str(channel) if channel else None,
    }
    if channel is None:
        body["guild_id"] = str(world["guild"])
    (await world["sandbox_http"].post("/_sandbox/voice", json=body)).raise_for_status()


async def until(check: Any, within_s: float = 30.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_the_dashboard_lists_the_guild_the_bot_shares(world: dict[str, Any]) -> None:
    async with browser_of(world, "alice") as (browser, _):
        servers = await until(lambda: _json(browser, "/api/servers"))
        assert [s["id"] for s in servers] == [str(world["guild"])]
        status = (await browser.get(f"/api/servers/{world['guild']}/status")).json()
        assert status["bot_online"] is True and status["guild_id"] == str(world["guild"])


async def test_the_bots_own_checks_answer_with_their_words(world: dict[str, Any]) -> None:
    async with browser_of(world, "bob") as (browser, _):
        answer = await browser.post(
            f"/api/servers/{world['guild']}/play", json={"query": "local:tone440.flac"}
        )
        assert answer.status_code == 403
        assert answer.json() == {"ok": False, "error": "Join a voice channel first."}


async def test_every_control_round_trips_through_the_bot(world: dict[str, Any]) -> None:
    guild = world["guild"]
    await voice(world, "alice", world["voice"])
    async with browser_of(world, "alice") as (browser, _):

        async def act(action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            answer = await browser.post(f"/api/servers/{guild}/{action}", json=body or {})
            assert answer.status_code == 200, (action, answer.status_code, answer.text)
            data: dict[str, Any] = answer.json()
            assert data["ok"] is True
            return data

        async def status() -> dict[str, Any]:
            return dict((await browser.get(f"/api/servers/{guild}/status")).json())

        async def queue() -> dict[str, Any]:
            return dict((await browser.get(f"/api/servers/{guild}/queue")).json())

        played = await act("play", {"query": "local:tone440.flac"})
        assert "Tone 440" in played["message"]
        await until(lambda: _has(status, lambda s: s["track"] and s["track"]["title"] == "Tone 440"))
        await act("play", {"query": "local:tone660.flac"})
        await act("play", {"query": "local:tone880.flac"})
        await until(lambda: _has(queue, lambda q: q["total"] == 2))

        await act("pause")
        await until(lambda: _has(status, lambda s: s["paused"]))
        await act("resume")
        await until(lambda: _has(status, lambda s: not s["paused"]))
        await act("volume", {"volume": 150})
        await until(lambda: _has(status, lambda s: s["volume"] == 150))
        await act("effects", {"effects": ["bassboost", "nightcore"]})
        await until(lambda: _has(status, lambda s: s["effects"] == ["bassboost", "nightcore"]))
        await act("effects", {"effects": []})
        await until(lambda: _has(status, lambda s: s["effects"] == []))
        await act("loop", {"mode": "one"})
        await until(lambda: _has(status, lambda s: s["loop"] == "one"))
        await act("loop", {"mode": "off"})
        await act("seek", {"position_ms": 20_000})
        await until(lambda: _has(status, lambda s: s["position_ms"] >= 20_000))

        entries = (await queue())["entries"]
        assert [e["title"] for e in entries] == ["Tone 660", "Tone 880"]
        await act("move", {"entry_id": entries[1]["id"], "to": 1})
        await until(
            lambda: _has(queue, lambda q: [e["title"] for e in q["entries"]] == ["Tone 880", "Tone 660"])
        )
        await act("shuffle")
        moved = (await queue())["entries"]
        await act("remove", {"entry_id": moved[0]["id"]})
        await until(lambda: _has(queue, lambda q: q["total"] == 1))

        await act("skip")
        await until(lambda: _has(status, lambda s: s["track"] and s["track"]["title"] == moved[1]["title"]))
        await act("previous")
        await until(lambda: _has(status, lambda s: s["track"] and s["track"]["title"] == "Tone 440"))
        await act("play", {"query": "local:tone660.flac"})
        await until(lambda: _has(queue, lambda q: q["total"] >= 1))
        await act("clear")
        await until(lambda: _has(queue, lambda q: q["total"] == 0))
        history = (await browser.get(f"/api/servers/{guild}/history")).json()
        assert "Tone 440" in [h["title"] for h in history]
        await act("stop")
        await until(lambda: _has(status, lambda s: s["track"] is None))


async def test_join_my_voice_channel(world: dict[str, Any]) -> None:
    guild = world["guild"]

    async def bot_channel() -> str | None:
        state = (await world["sandbox_http"].get(f"/_sandbox/voice/{guild}")).json()
        return state["channel_id"] if state["connected"] else None

    async with browser_of(world, "alice") as (browser, _):
        await voice(world, "alice", world["voice"])
        if await bot_channel():
            assert (await browser.post(f"/api/servers/{guild}/leave", json={})).status_code == 200
            await until(lambda: _not(bot_channel))
        answer = await browser.post(f"/api/servers/{guild}/join", json={})
        assert answer.status_code == 200, answer.text
        assert await until(bot_channel) == str(world["voice"])


async def test_a_member_who_leaves_the_server_loses_the_dashboard_at_once(world: dict[str, Any]) -> None:
    guild = world["guild"]
    body = {"guild_id": str(guild), "user_id": str(world["users"]["bob"])}
    async with browser_of(world, "bob") as (browser, _):
        assert (await browser.get(f"/api/servers/{guild}/status")).status_code == 200
        (
            await world["sandbox_http"].post("/_sandbox/members", json={**body, "action": "leave"})
        ).raise_for_status()
        try:
            await until(lambda: _code_is(browser, f"/api/servers/{guild}/status", 404))
            assert (await browser.post(f"/api/servers/{guild}/pause", json={})).status_code == 404
            assert (await browser.get("/api/servers")).json() == []
        finally:  # the other tests (in any order) still have bob
            (
                await world["sandbox_http"].post("/_sandbox/members", json={**body, "action": "join"})
            ).raise_for_status()
            await until(lambda: _code_is(browser, f"/api/servers/{guild}/status", 200))


async def test_with_the_bot_offline_reads_work_and_commands_answer_503(world: dict[str, Any]) -> None:
    from zilean.bot.bus_bridge import start_bus_worker

    guild = world["guild"]
    bot = world["bot"]
    assert bot.bus_worker is not None
    await bot.bus_worker.stop()  # the bot process says goodbye: no live owner for the guild
    try:
        async with browser_of(world, "alice") as (browser, _):
            await until(
                lambda: _has(
                    lambda: _json(browser, f"/api/servers/{guild}/status"), lambda s: not s["bot_online"]
                )
            )
            answer = await browser.post(f"/api/servers/{guild}/pause", json={})
            assert answer.status_code == 503 and answer.json()["error"] == "the bot is offline"
    finally:  # back online for the other tests
        bot.bus_worker = await start_bus_worker(bot, bot.bus)


async def _json(browser: httpx.AsyncClient, path: str) -> Any:
    return (await browser.get(path)).json()


async def _has(read: Any, predicate: Any) -> bool:
    return bool(predicate(await read()))


async def _code_is(browser: httpx.AsyncClient, path: str, code: int) -> bool:
    return (await browser.get(path)).status_code == code


async def _not(read: Any) -> bool:
    return not await read()
