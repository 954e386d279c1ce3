"""How repositories get a connection: reads share the pool, writes take the write lock first."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Table, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from zilean.db.engine import BEGIN_MODE_OPTION
from zilean.db.errors import DatabaseError, describe_connect_error

# SQLite has one writer. Pooled connections that all wait in BEGIN IMMEDIATE are woken by SQLite's
# sleeping busy handler in no particular order, so under a burst some starve past busy_timeout
# ("database is locked") while others take the lock again and again. One FIFO lock per engine makes
# the writers of a process queue in order and leaves busy_timeout for other processes only.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _sqlite_writer_lock(engine: AsyncEngine) -> asyncio.Lock:
    """The in-process write lock shared by every Connector over `engine`."""
    lock = _SQLITE_WRITERS.get(engine.sync_engine)
    if lock is None:
        lock = _SQLITE_WRITERS[engine.sync_engine] = asyncio.Lock()
    return lock


class Connector:
    """Hands out connections; turns a lost or locked database into one DatabaseError line."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(**{BEGIN_MODE_OPTION: "IMMEDIATE"})
        self._serialize = self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for queries; its transaction is rolled back at the end."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except (OperationalError, InterfaceError, OSError) as exc:
            raise DatabaseError(describe_connect_error(self.engine.url, exc)) from exc

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits at the end (SQLite: BEGIN IMMEDIATE, so it never deadlocks)."""
        turn: AbstractAsyncContextManager[object] = (
            _sqlite_writer_lock(self.engine) if self._serialize else nullcontext()
        )
        async with turn:
            try:
                async with self._writer.begin() as conn:
                    yield conn
            except (OperationalError, InterfaceError, OSError) as exc:
                raise DatabaseError(describe_connect_error(self.engine.url, exc)) from exc

    async def lock_guild(self, conn: AsyncConnection, guild_id: int) -> None:
        """Serialise writers of one guild's rows until the transaction ends.

        PostgreSQL: a transaction advisory lock keyed by the guild id. SQLite needs nothing: its
        BEGIN IMMEDIATE already holds the single database write lock.
        """
        if self.dialect == "postgresql":
            await conn.execute(select(func.pg_advisory_xact_lock(literal(guild_id, BigInteger))))

    def upsert(self, table: Table, values: dict[str, Any], keys: list[str], update: list[str]) -> Any:
        """INSERT … ON CONFLICT (keys) DO UPDATE the `update` columns, for either backend."""
        module: Any = postgresql if self.dialect == "postgresql" else sqlite
        stmt = module.insert(table).values(**values)
        return stmt.on_conflict_do_update(
            index_elements=keys, set_={name: stmt.excluded[name] for name in update}
        )


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC, so say so."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
