"""The audit log as the dashboard reads it (keyset pages, filters, time windows, pruning by each guild's
retention), the new guild settings, and bus commands that say where they came from. Both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from zilean.db import Database
from zilean.db.connector import utcnow
from zilean.db.errors import InvalidSettingError
from zilean.db.repos.audit import AuditFilter
from zilean.db.schema import audit_log

GUILD = 7_000_000_000_000_000_001
OTHER = 7_000_000_000_000_000_002


async def _fill(database: Database) -> list[int]:
    ids = []
    for i in range(7):
        origin = ("discord", "web", "cli")[i % 3]
        ids.append(await database.audit.record(GUILD, 100 + i % 2, origin, "skip" if i % 2 else "play"))
    await database.audit.record(OTHER, 100, "web", "play")
    return ids


async def test_pages_walk_newest_first_without_gaps_or_repeats(database: Database) -> None:
    ids = await _fill(database)
    seen: list[int] = []
    cursor = None
    while True:
        page = await database.audit.page(GUILD, cursor=cursor, limit=3)
        seen += [entry.id for entry in page.entries]
        assert all(entry.guild_id == GUILD for entry in page.entries)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == sorted(ids, reverse=True)


async def test_filters_by_member_action_and_origin_combine(database: Database) -> None:
    await _fill(database)
    by_member = await database.audit.page(GUILD, AuditFilter(actor_id=101))
    assert {e.actor_id for e in by_member.entries} == {101} and len(by_member.entries) == 3
    skips = await database.audit.page(GUILD, AuditFilter(action="skip"))
    assert {e.action for e in skips.entries} == {"skip"}
    web_plays = await database.audit.page(GUILD, AuditFilter(action="play", origin="web"))
    assert [(e.action, e.origin) for e in web_plays.entries] == [("play", "web")]
    assert (await database.audit.page(GUILD, AuditFilter(origin="cli", actor_id=999))).entries == []


async def test_a_time_window_selects_by_when(database: Database) -> None:
    ids = await _fill(database)
    # Make the first four a day old, as if written yesterday.
    yesterday = utcnow() - timedelta(days=1)
    async with database.connector.write() as conn:
        await conn.execute(update(audit_log).where(audit_log.c.id.in_(ids[:4])).values(at=yesterday))
    recent = await database.audit.page(GUILD, AuditFilter(since=utcnow() - timedelta(hours=1)))
    assert [e.id for e in recent.entries] == sorted(ids[4:], reverse=True)
    older = await database.audit.page(GUILD, AuditFilter(until=utcnow() - timedelta(hours=1)))
    assert [e.id for e in older.entries] == sorted(ids[:4], reverse=True)
    assert (await database.audit.page(GUILD, AuditFilter(since=utcnow() + timedelta(hours=1)))).entries == []


async def test_pruning_keeps_each_guilds_retention(database: Database) -> None:
    await database.guild_settings.update(GUILD, audit_retention_days=30)
    old = await database.audit.record(GUILD, 1, "web", "play")
    mid = await database.audit.record(GUILD, 1, "web", "play")
    other_mid = await database.audit.record(OTHER, 1, "web", "play")  # no settings: the 90-day default
    other_old = await database.audit.record(OTHER, 1, "web", "play")
    fresh = await database.audit.record(GUILD, 1, "web", "play")
    ages = {old: 40, mid: 20, other_mid: 60, other_old: 100}
    async with database.connector.write() as conn:
        for entry_id, days in ages.items():
            stmt = (
                update(audit_log).where(audit_log.c.id == entry_id).values(at=utcnow() - timedelta(days=days))
            )
            await conn.execute(stmt)
    assert await database.audit.prune_expired() == 2
    left = {e.id for e in await database.audit.recent(limit=100)}
    assert left == {mid, other_mid, fresh}


async def test_new_settings_default_and_validate(database: Database) -> None:
    settings = await database.guild_settings.get(GUILD)
    assert (settings.vote_skip_ratio, settings.max_track_length_s, settings.max_queue_per_member) == (
        0.5,
        None,
        None,
    )
    assert settings.audit_retention_days == 90
    changed = await database.guild_settings.update(
        GUILD, vote_skip_ratio=0.75, max_track_length_s=600, max_queue_per_member=5, audit_retention_days=7
    )
    assert (changed.vote_skip_ratio, changed.max_track_length_s, changed.max_queue_per_member) == (
        0.75,
        600,
        5,
    )
    assert changed.audit_retention_days == 7
    unset = await database.guild_settings.update(GUILD, max_track_length_s=None)
    assert unset.max_track_length_s is None
    for bad in ({"vote_skip_ratio": 0}, {"vote_skip_ratio": 1.5}, {"max_queue_per_member": 0}):
        with pytest.raises(InvalidSettingError):
            await database.guild_settings.update(GUILD, **bad)
    with pytest.raises(InvalidSettingError):
        await database.guild_settings.update(GUILD, audit_retention_days=0)


async def test_bus_commands_keep_their_origin(database: Database) -> None:
    from zilean.db.bus import Bus

    bus = Bus(database)
    web = await bus.submit(GUILD, "pause", {}, user_id=1)
    cli = await bus.submit(GUILD, "pause", {}, user_id=1, origin="cli")
    assert (web.origin, cli.origin) == ("web", "cli")
    assert (await bus.commands.get(cli.id)).origin == "cli"  # type: ignore[union-attr]


async def test_the_bus_maintenance_prunes_the_audit_log(database: Database) -> None:
    from zilean.db.bus import Bus

    old = await database.audit.record(GUILD, 1, "web", "play")
    kept = await database.audit.record(GUILD, 1, "web", "play")
    async with database.connector.write() as conn:
        stmt = update(audit_log).where(audit_log.c.id == old).values(at=utcnow() - timedelta(days=91))
        await conn.execute(stmt)
    await Bus(database).maintain(prune_too=True)
    assert [e.id for e in await database.audit.recent(GUILD)] == [kept]
