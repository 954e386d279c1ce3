"""DirectoryRepo: the bot's live view of its guilds (channels, roles, members, who is in voice).

The bot writes it (a whole guild at once when it joins or connects, then one change at a time from
gateway events); the web reads it, so a page view never asks Discord who is a member. A member who
leaves is removed at once, so the web's membership check follows the bot's view, not a login-time list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from zilean.db.connector import Connector, utcnow
from zilean.db.records import ChannelInfo, ChannelKind, GuildInfo, MemberInfo, RoleInfo
from zilean.db.schema import CHANNEL_KINDS
from zilean.db.schema import guild_channels as ch
from zilean.db.schema import guild_members as m
from zilean.db.schema import guild_roles as r
from zilean.db.schema import guilds as g

NAME_LENGTH = 100  # Discord caps every name we store at 100 characters; the columns do too
MAX_SEARCH_LIMIT = 100

Record = TypeVar("Record", ChannelInfo, RoleInfo, MemberInfo)


class DirectoryRepo:
    """Guilds, channels, roles and members as the bot last saw them."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    # --- reading ---------------------------------------------------------------------------

    async def guild(self, guild_id: int) -> GuildInfo | None:
        """The guild, or None when the bot is not in it (or never published it)."""
        async with self._db.read() as conn:
            row = (await conn.execute(select(g).where(g.c.guild_id == guild_id))).mappings().first()
        return None if row is None else _guild(row)

    async def guilds_of(self, user_id: int) -> list[GuildInfo]:
        """The guilds the user is a member of (and the bot is in), by name."""
        stmt = (
            select(g)
            .join(m, m.c.guild_id == g.c.guild_id)
            .where(m.c.user_id == user_id)
            .order_by(func.lower(g.c.name), g.c.guild_id)
        )
        async with self._db.read() as conn:
            return [_guild(row) for row in (await conn.execute(stmt)).mappings()]

    async def guild_ids(self) -> list[int]:
        """Every published guild's id (the bot prunes guilds it left while offline)."""
        async with self._db.read() as conn:
            return [
                int(i) for i in (await conn.execute(select(g.c.guild_id).order_by(g.c.guild_id))).scalars()
            ]

    async def member(self, guild_id: int, user_id: int) -> MemberInfo | None:
        """The member, or None when they are not in the guild (left, kicked, never joined)."""
        stmt = select(m).where(m.c.guild_id == guild_id, m.c.user_id == user_id)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _member(row)

    async def membership(self, guild_id: int, user_id: int) -> tuple[GuildInfo, MemberInfo] | None:
        """The guild and the user's member record in one query (the web's access check), or None."""
        stmt = (
            select(m, g.c.name.label("guild_name"), g.c.icon_url.label("guild_icon_url"), g.c.owner_id)
            .join(g, g.c.guild_id == m.c.guild_id)
            .where(m.c.guild_id == guild_id, m.c.user_id == user_id)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        name, icon, owner = row["guild_name"], row["guild_icon_url"], row["owner_id"]
        return GuildInfo(guild_id=guild_id, name=name, icon_url=icon, owner_id=owner), _member(row)

    async def members(self, guild_id: int, user_ids: Iterable[int]) -> dict[int, MemberInfo]:
        """Several members by id in one query (the audit log's names); absent ids are left out."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        stmt = select(m).where(m.c.guild_id == guild_id, m.c.user_id.in_(ids))
        async with self._db.read() as conn:
            return {row["user_id"]: _member(row) for row in (await conn.execute(stmt)).mappings()}

    async def member_count(self, guild_id: int) -> int:
        """How many members the guild has."""
        stmt = select(func.count()).select_from(m).where(m.c.guild_id == guild_id)
        async with self._db.read() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def channels(self, guild_id: int, kind: str | None = None) -> list[ChannelInfo]:
        """The guild's channels ("voice", "text" or both), in Discord's order."""
        cond = [ch.c.guild_id == guild_id]
        if kind is not None:
            _check_kind(kind)
            cond.append(ch.c.kind == kind)
        stmt = select(ch).where(*cond).order_by(ch.c.position, ch.c.channel_id)
        async with self._db.read() as conn:
            return [_channel(row) for row in (await conn.execute(stmt)).mappings()]

    async def roles(self, guild_id: int) -> list[RoleInfo]:
        """The guild's roles, highest first (as Discord lists them); @everyone is last."""
        stmt = select(r).where(r.c.guild_id == guild_id).order_by(r.c.position.desc(), r.c.role_id)
        async with self._db.read() as conn:
            return [_role(row) for row in (await conn.execute(stmt)).mappings()]

    async def voice_members(self, guild_id: int, channel_id: int) -> list[MemberInfo]:
        """Who is in that voice channel now, by display name."""
        stmt = (
            select(m)
            .where(m.c.guild_id == guild_id, m.c.voice_channel_id == channel_id)
            .order_by(func.lower(m.c.display_name), m.c.user_id)
        )
        async with self._db.read() as conn:
            return [_member(row) for row in (await conn.execute(stmt)).mappings()]

    async def search_members(self, guild_id: int, text: str, limit: int = 25) -> list[MemberInfo]:
        """Members whose user name or display name contains `text` (any case), by display name."""
        needle = text.strip().lower()
        cond = [m.c.guild_id == guild_id]
        if needle:
            cond.append(
                or_(
                    func.lower(m.c.display_name).contains(needle, autoescape=True),
                    func.lower(m.c.name).contains(needle, autoescape=True),
                )
            )
        stmt = (
            select(m)
            .where(*cond)
            .order_by(func.lower(m.c.display_name), m.c.user_id)
            .limit(max(1, min(limit, MAX_SEARCH_LIMIT)))
        )
        async with self._db.read() as conn:
            return [_member(row) for row in (await conn.execute(stmt)).mappings()]

    # --- writing ---------------------------------------------------------------------------

    async def replace_guild(
        self,
        guild: GuildInfo,
        channels: Iterable[ChannelInfo],
        roles: Iterable[RoleInfo],
        members: Iterable[MemberInfo],
    ) -> None:
        """Publish a whole guild in one transaction: what was stored for it before is replaced."""
        gid = guild.guild_id
        channel_rows = [_channel_values(c) for c in _of_guild(gid, channels)]
        role_rows = [_role_values(x) for x in _of_guild(gid, roles)]
        now = utcnow()
        member_rows = [_member_values(x, now) for x in _of_guild(gid, members)]
        async with self._db.write() as conn:
            await self._db.lock_guild(conn, gid)
            for table in (m, r, ch, g):
                await conn.execute(delete(table).where(table.c.guild_id == gid))
            await conn.execute(insert(g).values(_guild_values(guild, now)))
            for table, rows in ((ch, channel_rows), (r, role_rows), (m, member_rows)):
                if rows:
                    await conn.execute(insert(table), rows)

    async def update_guild(self, guild: GuildInfo) -> None:
        """Store the guild's own fields (name, icon, owner), leaving its members as they are."""
        values = _guild_values(guild, utcnow())
        stmt = self._db.upsert(g, values, ["guild_id"], [k for k in values if k != "guild_id"])
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def remove_guild(self, guild_id: int) -> bool:
        """Forget a guild the bot left; True if it was stored."""
        async with self._db.write() as conn:
            await self._db.lock_guild(conn, guild_id)
            for table in (m, r, ch):
                await conn.execute(delete(table).where(table.c.guild_id == guild_id))
            return bool((await conn.execute(delete(g).where(g.c.guild_id == guild_id))).rowcount)

    async def replace_channels(self, guild_id: int, channels: Iterable[ChannelInfo]) -> None:
        """Store the guild's whole channel list (a channel was created, changed or deleted)."""
        rows = [_channel_values(c) for c in _of_guild(guild_id, channels)]
        async with self._db.write() as conn:
            await self._db.lock_guild(conn, guild_id)
            await _replace_rows(conn, ch, guild_id, rows)

    async def replace_roles(self, guild_id: int, roles: Iterable[RoleInfo]) -> None:
        """Store the guild's whole role list (a role was created, changed or deleted)."""
        rows = [_role_values(x) for x in _of_guild(guild_id, roles)]
        async with self._db.write() as conn:
            await self._db.lock_guild(conn, guild_id)
            await _replace_rows(conn, r, guild_id, rows)

    async def upsert_member(self, member: MemberInfo) -> None:
        """Add a member who joined, or store what changed about one (roles, names, voice)."""
        values = _member_values(member, utcnow())
        keys = ["guild_id", "user_id"]
        stmt = self._db.upsert(m, values, keys, [k for k in values if k not in keys])
        async with self._db.write() as conn:
            await self._db.lock_guild(conn, member.guild_id)
            await conn.execute(stmt)

    async def remove_member(self, guild_id: int, user_id: int) -> bool:
        """A member left or was kicked or banned; True if they were stored."""
        stmt = delete(m).where(m.c.guild_id == guild_id, m.c.user_id == user_id)
        async with self._db.write() as conn:
            await self._db.lock_guild(conn, guild_id)
            return bool((await conn.execute(stmt)).rowcount)

    async def set_voice_channel(self, guild_id: int, user_id: int, channel_id: int | None) -> bool:
        """A member joined, moved or left voice (None); True if the member is stored."""
        stmt = (
            update(m)
            .where(m.c.guild_id == guild_id, m.c.user_id == user_id)
            .values(voice_channel_id=channel_id, updated_at=utcnow())
        )
        async with self._db.write() as conn:
            await self._db.lock_guild(conn, guild_id)
            return bool((await conn.execute(stmt)).rowcount)


async def _replace_rows(conn: AsyncConnection, table: Any, guild_id: int, rows: list[dict[str, Any]]) -> None:
    await conn.execute(delete(table).where(table.c.guild_id == guild_id))
    if rows:
        await conn.execute(insert(table), rows)


def _of_guild(guild_id: int, items: Iterable[Record]) -> Sequence[Record]:
    """The items, refusing any that belong to another guild (a caller's bug, not data to store)."""
    listed = list(items)
    stray = [item for item in listed if item.guild_id != guild_id]
    if stray:
        raise ValueError(f"{len(stray)} directory records of another guild given for guild {guild_id}")
    return listed


def _check_kind(kind: str) -> None:
    if kind not in CHANNEL_KINDS:
        raise ValueError(f"channel kind must be one of {CHANNEL_KINDS}, not {kind!r}")


def _name(value: str) -> str:
    return value[:NAME_LENGTH]


def _guild_values(guild: GuildInfo, now: Any) -> dict[str, Any]:
    return {
        "guild_id": guild.guild_id,
        "name": _name(guild.name),
        "icon_url": guild.icon_url,
        "owner_id": guild.owner_id,
        "updated_at": now,
    }


def _channel_values(channel: ChannelInfo) -> dict[str, Any]:
    _check_kind(channel.kind)
    return {
        "guild_id": channel.guild_id,
        "channel_id": channel.channel_id,
        "kind": channel.kind,
        "name": _name(channel.name),
        "position": channel.position,
    }


def _role_values(role: RoleInfo) -> dict[str, Any]:
    return {
        "guild_id": role.guild_id,
        "role_id": role.role_id,
        "name": _name(role.name),
        "position": role.position,
        "color": role.color,
        "permissions": role.permissions,
    }


def _member_values(member: MemberInfo, now: Any) -> dict[str, Any]:
    return {
        "guild_id": member.guild_id,
        "user_id": member.user_id,
        "name": _name(member.name),
        "display_name": _name(member.display_name),
        "avatar_url": member.avatar_url,
        "role_ids": [int(role_id) for role_id in member.role_ids],
        "is_owner": member.is_owner,
        "is_admin": member.is_admin,
        "voice_channel_id": member.voice_channel_id,
        "updated_at": now,
    }


def _guild(row: Any) -> GuildInfo:
    return GuildInfo(
        guild_id=int(row["guild_id"]), name=row["name"], icon_url=row["icon_url"], owner_id=row["owner_id"]
    )


def _channel(row: Any) -> ChannelInfo:
    return ChannelInfo(
        guild_id=int(row["guild_id"]),
        channel_id=int(row["channel_id"]),
        kind=cast(ChannelKind, row["kind"]),
        name=row["name"],
        position=int(row["position"]),
    )


def _role(row: Any) -> RoleInfo:
    return RoleInfo(
        guild_id=int(row["guild_id"]),
        role_id=int(row["role_id"]),
        name=row["name"],
        position=int(row["position"]),
        color=int(row["color"]),
        permissions=int(row["permissions"]),
    )


def _member(row: Any) -> MemberInfo:
    voice = row["voice_channel_id"]
    return MemberInfo(
        guild_id=int(row["guild_id"]),
        user_id=int(row["user_id"]),
        name=row["name"],
        display_name=row["display_name"],
        avatar_url=row["avatar_url"],
        role_ids=tuple(int(role_id) for role_id in row["role_ids"] or ()),
        is_owner=bool(row["is_owner"]),
        is_admin=bool(row["is_admin"]),
        voice_channel_id=None if voice is None else int(voice),
    )
