"""The event half of the bus (bot → web): append-only rows, read back by id > last seen.

On PostgreSQL ids come from a sequence, so they are handed out at INSERT but become visible at
COMMIT — a later id could show up before an earlier one and a reader that moved past it would
miss it forever. Event writers therefore take one transaction-scoped advisory lock right before
the INSERT: event transactions commit in id order, and "id > last seen" never skips a row.
SQLite has a single writer, which gives the same order for free.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, delete, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from zilean.db import schema
from zilean.db.bus.records import Event, event_from
from zilean.db.bus.signal import EVENTS, Wakeup
from zilean.db.connector import Connector, utcnow
from zilean.db.records import PlayerState

log = logging.getLogger(__name__)

_e = schema.events.c
# Guild advisory locks use positive snowflakes; a negative key cannot collide with them.
EVENT_ORDER_LOCK = -6_172_635_401


class EventLog:
    """Publish events and read them back in order."""

    def __init__(self, db: Connector, wakeup: Wakeup) -> None:
        self._db = db
        self._wakeup = wakeup
        self._pg = db.dialect == "postgresql"

    async def publish(self, guild_id: int | None, kind: str, payload: dict[str, Any] | None = None) -> int:
        """Write one event in its own transaction and wake the followers; returns its id."""
        async with self._db.write() as conn:
            event_id = await self.publish_in(conn, guild_id, kind, payload)
        self.wake()
        return event_id

    async def publish_in(
        self, conn: AsyncConnection, guild_id: int | None, kind: str, payload: dict[str, Any] | None = None
    ) -> int:
        """Write an event inside the caller's write transaction (call `wake()` after it commits).

        Do it as the transaction's last statement: the ordering lock is held until commit.
        """
        if self._pg:
            await conn.execute(select(func.pg_advisory_xact_lock(literal(EVENT_ORDER_LOCK, BigInteger))))
        values = {"guild_id": guild_id, "kind": kind, "payload": payload or {}, "created_at": utcnow()}
        event_id = int(
            (await conn.execute(insert(schema.events).values(**values).returning(_e.id))).scalar_one()
        )
        if self._pg:
            await conn.execute(select(func.pg_notify(EVENTS, str(event_id))))
        return event_id

    async def publish_player(self, state: PlayerState) -> int:
        """Publish a "player" event: the state with its position anchor (call after every change)."""
        return await self.publish(state.guild_id, "player", anchor_payload(state))

    def wake(self) -> None:
        """Wake this process's followers at once (the other processes hear NOTIFY or poll)."""
        self._wakeup.notify(EVENTS)

    async def after(self, last_id: int, *, limit: int = 500, guild_id: int | None = None) -> list[Event]:
        """Events with id > last_id, oldest first (optionally one guild's only)."""
        query = select(schema.events).where(_e.id > last_id).order_by(_e.id).limit(limit)
        if guild_id is not None:
            query = query.where(_e.guild_id == guild_id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [event_from(row) for row in rows]

    async def latest_id(self) -> int:
        """The newest event id (0 if there is none): followers start from here."""
        async with self._db.read() as conn:
            value = (await conn.execute(select(func.max(_e.id)))).scalar()
        return int(value or 0)

    async def prune(self, older_than: timedelta) -> int:
        """Delete events older than `older_than`, always keeping the newest row.

        SQLite hands out max(id) + 1, so an emptied table would start again at 1 and followers
        would skip the new rows as "already seen"; keeping the newest row keeps ids increasing.
        """
        cutoff = utcnow() - older_than
        newest = select(func.max(_e.id)).scalar_subquery()
        async with self._db.write() as conn:
            result = await conn.execute(delete(schema.events).where(_e.created_at < cutoff, _e.id < newest))
        return int(result.rowcount)


def anchor_payload(state: PlayerState) -> dict[str, Any]:
    """The "player" event: the position as an anchor, so clients run the progress bar themselves."""
    track = state.track
    return {
        "position_ms": state.position_ms,
        "anchor_at": state.anchor_at.isoformat() if state.anchor_at else None,
        "paused": state.paused,
        "track": None
        if track is None
        else {
            "title": track.title,
            "url": track.url,
            "source": track.source,
            "duration_ms": track.duration_ms,
            "thumbnail": track.thumbnail,
            "artist": track.artist,
            "requester_id": track.requester_id,
            "autoplay": track.autoplay,
        },
        "volume": state.volume,
        "effects": list(state.effects),
        "loop_mode": state.loop_mode,
        "voice_channel_id": state.voice_channel_id,
    }


def position_from_anchor(payload: dict[str, Any], now: datetime) -> int:
    """The playback position a client shows at `now`, from a "player" event's anchor."""
    position = int(payload.get("position_ms") or 0)
    anchor = payload.get("anchor_at")
    if not payload.get("paused") and anchor:
        at = datetime.fromisoformat(anchor)
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        position += max(0, int((now - at).total_seconds() * 1000))
    track = payload.get("track") or {}
    duration = track.get("duration_ms")
    return min(position, int(duration)) if duration is not None else position
