"""Bot liveness: each bot process upserts a heartbeat row; a stale row means the process is gone."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from zilean.db import schema
from zilean.db.bus.records import BotProcess, process_from
from zilean.db.connector import Connector, utcnow


class Heartbeats:
    """Read and write `bot_heartbeats`."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def beat(
        self, process_id: str, shard_ids: Sequence[int], shard_count: int, started_at: datetime
    ) -> datetime:
        """Say this process is alive and which shards it runs; returns the time written."""
        now = utcnow()
        values = {
            "process_id": process_id,
            "shard_ids": sorted(int(i) for i in shard_ids),
            "shard_count": shard_count,
            "started_at": started_at,
            "last_seen": now,
        }
        stmt = self._db.upsert(
            schema.bot_heartbeats, values, ["process_id"], ["shard_ids", "shard_count", "last_seen"]
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)
        return now

    async def remove(self, process_id: str) -> None:
        """Forget a process that shut down cleanly."""
        table = schema.bot_heartbeats
        async with self._db.write() as conn:
            await conn.execute(delete(table).where(table.c.process_id == process_id))

    async def live(self, stale_after: timedelta) -> list[BotProcess]:
        """Processes whose last heartbeat is newer than `stale_after`."""
        table = schema.bot_heartbeats
        cutoff = utcnow() - stale_after
        async with self._db.read() as conn:
            rows = (await conn.execute(select(table).where(table.c.last_seen > cutoff))).mappings().all()
        return [process_from(row) for row in rows]

    async def all(self) -> list[BotProcess]:
        """Every heartbeat row, live or stale."""
        table = schema.bot_heartbeats
        async with self._db.read() as conn:
            rows = (await conn.execute(select(table).order_by(table.c.process_id))).mappings().all()
        return [process_from(row) for row in rows]

    async def owner_of(self, guild_id: int, stale_after: timedelta) -> BotProcess | None:
        """A live process that runs the guild's shard, if any."""
        for process in await self.live(stale_after):
            if process.owns(guild_id):
                return process
        return None
