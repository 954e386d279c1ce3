"""`zilean db copy`: every table from one database to another (SQLite ↔ PostgreSQL), verified.

Generic over `zilean.db.schema.metadata`: tables are copied parents first, in batches, inside one
target transaction (a failure leaves the target as it was). The source is read in one snapshot.
At the end each table's row count and content checksum are compared on both sides.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import DateTime, Table, delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from zilean.db import schema
from zilean.db.backup import sqlite_backup_path, sqlite_online_backup
from zilean.db.connector import as_utc, utcnow
from zilean.db.engine import BEGIN_MODE_OPTION, create_engine, display_url, parse_url, ping, sqlite_file
from zilean.db.errors import DatabaseError
from zilean.db.migrate import current_on, head_revision, upgrade
from zilean.db.tabledata import (
    Canonical,
    Checksum,
    Record,
    TableSummary,
    count_rows,
    ordered_select,
    summarise,
    tables_in_order,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH = 5_000
# A heartbeat newer than this means a bot still writes to the source (bots beat every 2 s).
BOT_FRESH_AFTER = timedelta(seconds=10)

# progress(table name, rows copied so far, rows in the table)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What was copied and verified."""

    tables: list[TableSummary]
    backup: Path | None
    seconds: float

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    force: bool = False,
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy every row of `source_url` into `target_url` (migrated to head first) and verify it."""
    started = time.monotonic()
    source_shown, target_shown = display_url(parse_url(source_url)), display_url(parse_url(target_url))
    if source_shown == target_shown:
        raise DatabaseError(f"the source and the target are the same database ({source_shown})")
    source = create_engine(source_url)
    try:
        await ping(source)
        await _check_source(source, source_shown)
        await upgrade(target_url)
        target = create_engine(target_url)
        try:
            if not force:  # refuse before the backup; checked again inside the copy's transaction
                async with target.connect() as conn:
                    await _empty_target(conn, tables_in_order(), force=False)
            backup = await _backup_source(source)
            copied = await _copy_all(source, target, force=force, batch=batch, progress=progress)
            await _verify(target, copied, batch)
        finally:
            await target.dispose()
    finally:
        await source.dispose()
    return CopyReport(copied, backup, time.monotonic() - started)


async def _check_source(source: AsyncEngine, shown: str) -> None:
    at, head = await current_on(source), head_revision()
    if at is None:
        raise DatabaseError(f"the source {shown} has no Groovy Zilean tables; nothing to copy")
    if at != head:
        raise DatabaseError(
            f"the source {shown} is at schema revision {at}, this version copies {head}; "
            f"run `DATABASE_URL={shown} zilean db upgrade` first"
        )
    running = await running_bot(source)
    if running:
        raise DatabaseError(
            f"a bot is running on the source ({running}); stop every bot and dashboard using it "
            "first (e.g. systemctl stop groovy-bot groovy-web), so nothing changes while it is copied"
        )


async def running_bot(engine: AsyncEngine) -> str | None:
    """'process X, heartbeat N s ago' when a bot beat on this database recently; None otherwise."""
    table = schema.bot_heartbeats
    cutoff = utcnow() - BOT_FRESH_AFTER
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(table.c.process_id, table.c.last_seen))).all()
    except SQLAlchemyError:
        return None  # no schema yet: no bot has ever run on it
    for pid, seen in rows:
        at = as_utc(seen)
        if at is not None and at > cutoff:
            return f"process {pid}, heartbeat {max(0.0, (utcnow() - at).total_seconds()):.0f} s ago"
    return None


async def _backup_source(source: AsyncEngine) -> Path | None:
    """A SQLite source is backed up beside itself before anything else happens."""
    path = sqlite_file(source.url.database) if source.dialect.name == "sqlite" else None
    if path is None:
        return None
    destination = sqlite_backup_path(path, "before-copy")
    await sqlite_online_backup(path, destination)
    log.info("backed up %s to %s", path, destination)
    return destination


async def _copy_all(
    source: AsyncEngine, target: AsyncEngine, *, force: bool, batch: int, progress: Progress | None
) -> list[TableSummary]:
    tables = tables_in_order()
    # One snapshot of the source: SQLite's read transaction is one; PostgreSQL needs REPEATABLE READ.
    postgres = source.dialect.name == "postgresql"
    reader = source.execution_options(isolation_level="REPEATABLE READ") if postgres else source
    writer = target.execution_options(**{BEGIN_MODE_OPTION: "IMMEDIATE"})
    summaries: list[TableSummary] = []
    async with reader.connect() as src, src.begin(), writer.begin() as dst:
        await _empty_target(dst, tables, force=force)
        for table in tables:
            summaries.append(await _copy_table(src, dst, table, batch, progress))
        if target.dialect.name == "postgresql":
            await _fix_sequences(dst, tables)
    return summaries


async def _empty_target(dst: AsyncConnection, tables: list[Table], *, force: bool) -> None:
    filled = [(table.name, n) for table in tables if (n := await count_rows(dst, table))]
    if filled and not force:
        listed = ", ".join(f"{name} ({n})" for name, n in filled)
        raise DatabaseError(f"the target already has rows: {listed}; pass --force to replace them")
    for table in reversed(tables if filled else []):
        await dst.execute(delete(table))


async def _copy_table(
    src: AsyncConnection, dst: AsyncConnection, table: Table, batch: int, progress: Progress | None
) -> TableSummary:
    total = await count_rows(src, table)
    canonical, checksum = Canonical(table), Checksum()
    write = await _writer(dst, table, canonical.names)
    if progress:
        progress(table.name, 0, total)
    result = await src.stream(ordered_select(table, src.dialect.name).execution_options(yield_per=batch))
    async for part in result.partitions():
        records = canonical.records(part)
        await write(records)
        checksum.add(records)
        if progress:
            progress(table.name, checksum.rows, total)
    return TableSummary(table.name, checksum.rows, checksum.hexdigest())


async def _writer(
    dst: AsyncConnection, table: Table, names: list[str]
) -> Callable[[list[Record]], Awaitable[object]]:
    """Writes canonical records (aware UTC timestamps, JSON text) straight through the driver:
    COPY on PostgreSQL, executemany on SQLite with SQLAlchemy's own timestamp format."""
    if dst.dialect.name == "postgresql":
        raw = (await dst.get_raw_connection()).driver_connection
        assert raw is not None
        return lambda records: raw.copy_records_to_table(table.name, records=records, columns=names)
    sql = str(table.insert().compile(dialect=dst.dialect))
    dates = [
        (index, column.type.dialect_impl(dst.dialect).bind_processor(dst.dialect))
        for index, column in enumerate(table.columns)
        if isinstance(column.type, DateTime)
    ]

    async def insert(records: list[Record]) -> None:
        if dates:
            rows = []
            for record in records:
                values = list(record)
                for index, bind in dates:
                    if bind is not None and values[index] is not None:
                        values[index] = bind(values[index])
                rows.append(tuple(values))
            records = rows
        if records:
            await dst.exec_driver_sql(sql, records)

    return insert


async def _fix_sequences(dst: AsyncConnection, tables: list[Table]) -> None:
    """Point each serial id sequence past the copied ids, so the next insert does not collide."""
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        top = (await dst.execute(select(func.max(column)))).scalar_one()
        await dst.execute(
            text("SELECT setval(pg_get_serial_sequence(:table, :column), :value, :called)"),
            {"table": table.name, "column": column.name, "value": top or 1, "called": top is not None},
        )


async def _verify(target: AsyncEngine, copied: list[TableSummary], batch: int) -> None:
    by_name = {table.name: table for table in tables_in_order()}
    wrong: list[str] = []
    async with target.connect() as conn:
        for expected in copied:
            found = await summarise(conn, by_name[expected.name], batch)
            if found != expected:
                wrong.append(
                    f"{expected.name}: source {expected.rows} rows {expected.checksum[:12]}, "
                    f"target {found.rows} rows {found.checksum[:12]}"
                )
    if wrong:
        raise DatabaseError("the copy does not match the source: " + "; ".join(wrong))
