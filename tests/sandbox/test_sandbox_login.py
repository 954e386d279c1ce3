"""The real discord.py client logs in to the sandbox and sees the seeded world."""

from __future__ import annotations

import discord
import httpx
import pytest

from zilean.sandbox import Sandbox, SandboxConfig
from zilean.sandbox.gateway import MESSAGE_CONTENT
from zilean.sandbox.testing import make_bot, running_client, wait_until


async def test_on_ready_sees_the_seeded_guild(sandbox: Sandbox, sandbox_client: discord.Client) -> None:
    assert sandbox_client.user is not None and sandbox_client.user.id == sandbox.world.bot_user_id
    (guild,) = sandbox_client.guilds
    assert guild.name == "Zilean Sandbox"
    assert {c.name for c in guild.text_channels} == {"general"}
    (music,) = guild.voice_channels
    assert music.name == "Music" and music.bitrate == 64000
    dj = discord.utils.get(guild.members, name="dj")
    assert dj is not None and [r.name for r in dj.roles if not r.is_default()] == ["DJ"]
    assert guild.owner is not None and guild.owner.name == "owner"
    assert guild.member_count == 5 and guild.chunked


async def test_a_wrong_token_is_refused_with_401(sandbox: Sandbox) -> None:
    sandbox.token = "not-the-token"  # the server keeps the real one; the client presents this
    bot = make_bot(sandbox)
    try:
        with pytest.raises(discord.LoginFailure):
            async with running_client(sandbox, bot):
                pass
    finally:
        await bot.close()


async def test_disallowed_privileged_intent_closes_with_4014() -> None:
    config = SandboxConfig(allowed_privileged_intents=0, voice=False)
    async with Sandbox(config=config) as sandbox:
        bot = make_bot(sandbox)
        with pytest.raises(discord.PrivilegedIntentsRequired):
            async with running_client(sandbox, bot):
                pass
        assert sandbox.gateway.sessions == {}


async def test_message_content_is_blank_without_the_intent() -> None:
    config = SandboxConfig(allowed_privileged_intents=0, voice=False)
    async with Sandbox(config=config) as sandbox:
        intents = discord.Intents.default()
        assert not intents.value & MESSAGE_CONTENT
        bot = make_bot(sandbox, intents=intents)
        seen: list[discord.Message] = []

        async def on_message(message: discord.Message) -> None:
            seen.append(message)

        bot.add_listener(on_message)
        general = sandbox.world.channel_named("general")
        alice = sandbox.world.user_named("alice")
        async with running_client(sandbox, bot), httpx.AsyncClient(base_url=sandbox.base_url) as http:
            for content in ("secret words", f"<@{sandbox.world.bot_user_id}> hi"):
                body = {"channel_id": str(general.id), "user_id": str(alice.id), "content": content}
                (await http.post("/_sandbox/messages", json=body)).raise_for_status()
            await wait_until(lambda: len(seen) == 2)
        assert seen[0].content == "" and seen[0].author.name == "alice"
        assert seen[1].content == f"<@{sandbox.world.bot_user_id}> hi"  # mentions of the bot stay readable
