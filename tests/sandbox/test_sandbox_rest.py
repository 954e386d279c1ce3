"""REST details: rate limiting discord.py honours, gateway/bot, reactions, members and message history."""

from __future__ import annotations

import discord
import httpx
from discord.ext import commands

from zilean.sandbox import Sandbox, SandboxConfig
from zilean.sandbox.testing import make_bot, running_client, wait_until


async def test_rate_limit_429_is_honoured_by_discord_py() -> None:
    async with Sandbox(config=SandboxConfig(voice=False, rate_limit=2)) as sandbox:
        channel_id = sandbox.world.channel_named("general").id
        async with httpx.AsyncClient(base_url=sandbox.api_base) as http:
            auth = {"Authorization": f"Bot {sandbox.token}"}
            codes = [(await http.get(f"/channels/{channel_id}", headers=auth)) for _ in range(3)]
        assert [r.status_code for r in codes] == [200, 200, 429]
        limited = codes[2]
        assert limited.headers["Via"] and limited.headers["X-RateLimit-Remaining"] == "0"
        assert (
            set(limited.json()) == {"message", "retry_after", "global"} and limited.json()["global"] is False
        )
        async with running_client(sandbox, make_bot(sandbox)) as bot:
            channel = bot.get_channel(channel_id)
            assert isinstance(channel, discord.TextChannel)
            sent = [await channel.send(f"n{i}") for i in range(4)]  # waits out the 429s instead of failing
        assert [m.content for m in sent] == ["n0", "n1", "n2", "n3"]


async def test_gateway_bot_and_app_info(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bot {sandbox.token}"}
    info = (await sandbox_http.get("/api/v10/gateway/bot", headers=auth)).json()
    assert info["url"] == sandbox.gateway_url and info["shards"] == 1
    assert info["session_start_limit"]["max_concurrency"] == 1
    assert (await sandbox_http.get("/api/v10/gateway/bot")).status_code == 401


async def test_reactions_history_and_edits_through_discord_py(
    sandbox: Sandbox, sandbox_client: commands.Bot
) -> None:
    channel = sandbox_client.get_channel(sandbox.world.channel_named("general").id)
    assert isinstance(channel, discord.TextChannel)
    reactions: list[str] = []

    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        reactions.append(str(payload.emoji))

    sandbox_client.add_listener(on_raw_reaction_add)
    first = await channel.send("one")
    second = await channel.send("two", embed=discord.Embed(title="Now playing", description="a song"))
    await second.add_reaction("🎵")
    await wait_until(lambda: reactions)
    assert reactions == ["🎵"]
    history = [m.content async for m in channel.history(limit=10)]
    assert history == ["two", "one"]
    edited = await first.edit(content="uno")
    assert edited.content == "uno" and edited.edited_at is not None
    fetched = await channel.fetch_message(second.id)
    assert fetched.embeds[0].title == "Now playing" and fetched.reactions[0].me
    await first.delete()
    assert [m.id async for m in channel.history(limit=10)] == [second.id]
