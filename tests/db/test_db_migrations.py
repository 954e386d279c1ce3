"""Migrations: empty → head → base → head on both backends; schema.py and the migrations agree."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from zilean.db import DatabaseError, current, downgrade, head_revision, open_database, upgrade
from zilean.db.engine import create_engine
from zilean.db.schema import metadata

EXPECTED_TABLES = {table.name for table in metadata.sorted_tables}


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names: list[str] = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


def test_schema_covers_the_roadmap() -> None:
    assert {
        "guild_settings",
        "player_state",
        "queue_entries",
        "play_history",
        "users",
        "web_sessions",
        "permissions",
        "commands",
        "events",
        "bot_heartbeats",
        "audit_log",
        "playlists",
        "playlist_tracks",
        "guilds",
        "guild_channels",
        "guild_roles",
        "guild_members",
        "web_login_states",
        "eq_presets",
    } == EXPECTED_TABLES


async def test_upgrade_downgrade_upgrade(empty_db_url: str) -> None:
    head = head_revision()
    assert await current(empty_db_url) is None
    assert await upgrade(empty_db_url) == head
    assert await table_names(empty_db_url) == EXPECTED_TABLES
    assert await downgrade(empty_db_url, "base") is None
    assert await table_names(empty_db_url) == set()
    assert await upgrade(empty_db_url) == head
    assert await table_names(empty_db_url) == EXPECTED_TABLES


async def test_models_and_migrations_agree(db_url: str) -> None:
    def diff(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_start_up_migrates_when_auto_migrate_is_on(empty_db_url: str) -> None:
    db = await open_database(empty_db_url, auto_migrate=True)
    await db.close()
    assert await current(empty_db_url) == head_revision()


async def test_start_up_refuses_an_old_schema_when_auto_migrate_is_off(empty_db_url: str) -> None:
    with pytest.raises(DatabaseError, match=r"at revision none but this version needs .*zilean db upgrade"):
        await open_database(empty_db_url, auto_migrate=False)
    await upgrade(empty_db_url)
    db = await open_database(empty_db_url, auto_migrate=False)
    await db.close()


async def test_two_processes_starting_at_once_migrate_once(empty_db_url: str) -> None:
    first, second = await asyncio.gather(upgrade(empty_db_url), upgrade(empty_db_url))
    assert first == second == head_revision()
    assert await table_names(empty_db_url) == EXPECTED_TABLES


async def test_migrating_leaves_sqlite_foreign_keys_on(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path / 'z.db'}", auto_migrate=True)
    try:
        for _ in range(3):  # whichever pooled connection we get
            async with db.engine.connect() as conn:
                assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await db.close()
