"""Members on the gateway as Discord documents them: GUILD_CREATE's list, op 8 chunks, joins and leaves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import httpx
import pytest
from discord.ext import commands

from zilean.sandbox import Sandbox
from zilean.sandbox.server import SandboxConfig
from zilean.sandbox.testing import VoiceUser, make_bot, running_client, wait_until
from zilean.sandbox.world import build_world

GUILDS, GUILD_MEMBERS, GUILD_VOICE_STATES, GUILD_PRESENCES = 1 << 0, 1 << 1, 1 << 7, 1 << 8


class RawGateway:
    """A hand-driven gateway connection: what the sandbox sends, frame by frame."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def next_dispatch(self, event: str) -> dict[str, Any]:
        async with asyncio.timeout(10):
            while True:
                frame = await self.ws.receive_json()
                if frame.get("t") == event:
                    return dict(frame["d"])

    async def request_members(self, **request: Any) -> list[dict[str, Any]]:
        """Send op 8 and collect every GUILD_MEMBERS_CHUNK of the answer."""
        await self.ws.send_json({"op": 8, "d": request})
        chunks = [await self.next_dispatch("GUILD_MEMBERS_CHUNK")]
        while len(chunks) < chunks[0]["chunk_count"]:
            chunks.append(await self.next_dispatch("GUILD_MEMBERS_CHUNK"))
        return chunks


@contextlib.asynccontextmanager
async def identified(sandbox: Sandbox, intents: int, **identify: Any) -> AsyncIterator[RawGateway]:
    async with aiohttp.ClientSession() as http, http.ws_connect(sandbox.gateway_url) as ws:
        assert (await ws.receive_json())["op"] == 10
        body = {"token": sandbox.token, "intents": intents, "properties": {}, **identify}
        await ws.send_json({"op": 2, "d": body})
        yield RawGateway(ws)


def crowd(count: int) -> dict[str, Any]:
    """A world with one guild of `count` members besides the owner (every tenth has a nickname)."""
    members = [{"username": "owner"}] + [{"username": f"user{i:05d}"} for i in range(count)]
    return {
        "guilds": [
            {
                "name": "Crowd",
                "owner": "owner",
                "channels": [{"name": "Hall", "type": "voice"}],
                "members": members,
            }
        ]
    }


@pytest.fixture
async def crowded() -> AsyncIterator[Sandbox]:
    async with Sandbox(build_world(crowd(2_499)), SandboxConfig(voice=False)) as running:
        yield running


def user_ids(members: list[dict[str, Any]]) -> set[int]:
    return {int(m["user"]["id"]) for m in members}


async def test_guild_create_without_presences_has_the_bot_and_voice_members_only(
    sandbox: Sandbox, user_in_voice: VoiceUser
) -> None:
    guild = sandbox.world.first_guild
    async with identified(sandbox, GUILDS | GUILD_MEMBERS | GUILD_VOICE_STATES) as gateway:
        created = await gateway.next_dispatch("GUILD_CREATE")
    assert user_ids(created["members"]) == {sandbox.world.bot_user_id, user_in_voice.user_id}
    assert created["member_count"] == len(guild.members) == 5


async def test_guild_create_with_presences_has_everyone_below_large_threshold(sandbox: Sandbox) -> None:
    async with identified(sandbox, GUILDS | GUILD_MEMBERS | GUILD_PRESENCES) as gateway:
        created = await gateway.next_dispatch("GUILD_CREATE")
    assert user_ids(created["members"]) == set(sandbox.world.first_guild.members)
    assert created["large"] is False


async def test_a_large_guild_sends_only_members_with_a_role_nickname_or_voice(crowded: Sandbox) -> None:
    guild = crowded.world.first_guild
    named = next(iter(m for m in guild.members.values() if m.user_id != guild.owner_id))
    named.nick = "Nicky"
    async with identified(crowded, GUILDS | GUILD_MEMBERS | GUILD_PRESENCES, large_threshold=250) as gateway:
        created = await gateway.next_dispatch("GUILD_CREATE")
    assert created["large"] is True and created["member_count"] == 2_501
    assert user_ids(created["members"]) == {crowded.world.bot_user_id, named.user_id}  # the bot has a role


async def test_the_whole_member_list_comes_in_chunks_of_1000(crowded: Sandbox) -> None:
    guild = crowded.world.first_guild
    async with identified(crowded, GUILDS | GUILD_MEMBERS) as gateway:
        await gateway.next_dispatch("GUILD_CREATE")
        chunks = await gateway.request_members(guild_id=str(guild.id), query="", limit=0, nonce="n1")
    assert [(c["chunk_index"], c["chunk_count"], len(c["members"])) for c in chunks] == [
        (0, 3, 1000),
        (1, 3, 1000),
        (2, 3, 501),
    ]
    assert all(c["nonce"] == "n1" for c in chunks)
    assert set().union(*(user_ids(c["members"]) for c in chunks)) == set(guild.members)


