"""The bot joins and leaves the Music channel through the sandbox's main gateway and voice server."""

from __future__ import annotations

import discord
import httpx
import pytest
from discord.ext import commands

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
        paused = await sandbox_http.post("/_sandbox/faults", json={"kind": "stop_udp", "seconds": 0.2})
        assert paused.status_code == 200
        unknown = await sandbox_http.post("/_sandbox/faults", json={"kind": "meteor"})
        assert unknown.status_code == 400
    finally:
        await voice.disconnect()
