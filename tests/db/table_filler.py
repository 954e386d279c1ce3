"""Rows for every table of the schema, made from the column types alone — so tables added later
are filled too. Values are varied on purpose: unicode, NULLs, microseconds, nested JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, DateTime, Float, Integer, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from zilean.db.schema import metadata

BASE_TIME = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _allowed(table: Table) -> dict[str, list[str]]:
    """Column → allowed values, read from CHECK (column IN ('a', 'b')) constraints."""
    found: dict[str, list[str]] = {}
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            match = re.match(r"\s*(\w+) IN \((.*)\)\s*$", str(constraint.sqltext))
            if match:
                found[match.group(1)] = re.findall(r"'([^']*)'", match.group(2))
    return found


def _value(table: Table, name: str, index: int, allowed: dict[str, list[str]]) -> Any:
    column = table.c[name]
    kind = column.type
    if column.nullable and not column.primary_key and index % 3 == 2:
        return None
    if name in allowed:
        return allowed[name][index % len(allowed[name])]
    if isinstance(kind, Boolean):
        return index % 2 == 0
    if isinstance(kind, Integer):
        return index + 1 if column.primary_key else (index * 7 + len(name)) % 150
    if isinstance(kind, Float):
        return (index % 3 + 1) / 4  # 0.25, 0.5, 0.75: exact in binary, inside any 0..1 range check
    if isinstance(kind, DateTime):
        return BASE_TIME + timedelta(minutes=index, microseconds=index)
    if isinstance(kind, JSON):
        return {"z": index, "a": ["ünï", {"nested": True}], "m": None}
    if isinstance(kind, (String, Text)):
        limit = getattr(kind, "length", None) or 200
        return f"{name[:3]}{index}-ñ✓"[:limit]
    raise AssertionError(f"table_filler does not know {table.name}.{name}: {kind!r}")


async def fill_every_table(conn: AsyncConnection, rows: int = 3) -> dict[str, int]:
    """Insert `rows` rows into each table (parents first); returns rows per table."""
    parents: dict[str, list[Any]] = {}
    for table in metadata.sorted_tables:
        allowed = _allowed(table)
        batch = []
        for index in range(rows):
            row = {name: _value(table, name, index, allowed) for name in table.c.keys()}
            for column in table.columns:
                for fk in column.foreign_keys:
                    keys = parents[fk.column.table.name]
                    row[column.name] = keys[index % len(keys)]
            batch.append(row)
        await conn.execute(table.insert(), batch)
        key = next(iter(table.primary_key.columns)).name
        parents[table.name] = [row[key] for row in batch]
    return {table.name: rows for table in metadata.sorted_tables}