async def test_queries_and_user_ids_return_at_most_100(crowded: Sandbox) -> None:
    guild = crowded.world.first_guild
    known = list(guild.members)[:150]
    async with identified(crowded, GUILDS | GUILD_MEMBERS) as gateway:
        await gateway.next_dispatch("GUILD_CREATE")
        (by_prefix,) = await gateway.request_members(guild_id=str(guild.id), query="USER0", limit=0)
        (few,) = await gateway.request_members(guild_id=str(guild.id), query="user0000", limit=5)
        (by_id,) = await gateway.request_members(
            guild_id=str(guild.id), user_ids=[*map(str, known[:3]), "42"]
        )
        (capped,) = await gateway.request_members(guild_id=str(guild.id), user_ids=[str(u) for u in known])
        (long_nonce,) = await gateway.request_members(
            guild_id=str(guild.id), query="owner", limit=1, nonce="x" * 33
        )
    assert len(by_prefix["members"]) == 100
    assert [m["user"]["username"] for m in few["members"]] == [f"user0000{i}" for i in range(5)]
    assert user_ids(by_id["members"]) == set(known[:3]) and by_id["not_found"] == ["42"]
    assert len(capped["members"]) == 100
    assert "nonce" not in long_nonce and len(long_nonce["members"]) == 1


async def test_the_whole_list_needs_the_members_intent(sandbox: Sandbox) -> None:
    guild = sandbox.world.first_guild
    async with identified(sandbox, GUILDS) as gateway:
        await gateway.next_dispatch("GUILD_CREATE")
        (everyone,) = await gateway.request_members(guild_id=str(guild.id), query="", limit=0)
        (prefix,) = await gateway.request_members(guild_id=str(guild.id), query="ali", limit=1)
    assert everyone["members"] == []
    assert [m["user"]["username"] for m in prefix["members"]] == ["alice"]


async def test_discord_py_chunks_a_large_guild_at_start(crowded: Sandbox) -> None:
    async with running_client(crowded, make_bot(crowded), ready_s=30) as bot:
        guild = bot.get_guild(crowded.world.first_guild.id)
        assert guild is not None and guild.chunked and len(guild.members) == 2_501


async def test_members_join_and_leave(
    sandbox: Sandbox, user_in_voice: VoiceUser, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    guild = sandbox_client.get_guild(user_in_voice.guild_id)
    assert guild is not None
    seen: list[str] = []

    async def on_member_join(member: discord.Member) -> None:
        seen.append(f"join {member.name}")

    async def on_raw_member_remove(payload: discord.RawMemberRemoveEvent) -> None:
        seen.append(f"remove {payload.user.name}")

    async def on_voice_state_update(member: discord.Member, before: Any, after: discord.VoiceState) -> None:
        seen.append(f"voice {member.name} {after.channel}")

    for listener in (on_member_join, on_raw_member_remove, on_voice_state_update):
        sandbox_client.add_listener(listener)
    body = {"guild_id": str(guild.id), "username": "newcomer", "global_name": "New Comer", "action": "join"}
    joined = (await sandbox_http.post("/_sandbox/members", json=body)).raise_for_status().json()
    await wait_until(lambda: guild.get_member(int(joined["user_id"])) is not None)
    assert guild.get_member(int(joined["user_id"])).display_name == "New Comer"  # type: ignore[union-attr]
    again = await sandbox_http.post("/_sandbox/members", json=body)
    assert again.status_code == 400

    leave = {"guild_id": str(guild.id), "user_id": str(user_in_voice.user_id), "action": "leave"}
    (await sandbox_http.post("/_sandbox/members", json=leave)).raise_for_status()
    await wait_until(lambda: guild.get_member(user_in_voice.user_id) is None)
    assert seen == ["join newcomer", "voice dj None", "remove dj"]
    assert user_in_voice.user_id not in sandbox.world.first_guild.voice_states
    gone = await sandbox_http.post("/_sandbox/members", json=leave)
    assert gone.status_code == 404 and gone.json()["code"] == 10007
    bot_leave = {**leave, "user_id": str(sandbox.world.bot_user_id)}
    assert (await sandbox_http.post("/_sandbox/members", json=bot_leave)).status_code == 400
