"""`zilean db copy` through the real command: SQLite → PostgreSQL, back, and round trip."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update
from table_filler import fill_every_table

from zilean.db import open_database, upgrade
from zilean.db.engine import create_engine
from zilean.db.schema import bot_heartbeats, metadata, queue_entries
from zilean.db.tabledata import summarise

pytestmark = pytest.mark.postgres


def zilean_copy(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "zilean", "db", "copy", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def backups_of(directory: Path) -> list[Path]:
    return sorted(directory.glob("source.before-copy-*.db"))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


async def every_row(url: str) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows as plain dicts sorted by primary key: what a person would compare."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            out = {}
            for table in metadata.sorted_tables:
                rows = (await conn.execute(select(table))).mappings().all()
                key = [column.name for column in table.primary_key.columns]
                plain = [{k: _plain(v) for k, v in row.items()} for row in rows]
                out[table.name] = sorted(plain, key=lambda row: [str(row[k]) for k in key])
            return out
    finally:
        await engine.dispose()


async def filled_sqlite(path: Path) -> str:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await fill_every_table(conn)
    finally:
        await engine.dispose()
    return url


async def test_sqlite_to_postgres_and_back(tmp_path: Path, scratch_postgres_url: str) -> None:
    source = await filled_sqlite(tmp_path / "source.db")
    expected = await every_row(source)
    assert all(expected.values()), "the filler left a table empty"

    to_pg = await asyncio.to_thread(zilean_copy, source, scratch_postgres_url, cwd=tmp_path)
    assert to_pg.returncode == 0, to_pg.stderr
    assert "row counts and checksums of every table match the source" in to_pg.stdout
    for table in metadata.sorted_tables:  # a progress line per table on stderr
        assert f"  {table.name} " in to_pg.stderr
    assert await every_row(scratch_postgres_url) == expected

    # The SQLite source was backed up beside itself first, and the backup holds the same rows.
    backups = backups_of(tmp_path)
    assert len(backups) == 1
    assert await every_row(f"sqlite+aiosqlite:///{backups[0]}") == expected

    back = f"sqlite+aiosqlite:///{tmp_path / 'back.db'}"
    to_sqlite = await asyncio.to_thread(zilean_copy, scratch_postgres_url, back, cwd=tmp_path)
    assert to_sqlite.returncode == 0, to_sqlite.stderr
    assert await every_row(back) == expected


async def test_new_ids_follow_the_copied_ones_on_postgres(tmp_path: Path, scratch_postgres_url: str) -> None:
    source = await filled_sqlite(tmp_path / "source.db")
    result = await asyncio.to_thread(zilean_copy, source, scratch_postgres_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    db = await open_database(scratch_postgres_url)
    try:
        async with db.connector.write() as conn:
            copied = (await conn.execute(select(queue_entries.c.id))).scalars().all()
            new_id = (
                await conn.execute(
                    insert(queue_entries)
                    .values(
                        guild_id=1, position=9999, title="t", url="u", source="s", added_at=datetime.now(UTC)
                    )
                    .returning(queue_entries.c.id)
                )
            ).scalar_one()
    finally:
        await db.close()
    assert new_id == max(copied) + 1


async def test_refuses_a_target_with_rows_unless_forced(tmp_path: Path, scratch_postgres_url: str) -> None:
    source = await filled_sqlite(tmp_path / "source.db")
    other = await filled_sqlite(tmp_path / "other.db")
    engine = create_engine(other)
    async with engine.begin() as conn:  # make the second database differ from the first
        await conn.execute(update(queue_entries).values(title="only in other"))
    await engine.dispose()
    first = await asyncio.to_thread(zilean_copy, other, scratch_postgres_url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = await every_row(scratch_postgres_url)
    backups = backups_of(tmp_path)

    refused = await asyncio.to_thread(zilean_copy, source, scratch_postgres_url, cwd=tmp_path)
    assert refused.returncode == 2
    assert "the target already has rows: " in refused.stderr and "pass --force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert await every_row(scratch_postgres_url) == before
    assert backups_of(tmp_path) == backups  # refused before the backup

    forced = await asyncio.to_thread(zilean_copy, "--force", source, scratch_postgres_url, cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert await every_row(scratch_postgres_url) == await every_row(source)


async def test_refuses_while_a_bot_runs_on_the_source(tmp_path: Path, scratch_postgres_url: str) -> None:
    source = await filled_sqlite(tmp_path / "source.db")
    engine = create_engine(source)
    async with engine.begin() as conn:
        await conn.execute(delete(bot_heartbeats))
        now = datetime.now(UTC)
        await conn.execute(
            insert(bot_heartbeats).values(process_id="host:42:abcd", started_at=now, last_seen=now)
        )
    refused = await asyncio.to_thread(zilean_copy, source, scratch_postgres_url, cwd=tmp_path)
    assert refused.returncode == 2
    assert "a bot is running on the source (process host:42:abcd" in refused.stderr
    assert "stop every bot" in refused.stderr

    async with engine.begin() as conn:  # the bot stopped an hour ago: its row is stale
        await conn.execute(update(bot_heartbeats).values(last_seen=now - timedelta(hours=1)))
    await engine.dispose()
    allowed = await asyncio.to_thread(zilean_copy, source, scratch_postgres_url, cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr


async def test_checksum_agrees_across_backends_and_sees_one_changed_value(
    tmp_path: Path, scratch_postgres_url: str
) -> None:
    source = await filled_sqlite(tmp_path / "source.db")
    result = await asyncio.to_thread(zilean_copy, source, scratch_postgres_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lite, pg = create_engine(source), create_engine(scratch_postgres_url)
    try:
        async with lite.connect() as a, pg.connect() as b:
            for table in metadata.sorted_tables:
                assert await summarise(a, table) == await summarise(b, table), table.name
        async with pg.begin() as conn:
            await conn.execute(update(queue_entries).where(queue_entries.c.id == 2).values(title="changed"))
        async with lite.connect() as a, pg.connect() as b:
            before, after = await summarise(a, queue_entries), await summarise(b, queue_entries)
            assert before.rows == after.rows and before.checksum != after.checksum
    finally:
        await lite.dispose()
        await pg.dispose()


def test_same_database_and_unmigrated_source_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    same = zilean_copy(url, url.replace("sqlite:", "sqlite+aiosqlite:"), cwd=tmp_path)
    assert same.returncode == 2 and "the same database" in same.stderr
    sqlite3.connect(tmp_path / "empty.db").close()
    empty = zilean_copy(f"sqlite:///{tmp_path / 'empty.db'}", f"sqlite:///{tmp_path / 'b.db'}", cwd=tmp_path)
    assert empty.returncode == 2 and "has no Groovy Zilean tables" in empty.stderr
