"""Prefix commands, message limits and attachments with the real discord.py client."""

from __future__ import annotations

import base64
import io

import discord
import httpx
import pytest
from discord.ext import commands

from zilean.sandbox import Sandbox
from zilean.sandbox.testing import wait_until

UPLOAD = b"print('hello')\n" * 10


def ids(sandbox: Sandbox) -> tuple[int, int]:
    return sandbox.world.channel_named("general").id, sandbox.world.user_named("alice").id


async def bot_messages(http: httpx.AsyncClient, channel_id: int, bot_id: int) -> list[dict]:
    found = (await http.get(f"/_sandbox/channels/{channel_id}/messages")).json()
    return [m for m in found if m["author"]["id"] == str(bot_id)]


async def test_prefix_command_round_trip_records_allowed_mentions(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    @sandbox_client.command()
    async def ping(ctx: commands.Context) -> None:
        await ctx.reply(f"pong <@{ctx.author.id}>", allowed_mentions=discord.AllowedMentions.none())
        await ctx.send(f"loud <@{ctx.author.id}>")

    channel_id, alice = ids(sandbox)
    echoed: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        if message.author == sandbox_client.user:
            echoed.append(message)

    sandbox_client.add_listener(on_message)
    sent = await sandbox_http.post(
        "/_sandbox/messages", json={"channel_id": str(channel_id), "user_id": str(alice), "content": "!ping"}
    )
    command_id = sent.json()["message_id"]
    replies = await wait_until(lambda: len(echoed) == 2 and echoed)
    quiet, loud = await bot_messages(sandbox_http, channel_id, sandbox.world.bot_user_id)
    assert quiet["content"] == f"pong <@{alice}>"
    assert quiet["message_reference"]["message_id"] == command_id and quiet["type"] == 19
    assert quiet["allowed_mentions"] == {"parse": []}
    assert quiet["mentions"] == []  # AllowedMentions.none() suppressed the ping
    assert [u["id"] for u in loud["mentions"]] == [str(alice)]  # default allowed_mentions pings
    assert [m.content for m in replies] == [
        quiet["content"],
        loud["content"],
    ]  # the bot sees its own messages
    after = (
        await sandbox_http.get(f"/_sandbox/channels/{channel_id}/messages", params={"after": command_id})
    ).json()
    assert [m["id"] for m in after] == [quiet["id"], loud["id"]]


async def test_content_over_2000_gets_discords_error(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    channel = sandbox_client.get_channel(ids(sandbox)[0])
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as caught:
        await channel.send("x" * 2001)
    assert caught.value.status == 400 and caught.value.code == 50035
    assert "Must be 2000 or fewer in length." in caught.value.text
    assert (await channel.send("x" * 2000)).content == "x" * 2000

    raw = await sandbox_http.post(
        f"/api/v10/channels/{channel.id}/messages",
        json={"content": "y" * 2001},
        headers={"Authorization": f"Bot {sandbox.token}"},
    )
    assert raw.headers["content-type"] == "application/json"
    assert raw.json() == {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {
            "content": {
                "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]
            }
        },
    }


async def test_embed_limits_and_auth(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    channel_id, _ = ids(sandbox)
    url = f"/api/v10/channels/{channel_id}/messages"
    auth = {"Authorization": f"Bot {sandbox.token}"}
    unauthorised = await sandbox_http.post(url, json={"content": "hi"}, headers={"Authorization": "Bot nope"})
    assert unauthorised.status_code == 401 and unauthorised.json() == {
        "message": "401: Unauthorized",
        "code": 0,
    }
    long_title = await sandbox_http.post(url, json={"embeds": [{"title": "t" * 257}]}, headers=auth)
    assert long_title.status_code == 400 and "title" in long_title.json()["errors"]["embeds"]["0"]
    too_big = [{"description": "d" * 4000}, {"description": "d" * 2001}]
    total = await sandbox_http.post(url, json={"embeds": too_big}, headers=auth)
    assert total.json()["errors"]["embeds"]["_errors"][0]["code"] == "MAX_EMBED_SIZE_EXCEEDED"
    empty = await sandbox_http.post(url, json={"content": ""}, headers=auth)
    assert empty.json()["code"] == 50006
    ok = await sandbox_http.post(
        url, json={"embeds": [{"title": "t" * 256, "description": "d" * 4096}]}, headers=auth
    )
    assert ok.status_code == 200


async def test_uploads_are_served_back_and_readable_by_the_bot(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    received: list[bytes] = []

    @sandbox_client.command()
    async def playfile(ctx: commands.Context) -> None:
        received.append(await ctx.message.attachments[0].read())
        await ctx.send("got it", file=discord.File(io.BytesIO(UPLOAD), filename="echo.py"))

    channel_id, alice = ids(sandbox)
    data = b"RIFF....WAVEfake"
    await sandbox_http.post(
        "/_sandbox/messages",
        json={
            "channel_id": str(channel_id),
            "user_id": str(alice),
            "content": "!playfile",
            "attachments": [{"filename": "song.wav", "content_base64": base64.b64encode(data).decode()}],
        },
    )
    await wait_until(lambda: received)
    assert received == [data]
    (reply,) = await wait_until(lambda: [m for m in sandbox.world.messages.values() if m.content == "got it"])
    (attachment,) = reply.attachments
    assert attachment.filename == "echo.py" and attachment.data == UPLOAD
