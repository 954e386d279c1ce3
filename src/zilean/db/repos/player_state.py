"""PlayerStateRepo: save and load what each guild's player is doing (for resume after restart)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from zilean.db import schema
from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.records import PlayerState, track_from, track_values
from zilean.db.repos import validate

_TRACK_NONE = {
    "track_title": None,
    "track_url": None,
    "track_source": None,
    "track_duration_ms": None,
    "track_thumbnail": None,
    "track_artist": None,
    "track_requester_id": None,
    "track_autoplay": False,
}


class PlayerStateRepo:
    """One row per guild with a player."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def save(self, state: PlayerState) -> PlayerState:
        """Store the whole state (insert or replace); returns it with updated_at set."""
        values: dict[str, Any] = {
            "voice_channel_id": state.voice_channel_id,
            "text_channel_id": state.text_channel_id,
            **(track_values(state.track, "track_") if state.track else _TRACK_NONE),
            "position_ms": validate.non_negative("the position", state.position_ms),
            "anchor_at": state.anchor_at,
            "paused": state.paused,
            "volume": validate.volume(state.volume),
            "effects": validate.effects(state.effects),
            "loop_mode": validate.loop_mode(state.loop_mode),
            "updated_at": utcnow(),
        }
        table = schema.player_state
        stmt = self._db.upsert(table, {"guild_id": state.guild_id, **values}, ["guild_id"], list(values))
        async with self._db.write() as conn:
            await conn.execute(stmt)
        # What was written, as load() would return it; no read-back (this runs on every state change).
        return dataclasses.replace(
            state,
            anchor_at=as_utc(state.anchor_at),
            effects=tuple(values["effects"]),
            updated_at=values["updated_at"],
        )

    async def reanchor(self, positions: Sequence[tuple[int, int]], at: datetime) -> None:
        """Move many guilds' position anchors to (position_ms at `at`) in one transaction.

        A row anchored at or after `at` (a save that happened meanwhile: seek, next track) is newer
        and is left alone, so this batch never undoes it.
        """
        if not positions:
            return
        table = schema.player_state
        stmt = (
            update(table)
            .where(table.c.guild_id == bindparam("b_guild"), table.c.anchor_at < bindparam("b_at"))
            .values(position_ms=bindparam("b_position"), anchor_at=bindparam("b_at"))
        )
        rows = [
            {"b_guild": guild, "b_position": validate.non_negative("the position", pos), "b_at": at}
            for guild, pos in positions
        ]
        async with self._db.write() as conn:
            await conn.execute(stmt, rows)

    async def load(self, guild_id: int) -> PlayerState | None:
        """The saved state, or None when the guild has no player."""
        table = schema.player_state
        async with self._db.read() as conn:
            row = (await conn.execute(select(table).where(table.c.guild_id == guild_id))).mappings().first()
        return None if row is None else _state(row)

    async def load_all(self) -> list[PlayerState]:
        """Every saved state (a restarted bot resumes these)."""
        table = schema.player_state
        async with self._db.read() as conn:
            rows = (await conn.execute(select(table).order_by(table.c.guild_id))).mappings().all()
        return [_state(row) for row in rows]

    async def delete(self, guild_id: int) -> bool:
        """Forget the guild's player (it left voice); True if there was one."""
        table = schema.player_state
        async with self._db.write() as conn:
            result = await conn.execute(delete(table).where(table.c.guild_id == guild_id))
        return bool(result.rowcount)


def _state(row: Any) -> PlayerState:
    return PlayerState(
        guild_id=row["guild_id"],
        voice_channel_id=row["voice_channel_id"],
        text_channel_id=row["text_channel_id"],
        track=track_from(row, "track_") if row["track_title"] is not None else None,
        position_ms=row["position_ms"],
        anchor_at=as_utc(row["anchor_at"]),
        paused=bool(row["paused"]),
        volume=row["volume"],
        effects=tuple(row["effects"] or ()),
        loop_mode=row["loop_mode"],
        updated_at=as_utc(row["updated_at"]),
    )
