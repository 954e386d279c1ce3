"""AuditRepo: who did what to which guild, from Discord, the dashboard or the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import insert, select

from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.records import AuditEntry, Origin
from zilean.db.schema import AUDIT_ORIGINS
from zilean.db.schema import audit_log as a


class AuditRepo:
    """Append-only audit log."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def record(
        self,
        guild_id: int | None,
        actor_id: int | None,
        origin: Origin,
        action: str,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Log one action; returns its id."""
        if origin not in AUDIT_ORIGINS:
            raise ValueError(f"audit origin must be one of {AUDIT_ORIGINS}, not {origin!r}")
        stmt = (
            insert(a)
            .values(
                guild_id=guild_id,
                actor_id=actor_id,
                origin=origin,
                action=action,
                detail=dict(detail or {}),
                at=utcnow(),
            )
            .returning(a.c.id)
        )
        async with self._db.write() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def recent(self, guild_id: int | None = None, limit: int = 50) -> list[AuditEntry]:
        """The newest entries first, for one guild or (guild_id None) for all."""
        stmt = select(a).order_by(a.c.id.desc()).limit(limit)
        if guild_id is not None:
            stmt = stmt.where(a.c.guild_id == guild_id)
        async with self._db.read() as conn:
            return [_entry(row) for row in (await conn.execute(stmt)).mappings()]


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        guild_id=row["guild_id"],
        actor_id=row["actor_id"],
        origin=cast(Origin, row["origin"]),
        action=row["action"],
        detail=dict(row["detail"] or {}),
        at=as_utc(row["at"]),
    )
