"""GuildSettingsRepo: per-guild settings with defaults for guilds nobody configured."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import select

from zilean.db import schema
from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.records import GuildSettings
from zilean.db.repos import validate

_EDITABLE = {f.name for f in fields(GuildSettings)} - {"guild_id", "updated_at"}


class GuildSettingsRepo:
    """Read and change a guild's settings."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def get(self, guild_id: int) -> GuildSettings:
        """The guild's settings (the defaults when none were saved)."""
        table = schema.guild_settings
        async with self._db.read() as conn:
            row = (await conn.execute(select(table).where(table.c.guild_id == guild_id))).mappings().first()
        if row is None:
            return GuildSettings(guild_id=guild_id)
        return GuildSettings(
            guild_id=row["guild_id"],
            prefix=row["prefix"],
            volume=row["volume"],
            effects=tuple(row["effects"] or ()),
            loop_mode=row["loop_mode"],
            dj_role_id=row["dj_role_id"],
            idle_timeout_s=row["idle_timeout_s"],
            always_on=bool(row["always_on"]),
            announce_channel_id=row["announce_channel_id"],
            updated_at=as_utc(row["updated_at"]),
            vote_skip_ratio=float(row["vote_skip_ratio"]),
            max_track_length_s=row["max_track_length_s"],
            max_queue_per_member=row["max_queue_per_member"],
            audit_retention_days=row["audit_retention_days"],
            eq=dict(row["eq"] or {}),
            fair_queue=bool(row["fair_queue"]),
            autoplay=bool(row["autoplay"]),
        )

    async def update(self, guild_id: int, **changes: Any) -> GuildSettings:
        """Change some settings (e.g. volume=150, loop_mode="queue"); returns the new settings."""
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise ValueError(f"unknown guild settings: {', '.join(sorted(unknown))}")
        values = {name: _checked(name, value) for name, value in changes.items()}
        values["updated_at"] = utcnow()
        stmt = self._db.upsert(
            schema.guild_settings, {"guild_id": guild_id, **values}, ["guild_id"], list(values)
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)
        return await self.get(guild_id)


def _checked(name: str, value: Any) -> Any:
    if name == "volume":
        return validate.volume(value)
    if name == "loop_mode":
        return validate.loop_mode(value)
    if name == "effects":
        return validate.effects(value)
    if name == "prefix":
        return validate.prefix(value)
    if name == "idle_timeout_s":
        return validate.non_negative("the idle timeout", value)
    if name in ("always_on", "fair_queue", "autoplay"):
        return bool(value)
    if name == "eq":
        return validate.eq_gains(value)
    if name == "vote_skip_ratio":
        return validate.ratio("the vote-skip ratio", value)
    if name == "max_track_length_s":
        return validate.optional_positive("the maximum track length", value)
    if name == "max_queue_per_member":
        return validate.optional_positive("the queue limit per member", value)
    if name == "audit_retention_days":
        return validate.positive("the audit log's retention", value)
    return value  # Discord ids (dj role, announce channel) or None
