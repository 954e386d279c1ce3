"""Gateway faults (RECONNECT, dropped socket, INVALID_SESSION), member updates and voice states."""

from __future__ import annotations

import logging
import time

import aiohttp
import discord
import httpx
import pytest
from discord.ext import commands

from zilean.sandbox import Sandbox
from zilean.sandbox.server import SandboxConfig
from zilean.sandbox.testing import VoiceUser, client_options, running_client, wait_until


def collector(bot: commands.Bot) -> list[str]:
    seen: list[str] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    bot.add_listener(on_message)
    return seen


async def say(http: httpx.AsyncClient, sandbox: Sandbox, content: str) -> None:
    body = {
        "channel_id": str(sandbox.world.channel_named("general").id),
        "user_id": str(sandbox.world.user_named("bob").id),
        "content": content,
    }
    (await http.post("/_sandbox/messages", json=body)).raise_for_status()


async def test_resume_after_reconnect_replays_missed_events(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    seen = collector(sandbox_client)
    (await sandbox_http.post("/_sandbox/faults", json={"kind": "reconnect"})).raise_for_status()
    await say(sandbox_http, sandbox, "during reconnect")
    await wait_until(lambda: sandbox.gateway.resume_count == 1)
    await say(sandbox_http, sandbox, "after reconnect")
    await wait_until(lambda: len(seen) == 2)
    assert seen == ["during reconnect", "after reconnect"]
    assert sandbox.gateway.identify_count == 1


async def test_dropped_socket_resumes_and_gets_what_was_sent_meanwhile(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    seen = collector(sandbox_client)
    (await sandbox_http.post("/_sandbox/faults", json={"kind": "drop_gateway"})).raise_for_status()
    assert not sandbox.gateway.connected
    for n in range(3):
        await say(sandbox_http, sandbox, f"missed {n}")
    await wait_until(lambda: len(seen) == 3)
    assert seen == ["missed 0", "missed 1", "missed 2"]
    assert (sandbox.gateway.identify_count, sandbox.gateway.resume_count) == (1, 1)


async def test_invalid_session_makes_the_client_identify_again(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    seen = collector(sandbox_client)

    async def identify_now(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s before every re-IDENTIFY; the server side is what this test is about."""

    sandbox_client.before_identify_hook = identify_now  # type: ignore[method-assign]
    (await sandbox_http.post("/_sandbox/faults", json={"kind": "invalid_session"})).raise_for_status()
    await wait_until(lambda: sandbox.gateway.identify_count == 2, within_s=15)
    await wait_until(lambda: sandbox.gateway.connected)
    await say(sandbox_http, sandbox, "new session")
    await wait_until(lambda: seen)
    assert seen == ["new session"]


async def test_role_changes_dispatch_member_update(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    guild = sandbox.world.first_guild
    dj_role = sandbox.world.role_named(guild.id, "DJ")
    bob = sandbox.world.user_named("bob")
    updates: list[tuple[list[str], list[str]]] = []

    async def on_member_update(before: discord.Member, after: discord.Member) -> None:
        updates.append(([r.name for r in before.roles[1:]], [r.name for r in after.roles[1:]]))

    sandbox_client.add_listener(on_member_update)
    body = {"guild_id": str(guild.id), "user_id": str(bob.id), "role_id": str(dj_role.id), "action": "add"}
    (await sandbox_http.post("/_sandbox/roles", json=body)).raise_for_status()
    await wait_until(lambda: updates)
    member = sandbox_client.get_guild(guild.id).get_member(bob.id)  # type: ignore[union-attr]
    await member.remove_roles(discord.Object(id=dj_role.id))  # through REST, as the bot would
    await wait_until(lambda: len(updates) == 2)
    assert updates == [([], ["DJ"]), (["DJ"], [])]


async def test_user_voice_moves_reach_the_client(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    guild = sandbox.world.first_guild
    music = sandbox.world.channel_named("Music")
    alice = sandbox.world.user_named("alice")
    body = {"user_id": str(alice.id), "channel_id": str(music.id)}
    (await sandbox_http.post("/_sandbox/voice", json=body)).raise_for_status()
    member = sandbox_client.get_guild(guild.id).get_member(alice.id)  # type: ignore[union-attr]
    await wait_until(lambda: member.voice is not None)
    assert member.voice.channel.id == music.id  # type: ignore[union-attr]
    (
        await sandbox_http.post("/_sandbox/voice", json={"user_id": str(alice.id), "channel_id": None})
    ).raise_for_status()
    await wait_until(lambda: member.voice is None)


async def test_user_in_voice_fixture_is_seen_by_a_later_client(
    sandbox: Sandbox, user_in_voice: VoiceUser, sandbox_client: commands.Bot
) -> None:
    member = sandbox_client.get_guild(user_in_voice.guild_id).get_member(user_in_voice.user_id)  # type: ignore[union-attr]
    assert member is not None and member.voice is not None
    assert member.voice.channel.id == user_in_voice.channel_id  # type: ignore[union-attr]


async def test_member_queries_are_answered_with_chunks(
    sandbox: Sandbox, sandbox_client: commands.Bot
) -> None:
    guild = sandbox_client.get_guild(sandbox.world.first_guild.id)
    assert guild is not None
    found = await guild.query_members("al")  # op 8 → GUILD_MEMBERS_CHUNK with the nonce
    assert [m.name for m in found] == ["alice"]


async def test_auto_sharded_client_uses_gateway_bot(sandbox: Sandbox) -> None:
    intents = discord.Intents.default()
    client = discord.AutoShardedClient(intents=intents, **client_options(sandbox))
    async with running_client(sandbox, client):
        assert client.shard_count == 1 and [g.name for g in client.guilds] == ["Zilean Sandbox"]
        assert sandbox.gateway.status()[0]["shard"] == [0, 1]


async def test_a_client_close_with_1000_ends_the_session(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(sandbox.gateway_url) as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": {"token": sandbox.token, "intents": 513, "properties": {}}})
        ready = await ws.receive_json()
        assert ready["t"] == "READY" and ready["d"]["resume_gateway_url"] == sandbox.gateway_url
        session_id = ready["d"]["session_id"]
        await ws.close(code=1000)
    await wait_until(lambda: sandbox.gateway.sessions[session_id].invalidated)
    async with aiohttp.ClientSession() as http, http.ws_connect(sandbox.gateway_url) as ws:
        await ws.receive_json()
        await ws.send_json({"op": 6, "d": {"token": sandbox.token, "session_id": session_id, "seq": 2}})
        assert (await ws.receive_json()) == {"op": 9, "d": False}  # not resumable any more


async def test_heartbeat_acks_come_after_a_round_trip_so_latency_reads_as_on_discord(
    caplog: pytest.LogCaptureFixture,
) -> None:
    interval_ms = 1_500
    config = SandboxConfig(voice=False, heartbeat_interval_ms=interval_ms, heartbeat_ack_delay_ms=40)
    async with Sandbox(config=config) as sandbox:
        client = discord.Client(intents=discord.Intents.default(), **client_options(sandbox))
        with caplog.at_level(logging.WARNING, logger="discord.gateway"):
            async with running_client(sandbox, client):
                await wait_until(lambda: sandbox.gateway.heartbeat_count >= 4, within_s=30)
                await wait_until(lambda: not sandbox.gateway._acks)  # the last ACK was sent
                latency = client.latency
    # Before the fix the client measured the time since the previous beat: the whole interval.
    assert 0 < latency < interval_ms / 1000 / 2
    assert not [r for r in caplog.records if "behind" in r.getMessage()]


async def test_a_heartbeat_is_acknowledged_only_after_the_configured_delay() -> None:
    async with Sandbox(config=SandboxConfig(voice=False, heartbeat_ack_delay_ms=200)) as sandbox:
        async with aiohttp.ClientSession() as http, http.ws_connect(sandbox.gateway_url) as ws:
            assert (await ws.receive_json())["op"] == 10
            sent = time.monotonic()
            await ws.send_json({"op": 1, "d": None})
            assert (await ws.receive_json()) == {"op": 11, "d": None}
            assert time.monotonic() - sent >= 0.2  # never before the delay: a lower bound, not a race
