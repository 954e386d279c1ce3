"""EqPresetsRepo: the equalizer presets a server saved (`/eq save NAME`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from zilean.core.equalizer import MAX_PRESET_NAME
from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.errors import InvalidSettingError
from zilean.db.records import EqPreset
from zilean.db.repos import validate
from zilean.db.schema import eq_presets as t

MAX_PRESETS_PER_GUILD = 25  # a Discord autocomplete shows at most 25 choices


class EqPresetsRepo:
    """Read, save and delete a guild's presets."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def save(self, guild_id: int, name: str, gains: Any, created_by: int | None = None) -> EqPreset:
        """Store (or overwrite) a preset; at most MAX_PRESETS_PER_GUILD per guild."""
        if not 1 <= len(name) <= MAX_PRESET_NAME:
            raise InvalidSettingError(f"a preset name is 1 to {MAX_PRESET_NAME} characters")
        checked, now = validate.eq_gains(gains), utcnow()
        values: dict[str, Any] = {"gains": checked, "created_by": created_by, "updated_at": now}
        async with self._db.write() as conn:
            exists = (
                await conn.execute(select(t.c.name).where(t.c.guild_id == guild_id, t.c.name == name))
            ).first()
            if exists is None:
                count = (
                    await conn.execute(select(func.count()).select_from(t).where(t.c.guild_id == guild_id))
                ).scalar_one()
                if count >= MAX_PRESETS_PER_GUILD:
                    raise InvalidSettingError(
                        f"this server already has {MAX_PRESETS_PER_GUILD} presets; overwrite one instead"
                    )
            stmt = self._db.upsert(
                t, {"guild_id": guild_id, "name": name, **values}, ["guild_id", "name"], list(values)
            )
            await conn.execute(stmt)
        return EqPreset(guild_id, name, checked, created_by, now)

    async def get(self, guild_id: int, name: str) -> EqPreset | None:
        """One preset, or None."""
        async with self._db.read() as conn:
            row = (
                (await conn.execute(select(t).where(t.c.guild_id == guild_id, t.c.name == name)))
                .mappings()
                .first()
            )
        return None if row is None else _preset(row)

    async def for_guild(self, guild_id: int) -> list[EqPreset]:
        """Every preset of the guild, by name."""
        async with self._db.read() as conn:
            rows = (
                await conn.execute(select(t).where(t.c.guild_id == guild_id).order_by(t.c.name))
            ).mappings()
            return [_preset(row) for row in rows]

    async def delete(self, guild_id: int, name: str) -> bool:
        """Remove a preset; True if there was one."""
        async with self._db.write() as conn:
            result = await conn.execute(delete(t).where(t.c.guild_id == guild_id, t.c.name == name))
        return bool(result.rowcount)


def _preset(row: Any) -> EqPreset:
    return EqPreset(
        guild_id=row["guild_id"],
        name=row["name"],
        gains=dict(row["gains"] or {}),
        created_by=row["created_by"],
        updated_at=as_utc(row["updated_at"]),
    )
