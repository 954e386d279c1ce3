"""StatsRepo: listening statistics from play_history — top tracks, top requesters, hours per week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.records import HistoryEntry, track_from
from zilean.db.schema import play_history as h


@dataclass(frozen=True, slots=True)
class TrackCount:
    """A track (by title and link) and how often it was played."""

    title: str
    url: str
    plays: int


@dataclass(frozen=True, slots=True)
class RequesterCount:
    """A member and how many tracks they asked for, and for how long."""

    user_id: int
    plays: int
    duration_ms: int


@dataclass(frozen=True, slots=True)
class WeekTotal:
    """Music played in the week starting on `week_start` (a Monday, UTC)."""

    week_start: datetime
    duration_ms: int
    plays: int


class StatsRepo:
    """Aggregates over one guild's play history."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def top_tracks(self, guild_id: int, since: datetime, limit: int = 10) -> list[TrackCount]:
        """The most played tracks since `since`, most first."""
        plays = func.count().label("plays")
        stmt = (
            select(h.c.title, h.c.url, plays)
            .where(h.c.guild_id == guild_id, h.c.played_at >= since)
            .group_by(h.c.title, h.c.url)
            .order_by(plays.desc(), h.c.title)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [TrackCount(str(r.title), str(r.url), int(r.plays)) for r in rows]

    async def top_requesters(self, guild_id: int, since: datetime, limit: int = 10) -> list[RequesterCount]:
        """The members who queued the most since `since` (tracks without a requester left out)."""
        plays = func.count().label("plays")
        total = func.coalesce(func.sum(h.c.duration_ms), 0).label("total")
        stmt = (
            select(h.c.requester_id, plays, total)
            .where(h.c.guild_id == guild_id, h.c.played_at >= since, h.c.requester_id.is_not(None))
            .group_by(h.c.requester_id)
            .order_by(plays.desc(), h.c.requester_id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [RequesterCount(int(r.requester_id), int(r.plays), int(r.total)) for r in rows]

    async def weekly(self, guild_id: int, weeks: int = 12, now: datetime | None = None) -> list[WeekTotal]:
        """Music played per week for the last `weeks` weeks (this one included), oldest first."""
        now = now or utcnow()
        this_monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        starts = [this_monday - timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
        stmt = select(h.c.played_at, h.c.duration_ms).where(
            h.c.guild_id == guild_id, h.c.played_at >= starts[0]
        )
        totals = {start: [0, 0] for start in starts}
        async with self._db.read() as conn:
            for played_at, duration_ms in (await conn.execute(stmt)).all():
                when = as_utc(played_at)
                assert when is not None
                start = (when - timedelta(days=when.weekday())).replace(
                    hour=0, minute=0, second=0, microsecond=0
                )
                if start in totals:
                    totals[start][0] += int(duration_ms or 0)
                    totals[start][1] += 1
        return [WeekTotal(start, ms, n) for start, (ms, n) in totals.items()]

    async def requested_by(self, guild_id: int, user_id: int, limit: int = 50) -> list[HistoryEntry]:
        """What one member asked for, newest first ("my history")."""
        stmt = (
            select(h)
            .where(h.c.guild_id == guild_id, h.c.requester_id == user_id)
            .order_by(h.c.id.desc())
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows: list[Any] = list((await conn.execute(stmt)).mappings().all())
        entries = []
        for row in rows:
            played_at = as_utc(row["played_at"])
            assert played_at is not None
            entries.append(HistoryEntry(row["id"], row["guild_id"], track_from(row), played_at))
        return entries
