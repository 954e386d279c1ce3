"""Message operations shared by REST, interactions and the control API: store, render, dispatch."""

from __future__ import annotations

import logging
from typing import Any

from zilean.sandbox import messages, payloads
from zilean.sandbox.gateway import GUILD_MEMBERS, GUILD_VOICE_STATES, Gateway
from zilean.sandbox.messages import MessageBody
from zilean.sandbox.responses import UNKNOWN_CHANNEL, UNKNOWN_MESSAGE, unknown
from zilean.sandbox.world import TEXT, Member, Message, World

log = logging.getLogger(__name__)


class Hub:
    """Creates, edits and deletes messages in the world and dispatches the matching gateway events."""

    def __init__(self, world: World, gateway: Gateway) -> None:
        self.world = world
        self.gateway = gateway
        self.base_url = ""

    def render(self, message: Message) -> dict[str, Any]:
        """The message as REST returns it (full content)."""
        return payloads.message(self.world, self.base_url, message)

    def text_channel(self, channel_id: int) -> int | None:
        """The channel's guild id; 404 Unknown Channel unless it exists and takes messages."""
        channel = self.world.channel(channel_id)
        if channel is None or channel.type != TEXT:
            raise unknown("Channel", UNKNOWN_CHANNEL)
        return channel.guild_id

    def message(self, channel_id: int, message_id: int) -> Message:
        message = self.world.messages.get(message_id)
        if message is None or message.channel_id != channel_id:
            raise unknown("Message", UNKNOWN_MESSAGE)
        return message

    def post(self, channel_id: int, author_id: int, body: MessageBody, **extra: Any) -> Message:
        """Validate and store a new message, then dispatch MESSAGE_CREATE (also for the bot's own)."""
        guild_id = self.text_channel(channel_id)
        message = Message(self.world.ids.next(), channel_id, guild_id, author_id, **extra)
        messages.apply(self.world, message, body, creating=True)
        self.world.messages[message.id] = message
        self.gateway.dispatch_message("MESSAGE_CREATE", message)
        return message

    def edit(self, message: Message, body: MessageBody) -> Message:
        """Apply an edit and dispatch MESSAGE_UPDATE."""
        messages.apply(self.world, message, body, creating=False)
        self.gateway.dispatch_message("MESSAGE_UPDATE", message)
        return message

    def delete(self, message: Message) -> None:
        """Remove the message and dispatch MESSAGE_DELETE."""
        self.world.messages.pop(message.id, None)
        if message.ephemeral:
            return
        data = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id:
            data["guild_id"] = str(message.guild_id)
        self.gateway.dispatch("MESSAGE_DELETE", data, guild_id=message.guild_id, intent=1 << 9)

    def member_updated(self, guild_id: int, user_id: int) -> None:
        """GUILD_MEMBER_UPDATE after a role or nickname change (needs the GUILD_MEMBERS intent)."""
        guild = self.world.guilds[guild_id]
        data = {"guild_id": str(guild_id), **payloads.member(self.world, guild.members[user_id])}
        self.gateway.dispatch("GUILD_MEMBER_UPDATE", data, guild_id=guild_id, intent=GUILD_MEMBERS)

    def member_joined(self, guild_id: int, user_id: int) -> Member:
        """Add a user to the guild and dispatch GUILD_MEMBER_ADD (needs the GUILD_MEMBERS intent)."""
        guild = self.world.guilds[guild_id]
        member = self.world.add_member(guild, self.world.users[user_id])
        data = {"guild_id": str(guild_id), **payloads.member(self.world, member)}
        self.gateway.dispatch("GUILD_MEMBER_ADD", data, guild_id=guild_id, intent=GUILD_MEMBERS)
        return member

    def member_left(self, guild_id: int, user_id: int) -> None:
        """Remove a member (left, kicked): out of voice first, as Discord does, then GUILD_MEMBER_REMOVE."""
        guild = self.world.guilds[guild_id]
        if user_id in guild.voice_states:
            guild.voice_states.pop(user_id)
            payload = payloads.voice_state(self.world, guild, None, user_id)
            self.gateway.dispatch("VOICE_STATE_UPDATE", payload, guild_id=guild_id, intent=GUILD_VOICE_STATES)
        del guild.members[user_id]
        data = {"guild_id": str(guild_id), "user": payloads.user(self.world.users[user_id])}
        self.gateway.dispatch("GUILD_MEMBER_REMOVE", data, guild_id=guild_id, intent=GUILD_MEMBERS)
