"""Every table's rows, backend-neutral: the dependency order, row counts and a content checksum.

A row is brought to one canonical form on either backend — timestamps as UTC-aware datetimes
(SQLite hands back naive ones), JSON as sorted-key text (PostgreSQL's JSONB reorders keys) — and
the checksum is SHA-256 over the canonical rows in primary-key order (text keys compared
bytewise on both backends). The same canonical rows are what `db copy` writes to PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Select, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from zilean.db.schema import metadata

Record = tuple[Any, ...]


def tables_in_order() -> list[Table]:
    """Every table of the schema, parents before the tables whose foreign keys point at them."""
    return list(metadata.sorted_tables)


@dataclass(frozen=True, slots=True)
class TableSummary:
    """How many rows a table has and what they hold."""

    name: str
    rows: int
    checksum: str


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def _json_text(value: Any) -> Any:
    return None if value is None else _JSON.encode(value)


def _canonical(column: Column[Any]) -> Callable[[Any], Any] | None:
    if isinstance(column.type, DateTime):
        return _utc
    if isinstance(column.type, JSON):
        return _json_text
    return None  # ints, text, booleans come back the same from both backends


class Canonical:
    """Turns a table's rows (column order) into canonical records."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.names = [column.name for column in table.columns]
        self._fixes = [(i, fix) for i, column in enumerate(table.columns) if (fix := _canonical(column))]

    def records(self, rows: Iterable[Sequence[Any]]) -> list[Record]:
        if not self._fixes:
            return [tuple(row) for row in rows]
        out = []
        for row in rows:
            values = list(row)
            for index, fix in self._fixes:
                values[index] = fix(values[index])
            out.append(tuple(values))
        return out


class Checksum:
    """SHA-256 over canonical records fed in primary-key order, batch by batch."""

    def __init__(self) -> None:
        self.rows = 0
        self._hash = hashlib.sha256()

    def add(self, records: Sequence[Record]) -> None:
        if records:
            self._hash.update(("\n".join(map(repr, records)) + "\n").encode())
            self.rows += len(records)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def ordered_select(table: Table, dialect: str) -> Select[Any]:
    """SELECT every column in primary-key order, text keys bytewise on either backend."""
    keys: list[Any] = list(table.primary_key.columns) or list(table.columns)
    if dialect == "postgresql":
        keys = [key.collate("C") if isinstance(key.type, String) else key for key in keys]
    return select(*table.columns).order_by(*keys)


async def canonical_batches(conn: AsyncConnection, table: Table, batch: int) -> AsyncIterator[list[Record]]:
    """The table's rows as canonical records, in primary-key order, `batch` at a time."""
    canonical = Canonical(table)
    stmt = ordered_select(table, conn.dialect.name).execution_options(yield_per=batch)
    result = await conn.stream(stmt)
    async for part in result.partitions():
        yield canonical.records(part)


async def count_rows(conn: AsyncConnection, table: Table) -> int:
    """SELECT count(*) of one table."""
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def summarise(conn: AsyncConnection, table: Table, batch: int = 10_000) -> TableSummary:
    """Row count and checksum of one table."""
    checksum = Checksum()
    async for records in canonical_batches(conn, table, batch):
        checksum.add(records)
    return TableSummary(table.name, checksum.rows, checksum.hexdigest())
