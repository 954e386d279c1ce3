"""World objects rendered as the JSON Discord sends (keys verified against discord.py's parsers)."""

from __future__ import annotations

from typing import Any

from zilean.sandbox.world import (
    VOICE,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Role,
    User,
    VoiceState,
    World,
)


def user(u: User) -> dict[str, Any]:
    """A user object."""
    return {
        "id": str(u.id),
        "username": u.username,
        "global_name": u.global_name,
        "discriminator": "0",
        "avatar": None,
        "bot": u.bot,
        "public_flags": 0,
    }


def role(r: Role) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "name": r.name,
        "permissions": str(r.permissions),
        "position": r.position,
        "color": r.color,
        "hoist": False,
        "managed": r.managed,
        "mentionable": True,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }


def channel(c: Channel) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(c.id),
        "guild_id": str(c.guild_id),
        "name": c.name,
        "type": c.type,
        "position": c.position,
        "permission_overwrites": [],
        "nsfw": False,
        "parent_id": None,
    }
    if c.type == VOICE:
        data.update(bitrate=c.bitrate, user_limit=c.user_limit, rtc_region=None)
    else:
        data.update(topic=None, last_message_id=None, rate_limit_per_user=0)
    return data


def member(world: World, m: Member, *, with_user: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "roles": [str(r) for r in m.roles],
        "nick": m.nick,
        "avatar": None,
        "joined_at": m.joined_at,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
    }
    if with_user:
        data["user"] = user(world.users[m.user_id])
    return data


def voice_state(world: World, guild: Guild, vs: VoiceState | None, user_id: int) -> dict[str, Any]:
    """A VOICE_STATE_UPDATE body; `vs` None means the user left (channel_id null)."""
    data: dict[str, Any] = {
        "guild_id": str(guild.id),
        "channel_id": str(vs.channel_id) if vs else None,
        "user_id": str(user_id),
        "session_id": vs.session_id if vs else "",
        "deaf": False,
        "mute": False,
        "self_deaf": vs.self_deaf if vs else False,
        "self_mute": vs.self_mute if vs else False,
        "self_video": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
    }
    if user_id in guild.members:
        data["member"] = member(world, guild.members[user_id])
    return data


def guild(
    world: World, g: Guild, *, members: list[Member] | None = None, large: bool = False
) -> dict[str, Any]:
    """A GUILD_CREATE body with `members` (all when None); member_count is always the guild's total,
    so a bot given fewer members knows to request the rest (op 8)."""
    listed = list(g.members.values()) if members is None else members
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "owner_id": str(g.owner_id),
        "roles": [role(r) for r in g.roles.values()],
        "channels": [channel(c) for c in g.channels.values()],
        "members": [member(world, m) for m in listed],
        "voice_states": [
            {k: v for k, v in voice_state(world, g, vs, uid).items() if k != "member"}
            for uid, vs in g.voice_states.items()
        ],
        "member_count": len(g.members),
        "large": large,
        "unavailable": False,
        "emojis": [],
        "stickers": [],
        "features": [],
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "system_channel_id": None,
        "afk_channel_id": None,
        "afk_timeout": 300,
        "joined_at": g.members[world.bot_user_id].joined_at if world.bot_user_id in g.members else None,
    }


def partial_guild(g: Guild, user_id: int) -> dict[str, Any]:
    """A guild as /users/@me/guilds lists it, with the user's permissions."""
    return {
        "id": str(g.id),
        "name": g.name,
        "icon": None,
        "banner": None,
        "owner": g.owner_id == user_id,
        "permissions": str(g.permissions_of(user_id)),
        "features": [],
    }


def attachment(base_url: str, message_channel_id: int, a: Attachment) -> dict[str, Any]:
    url = f"{base_url}/attachments/{message_channel_id}/{a.id}/{a.filename}"
    return {
        "id": str(a.id),
        "filename": a.filename,
        "size": len(a.data),
        "url": url,
        "proxy_url": url,
        "content_type": a.content_type,
    }


def message(
    world: World, base_url: str, m: Message, *, with_content: bool = True, with_reference: bool = True
) -> dict[str, Any]:
    """A message object; `with_content` False blanks what the MESSAGE_CONTENT intent guards."""
    author = world.users[m.author_id]
    data: dict[str, Any] = {
        "id": str(m.id),
        "channel_id": str(m.channel_id),
        "author": user(author),
        "content": m.content if with_content else "",
        "timestamp": m.timestamp,
        "edited_timestamp": m.edited_timestamp,
        "tts": m.tts,
        "mention_everyone": m.mention_everyone,
        "mentions": [user(world.users[uid]) for uid in m.mention_user_ids if uid in world.users],
        "mention_roles": [str(r) for r in m.mention_role_ids],
        "attachments": [attachment(base_url, m.channel_id, a) for a in m.attachments] if with_content else [],
        "embeds": m.embeds if with_content else [],
        "components": m.components if with_content else [],
        "reactions": [
            {"emoji": {"id": None, "name": name}, "count": len(users), "me": world.bot_user_id in users}
            for name, users in m.reactions.items()
            if users
        ],
        "pinned": False,
        "type": m.type,
        "flags": m.flags,
    }
    if m.guild_id is not None:
        data["guild_id"] = str(m.guild_id)
        g = world.guilds[m.guild_id]
        if m.author_id in g.members:
            data["member"] = member(world, g.members[m.author_id], with_user=False)
    if m.webhook_id:
        data["webhook_id"] = str(m.webhook_id)
        data["application_id"] = str(world.application_id)
    if m.reference_id:
        data["message_reference"] = {"message_id": str(m.reference_id), "channel_id": str(m.channel_id)}
        if m.guild_id:
            data["message_reference"]["guild_id"] = str(m.guild_id)
        ref = world.messages.get(m.reference_id)
        if with_reference:  # one level only, like Discord
            data["referenced_message"] = (
                message(world, base_url, ref, with_content=with_content, with_reference=False)
                if ref
                else None
            )
    return data
