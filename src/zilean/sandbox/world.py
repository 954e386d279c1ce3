"""The sandbox's world: users, guilds, channels, roles, members, voice states and messages."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zilean.core.errors import ConfigError
from zilean.sandbox.ids import Snowflakes

log = logging.getLogger(__name__)

TEXT, VOICE = 0, 2
# @everyone: view, send, history, embed, attach, react, connect, speak, use voice activity, app commands.
EVERYONE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 14) | (1 << 15) | (1 << 6)
EVERYONE_PERMISSIONS |= (1 << 20) | (1 << 21) | (1 << 25) | (1 << 31)
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 50) - 1
SEED_TIME_MS = 1_735_689_600_000  # 2025-01-01: seeded ids are stable across runs; later ids use the clock


def iso_now() -> str:
    """The current time as Discord writes timestamps."""
    return datetime.now(UTC).isoformat()


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    email: str | None = None


@dataclass
class Role:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    color: int = 0
    managed: bool = False


@dataclass
class Channel:
    id: int
    guild_id: int
    name: str
    type: int = TEXT
    position: int = 0
    bitrate: int = 64000
    user_limit: int = 0


@dataclass
class Member:
    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)


@dataclass
class VoiceState:
    user_id: int
    channel_id: int
    session_id: str
    self_mute: bool = False
    self_deaf: bool = False


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    voice_states: dict[int, VoiceState] = field(default_factory=dict)

    def permissions_of(self, user_id: int) -> int:
        """The member's guild-level permissions (owner and administrators get everything)."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        value = self.roles[self.id].permissions if self.id in self.roles else 0
        for role_id in member.roles if member else []:
            value |= self.roles[role_id].permissions if role_id in self.roles else 0
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value


@dataclass
class Attachment:
    id: int
    filename: str
    data: bytes
    content_type: str


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    mention_user_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    reference_id: int | None = None
    type: int = 0
    flags: int = 0
    webhook_id: int | None = None
    interaction_id: int | None = None
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    reactions: dict[str, set[int]] = field(default_factory=dict)
    tts: bool = False

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)


class World:
    """Everything the emulator knows; REST, gateway and control API all read and change this."""

    def __init__(self, *, application_id: int | None = None) -> None:
        self.ids = Snowflakes()
        self.ids.fixed_ms = SEED_TIME_MS
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.messages: dict[int, Message] = {}
        self.attachments: dict[int, Attachment] = {}
        self.application_id = application_id or self.ids.next()
        self.ids.fixed_ms = None
        self.bot_user_id = 0
        self.owner_user_id = 0

    # --- construction ---------------------------------------------------------------------------------
    def add_user(self, username: str, *, bot: bool = False, global_name: str | None = None) -> User:
        user = User(self.ids.next(), username, global_name, bot, None if bot else f"{username}@sandbox.local")
        self.users[user.id] = user
        return user

    def add_guild(self, name: str, owner_id: int) -> Guild:
        guild = Guild(self.ids.next(), name, owner_id)
        guild.roles[guild.id] = Role(guild.id, "@everyone", EVERYONE_PERMISSIONS, 0)
        self.guilds[guild.id] = guild
        return guild

    def add_role(self, guild: Guild, name: str, permissions: int = 0, *, managed: bool = False) -> Role:
        role = Role(self.ids.next(), name, permissions, len(guild.roles), managed=managed)
        guild.roles[role.id] = role
        return role

    def add_channel(self, guild: Guild, name: str, kind: int = TEXT, **extra: int) -> Channel:
        channel = Channel(self.ids.next(), guild.id, name, kind, len(guild.channels), **extra)
        guild.channels[channel.id] = channel
        return channel

    def add_member(self, guild: Guild, user: User, roles: list[int] | None = None) -> Member:
        member = Member(user.id, list(roles or []))
        guild.members[user.id] = member
        return member

    # --- lookups --------------------------------------------------------------------------------------
    def channel(self, channel_id: int) -> Channel | None:
        for guild in self.guilds.values():
            if channel_id in guild.channels:
                return guild.channels[channel_id]
        return None

    def user_named(self, username: str) -> User:
        """The user with this username (KeyError if none)."""
        for user in self.users.values():
            if user.username == username:
                return user
        raise KeyError(username)

    def channel_named(self, name: str, guild_id: int | None = None) -> Channel:
        """The first channel with this name, in one guild or any (KeyError if none)."""
        for guild in self.guilds.values():
            if guild_id not in (None, guild.id):
                continue
            for channel in guild.channels.values():
                if channel.name == name:
                    return channel
        raise KeyError(name)

    def role_named(self, guild_id: int, name: str) -> Role:
        for role in self.guilds[guild_id].roles.values():
            if role.name == name:
                return role
        raise KeyError(name)

    @property
    def bot(self) -> User:
        return self.users[self.bot_user_id]

    @property
    def first_guild(self) -> Guild:
        return next(iter(self.guilds.values()))

    def channel_messages(self, channel_id: int) -> list[Message]:
        """The channel's messages, oldest first (ids grow with time)."""
        return sorted((m for m in self.messages.values() if m.channel_id == channel_id), key=lambda m: m.id)

    def add_attachment(self, filename: str, data: bytes, content_type: str) -> Attachment:
        attachment = Attachment(self.ids.next(), filename, data, content_type)
        self.attachments[attachment.id] = attachment
        return attachment


