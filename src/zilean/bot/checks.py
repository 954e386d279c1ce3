"""Command preconditions as checks: describe the member and the voice channel, then ask the one policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord.ext import commands

from zilean.core.permissions import Action, Actor, Decision, GuildPolicy, VoiceScene, explain

if TYPE_CHECKING:
    from zilean.bot.client import ZileanBot

T = TypeVar("T")


class Refused(commands.CheckFailure):
    """A check said no; the message is safe and friendly to show the member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def actor_for(member: discord.Member | discord.User) -> Actor:
    """The policy's view of a member: roles, administrator rights and voice channel."""
    if not isinstance(member, discord.Member):
        return Actor(user_id=member.id)
    perms = member.guild_permissions
    voice = member.voice.channel.id if member.voice and member.voice.channel else None
    return Actor(
        user_id=member.id,
        role_ids=frozenset(role.id for role in member.roles),
        is_admin=perms.administrator or perms.manage_guild,
        voice_channel_id=voice,
        is_owner=member.guild.owner_id == member.id,
    )


def scene_for(guild: discord.Guild) -> VoiceScene:
    """The bot's voice channel in `guild` and the humans listening there (bots excluded)."""
    voice = guild.voice_client
    channel = getattr(voice, "channel", None) if voice is not None else None
    if channel is None or not isinstance(channel, discord.VoiceChannel | discord.StageChannel):
        return VoiceScene()
    return VoiceScene(channel.id, listener_ids(channel))


def listener_ids(channel: discord.VoiceChannel | discord.StageChannel) -> frozenset[int]:
    """The human members in a voice channel."""
    return frozenset(member.id for member in channel.members if not member.bot)


async def decision_for(ctx: commands.Context[Any], action: Action) -> Decision:
    """Ask the policy whether the author of `ctx` may do `action` in this guild now (the dashboard's
    explainer calls the same `explain`)."""
    if ctx.guild is None:
        raise Refused("Music commands work in servers, not in direct messages.")
    bot: ZileanBot = ctx.bot
    policy: GuildPolicy = await bot.sessions.policy(ctx.guild)
    return explain(action, actor_for(ctx.author), scene_for(ctx.guild), policy)


def requires(action: Action, *, connected: bool = False) -> Callable[[T], T]:
    """A check: refuse unless the policy allows `action` (a refused skip may still vote).

    `connected`: first refuse when the bot is not in voice. One check rather than two, because
    discord.py does not keep the order of several checks stable across bot instances.
    """

    async def predicate(ctx: commands.Context[Any]) -> bool:
        if connected and ctx.guild is not None and ctx.guild.voice_client is None:
            raise Refused("I'm not in a voice channel.")
        decision = await decision_for(ctx, action)
        ctx.decision = decision  # type: ignore[attr-defined]  # read by commands that vote
        if decision.allowed or decision.may_vote:
            return True
        raise Refused(decision.reason)

    return commands.check(predicate)


def in_guild() -> Callable[[T], T]:
    """A check: refuse use in direct messages."""

    async def predicate(ctx: commands.Context[Any]) -> bool:
        if ctx.guild is None:
            raise Refused("Music commands work in servers, not in direct messages.")
        return True

    return commands.check(predicate)
