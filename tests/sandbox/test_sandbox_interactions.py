"""Slash commands, deferrals, followups, components and the 3 s deadline with the real discord.py client."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import discord
import httpx
from discord import app_commands
from discord.ext import commands

from zilean.sandbox import Sandbox
from zilean.sandbox.testing import wait_until


def where(sandbox: Sandbox, user: str = "alice") -> dict[str, str]:
    channel = sandbox.world.channel_named("general")
    return {"channel_id": str(channel.id), "user_id": str(sandbox.world.user_named(user).id)}


async def sync(bot: commands.Bot, sandbox: Sandbox) -> None:
    guild = discord.Object(id=sandbox.world.first_guild.id)
    bot.tree.copy_global_to(guild=guild)
    await bot.tree.sync(guild=guild)


async def run(http: httpx.AsyncClient, sandbox: Sandbox, command: str, **options: Any) -> str:
    reply = await http.post(
        "/_sandbox/interactions", json={**where(sandbox), "command": command, "options": options}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["interaction_id"])


async def responses(http: httpx.AsyncClient, interaction_id: str, count: int) -> list[dict[str, Any]]:
    async def current() -> list[dict[str, Any]]:
        return (await http.get(f"/_sandbox/interactions/{interaction_id}")).json()["responses"]

    for _ in range(500):
        found = await current()
        if len(found) >= count:
            return found
        await asyncio.sleep(0.02)
    raise TimeoutError(await current())


async def test_slash_command_with_options_and_ephemeral_reply(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    seen: list[Any] = []

    @sandbox_client.tree.command(name="echo", description="Repeat some text")
    async def echo(interaction: discord.Interaction, text: str, times: int = 1, secret: bool = False) -> None:
        seen.append((interaction.user.name, text, times, secret))
        await interaction.response.send_message(text * times, ephemeral=secret)

    await sync(sandbox_client, sandbox)
    state = (await sandbox_http.get("/_sandbox/state")).json()
    assert [c["name"] for scope in state["commands"].values() for c in scope] == ["echo"]

    first = await run(sandbox_http, sandbox, "echo", text="hi", times=2, secret=True)
    (reply,) = await responses(sandbox_http, first, 1)
    assert seen == [("alice", "hi", 2, True)]
    assert reply["kind"] == "callback" and reply["type"] == 4
    assert reply["content"] == "hihi" and reply["ephemeral"] is True
    second = await run(sandbox_http, sandbox, "/echo", text="public")
    (reply,) = await responses(sandbox_http, second, 1)
    assert reply["content"] == "public" and reply["ephemeral"] is False
    missing = await sandbox_http.post("/_sandbox/interactions", json={**where(sandbox), "command": "echo"})
    assert missing.status_code == 400 and "text" in missing.json()["message"]


async def test_attachment_option_resolves_and_downloads(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    @sandbox_client.tree.command(name="upload", description="Play an uploaded file")
    async def upload(interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        receipt = discord.File(io.BytesIO(data[::-1]), filename="reversed.bin")
        await interaction.response.send_message(
            f"{file.filename}:{len(data)}:{data[:4].decode()}", file=receipt
        )

    await sync(sandbox_client, sandbox)
    payload = base64.b64encode(b"fLaC" + bytes(96)).decode()
    interaction_id = await run(
        sandbox_http, sandbox, "upload", file={"filename": "a.flac", "content_base64": payload}
    )
    (reply,) = await responses(sandbox_http, interaction_id, 1)
    assert reply["content"] == "a.flac:100:fLaC" and reply["attachments"] == ["reversed.bin"]
    (stored,) = sandbox.world.messages[int(reply["message_id"])].attachments
    assert stored.data == (b"fLaC" + bytes(96))[::-1]  # the multipart callback carried the file


async def test_defer_then_followups_and_edit_original(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    fetched: list[str] = []

    @sandbox_client.tree.command(name="slow", description="Think first")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("resolved")
        await interaction.followup.send("more", ephemeral=True)
        await interaction.edit_original_response(content="edited")
        fetched.append((await interaction.original_response()).content)

    await sync(sandbox_client, sandbox)
    interaction_id = await run(sandbox_http, sandbox, "slow")
    found = await responses(sandbox_http, interaction_id, 4)
    assert [(r["kind"], r.get("type")) for r in found] == [
        ("callback", 5),
        ("followup", None),
        ("followup", None),
        ("edit", None),
    ]
    assert found[0]["loading"] is True
    assert found[1]["filled_deferred"] is True and found[1]["content"] == "resolved"
    assert found[1]["message_id"] == found[0]["message_id"]  # the first followup replaces "thinking…"
    assert found[2]["ephemeral"] is True and found[2]["message_id"] != found[0]["message_id"]
    assert found[3]["target"] == "@original" and found[3]["content"] == "edited"
    await wait_until(lambda: fetched)
    assert fetched == ["edited"]


async def test_button_and_select_menu(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    picked: list[list[str]] = []

    class Controls(discord.ui.View):
        @discord.ui.button(label="Pause", custom_id="pause")
        async def pause(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
            await interaction.response.edit_message(content="paused by " + interaction.user.name)

        @discord.ui.select(
            custom_id="effect", options=[discord.SelectOption(label=x) for x in ("bass", "nightcore")]
        )
        async def effect(self, interaction: discord.Interaction, select: discord.ui.Select) -> None:
            picked.append(select.values)
            await interaction.response.defer()

    channel = sandbox_client.get_channel(int(where(sandbox)["channel_id"]))
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("now playing", view=Controls(timeout=None))
    dj = where(sandbox, "dj")["user_id"]
    press = await sandbox_http.post(
        "/_sandbox/components", json={"message_id": str(message.id), "user_id": dj, "custom_id": "pause"}
    )
    (reply,) = await responses(sandbox_http, press.json()["interaction_id"], 1)
    assert reply["type"] == 7 and reply["content"] == "paused by dj"
    assert sandbox.world.messages[message.id].content == "paused by dj"
    choose = await sandbox_http.post(
        "/_sandbox/components",
        json={"message_id": str(message.id), "user_id": dj, "custom_id": "effect", "values": ["nightcore"]},
    )
    (reply,) = await responses(sandbox_http, choose.json()["interaction_id"], 1)
    assert reply["type"] == 6 and picked == [["nightcore"]]
    unknown = await sandbox_http.post(
        "/_sandbox/components", json={"message_id": str(message.id), "user_id": dj, "custom_id": "nope"}
    )
    assert unknown.status_code == 400


async def test_a_callback_after_3_seconds_is_unknown_interaction(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    errors: list[discord.HTTPException] = []

    @sandbox_client.tree.command(name="late", description="Answer too late")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(3.2)
        try:
            await interaction.response.send_message("too late")
        except discord.HTTPException as exc:
            errors.append(exc)

    await sync(sandbox_client, sandbox)
    interaction_id = await run(sandbox_http, sandbox, "late")
    await wait_until(lambda: errors, within_s=15)
    assert isinstance(errors[0], discord.NotFound) and errors[0].code == 10062
    summary = (await sandbox_http.get(f"/_sandbox/interactions/{interaction_id}")).json()
    assert summary["responses"] == [] and summary["rejected"][0]["code"] == 10062


async def test_raw_callback_rules(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    """with_response=1 returns an InteractionCallbackResponse; a second initial callback is 40060."""
    app = sandbox.world.application_id
    auth = {"Authorization": f"Bot {sandbox.token}"}
    body = [{"name": "ping", "description": "Ping", "type": 1}]
    synced = await sandbox_http.put(f"/api/v10/applications/{app}/commands", json=body, headers=auth)
    assert synced.status_code == 200 and synced.json()[0]["application_id"] == str(app)
    interaction_id = await run(sandbox_http, sandbox, "ping")
    token = sandbox.interactions.by_id[int(interaction_id)].token
    url = f"/api/v10/interactions/{interaction_id}/{token}/callback"
    first = await sandbox_http.post(
        url, params={"with_response": "1"}, json={"type": 4, "data": {"content": "pong"}}
    )
    assert first.headers["content-type"] == "application/json"
    shape = first.json()
    assert shape["interaction"]["id"] == interaction_id and shape["resource"]["type"] == 4
    assert shape["resource"]["message"]["content"] == "pong"
    again = await sandbox_http.post(url, json={"type": 4, "data": {"content": "again"}})
    assert again.status_code == 400 and again.json()["code"] == 40060
    wrong_token = await sandbox_http.post(
        f"/api/v10/interactions/{interaction_id}/x/callback", json={"type": 5}
    )
    assert wrong_token.status_code == 404 and wrong_token.json()["code"] == 10062
    original = await sandbox_http.get(f"/api/v10/webhooks/{app}/{token}/messages/@original")
    assert original.json()["content"] == "pong"


async def test_autocomplete_choices(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    async def songs(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        titles = ["Never Gonna Give You Up", "Neon Lights", "Blue"]
        return [app_commands.Choice(name=t, value=t) for t in titles if t.lower().startswith(current.lower())]

    @sandbox_client.tree.command(name="play", description="Play a song")
    @app_commands.autocomplete(query=songs)
    async def play(interaction: discord.Interaction, query: str, volume: int = 100) -> None:
        await interaction.response.send_message(query)

    await sync(sandbox_client, sandbox)
    reply = await sandbox_http.post(
        "/_sandbox/interactions",
        json={**where(sandbox), "command": "play", "options": {"query": "ne"}, "focused": "query"},
    )
    (answer,) = await responses(sandbox_http, reply.json()["interaction_id"], 1)
    assert answer["type"] == 8
    assert [c["name"] for c in answer["data"]["choices"]] == ["Never Gonna Give You Up", "Neon Lights"]


async def test_modal_submit(
    sandbox: Sandbox, sandbox_client: commands.Bot, sandbox_http: httpx.AsyncClient
) -> None:
    submitted: list[tuple[str, str]] = []

    class AddSong(discord.ui.Modal, title="Add a song"):
        url = discord.ui.TextInput(label="URL", custom_id="url")
        note = discord.ui.TextInput(label="Note", custom_id="note", required=False)

        async def on_submit(self, interaction: discord.Interaction) -> None:
            submitted.append((self.url.value, self.note.value))
            await interaction.response.send_message(f"added {self.url.value}", ephemeral=True)

    @sandbox_client.tree.command(name="add", description="Add a song by URL")
    async def add(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(AddSong())

    await sync(sandbox_client, sandbox)
    shown = await run(sandbox_http, sandbox, "add")
    (modal,) = await responses(sandbox_http, shown, 1)
    assert modal["type"] == 9 and modal["data"]["title"] == "Add a song"
    missing = await sandbox_http.post("/_sandbox/modals", json={"interaction_id": shown, "values": {}})
    assert missing.status_code == 400
    sent = await sandbox_http.post(
        "/_sandbox/modals", json={"interaction_id": shown, "values": {"url": "https://example.com/a.mp3"}}
    )
    (reply,) = await responses(sandbox_http, sent.json()["interaction_id"], 1)
    assert submitted == [("https://example.com/a.mp3", "")]
    assert reply["content"] == "added https://example.com/a.mp3" and reply["ephemeral"] is True


async def test_interaction_tokens_expire_after_15_minutes(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    app = sandbox.world.application_id
    auth = {"Authorization": f"Bot {sandbox.token}"}
    await sandbox_http.put(
        f"/api/v10/applications/{app}/commands", json=[{"name": "ping", "description": "Ping"}], headers=auth
    )
    interaction_id = await run(sandbox_http, sandbox, "ping")
    interaction = sandbox.interactions.by_id[int(interaction_id)]
    hook = f"/api/v10/webhooks/{app}/{interaction.token}"
    early = await sandbox_http.post(hook, params={"wait": "1"}, json={"content": "before any response"})
    assert early.status_code == 404 and early.json()["code"] == 10015  # nothing to follow up yet
    callback = f"/api/v10/interactions/{interaction_id}/{interaction.token}/callback"
    assert (await sandbox_http.post(callback, json={"type": 5})).status_code == 204
    assert (
        await sandbox_http.post(hook, params={"wait": "1"}, json={"content": "in time"})
    ).status_code == 200
    interaction.created -= 15 * 60 + 1  # the clock has moved on 15 minutes
    late = await sandbox_http.patch(f"{hook}/messages/@original", json={"content": "too late"})
    assert late.status_code == 401 and late.json() == {"message": "Invalid Webhook Token", "code": 50027}