DEFAULT_SPEC: dict[str, Any] = {
    "bot": {"username": "Zilean"},
    "guilds": [
        {
            "name": "Zilean Sandbox",
            "owner": "owner",
            "roles": [{"name": "DJ", "permissions": 0}],
            "channels": [
                {"name": "general", "type": "text"},
                {"name": "Music", "type": "voice", "bitrate": 64000, "user_limit": 0},
            ],
            "members": [
                {"username": "owner", "global_name": "Olivia Owner"},
                {"username": "dj", "global_name": "Dana DJ", "roles": ["DJ"]},
                {"username": "alice", "global_name": "Alice"},
                {"username": "bob", "global_name": "Bob"},
            ],
        }
    ],
}


def build_world(spec: dict[str, Any] | None = None) -> World:
    """A world from a spec shaped like DEFAULT_SPEC (the default seed when None)."""
    spec = spec or DEFAULT_SPEC
    world = World(application_id=int(spec["application_id"]) if spec.get("application_id") else None)
    world.ids.fixed_ms = SEED_TIME_MS
    bot = world.add_user(spec.get("bot", {}).get("username", "Zilean"), bot=True)
    world.bot_user_id = bot.id
    for guild_spec in spec.get("guilds", []):
        _build_guild(world, guild_spec)
    world.ids.fixed_ms = None
    return world


def _build_guild(world: World, spec: dict[str, Any]) -> None:
    users = {}
    for member_spec in spec.get("members", []):
        name = member_spec["username"]
        try:
            users[name] = world.user_named(name)
        except KeyError:
            users[name] = world.add_user(name, global_name=member_spec.get("global_name"))
    owner_name = spec.get("owner") or next(iter(users), None)
    if owner_name not in users:
        raise ConfigError(f"sandbox world: guild {spec.get('name')!r} names an unknown owner {owner_name!r}")
    guild = world.add_guild(spec.get("name", "Sandbox"), users[owner_name].id)
    world.owner_user_id = world.owner_user_id or guild.owner_id
    roles = {
        r["name"]: world.add_role(guild, r["name"], int(r.get("permissions", 0)))
        for r in spec.get("roles", [])
    }
    bot_role = world.add_role(guild, world.bot.username, EVERYONE_PERMISSIONS, managed=True)
    for channel_spec in spec.get("channels", []):
        kind = VOICE if channel_spec.get("type") == "voice" else TEXT
        extra = {k: int(channel_spec[k]) for k in ("bitrate", "user_limit") if k in channel_spec}
        world.add_channel(guild, channel_spec["name"], kind, **extra)
    for member_spec in spec.get("members", []):
        unknown = [name for name in member_spec.get("roles", []) if name not in roles]
        if unknown:
            raise ConfigError(
                f"sandbox world: member {member_spec['username']!r} has unknown roles {unknown}"
            )
        world.add_member(
            guild, users[member_spec["username"]], [roles[n].id for n in member_spec.get("roles", [])]
        )
    world.add_member(guild, world.bot, [bot_role.id])


def load_world(path: Path) -> World:
    """A world from a JSON file (see docs/sandbox.md for the format)."""
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"sandbox world file {path}: {exc}") from None
    return build_world(spec)
