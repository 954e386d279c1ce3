"""Who may manage a server, decided by the bot's own policy on the bot's published view of the member.

The directory records a member's roles (without @everyone), whether they own the guild, and Discord's
administrator flag; the bot's checks count "manage server" as administrator too, so the web reads the
roles' permission bits to match (`actor_of`). The voice scene comes from the saved player state and
the directory's voice members, so "alone with the bot" means the same thing here as in Discord.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from zilean.core.permissions import Action, Actor, Decision, GuildPolicy, VoiceScene, explain, explain_all
from zilean.db import Database
from zilean.db.policy import policy_from
from zilean.db.records import MemberInfo, RoleInfo
from zilean.web.context import web_context
from zilean.web.deps import NOT_FOUND, GuildAccess, GuildAccessView

ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
NOT_A_MANAGER = "Only members who may change this server's settings can do that."


def actor_of(member: MemberInfo, roles: list[RoleInfo]) -> Actor:
    """The policy's view of a directory member (as bot/checks.actor_for builds it from discord.py)."""
    role_ids = frozenset({*member.role_ids, member.guild_id})  # @everyone is the guild id
    bits = 0
    for role in roles:
        if role.role_id in role_ids:
            bits |= role.permissions
    return Actor(
        user_id=member.user_id,
        role_ids=role_ids,
        is_admin=member.is_admin or bool(bits & (ADMINISTRATOR | MANAGE_GUILD)),
        voice_channel_id=member.voice_channel_id,
        is_owner=member.is_owner,
    )


async def policy_of(db: Database, guild_id: int) -> GuildPolicy:
    """The guild's policy from its stored settings and rules (what the bot reads, fresh)."""
    return policy_from(await db.guild_settings.get(guild_id), await db.permissions.rules(guild_id))


async def scene_of(db: Database, guild_id: int, bot_user_id: int | None) -> VoiceScene:
    """The bot's voice channel (from its saved state) and the humans listening there."""
    state = await db.player_state.load(guild_id)
    channel = state.voice_channel_id if state is not None else None
    if channel is None:
        return VoiceScene()
    members = await db.directory.voice_members(guild_id, channel)
    return VoiceScene(channel, frozenset(m.user_id for m in members if m.user_id != bot_user_id))


async def may_manage(db: Database, guild_id: int, member: MemberInfo) -> Decision:
    """The policy's answer to "may this member change settings?" (no voice needed for that)."""
    actor = actor_of(member, await db.directory.roles(guild_id))
    return explain(Action.SETTINGS, actor, VoiceScene(), await policy_of(db, guild_id))


async def explain_member(
    db: Database, guild_id: int, member: MemberInfo, bot_user_id: int | None
) -> dict[Action, Decision]:
    """Every action's answer for a member right now, and which step decided."""
    actor = actor_of(member, await db.directory.roles(guild_id))
    scene = await scene_of(db, guild_id, bot_user_id)
    return explain_all(actor, scene, await policy_of(db, guild_id))


@dataclass(frozen=True, slots=True)
class ManagerView:
    """A guild the current user may manage."""

    guild: GuildAccessView

    @property
    def id(self) -> int:
        return self.guild.id


async def manager_access(access: GuildAccess, request: Request) -> ManagerView:
    """The guild, if the policy lets the user change its settings; else 404 (pages) or 403 (API)."""
    decision = await may_manage(web_context(request).db, access.id, access.member)
    if not decision.allowed:
        if request.url.path.startswith("/api/"):
            raise HTTPException(403, NOT_A_MANAGER)
        raise HTTPException(404, NOT_FOUND)
    return ManagerView(access)


ManagerAccess = Annotated[ManagerView, Depends(manager_access)]
