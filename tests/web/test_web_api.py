"""The JSON API on both backends: shapes, ids as strings, the access rule, validation, the limiter,
the bus translation (checked by a bus worker standing in for the bot) and the bot-offline answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from web_helpers import client_for, csrf, log_in, seat, web_settings

from zilean.core.track import Track
from zilean.db import Database
from zilean.db.bus import Bus, Command, Outcome
from zilean.db.records import PlayerState
from zilean.web.app import create_app

GUILD = 4_194_304_000  # (GUILD >> 22) % 1 == 0: shard 0
OTHER_GUILD = GUILD + 1
ME, STRANGER = 111, 222


@pytest.fixture
async def member(app: FastAPI, client: httpx.AsyncClient, database: Database) -> str:
    """Log in as ME, member of GUILD (not of OTHER_GUILD: only STRANGER is); returns the CSRF token."""
    await seat(database, GUILD, ME, name="Home")
    await seat(database, OTHER_GUILD, STRANGER, name="Elsewhere")
    return await log_in(app, client, ME)


class FakeBot:
    """A bus worker standing in for the bot: records each command and answers as told."""

    def __init__(self) -> None:
        self.ran: list[Command] = []
        self.answer = Outcome.done("ok")

    async def __call__(self, command: Command) -> Outcome:
        self.ran.append(command)
        return self.answer


@pytest.fixture
async def fake_bot(web_bus: Bus) -> AsyncIterator[FakeBot]:
    bot = FakeBot()
    worker = web_bus.worker(bot, shard_ids=[0], shard_count=1)
    await worker.start()
    try:
        yield bot
    finally:
        await worker.stop()


async def test_servers_lists_only_the_guilds_the_bot_sees_me_in(
    member: str, client: httpx.AsyncClient
) -> None:
    servers = (await client.get("/api/servers")).json()
    assert servers == [
        {
            "id": str(GUILD),
            "name": "Home",
            "icon": None,
            "playing": None,
            "paused": False,
            "listeners": 0,
            "bot_online": False,
        }
    ]


@pytest.mark.parametrize("path", ["status", "queue", "history"])
async def test_a_guild_i_am_not_in_is_404_like_one_that_does_not_exist(
    member: str, client: httpx.AsyncClient, path: str
) -> None:
    for guild in (OTHER_GUILD, 999, "not-a-number"):
        response = await client.get(f"/api/servers/{guild}/{path}")
        assert response.status_code == 404, (guild, response.text)
        assert response.json()["error"] == "No such server, or you are not a member of it."
    answer = await client.post(f"/api/servers/{OTHER_GUILD}/pause", json={}, headers=csrf(member))
    assert answer.status_code == 404


async def test_a_member_who_leaves_gets_404_at_once(
    member: str, client: httpx.AsyncClient, database: Database
) -> None:
    assert (await client.get(f"/api/servers/{GUILD}/status")).status_code == 200
    assert await database.directory.remove_member(GUILD, ME)
    assert (await client.get(f"/api/servers/{GUILD}/status")).status_code == 404
    assert (await client.get("/api/servers")).json() == []


async def test_status_reads_the_saved_player_even_with_the_bot_offline(
    member: str, client: httpx.AsyncClient, database: Database
) -> None:
    track = Track(
        title="Tone", url="https://example.com/t", source="direct", duration_ms=30_000, requester_id=ME
    )
    await database.player_state.save(
        PlayerState(
            guild_id=GUILD, voice_channel_id=5, track=track, position_ms=1_000, paused=True, loop_mode="track"
        )
    )
    status = (await client.get(f"/api/servers/{GUILD}/status")).json()
    assert status["bot_online"] is False and status["connected"] is True and status["paused"] is True
    assert status["loop"] == "one"  # the bus says "track"; the API says "one"
    assert status["position_ms"] == 1_000 and status["volume"] == 100
    assert status["track"]["title"] == "Tone" and status["track"]["requester_id"] == str(ME)


async def test_the_queue_pages_with_a_cursor(
    member: str, client: httpx.AsyncClient, database: Database
) -> None:
    tracks = [
        Track(title=f"T{i}", url=f"https://e.com/{i}", source="direct", duration_ms=1000) for i in range(120)
    ]
    await database.queue.append(GUILD, tracks)
    first = (await client.get(f"/api/servers/{GUILD}/queue", params={"limit": 50})).json()
    assert first["total"] == 120 and first["duration_ms"] == 120_000 and first["next_cursor"] == "50"
    assert [e["place"] for e in first["entries"]] == list(range(1, 51))
    assert all(isinstance(e["id"], str) for e in first["entries"])
    last = (await client.get(f"/api/servers/{GUILD}/queue", params={"cursor": "100", "limit": 50})).json()
    assert [e["title"] for e in last["entries"]] == [f"T{i}" for i in range(100, 120)]
    assert last["next_cursor"] is None
    bad = await client.get(f"/api/servers/{GUILD}/queue", params={"cursor": "-3"})
    assert bad.status_code == 400


async def test_commands_answer_503_while_the_bot_is_offline(member: str, client: httpx.AsyncClient) -> None:
    answer = await client.post(f"/api/servers/{GUILD}/pause", json={}, headers=csrf(member))
    assert answer.status_code == 503
    assert answer.json() == {"ok": False, "error": "the bot is offline"}


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("volume", {"volume": 300}),
        ("volume", {}),
        ("loop", {"mode": "track"}),
        ("effects", {"effects": ["kazoo"]}),
        ("seek", {"position_ms": -1}),
        ("play", {"query": ""}),
        ("move", {"entry_id": "x", "to": 1}),
        ("pause", {"surprise": 1}),
    ],
)
async def test_bad_input_is_422(
    member: str, client: httpx.AsyncClient, action: str, body: dict[str, object]
) -> None:
    answer = await client.post(f"/api/servers/{GUILD}/{action}", json=body, headers=csrf(member))
    assert answer.status_code == 422, answer.text
    assert answer.json()["ok"] is False and answer.json()["error"]


async def test_each_action_reaches_the_bot_in_its_own_words(
    member: str, client: httpx.AsyncClient, fake_bot: FakeBot, database: Database
) -> None:
    await database.queue.append(
        GUILD, [Track(title=f"Q{i}", url=f"https://e.com/q{i}", source="direct") for i in range(3)]
    )
    third = (await client.get(f"/api/servers/{GUILD}/queue")).json()["entries"][2]["id"]
    calls = [
        ("play", {"query": "local:tone"}, "play", {"query": "local:tone", "position": "end"}),
        ("skip", {}, "skip", {}),
        ("skip", {"to": 2}, "skip", {"to": 2}),
        ("volume", {"volume": 150}, "volume", {"percent": 150}),
        (
            "effects",
            {"effects": ["Nightcore", "bassboost"]},
            "effects",
            {"effects": ["nightcore", "bassboost"]},
        ),
        ("loop", {"mode": "one"}, "loop", {"mode": "track"}),
        ("seek", {"position_ms": 90_000}, "seek", {"position_ms": 90_000}),
        ("move", {"entry_id": third, "to": 1}, "move", {"from": 3, "to": 1, "entry_id": int(third)}),
        ("remove", {"entry_id": third}, "remove", {"index": 3, "entry_id": int(third)}),
        *[
            (name, {}, name, {})
            for name in ("pause", "resume", "stop", "previous", "shuffle", "clear", "join")
        ],
    ]
    for action, body, bus_action, payload in calls:
        answer = await client.post(f"/api/servers/{GUILD}/{action}", json=body, headers=csrf(member))
        assert answer.status_code == 200, (action, answer.text)
        assert answer.json() == {"ok": True, "message": "ok"}
        ran = fake_bot.ran[-1]
        assert (ran.action, ran.payload, ran.user_id, ran.guild_id) == (bus_action, payload, ME, GUILD)
    # a body is optional for the actions that take none
    assert (await client.post(f"/api/servers/{GUILD}/pause", headers=csrf(member))).status_code == 200


async def test_the_bots_refusal_comes_back_as_403_with_its_words(
    member: str, client: httpx.AsyncClient, fake_bot: FakeBot
) -> None:
    fake_bot.answer = Outcome.refused("Only DJs may skip.")
    answer = await client.post(f"/api/servers/{GUILD}/skip", json={}, headers=csrf(member))
    assert answer.status_code == 403 and answer.json() == {"ok": False, "error": "Only DJs may skip."}
    fake_bot.answer = Outcome.failed("That link could not be played.")
    answer = await client.post(f"/api/servers/{GUILD}/play", json={"query": "x"}, headers=csrf(member))
    assert answer.status_code == 500 and answer.json()["error"] == "That link could not be played."


async def test_a_vanished_queue_entry_is_400(
    member: str, client: httpx.AsyncClient, fake_bot: FakeBot
) -> None:
    answer = await client.post(
        f"/api/servers/{GUILD}/remove", json={"entry_id": 987654}, headers=csrf(member)
    )
    assert answer.status_code == 400 and "no longer in the queue" in answer.json()["error"]
    assert fake_bot.ran == []


async def test_plays_and_actions_are_rate_limited_per_user(
    database: Database, web_bus: Bus, db_url: str, tmp_path: Path, fake_bot: FakeBot
) -> None:
    settings = web_settings(db_url, tmp_path, rate_limit_plays_per_min=2, rate_limit_actions_per_min=4)
    app = create_app(settings, database, web_bus)
    await seat(database, GUILD, ME)
    async with app.router.lifespan_context(app), client_for(app) as client:
        token = await log_in(app, client, ME)
        play = [
            await client.post(f"/api/servers/{GUILD}/play", json={"query": "x"}, headers=csrf(token))
            for _ in range(3)
        ]
        assert [r.status_code for r in play] == [200, 200, 429]
        assert 1 <= int(play[2].headers["retry-after"]) <= 60
        assert "Too many songs" in play[2].json()["error"]
        # the third play still counted as an action: 3 so far, one more allowed, then 429
        codes = [
            (await client.post(f"/api/servers/{GUILD}/pause", headers=csrf(token))).status_code
            for _ in range(2)
        ]
        assert codes == [200, 429]
    assert len(fake_bot.ran) == 3
