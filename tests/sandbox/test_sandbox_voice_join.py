"""The bot joins and leaves the Music channel through the sandbox's main gateway and voice server."""

from __future__ import annotations

import asyncio
import struct

import discord
import httpx
import pytest
from discord.ext import commands

from polling import until
from zilean.sandbox import Sandbox
from zilean.sandbox.testing import VoiceUser, wait_until


async def test_bot_joins_the_users_channel_and_leaves(
    sandbox: Sandbox, user_in_voice: VoiceUser, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    if sandbox.voice is None:
        pytest.skip("the voice server is not installed")
    guild = sandbox_client.get_guild(user_in_voice.guild_id)
    assert guild is not None
    member = guild.get_member(user_in_voice.user_id)
    assert member is not None and member.voice is not None and member.voice.channel is not None
    voice = await member.voice.channel.connect(timeout=15)
    try:
        assert voice.is_connected()
        status = (await sandbox_http.get(f"/_sandbox/voice/{guild.id}")).json()
        assert status["channel_id"] == str(user_in_voice.channel_id)
        await wait_until(lambda: sandbox.voice.stats(guild.id)["connected"])  # type: ignore[union-attr]
    finally:
        await voice.disconnect()
    assert guild.me.voice is None
    status = (await sandbox_http.get(f"/_sandbox/voice/{guild.id}")).json()
    assert status["channel_id"] is None
    assert isinstance(voice, discord.VoiceClient) and not voice.is_connected()


def discovery_request(ssrc: int) -> bytes:
    """An IP discovery request as a voice client sends it (type 1, length 70, ssrc, 66 zero bytes)."""
    return struct.pack(">HHI", 1, 70, ssrc) + bytes(66)


async def assert_udp_stops_and_comes_back(sandbox: Sandbox, http: httpx.AsyncClient, guild_id: int) -> None:
    """During a stop_udp fault the voice socket drops every datagram (counted); then it answers again."""
    assert sandbox.voice is not None
    loop = asyncio.get_running_loop()
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    class Listener(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            answers.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(
        Listener, remote_addr=("127.0.0.1", sandbox.voice.udp_port)
    )
    try:
        dropped = (await http.get(f"/_sandbox/voice/{guild_id}")).json()["udp_dropped_while_paused"]
        paused = await http.post("/_sandbox/faults", json={"kind": "stop_udp", "seconds": 2.0})
        assert paused.json() == {"ok": True, "kind": "stop_udp"}
        transport.sendto(discovery_request(4242))

        async def counted() -> bool:
            status = (await http.get(f"/_sandbox/voice/{guild_id}")).json()
            return bool(status["udp_dropped_while_paused"] > dropped)

        await until(counted, what="the paused socket counting a dropped datagram")
        assert answers.empty(), "a datagram was answered during the fault"

        def asked_again() -> bool:  # keep asking until the pause is over and the server answers
            transport.sendto(discovery_request(4243))
            return not answers.empty()

        await until(asked_again, interval=0.1, what="an answer once the UDP pause ended")
        answer = answers.get_nowait()
        assert struct.unpack_from(">HHI", answer) == (2, 70, 4243)
    finally:
        transport.close()


async def test_voice_faults_through_the_control_api(
    sandbox: Sandbox, user_in_voice: VoiceUser, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    if sandbox.voice is None:
        pytest.skip("the voice server is not installed")
    channel = sandbox_client.get_channel(user_in_voice.channel_id)
    assert isinstance(channel, discord.VoiceChannel)
    voice = await channel.connect(timeout=15)
    try:
        status = f"/_sandbox/voice/{user_in_voice.guild_id}"
        await wait_until(lambda: sandbox.voice.stats(user_in_voice.guild_id)["connected"])  # type: ignore[union-attr]
        dropped = await sandbox_http.post("/_sandbox/faults", json={"kind": "drop_voice"})
        assert dropped.json() == {"ok": True, "kind": "drop_voice"}
        await wait_until(lambda: sandbox.voice.stats(user_in_voice.guild_id)["resumes"] >= 1)  # type: ignore[union-attr]
        assert (await sandbox_http.get(status)).json()["channel_id"] == str(user_in_voice.channel_id)
        await assert_udp_stops_and_comes_back(sandbox, sandbox_http, user_in_voice.guild_id)
        unknown = await sandbox_http.post("/_sandbox/faults", json={"kind": "meteor"})
        assert unknown.status_code == 400
    finally:
        await voice.disconnect()
