"""HistoryRepo: the tracks a guild played, newest first, kept to the last KEEP_PER_GUILD."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select

from zilean.core.track import Track
from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.records import HistoryEntry, track_from, track_values
from zilean.db.schema import play_history as h

KEEP_PER_GUILD = 5000  # enough for months of listening stats (db/repos/stats.py) on a busy server


class HistoryRepo:
    """Play history per guild."""

    def __init__(self, db: Connector, keep: int = KEEP_PER_GUILD) -> None:
        self._db = db
        self._keep = keep

    async def record(self, guild_id: int, track: Track) -> None:
        """Note that `track` started playing; drops entries beyond the newest `keep`."""
        # The id of the oldest entry to keep; NULL (nothing deleted) while there are fewer.
        oldest_kept = (
            select(h.c.id)
            .where(h.c.guild_id == guild_id)
            .order_by(h.c.id.desc())
            .offset(self._keep - 1)
            .limit(1)
            .scalar_subquery()
        )
        async with self._db.write() as conn:
            await conn.execute(insert(h).values(guild_id=guild_id, played_at=utcnow(), **track_values(track)))
            await conn.execute(delete(h).where(h.c.guild_id == guild_id, h.c.id < oldest_kept))

    async def recent(self, guild_id: int, limit: int = 10) -> list[HistoryEntry]:
        """The last `limit` tracks played, newest first."""
        stmt = select(h).where(h.c.guild_id == guild_id).order_by(h.c.id.desc()).limit(limit)
        async with self._db.read() as conn:
            return [_entry(row) for row in (await conn.execute(stmt)).mappings()]


def _entry(row: Any) -> HistoryEntry:
    played_at = as_utc(row["played_at"])
    assert played_at is not None
    return HistoryEntry(id=row["id"], guild_id=row["guild_id"], track=track_from(row), played_at=played_at)
