"""Guild settings, player state, history, permissions and audit repositories on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from zilean.core.track import Track
from zilean.db import Database, GuildSettings, InvalidSettingError, PlayerState

GUILD = 987_654_321_098_765_432
SONG = Track(
    title="Song", url="https://e.test/s", source="youtube", duration_ms=200_000, artist="A", requester_id=7
)


async def test_settings_default_then_update(database: Database) -> None:
    assert await database.guild_settings.get(GUILD) == GuildSettings(guild_id=GUILD)
    defaults = await database.guild_settings.get(GUILD)
    assert (defaults.volume, defaults.loop_mode, defaults.idle_timeout_s, defaults.prefix) == (
        100,
        "off",
        300,
        None,
    )
    changed = await database.guild_settings.update(GUILD, volume=150, effects=["bassboost", "nightcore"])
    assert (changed.volume, changed.effects) == (150, ("bassboost", "nightcore"))
    changed = await database.guild_settings.update(
        GUILD,
        loop_mode="queue",
        dj_role_id=GUILD + 1,
        always_on=True,
        prefix="!",
        announce_channel_id=GUILD + 2,
    )
    assert changed.volume == 150  # untouched fields stay
    assert (changed.loop_mode, changed.dj_role_id, changed.always_on, changed.prefix) == (
        "queue",
        GUILD + 1,
        True,
        "!",
    )
    assert changed.announce_channel_id == GUILD + 2
    assert changed.updated_at is not None and changed.updated_at.tzinfo is not None
    assert await database.guild_settings.get(GUILD) == changed
    assert (await database.guild_settings.update(GUILD, prefix=None)).prefix is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("volume", 201, "volume must be a whole number from 0 to 200"),
        ("volume", -1, "volume"),
        ("loop_mode", "forever", "loop mode must be one of: off, track, queue"),
        ("prefix", "toolong", "prefix must be 1 to 5"),
        ("idle_timeout_s", -5, "idle timeout"),
        ("effects", "bassboost", "effects must be a list"),
    ],
)
async def test_settings_reject_bad_values(
    database: Database, field: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidSettingError, match=message):
        await database.guild_settings.update(GUILD, **{field: value})
    assert await database.guild_settings.get(GUILD) == GuildSettings(guild_id=GUILD)


async def test_settings_reject_unknown_fields(database: Database) -> None:
    with pytest.raises(ValueError, match="unknown guild settings: colour"):
        await database.guild_settings.update(GUILD, colour="red")


async def test_player_state_round_trip_with_position_anchor(database: Database) -> None:
    anchor = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    state = PlayerState(
        guild_id=GUILD,
        voice_channel_id=GUILD + 10,
        text_channel_id=GUILD + 11,
        track=SONG,
        position_ms=30_000,
        anchor_at=anchor,
        paused=False,
        volume=80,
        effects=("8d",),
        loop_mode="track",
    )
    saved = await database.player_state.save(state)
    assert saved.updated_at is not None
    loaded = await database.player_state.load(GUILD)
    assert loaded == saved
    assert loaded.track == SONG and loaded.anchor_at == anchor and loaded.effects == ("8d",)
    assert loaded.position_at(anchor + timedelta(seconds=12)) == 42_000
    assert loaded.position_at(anchor + timedelta(hours=1)) == 200_000  # capped at the duration
    paused = await database.player_state.save(
        PlayerState(
            guild_id=GUILD, voice_channel_id=GUILD + 10, position_ms=5_000, anchor_at=anchor, paused=True
        )
    )
    assert paused.track is None and paused.position_at(anchor + timedelta(minutes=5)) == 5_000
    assert [s.guild_id for s in await database.player_state.load_all()] == [GUILD]
    assert await database.player_state.delete(GUILD) is True
    assert await database.player_state.load(GUILD) is None


async def test_player_state_rejects_bad_volume(database: Database) -> None:
    with pytest.raises(InvalidSettingError):
        await database.player_state.save(PlayerState(guild_id=GUILD, volume=500))


async def test_history_keeps_the_newest_hundred(database: Database) -> None:
    from zilean.db.repos.history import HistoryRepo

    history = HistoryRepo(database.connector, keep=100)  # the default keeps more, for the stats
    for i in range(105):
        await history.record(GUILD, Track(title=f"t{i}", url="u", source="http"))
    await history.record(GUILD + 1, SONG)
    recent = await history.recent(GUILD, limit=1_000)
    assert [e.track.title for e in recent] == [f"t{i}" for i in range(104, 4, -1)]
    assert [e.track.title for e in await history.recent(GUILD, limit=3)] == ["t104", "t103", "t102"]
    other = await history.recent(GUILD + 1)
    assert [e.track for e in other] == [SONG]


async def test_permissions_are_tri_state(database: Database) -> None:
    role, user = 555_000_000_000_000_001, 555_000_000_000_000_002
    rule = await database.permissions.set(GUILD, "role", role, can_play=True, can_skip=False)
    assert (rule.can_play, rule.can_skip, rule.can_clear, rule.can_settings) == (True, False, None, None)
    rule = await database.permissions.set(GUILD, "role", role, can_skip=None, can_clear=True)
    assert (rule.can_play, rule.can_skip, rule.can_clear) == (True, None, True)
    await database.permissions.set(GUILD, "user", user, can_settings=False)
    await database.permissions.set(GUILD, "role", role + 7, can_play=False)
    applying = await database.permissions.rules_for(GUILD, user, [role])
    assert [(r.target_kind, r.target_id) for r in applying] == [("role", role), ("user", user)]
    assert len(await database.permissions.rules(GUILD)) == 3
    assert await database.permissions.rules_for(GUILD + 1, user, [role]) == []
    assert await database.permissions.delete(GUILD, "user", user) is True
    assert await database.permissions.get(GUILD, "user", user) is None
    with pytest.raises(ValueError):
        await database.permissions.set(GUILD, "role", role, can_dance=True)


async def test_audit_log_newest_first(database: Database) -> None:
    first = await database.audit.record(GUILD, 1, "discord", "queue.add", {"title": "Song"})
    second = await database.audit.record(GUILD, 2, "web", "queue.clear")
    await database.audit.record(None, None, "cli", "db.upgrade")
    entries = await database.audit.recent(GUILD)
    assert [(e.id, e.origin, e.action, e.actor_id) for e in entries] == [
        (second, "web", "queue.clear", 2),
        (first, "discord", "queue.add", 1),
    ]
    assert entries[1].detail == {"title": "Song"} and entries[1].at is not None
    assert len(await database.audit.recent()) == 3
    with pytest.raises(ValueError):
        await database.audit.record(GUILD, 1, "telepathy", "x")  # type: ignore[arg-type]
