"""Live events over real HTTP (uvicorn on a free port): ids, resume from Last-Event-ID, closing on logout
and on lost membership."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from web_helpers import SseReader, context_of, csrf, log_in, seat, web_settings

from zilean.core.track import Track
from zilean.db import Database
from zilean.db.bus import Bus
from zilean.db.records import PlayerState
from zilean.web.app import create_app
from zilean.web.server import DashboardServer

GUILD, ME = 4_194_304_000, 111


@pytest.fixture
async def served(database: Database, web_bus: Bus, db_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The app served by uvicorn on 127.0.0.1 and a free port (app.state.url)."""
    server_settings = web_settings(db_url, tmp_path)
    app = create_app(server_settings, database, web_bus)
    server = DashboardServer(app, server_settings, host="127.0.0.1", port=0)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    app.state.url = server.url
    try:
        yield app
    finally:
        server.stop()
        await task


@pytest.fixture
async def browser(served: FastAPI, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    await seat(database, GUILD, ME)
    async with httpx.AsyncClient(base_url=served.state.url, timeout=30) as http:
        http.headers["X-Test-Csrf"] = await log_in(served, http, ME)
        yield http


def playing(title: str, *, paused: bool = False) -> PlayerState:
    track = Track(title=title, url="https://e.com/x", source="direct", duration_ms=60_000)
    return PlayerState(guild_id=GUILD, voice_channel_id=9, track=track, position_ms=500, paused=paused)


async def test_events_arrive_with_ids_and_the_right_headers(browser: httpx.AsyncClient, web_bus: Bus) -> None:
    async with browser.stream("GET", f"/api/servers/{GUILD}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-accel-buffering"] == "no"
        assert "default-src 'self'" in response.headers["content-security-policy"]
        reader = SseReader(response)
        first = await web_bus.events.publish_player(playing("One"))
        event, event_id, data = await reader.next()
        assert (event, event_id) == ("player", str(first))
        status = json.loads(data)
        assert (
            status["track"]["title"] == "One" and status["bot_online"] is True and status["connected"] is True
        )
        assert status["anchor_position_ms"] == 500
        second = await web_bus.events.publish(GUILD, "queue", {})
        event, event_id, data = await reader.next()
        assert (event, event_id, json.loads(data)) == ("queue", str(second), {"total": 0, "duration_ms": 0})
        await web_bus.events.publish(GUILD + 1, "queue", {})  # another guild's: not sent here
        third = await web_bus.events.publish_player(playing("Two", paused=True))
        event, event_id, data = await reader.next()
        assert (event, event_id) == ("player", str(third)) and json.loads(data)["paused"] is True


async def test_a_reconnect_resumes_from_last_event_id_with_one_snapshot(
    browser: httpx.AsyncClient, web_bus: Bus, database: Database
) -> None:
    seen = await web_bus.events.publish_player(playing("Before"))
    # while the browser is away: three changes
    await database.player_state.save(playing("Missed"))
    await web_bus.events.publish_player(playing("Missed"))
    await database.queue.append(
        GUILD, [Track(title="Q", url="https://e.com/q", source="direct", duration_ms=5)]
    )
    await web_bus.events.publish(GUILD, "queue", {})
    newest = await web_bus.events.publish(GUILD, "queue", {})
    headers = {"Last-Event-ID": str(seen)}
    async with browser.stream("GET", f"/api/servers/{GUILD}/events", headers=headers) as response:
        reader = SseReader(response)
        event, event_id, data = await reader.next()
        assert (event, event_id) == ("player", str(newest)) and json.loads(data)["track"]["title"] == "Missed"
        event, event_id, data = await reader.next()
        assert (event, event_id, json.loads(data)["total"]) == ("queue", str(newest), 1)
        live = await web_bus.events.publish_player(playing("Live"))
        event, event_id, _ = await reader.next()
        assert (event, event_id) == ("player", str(live))


async def test_the_stream_closes_when_the_user_leaves_the_guild(
    browser: httpx.AsyncClient, web_bus: Bus, database: Database
) -> None:
    async with browser.stream("GET", f"/api/servers/{GUILD}/events") as response:
        reader = SseReader(response)
        await database.directory.remove_member(GUILD, ME)
        await web_bus.events.publish(GUILD, "directory", {"change": "member_removed"})
        event, _, data = await reader.next()
        assert event == "bye" and "no longer a member" in json.loads(data)["reason"]
        with pytest.raises(EOFError):
            await reader.next()
    assert (await browser.get(f"/api/servers/{GUILD}/events")).status_code == 404


async def test_logout_closes_the_sessions_streams_at_once(
    served: FastAPI, browser: httpx.AsyncClient
) -> None:
    async with browser.stream("GET", f"/api/servers/{GUILD}/events") as response:
        reader = SseReader(response)
        for _ in range(500):
            if context_of(served).streams.open_count:
                break
            await asyncio.sleep(0.02)
        out = await browser.post("/logout", headers=csrf(browser.headers["X-Test-Csrf"]))
        assert out.status_code in (200, 303)
        event, _, data = await reader.next()
        assert event == "bye" and json.loads(data)["reason"] == "your session ended"
    assert (await browser.get(f"/api/servers/{GUILD}/events")).status_code == 401
