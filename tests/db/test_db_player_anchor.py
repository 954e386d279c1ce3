"""The process-wide position re-anchor: one transaction for many guilds, never undoing a newer save."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zilean.db import Database, PlayerState

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_reanchor_moves_many_guilds_but_not_a_newer_save(database: Database) -> None:
    for guild in (1, 2, 3):
        await database.player_state.save(PlayerState(guild_id=guild, position_ms=1_000, anchor_at=T0))
    # Guild 2 was saved (a seek) after the batch took its positions: the batch must leave it alone.
    seek_at = T0 + timedelta(seconds=3)
    await database.player_state.save(PlayerState(guild_id=2, position_ms=60_000, anchor_at=seek_at))

    await database.player_state.reanchor([(1, 3_000), (2, 3_000), (4, 3_000)], T0 + timedelta(seconds=2))

    loaded = {s.guild_id: (s.position_ms, s.anchor_at) for s in await database.player_state.load_all()}
    assert loaded == {
        1: (3_000, T0 + timedelta(seconds=2)),
        2: (60_000, seek_at),
        3: (1_000, T0),
    }  # guild 4 has no player row: nothing is created
