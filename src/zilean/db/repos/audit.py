"""AuditRepo: who did what to which guild, from Discord, the dashboard or the CLI.

Pages are keyset-paginated, newest first: a page is "rows with id < cursor", so page 10,000 costs what
page 1 costs. Each filter (member, action, origin) has an index (guild_id, column, id). A time window
becomes an id window first (ids and `at` both grow with every insert; one lookup on the `at` index
each), so it needs no index of its own per guild.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, delete, insert, select

from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.records import DEFAULT_AUDIT_RETENTION_DAYS, AuditEntry, Origin
from zilean.db.schema import AUDIT_ORIGINS
from zilean.db.schema import audit_log as a
from zilean.db.schema import guild_settings as gs

PRUNE_BATCH = 5000  # rows per DELETE, so pruning a big backlog never holds the write lock long


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What a page shows: None means "any"."""

    actor_id: int | None = None
    action: str | None = None
    origin: str | None = None
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before


@dataclass(frozen=True, slots=True)
class AuditPage:
    """Entries newest first, and the cursor of the next (older) page, None at the end."""

    entries: list[AuditEntry]
    next_cursor: int | None


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

    async def page(
        self, guild_id: int, where: AuditFilter | None = None, cursor: int | None = None, limit: int = 50
    ) -> AuditPage:
        """One page of a guild's log, newest first, older than `cursor` (None: from the newest)."""
        where = where or AuditFilter()
        async with self._db.read() as conn:
            stmt = select(a).where(a.c.guild_id == guild_id)
            if cursor is not None:
                stmt = stmt.where(a.c.id < cursor)
            if where.actor_id is not None:
                stmt = stmt.where(a.c.actor_id == where.actor_id)
            if where.action is not None:
                stmt = stmt.where(a.c.action == where.action)
            if where.origin is not None:
                stmt = stmt.where(a.c.origin == where.origin)
            if where.since is not None:
                first = (await conn.execute(_first_id_at_or_after(where.since))).scalar()
                if first is None:
                    return AuditPage([], None)
                stmt = stmt.where(a.c.id >= first)
            if where.until is not None:
                first_after = (await conn.execute(_first_id_at_or_after(where.until))).scalar()
                if first_after is not None:
                    stmt = stmt.where(a.c.id < first_after)
            rows = (await conn.execute(stmt.order_by(a.c.id.desc()).limit(limit + 1))).mappings().all()
        entries = [_entry(row) for row in rows[:limit]]
        more = len(rows) > limit
        return AuditPage(entries, entries[-1].id if more and entries else None)

    async def prune_expired(self, default_days: int = DEFAULT_AUDIT_RETENTION_DAYS) -> int:
        """Delete entries older than their guild's retention (guild settings; else `default_days`)."""
        now = utcnow()
        async with self._db.read() as conn:
            kept = (await conn.execute(select(gs.c.audit_retention_days).distinct())).scalars().all()
        configured = select(gs.c.guild_id)
        removed = 0
        for days in kept:
            of_these = select(gs.c.guild_id).where(gs.c.audit_retention_days == days)
            removed += await self._delete_older(now - timedelta(days=int(days)), a.c.guild_id.in_(of_these))
        others = a.c.guild_id.is_(None) | a.c.guild_id.not_in(configured)
        removed += await self._delete_older(now - timedelta(days=default_days), others)
        return removed

    async def _delete_older(self, cutoff: datetime, which: Any) -> int:
        removed = 0
        while True:
            batch = select(a.c.id).where(a.c.at < cutoff, which).order_by(a.c.at).limit(PRUNE_BATCH)
            async with self._db.write() as conn:
                done = (await conn.execute(delete(a).where(a.c.id.in_(batch.scalar_subquery())))).rowcount
            removed += int(done)
            if done < PRUNE_BATCH:
                return removed


def _first_id_at_or_after(moment: datetime) -> Select[Any]:
    return select(a.c.id).where(a.c.at >= moment).order_by(a.c.at, a.c.id).limit(1)


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


__all__ = ["AuditFilter", "AuditPage", "AuditRepo"]
