"""The autoplay setting and the autoplay mark on stored tracks, on both backends."""

from __future__ import annotations

from zilean.core.track import Track
from zilean.db import Database
from zilean.db.records import PlayerState

GUILD = 765_432_109_876_543_210
PICKED = Track(title="River Two", url="local:ap/river2.flac", source="local", autoplay=True)


async def test_autoplay_defaults_off_and_persists(database: Database) -> None:
    assert (await database.guild_settings.get(GUILD)).autoplay is False
    assert (await database.guild_settings.update(GUILD, autoplay=True)).autoplay is True
    assert (await database.guild_settings.get(GUILD)).autoplay is True  # read back from the table
    assert (await database.guild_settings.update(GUILD, autoplay=False)).autoplay is False


async def test_the_autoplay_mark_survives_the_player_state_queue_and_history(database: Database) -> None:
    requested = Track(title="River One", url="local:ap/river1.flac", source="local", requester_id=7)
    await database.player_state.save(PlayerState(guild_id=GUILD, track=PICKED))
    loaded = await database.player_state.load(GUILD)
    assert loaded is not None and loaded.track == PICKED
    await database.queue.append(GUILD, [PICKED, requested])
    assert [e.track.autoplay for e in await database.queue.page(GUILD)] == [True, False]
    await database.history.record(GUILD, PICKED)
    assert (await database.history.recent(GUILD, 1))[0].track == PICKED
